"""Retrying a failed job: how many times, and how long to wait before each retry."""

from __future__ import annotations

from collections.abc import Sequence


class Retry:
    """Run a failing job again, up to ``max`` more times.

    Args:
        max: how many retries after the first attempt.
        interval: seconds to wait before a retry: one number for all of them, or
            a list giving the wait before the 1st, 2nd, ... retry (the last
            value repeats), for growing back-off.
    """

    def __init__(self, max: int, interval: int | float | Sequence[int | float] = 0):
        if not isinstance(max, int) or isinstance(max, bool) or max < 1:
            raise ValueError("Retry(max=...) must be a whole number of retries, at least 1.")
        intervals = [interval] if isinstance(interval, (int, float)) else list(interval)
        if not intervals or any(not isinstance(i, (int, float)) or i < 0 for i in intervals):
            raise ValueError("Retry(interval=...) takes seconds >= 0, or a list of them.")
        self.max = max
        self.intervals = intervals

    def __repr__(self) -> str:
        return f"Retry(max={self.max}, interval={self.intervals})"

    @staticmethod
    def delay(intervals: Sequence[float], max: int, retries_left: int) -> float:
        """Seconds to wait before the retry that starts with ``retries_left`` left."""
        attempt = max - retries_left
        return float(intervals[min(attempt, len(intervals) - 1)])
