"""How worker logs look: coloured lines on a terminal, or one JSON object per line.

``ColorizingStreamHandler`` stands in for ``rq.logutils.ColorizingStreamHandler``,
so a django-rq ``LOGGING`` setting keeps working once ``rq`` is gone: write
``"class": "django_jobqueue.logutils.ColorizingStreamHandler"``.
``JSONFormatter`` is for log collectors (``rqworker --log-format json``).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
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


class JSONFormatter(logging.Formatter):
    """One JSON object per line, so a log collector needs no parsing rules.

    Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and
    ``message`` (its first line). The line a worker writes when a job ends adds
    the job's ``job_id``, ``queue``, ``function``, ``outcome`` (``finished``,
    ``failed``, ``retried``, ``stopped``, ...) and ``duration`` in seconds. A
    traceback, in the message or attached to the record, goes to ``traceback``
    instead of breaking the line.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        first, _, rest = message.partition("\n")
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": first,
        }
        job = getattr(record, "job", None)
        if isinstance(job, dict):
            line.update(job)
        traceback = rest.strip("\n")
        if record.exc_info:
            formatted = self.formatException(record.exc_info)
            traceback = f"{traceback}\n{formatted}" if traceback else formatted
        if traceback:
            line["traceback"] = traceback
        return json.dumps(line, default=str)
