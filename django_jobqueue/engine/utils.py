"""Small helpers with no better home: imports, clocks, conversions."""

from __future__ import annotations

import importlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from .errors import ImportAttributeError, TimeoutFormatError

T = TypeVar("T")

#: Where each dotted path splits into module and attributes, once found: a worker
#: resolves the same few names over and over, and probing for the module costs
#: a failed import each time. The attributes are still looked up on every call,
#: so a function patched in a test is the one that runs.
_splits: dict[str, int] = {}

#: What monitoring records (a cron job's arguments, see :mod:`.cron_scheduler`)
#: hold in place of a value JSON cannot represent.
NOT_JSON_SERIALIZABLE = "<not JSON serializable>"


def import_attribute(path: str) -> Any:
    """Import ``package.module.attr`` (attr may itself be dotted: ``mod.Class.method``).

    The longest importable module prefix wins, so class attributes resolve too.
    A path that names nothing raises :class:`~.errors.ImportAttributeError`, an
    ImportError and (as RQ's ``import_attribute`` raises) a ValueError.
    """
    split = _splits.get(path)
    if split is not None:
        parts = path.split(".")
        module = sys.modules.get(".".join(parts[:split]))
        if module is not None:
            return _getattrs(module, parts[split:], path)
    if not isinstance(path, str) or not path or path.startswith(".") or ".." in path:
        raise ImportAttributeError(f"{path!r} is not a dotted path to a function.")
    parts = path.split(".")
    module = None
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only swallow "this prefix is not a module"; a module that exists
            # but fails to import must surface its own error.
            if exc.name and not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        rest = parts[i:]
        break
    else:
        raise ImportAttributeError(f"No module found for {path!r}.")
    obj = _getattrs(module, rest, path)
    _splits[path] = i
    return obj


def _getattrs(obj: Any, attrs: list[str], path: str) -> Any:
    for attr in attrs:
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ImportAttributeError(f"{path!r}: {obj!r} has no attribute {attr!r}.") from None
    return obj


def now() -> float:
    """The clock the engine writes; tests may patch it."""
    return time.time()


# RQ's names for the clock and for text from Redis, which code written for RQ
# (its test helpers too) imports from rq.utils.


def current_timestamp() -> int:
    """The UNIX time in whole seconds (RQ's ``current_timestamp``)."""
    return int(now())


def utcnow() -> datetime:
    """The time now, an aware UTC datetime (RQ's ``utcnow``)."""
    return datetime.fromtimestamp(now(), tz=UTC)


def as_text(value: bytes | str) -> str:
    """Bytes from Redis as text; text as it is (RQ's ``as_text``).

    Anything else (None, numbers) raises ValueError: a caller that may hold
    None uses :func:`as_str`.
    """
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise ValueError(f"Expected bytes or str, not {type(value).__name__}.")


def after(delay: Any) -> float:
    """The UNIX time ``delay`` (a timedelta or seconds) from now."""
    seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
    return now() + seconds


def timestamp_of(when: Any) -> float:
    """A time given as a datetime or a UNIX time, as a UNIX time.

    A naive datetime is the local time of this process, at the offset in
    effect on its date (as RQ 3.0 reads it); an aware one is exact.
    """
    if isinstance(when, (int, float)):
        return float(when)
    return when.timestamp()  # Python reads a naive datetime as local time


def to_datetime(value: Any) -> datetime | None:
    if value in (None, b"", ""):
        return None
    return datetime.fromtimestamp(float(value), tz=UTC)


# Redis replies are typed Any: a call on one is typed as the caller uses it, so
# a value known to be there (a set member, a list item) is a str without a cast.
@overload
def as_str(value: bytes | str | int | float) -> str: ...
@overload
def as_str(value: object) -> str | None: ...
def as_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def json_strings(raw: Any) -> list[str]:
    """The strings of a JSON list as stored (job keys, ids): this code writes
    nothing else there. Anything else, JSON of another shape or bytes that
    are not UTF-8, is another program's: left out, so that no reader fails."""
    if not raw:
        return []
    try:
        loaded = json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        return []
    if not isinstance(loaded, list):
        return []
    return [item for item in loaded if isinstance(item, str)]


def text_members(values: Iterable[Any]) -> tuple[list[str], list[Any]]:
    """The members of a set or list that are UTF-8 text, decoded, and the others.

    Only another program writes the others (a name or id is always text here):
    callers pass them over, or remove them.
    """
    texts, others = [], []
    for value in values:
        try:
            texts.append(as_str(value))
        except UnicodeDecodeError:
            others.append(value)
    return texts, others


@overload
def as_shown(value: bytes | str | int | float) -> str: ...
@overload
def as_shown(value: object) -> str | None: ...
def as_shown(value: object) -> str | None:
    """:func:`as_str` for showing what another program may have written: bytes
    that are not UTF-8 are escaped (``\\xff``) instead of raising."""
    if isinstance(value, bytes):
        return value.decode(errors="backslashreplace")
    return as_str(value)


def float_or_none(value: Any) -> float | None:
    """A number as stored; None when absent, empty, or not a number (another
    program wrote it): what reads it shows the rest, or starts afresh."""
    try:
        return float(value) if value not in (None, b"", "") else None
    except (TypeError, ValueError):
        return None


@overload
def as_int(value: object, default: int) -> int: ...
@overload
def as_int(value: object, default: None = None) -> int | None: ...
def as_int(value: Any, default: int | None = None) -> int | None:
    if value in (None, b"", ""):
        return default
    return int(float(value))


def truncate(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BYTES = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30}


#: The attribute a connection keeps its server's version in (see :func:`get_version`).
_VERSION_ATTRIBUTE = "_jobqueue_redis_version"


def get_version(connection: Any) -> tuple[int, int, int]:
    """The Redis server's version as three ints (``(7, 0, 15)``; ``"7.1"`` is ``(7, 1, 0)``).

    What a feature needs from the server is checked against this (RQ's
    ``rq.utils.get_version`` has the same name and meaning). The server is
    asked once per connection object: the answer is kept on the connection.
    """
    known = getattr(connection, _VERSION_ATTRIBUTE, None)
    if isinstance(known, tuple):
        return known
    text = str(connection.info("server")["redis_version"])
    parts = [int(part) for part in text.split(".")[:3]] + [0, 0]
    version = (parts[0], parts[1], parts[2])
    try:
        setattr(connection, _VERSION_ATTRIBUTE, version)
    except AttributeError:  # a client that takes no new attributes is asked each time
        pass
    return version


def parse_timeout(timeout: Any) -> int | None:
    """RQ's ``parse_timeout``: seconds from ``12``, ``"12"``, ``"12s"``, ``"5m"``, ``"1h"``...

    None stays None and ``-1`` (no timeout) is kept; any other text raises
    :class:`~.errors.TimeoutFormatError` (a ValueError).
    """
    try:
        return parse_duration(timeout, allow_forever=True)
    except (ValueError, TypeError) as exc:
        raise TimeoutFormatError(str(exc)) from None


def parse_bytes(value: Any) -> int | None:
    """Bytes from an int or a string like ``"200MB"``, ``"1.5G"``, ``"512k"``."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if value is not None and value < 0:
            raise ValueError(f"A size cannot be negative ({value!r}).")
        return value
    text = str(value).strip().lower().replace(" ", "")
    number = text.rstrip("kmgb")
    unit = text[len(number) :]
    try:
        if unit not in _BYTES:
            raise ValueError
        size = int(float(number) * _BYTES[unit])
    except ValueError:
        raise ValueError(f"{value!r} is not a size: use bytes or '512MB', '2G'.") from None
    if size < 0:
        raise ValueError(f"A size cannot be negative ({value!r}).")
    return size


def parse_duration(value: Any, allow_forever: bool = False) -> int | None:
    """Seconds from an int, a float, a timedelta or a string like ``"90"``, ``"5m"``, ``"2h"``.

    ``-1`` means "forever" where ``allow_forever`` is set; other negatives are refused.
    """
    if value is None:
        return None
    if hasattr(value, "total_seconds"):
        value = value.total_seconds()
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            if text and text[-1] in _UNITS:
                value = float(text[:-1]) * _UNITS[text[-1]]
            else:
                value = float(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a duration: use seconds or '30s', '5m', '2h', '1d'."
            ) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"A duration must be seconds, not {type(value).__name__}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"{value!r} is not a duration: use seconds"
            + (", or -1 for 'forever'." if allow_forever else ".")
        )
    seconds = int(value)
    if seconds < 0 and not (allow_forever and seconds == -1):
        raise ValueError(
            f"A duration cannot be negative ({value!r})"
            + ("; use -1 for 'forever'." if allow_forever else ".")
        )
    return seconds


_prctl: Any = None


def parent_death_signal(signum: int = signal.SIGTERM) -> Any:
    """A function that makes the calling process get ``signum`` when its parent dies.

    Linux only (prctl PR_SET_PDEATHSIG); None elsewhere. It is looked up in the
    parent, so a child calls it right after fork (or before exec) with nothing
    to load: a pool child must not outlive a pool killed with SIGKILL.
    """
    global _prctl
    if _prctl is None:
        _prctl = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _prctl = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                pass
    if not _prctl:
        return None
    prctl = _prctl

    def set_parent_death_signal() -> None:
        prctl(1, int(signum))  # 1 = PR_SET_PDEATHSIG

    return set_parent_death_signal


def kill_quietly(pid: int, signum: int = signal.SIGKILL) -> None:
    """Send a signal to a process that may already be gone."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def pidfd(pid: int) -> int | None:
    """A file descriptor that becomes readable when ``pid`` exits (Linux 5.3+), else None.

    Lets a parent wait for a child with ``select`` and a timeout instead of polling.
    """
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


# RQ's helpers of ``rq.utils`` that code written for RQ calls.


def utcformat(moment: datetime) -> str:
    """RQ's timestamp text of a datetime (``2017-08-31T10:14:02.123456Z``); naive is UTC.

    :func:`utcparse` reads it back.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utcparse(text: str | bytes) -> datetime:
    """An aware UTC datetime from RQ's timestamp text (``2017-08-31T10:14:02.123456Z``).

    The text may leave out the microseconds, as older RQ versions wrote it.
    """
    text = text.decode() if isinstance(text, bytes) else text
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a UTC timestamp like '2017-08-31T10:14:02.123456Z'.")


def str_to_date(value: bytes | str) -> datetime:
    """:func:`utcparse` of text or bytes from Redis; empty values raise ValueError."""
    if not value:
        raise ValueError("No timestamp to read: the value is empty.")
    return utcparse(as_text(value))


def is_nonstring_iterable(value: Any) -> bool:
    """Whether ``value`` can be iterated and is not text (lists, tuples, dicts, sets)."""
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes))


def ensure_job_list(value: Any) -> list:
    """``value`` as a list: a job or an id alone becomes a list of one (RQ's name)."""
    return list(value) if is_nonstring_iterable(value) else [value]


def ceildiv(a: int, b: int) -> int:
    """``a / b`` rounded up, in integers."""
    return -(-a // b)


def split_list(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def truncate_long_string(text: str, max_length: int | None = None) -> str:
    """``text`` cut to ``max_length`` characters followed by ``...`` (None: never cut)."""
    if max_length is None or len(text) <= max_length:
        return text
    return text[:max_length] + "..."


def get_call_string(
    func_name: str | None, args: Any = (), kwargs: Any = None, max_length: int | None = None
) -> str | None:
    """``f(1, 'a', key=True)``: how a call reads in a job's description (RQ's helper).

    Each argument's repr is cut to ``max_length`` (see :func:`truncate_long_string`).
    """
    if func_name is None:
        return None
    parts = [truncate_long_string(repr(arg), max_length) for arg in args or ()]
    parts += [
        f"{key}={truncate_long_string(repr(value), max_length)}"
        for key, value in (kwargs or {}).items()
    ]
    return f"{func_name}({', '.join(parts)})"


def backend_class(holder: Any, default_name: str, override: Any = None) -> Any:
    """The class ``holder.<default_name>``, unless ``override`` (a class or a dotted path)."""
    if override is None:
        return getattr(holder, default_name)
    if isinstance(override, str):
        return import_attribute(override)
    return override


def import_class(path: str, base: type, what: str) -> type:
    """The class ``path`` names, which must be ``base`` or a subclass; ValueError otherwise."""
    found = import_attribute(path)
    if not (isinstance(found, type) and issubclass(found, base)):
        raise ValueError(f"{path!r} is not a {what} class (a subclass of {base.__qualname__}).")
    return found


def normalize_config_path(path: str) -> str:
    """A configuration's file path as a dotted module path (``app/cron.py`` -> ``app.cron``).

    A dotted path is returned as it is; a leading separator is dropped.
    """
    dotted = path.removesuffix(".py").replace(os.sep, ".").replace("/", ".")
    return dotted.strip(".")


def validate_absolute_path(path: str) -> str:
    """``path`` when it is an existing file; FileNotFoundError or IsADirectoryError otherwise."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"Configuration file not found: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Configuration path points to a directory, not a file: {path}")
    return path


class PidFile:
    """``with PidFile(path):`` the process's id is in ``path`` meanwhile.

    ``path`` None does nothing; ``~`` is expanded. The file is removed at the
    end unless ``keep`` (RQ's ``rq worker --pid`` leaves it). Used by the
    worker commands (``rqworker --pid``, ``jobqueue worker --pid``).
    """

    def __init__(self, path: str | None, keep: bool = False):
        self.path = os.path.expanduser(path) if path else None
        self.keep = keep

    def __enter__(self) -> PidFile:
        if self.path:
            with open(self.path, "w") as fh:
                fh.write(str(os.getpid()))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.path and not self.keep:
            try:
                os.unlink(self.path)
            except OSError:
                pass
