"""The colouring log handler that replaces rq.logutils.ColorizingStreamHandler."""

from __future__ import annotations

import io
import logging
import logging.config
import sys

from django_jobqueue.logutils import RESET, ColorizingStreamHandler


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def emit(stream, level=logging.ERROR, msg="job failed", exc=False):
    handler = ColorizingStreamHandler(stream=stream)
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    handler.emit(logging.LogRecord("w", level, __file__, 1, msg, None, exc_info))
    return stream.getvalue()


def test_colours_the_level_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert emit(Terminal()) == f"\x1b[31mjob failed{RESET}\n"


def test_plain_text_when_not_a_terminal():
    assert emit(io.StringIO()) == "job failed\n"


def test_no_color_turns_colour_off(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert emit(Terminal()) == "job failed\n"


def test_warnings_are_yellow(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert emit(Terminal(), level=logging.WARNING) == f"\x1b[33mjob failed{RESET}\n"


def test_info_keeps_the_terminal_colour(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert emit(Terminal(), level=logging.INFO) == "job failed\n"


def test_traceback_lines_stay_plain(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    first, _, rest = emit(Terminal(), exc=True).partition("\n")
    assert first.endswith(RESET) and "Traceback" in rest and "\x1b[" not in rest


def test_takes_django_rq_logging_settings_with_exclude():
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "rq_console": {
                    "class": "django_jobqueue.logutils.ColorizingStreamHandler",
                    "exclude": ["%(asctime)s"],
                }
            },
            "loggers": {"tests.logutils": {"handlers": ["rq_console"]}},
        }
    )
    handler = logging.getLogger("tests.logutils").handlers[0]
    assert isinstance(handler, ColorizingStreamHandler) and handler.exclude == ["%(asctime)s"]
    logging.getLogger("tests.logutils").handlers.clear()
