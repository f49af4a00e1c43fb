"""A log handler that colours worker messages by level on a terminal.

It stands in for ``rq.logutils.ColorizingStreamHandler``, so a django-rq
``LOGGING`` setting keeps working once ``rq`` is gone: write
``"class": "django_jobqueue.logutils.ColorizingStreamHandler"``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

#: ANSI colour of each level; INFO and DEBUG stay the terminal's own colour.
LEVEL_COLOURS = {
    logging.DEBUG: "\x1b[90m",  # grey
    logging.WARNING: "\x1b[33m",  # yellow
    logging.ERROR: "\x1b[31m",  # red
    logging.CRITICAL: "\x1b[1;31m",  # bold red
}
RESET = "\x1b[0m"


class ColorizingStreamHandler(logging.StreamHandler):
    """A ``StreamHandler`` that colours each message's first line by its level.

    Colour is added only when the stream is a terminal and the ``NO_COLOR``
    environment variable (https://no-color.org) is unset, so files, pipes and
    log collectors get plain text. Tracebacks (the lines after the first) are
    never coloured: they stay readable and copyable.

    ``exclude`` is accepted because RQ's handler takes it and django-rq's
    ``LOGGING`` examples pass it; it changes nothing here.
    """

    def __init__(self, exclude: Any = None, *args: Any, **kwargs: Any):
        self.exclude = exclude
        super().__init__(*args, **kwargs)

    @property
    def is_tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        colour = LEVEL_COLOURS.get(record.levelno)
        if not colour or not self.is_tty or os.environ.get("NO_COLOR"):
            return message
        first, newline, rest = message.partition("\n")
        return f"{colour}{first}{RESET}{newline}{rest}"
