"""Retrying a failed job: how many times, how long to wait before each retry,
and which failures deserve one.

A :class:`Retry` is given at enqueue (``retry=Retry(...)``: retry when the job
raises) or returned by the job function itself (ask for a retry without
raising; see :func:`.outcome.record_failure`). A job may also raise
:class:`~.errors.RetryLater` to ask for one.

RQ's arguments (``max``, ``interval``, ``enqueue_at_front``) behave exactly as
in RQ. The others (``backoff``, ``max_interval``, ``jitter``, ``retry_on``,
``dont_retry_on``) are kept apart, as :class:`RetryRules`: a job that uses
none of them carries none, and its retries are computed as before.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from .errors import ImportAttributeError
from .utils import import_attribute

logger = logging.getLogger("django_jobqueue.worker")

#: Retries a job gets from raising :class:`~.errors.RetryLater` when it was
#: enqueued without a ``retry=Retry(...)``: as many as Celery's default.
RETRY_LATER_MAX = 3

#: The longest wait a ``Retry`` with ``backoff`` may reach without
#: ``max_interval``: beyond it, the job would in practice never run again.
LONGEST_WAIT = 365 * 24 * 3600

#: Dotted path -> the exception class it names, or None when it cannot be
#: imported here (logged once per job that needed it, looked up once).
_classes: dict[str, type[BaseException] | None] = {}

#: The most retries a Retry gives (see Retry).
MAX_RETRIES = 2**31 - 1


def dotted_path(cls: type) -> str:
    """``module.QualName`` of a class: what a worker imports to find it again."""
    return f"{cls.__module__}.{cls.__qualname__}"


def exception_class(path: str) -> type[BaseException] | None:
    """The exception class ``path`` names here, or None (with the reason logged)."""
    try:
        return _classes[path]
    except KeyError:
        pass
    found: Any = None
    try:
        found = import_attribute(path)
    except (ImportAttributeError, ImportError, ValueError) as exc:
        logger.warning(
            "Retry rules name %r, which cannot be imported in this worker (%s: %s); "
            "it matches no exception.",
            path,
            type(exc).__name__,
            exc,
        )
    except Exception as exc:  # a module that fails to import must not stop the worker
        logger.warning(
            "Retry rules name %r, whose module raised on import (%s: %s); it matches no exception.",
            path,
            type(exc).__name__,
            exc,
        )
    else:
        if not (isinstance(found, type) and issubclass(found, BaseException)):
            logger.warning(
                "Retry rules name %r, which is %r, not an exception class; "
                "it matches no exception.",
                path,
                found,
            )
            found = None
    _classes[path] = found
    return found


def _matches(exc: BaseException, paths: Sequence[str]) -> bool:
    for path in paths:
        cls = exception_class(path)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


def _exception_paths(name: str, classes: Any) -> tuple[str, ...]:
    """Validate ``retry_on``/``dont_retry_on`` and turn them into dotted paths."""
    if isinstance(classes, type):
        classes = (classes,)
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (tuple, list, frozenset, set)):
        raise TypeError(
            f"Retry({name}=...) takes exception classes, as one class or a tuple: "
            f"{name}=(ConnectionError, TimeoutError), not {classes!r}."
        )
    if not classes:
        raise ValueError(
            f"Retry({name}=()) names no exception class: give at least one, or leave {name} out."
        )
    paths = []
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError(
                f"Retry({name}=...) takes exception classes (such as ConnectionError), "
                f"not {cls!r}: pass the class, not an instance or a name."
            )
        if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
            raise ValueError(
                f"Retry({name}=...): {cls.__qualname__} is defined in "
                f"{'a function' if '<locals>' in cls.__qualname__ else '__main__'}, where "
                "a worker cannot import it: define it at module level in a module the "
                "worker imports."
            )
        paths.append(dotted_path(cls))
    return tuple(sorted(set(paths)))


def _seconds(name: str, value: Any, *, positive: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        raise ValueError(
            f"Retry({name}=...) takes seconds, a number "
            f"{'> 0' if positive else '>= 0'}, not {value!r}."
        )
    return float(value)


class RetryRules(NamedTuple):
    """What a :class:`Retry` says beyond RQ's arguments; stored with the job as JSON.

    The exception classes are held as dotted paths: that is what survives
    Redis, and they are imported only when a job fails, in the worker
    (:func:`exception_class`), so a class a worker cannot import never
    stops it.
    """

    #: Each retry waits this many times the wait before it (1: the same).
    backoff: float = 1.0
    #: No wait is longer than this (seconds); None: no cap.
    max_interval: float | None = None
    #: Each wait is drawn uniformly between half of it and all of it.
    jitter: bool = False
    #: Only failures of these classes (or subclasses) are retried; None: all.
    retry_on: tuple[str, ...] | None = None
    #: Failures of these classes are never retried, even if ``retry_on`` names them.
    dont_retry_on: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return self == _DEFAULT_RULES

    def to_dict(self) -> dict[str, Any]:
        """The rules that differ from the defaults (RQ's behaviour)."""
        data: dict[str, Any] = {}
        if self.backoff != 1:
            data["backoff"] = self.backoff
        if self.max_interval is not None:
            data["max_interval"] = self.max_interval
        if self.jitter:
            data["jitter"] = True
        if self.retry_on is not None:
            data["retry_on"] = list(self.retry_on)
        if self.dont_retry_on:
            data["dont_retry_on"] = list(self.dont_retry_on)
        return data

    def dumps(self) -> str | None:
        """As stored in the job's ``retry_rules`` field; None when all are defaults."""
        data = self.to_dict()
        return json.dumps(data, sort_keys=True) if data else None

    @classmethod
    def from_dict(cls, data: Any) -> RetryRules:
        """Rules from :meth:`to_dict`; ValueError, TypeError or KeyError when malformed."""
        if not isinstance(data, dict):
            raise TypeError("retry rules are not a JSON object")
        retry_on = data.get("retry_on")
        rules = cls(
            backoff=float(data.get("backoff", 1.0)),
            max_interval=(
                float(data["max_interval"]) if data.get("max_interval") is not None else None
            ),
            jitter=bool(data.get("jitter", False)),
            retry_on=tuple(str(p) for p in retry_on) if retry_on is not None else None,
            dont_retry_on=tuple(str(p) for p in data.get("dont_retry_on", ())),
        )
        if not (rules.backoff >= 1 and math.isfinite(rules.backoff)):
            raise ValueError(f"backoff {rules.backoff!r}")
        return rules

    @classmethod
    def loads(cls, raw: str | bytes | None, job_id: str = "?") -> RetryRules | None:
        """Rules as :meth:`dumps` wrote them; None for none.

        Stored text that cannot be read is logged and read as no rules (RQ's
        behaviour): a worker never stops over it.
        """
        if not raw:
            return None
        try:
            return cls.from_dict(json.loads(raw))
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning(
                "Job %s: its stored retry rules cannot be read (%s); they are ignored.",
                job_id,
                exc,
            )
            return None

    def grow(self, wait: float, number: int) -> float:
        """The wait before retry ``number`` (1: the first): ``wait`` times
        ``backoff ** (number - 1)``, capped at ``max_interval``."""
        if self.backoff != 1 and number > 1:
            try:
                wait = wait * self.backoff ** (number - 1)
            except OverflowError:
                wait = math.inf
        if self.max_interval is not None:
            wait = min(wait, self.max_interval)
        return float(min(wait, LONGEST_WAIT))

    def spread(self, wait: float) -> float:
        """``wait`` with the jitter applied: uniform in ``[wait / 2, wait]``.

        "Equal jitter": retries of jobs that failed together spread over half
        their wait, yet none comes sooner than half the wait asked for (a
        service that is down gets that long to recover) or later than the wait
        without jitter (so ``max_interval`` stays a true bound).
        """
        if not self.jitter or wait <= 0:
            return wait
        return random.uniform(wait / 2, wait)

    def allows(self, exc: BaseException | None) -> bool:
        """Whether a failure by ``exc`` may be retried (``dont_retry_on`` wins).

        ``exc`` None is a failure that was no exception of the job's (its
        worker or work-horse died): it matches no class.
        """
        if exc is not None and self.dont_retry_on and _matches(exc, self.dont_retry_on):
            return False
        if self.retry_on is None:
            return True
        return exc is not None and _matches(exc, self.retry_on)


_DEFAULT_RULES = RetryRules()


class Retry:
    """Run a failing job again, up to ``max`` more times.

    Args:
        max: how many retries after the first attempt.
        interval: seconds to wait before a retry: one number for all of them, or
            a list of waits, the last one for the last retry: with ``max``
            retries and ``n`` waits, the retry with ``k`` retries left after it
            waits ``interval[max(n - k - 1, 0)]``, so with more retries than
            waits the first wait is used for the first ones (as in RQ; see
            :meth:`Job.get_retry_interval`).
        enqueue_at_front: put the job back at the front of its queue, not the
            end, when it is retried without a wait (RQ's keyword).
        backoff: multiply the wait by this after each retry: retry ``k``
            (1-based) waits ``interval * backoff ** (k - 1)``. A number >= 1
            (1: every wait is ``interval``); ``interval`` must then be one number.
        max_interval: no wait is longer than this many seconds.
        jitter: draw each wait uniformly between half of it and all of it
            ("equal jitter"), so jobs that failed together do not all come back
            at once.
        retry_on: retry only failures raised as one of these exception
            classes (subclasses included); by default every failure is.
        dont_retry_on: never retry failures raised as one of these classes
            (subclasses included), even when ``retry_on`` names them too.
    """

    def __init__(
        self,
        max: int,
        interval: int | float | Sequence[int | float] = 0,
        enqueue_at_front: bool = False,
        *,
        backoff: float = 1.0,
        max_interval: float | None = None,
        jitter: bool = False,
        retry_on: Any = None,
        dont_retry_on: Any = None,
    ):
        # At most 2**31 - 1: the count lives in the job's hash, where Redis counts
        # it down with HINCRBY, which refuses numbers past 64 bits.
        if not isinstance(max, int) or isinstance(max, bool) or not 1 <= max <= MAX_RETRIES:
            raise ValueError(
                f"Retry(max=...) must be a whole number of retries, from 1 to {MAX_RETRIES}."
            )
        intervals = [interval] if isinstance(interval, (int, float)) else list(interval)
        if not intervals or any(not isinstance(i, (int, float)) or i < 0 for i in intervals):
            raise ValueError("Retry(interval=...) takes seconds >= 0, or a list of them.")
        if not isinstance(enqueue_at_front, bool):
            raise TypeError(
                f"Retry(enqueue_at_front=...) takes True or False, not {enqueue_at_front!r}."
            )
        if (
            isinstance(backoff, bool)
            or not isinstance(backoff, (int, float))
            or not math.isfinite(backoff)
            or backoff < 1
        ):
            raise ValueError(
                f"Retry(backoff=...) multiplies each wait by that much: a number >= 1 "
                f"(2 doubles it, 1 keeps it), not {backoff!r}."
            )
        if backoff != 1 and len(intervals) > 1:
            raise ValueError(
                "Retry(backoff=...) grows one interval: give interval=<seconds> as one "
                "number, or a list of waits without backoff."
            )
        if max_interval is not None:
            max_interval = _seconds("max_interval", max_interval, positive=True)
        elif backoff != 1 and intervals[0] > 0:
            longest = math.log(intervals[0]) + (max - 1) * math.log(backoff)
            if longest > math.log(LONGEST_WAIT):
                raise ValueError(
                    f"Retry(max={max}, interval={intervals[0]}, backoff={backoff}) would "
                    "wait more than a year before its last retry: set max_interval=<seconds> "
                    "to cap the wait, or lower max or backoff."
                )
        if not isinstance(jitter, bool):
            raise TypeError(f"Retry(jitter=...) takes True or False, not {jitter!r}.")
        self.max = max
        self.intervals = intervals
        self.enqueue_at_front = enqueue_at_front
        #: The rules beyond RQ's arguments (all defaults when none was given).
        self.rules = RetryRules(
            backoff=float(backoff),
            max_interval=max_interval,
            jitter=jitter,
            retry_on=None if retry_on is None else _exception_paths("retry_on", retry_on),
            # () excludes nothing, as leaving it out does (an empty retry_on is refused:
            # it would say "retry nothing" while the job asks for retries).
            dont_retry_on=(
                ()
                if dont_retry_on is None or dont_retry_on == ()
                else _exception_paths("dont_retry_on", dont_retry_on)
            ),
        )

    # The rules, by the names they were given as.

    @property
    def backoff(self) -> float:
        return self.rules.backoff

    @property
    def max_interval(self) -> float | None:
        return self.rules.max_interval

    @property
    def jitter(self) -> bool:
        return self.rules.jitter

    @property
    def retry_on(self) -> tuple[str, ...] | None:
        """The classes retried, as dotted paths (what is stored); None: every one."""
        return self.rules.retry_on

    @property
    def dont_retry_on(self) -> tuple[str, ...]:
        """The classes never retried, as dotted paths (what is stored)."""
        return self.rules.dont_retry_on

    @classmethod
    def _build(
        cls, max: int, intervals: Any, at_front: Any, rules: RetryRules | None = None
    ) -> Retry:
        """A Retry from stored values: the classes stay paths, imported only when needed."""
        retry = cls(max, intervals, at_front)
        if rules is not None:
            if rules.backoff != 1 and len(retry.intervals) > 1:
                raise ValueError("backoff with a list of intervals")
            retry.rules = rules
        return retry

    def __repr__(self) -> str:
        interval = self.intervals[0] if len(self.intervals) == 1 else self.intervals
        text = (
            f"Retry(max={self.max}, interval={interval!r}, "
            f"enqueue_at_front={self.enqueue_at_front!r}"
        )
        for name, value in self.rules.to_dict().items():
            if name in ("retry_on", "dont_retry_on"):
                value = tuple(value)
            text += f", {name}={value!r}"
        return text + ")"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return (self.max, self.intervals, self.enqueue_at_front, self.rules) == (
            other.max,
            other.intervals,
            other.enqueue_at_front,
            other.rules,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like RQ's

    def dumps(self) -> str:
        """This retry as JSON, the way ``scripts/fail.lua`` reads a returned one.

        The rules beyond RQ's arguments are added only when given, so a plain
        Retry is stored as it always was.
        """
        data: dict[str, Any] = {
            "max": self.max,
            "intervals": self.intervals,
            "at_front": self.enqueue_at_front,
        }
        data.update(self.rules.to_dict())
        return json.dumps(data)

    @classmethod
    def loads(cls, text: str | bytes | None) -> Retry | None:
        """The retry :meth:`dumps` wrote; None for nothing, or for text it did not write."""
        if not text:
            return None
        try:
            data = json.loads(text)
            rules = RetryRules.from_dict(data)
            return cls._build(
                data["max"],
                data["intervals"],
                data["at_front"],
                None if rules.is_default else rules,
            )
        except (ValueError, TypeError, KeyError):
            return None

    def wait_after(self, done: int) -> float:
        """Seconds before the retry that follows ``done`` retries of this
        returned Retry, with backoff, cap and jitter (forward, as RQ indexes
        a returned Retry's intervals: see :meth:`get_interval`)."""
        wait = self.get_interval(done, self.intervals)
        return self.rules.spread(self.rules.grow(wait, done + 1))

    @classmethod
    def get_interval(cls, count: int, intervals: int | float | Sequence[float] | None) -> float:
        """Seconds to wait before retry number ``count + 1`` (RQ's name).

        ``intervals`` is one number, or a list whose last value repeats.
        """
        if isinstance(intervals, (int, float)):
            return intervals
        if not intervals:
            return 0
        return intervals[min(count, len(intervals) - 1)]

    @staticmethod
    def delay(intervals: Sequence[float] | None, retries_left: int) -> float:
        """Seconds to wait before a retry of a job that has ``retries_left`` (before it).

        As RQ counts: the waits are taken from the end of ``intervals``, the
        last one for the last retry, and the first one repeats for the
        retries before the list begins.
        """
        if not intervals:
            return 0.0
        return float(intervals[max(len(intervals) - retries_left, 0)])
