"""Retrying a failed job: how many times, and how long to wait before each retry.

A :class:`Retry` is given at enqueue (``retry=Retry(...)``: retry when the job
raises) or returned by the job function itself (ask for a retry without
raising; see :func:`.outcome.record_failure`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence


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
    """

    def __init__(
        self,
        max: int,
        interval: int | float | Sequence[int | float] = 0,
        enqueue_at_front: bool = False,
    ):
        if not isinstance(max, int) or isinstance(max, bool) or max < 1:
            raise ValueError("Retry(max=...) must be a whole number of retries, at least 1.")
        intervals = [interval] if isinstance(interval, (int, float)) else list(interval)
        if not intervals or any(not isinstance(i, (int, float)) or i < 0 for i in intervals):
            raise ValueError("Retry(interval=...) takes seconds >= 0, or a list of them.")
        if not isinstance(enqueue_at_front, bool):
            raise TypeError(
                f"Retry(enqueue_at_front=...) takes True or False, not {enqueue_at_front!r}."
            )
        self.max = max
        self.intervals = intervals
        self.enqueue_at_front = enqueue_at_front

    def __repr__(self) -> str:
        interval = self.intervals[0] if len(self.intervals) == 1 else self.intervals
        return (
            f"Retry(max={self.max}, interval={interval!r}, "
            f"enqueue_at_front={self.enqueue_at_front!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return (self.max, self.intervals, self.enqueue_at_front) == (
            other.max,
            other.intervals,
            other.enqueue_at_front,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like RQ's

    def dumps(self) -> str:
        """This retry as JSON, the way ``scripts/fail.lua`` reads a returned one."""
        return json.dumps(
            {"max": self.max, "intervals": self.intervals, "at_front": self.enqueue_at_front}
        )

    @classmethod
    def loads(cls, text: str | bytes | None) -> Retry | None:
        """The retry :meth:`dumps` wrote; None for nothing, or for text it did not write."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(data["max"], data["intervals"], data["at_front"])
        except (ValueError, TypeError, KeyError):
            return None

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
