"""Small helpers with no better home: imports, clocks, conversions."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any, overload

#: Where each dotted path splits into module and attributes, once found: a worker
#: resolves the same few names over and over, and probing for the module costs
#: a failed import each time. The attributes are still looked up on every call,
#: so a function patched in a test is the one that runs.
_splits: dict[str, int] = {}


def import_attribute(path: str) -> Any:
    """Import ``package.module.attr`` (attr may itself be dotted: ``mod.Class.method``).

    The longest importable module prefix wins, so class attributes resolve too.
    """
    split = _splits.get(path)
    if split is not None:
        parts = path.split(".")
        module = sys.modules.get(".".join(parts[:split]))
        if module is not None:
            return _getattrs(module, parts[split:], path)
    if not isinstance(path, str) or not path or path.startswith(".") or ".." in path:
        raise ImportError(f"{path!r} is not a dotted path to a function.")
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
        raise ImportError(f"No module found for {path!r}.")
    obj = _getattrs(module, rest, path)
    _splits[path] = i
    return obj


def _getattrs(obj: Any, attrs: list[str], path: str) -> Any:
    for attr in attrs:
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise ImportError(f"{path!r}: {obj!r} has no attribute {attr!r}.") from None
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


def utcformat(dt: datetime) -> str:
    """A datetime as RQ writes one in Redis: UTC, ``2024-01-02T03:04:05.000006Z``."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utcparse(text: str | bytes) -> datetime:
    """What :func:`utcformat` wrote, as an aware UTC datetime (also without microseconds)."""
    text = text.decode() if isinstance(text, bytes) else text
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a UTC time as utcformat() writes it.")


def as_text(value: Any) -> str | None:
    """Bytes from Redis as text, other values as they are (RQ's ``as_text``)."""
    return value.decode() if isinstance(value, bytes) else value


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


def get_version(connection: Any) -> tuple[int, ...]:
    """The Redis server's version, as a tuple of ints (``(7, 0, 15)``).

    What a feature needs from the server is checked against this (RQ's
    ``rq.utils.get_version`` has the same name and meaning).
    """
    version = connection.info("server")["redis_version"]
    return tuple(int(part) for part in str(version).split(".")[:3])


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
