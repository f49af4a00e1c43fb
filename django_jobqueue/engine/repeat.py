"""Repeating a job: after each success, the job runs again, a given number of times.

``queue.enqueue(f, repeat=Repeat(times=3, interval=30))`` runs ``f`` once, then,
after each run that succeeds, three more times, 30 seconds apart. The job
keeps its id: each run after the first is the same job put back in its queue
(interval 0) or in the scheduled registry until the interval has passed. A
failed run ends the repeats (use :class:`~.retry.Retry` for failures); a retry
that then succeeds goes on repeating.

The worker records a run and places the next one in one script
(``scripts/finish_repeat.lua``), so the job is never both finished and
waiting, nor lost between the two. The job's hash counts down
``repeats_left`` and uses up ``repeat_intervals`` from the front, keeping the
last one for the runs after it, as RQ does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import scripts
from .errors import InvalidJobOperation, NoRepeatsLeft
from .retry import MAX_RETRIES
from .utils import as_str, now

if TYPE_CHECKING:
    from .job import Job
    from .queue import Queue


class Repeat:
    """Run a job again after each success, ``times`` more times.

    Args:
        times: how many runs after the first (at least 1).
        interval: seconds to wait before the next run (0: put it back in its
            queue at once), or a list giving the wait before the 1st, 2nd, ...
            repeat; the last value is used for the repeats after it.

    Raises:
        ValueError: ``times`` below 1, a negative interval, or an empty list.
        TypeError: an interval that is not a number nor a list of numbers.
    """

    def __init__(self, times: int, interval: float | Iterable[float] = 0):
        if not isinstance(times, int) or isinstance(times, bool):
            raise TypeError(f"Repeat(times=...) must be a whole number, not {times!r}.")
        if not 1 <= times <= MAX_RETRIES:
            raise ValueError(
                f"Repeat(times=...) must be from 1 to {MAX_RETRIES}: the runs after the first."
            )
        if isinstance(interval, (int, float)) and not isinstance(interval, bool):
            intervals = [interval]
        elif isinstance(interval, Iterable) and not isinstance(interval, (str, bytes)):
            intervals = list(interval)
        else:
            raise TypeError("Repeat(interval=...) takes seconds, or a list of them.")
        for value in intervals:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"Repeat(interval=...) takes seconds, not {value!r}.")
            if value < 0:
                raise ValueError("Repeat(interval=...) takes seconds >= 0.")
        if not intervals:
            raise ValueError("Repeat(interval=[]) needs at least one interval (0: at once).")
        self.times = times
        self.intervals = intervals

    def __repr__(self) -> str:
        return f"Repeat(times={self.times}, interval={self.intervals})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Repeat):
            return NotImplemented
        return (self.times, self.intervals) == (other.times, other.intervals)

    __hash__ = None  # type: ignore[assignment]  # mutable, like RQ's dataclass

    @classmethod
    def get_interval(cls, count: int, intervals: Sequence[float]) -> float:
        """The interval before repeat number ``count`` (0-based): the last one past the list.

        Raises:
            IndexError: ``intervals`` is empty.
        """
        return intervals[min(count, len(intervals) - 1)]

    @classmethod
    def schedule(cls, job: Job, queue: Queue, pipeline: Any = None) -> datetime | None:
        """Run ``job`` once more, now or after its next interval, using up one repeat.

        What a worker does after each successful run, for a caller to do by
        hand. The job leaves wherever it is (its queue, or the finished,
        failed or canceled registry) and enters its queue, or the scheduled
        registry when its next interval is not 0: it is moved, never copied.

        Args:
            job: a job enqueued with ``repeat=``, on ``queue``.
            queue: the job's queue.
            pipeline: a redis-py pipeline of this queue's server to queue the
                change on; it happens when the caller executes it (the returned
                time is then worked out from ``job`` as it was read).

        A job that is no longer stored (deleted, or its queue emptied) is
        stored again from ``job``, as RQ saves the caller's copy.

        Returns:
            When the next run is due (an aware UTC datetime), or None when the
            job went back to its queue.

        Raises:
            NoRepeatsLeft: the job has no repeat left (a ValueError).
            InvalidJobOperation: the job is running, or waits on its parents.
        """
        timestamp = now()
        if pipeline is not None:
            if not job.repeats_left or job.repeats_left <= 0:
                raise NoRepeatsLeft(f"Job {job.id} has no repeat left.")
            interval = cls.get_interval(0, job.repeat_intervals or [0])
            scripts.preload(queue.connection, "repeat")
            scripts.repeat(pipeline, queue.keys, queue.name, job.id, timestamp)
            job.repeats_left -= 1
            if job.repeat_intervals and len(job.repeat_intervals) > 1:
                job.repeat_intervals = job.repeat_intervals[1:]
            return _due(timestamp, interval)
        try:
            _, interval = scripts.repeat(
                queue.connection, queue.keys, queue.name, job.id, timestamp
            )
        except Exception as exc:
            text = str(exc)
            if text.startswith("NO_REPEATS_LEFT"):
                raise NoRepeatsLeft(f"Job {job.id} has no repeat left.") from None
            if text.startswith("NOT_REPEATABLE"):
                raise InvalidJobOperation(
                    f"Job {job.id} is {text.split()[1]}: it runs again once it succeeds."
                ) from None
            if text.startswith("NO_SUCH_JOB"):
                return cls._store_again(job, queue, timestamp)
            raise
        job.refresh()
        return _due(timestamp, float(as_str(interval)))

    @classmethod
    def _store_again(cls, job: Job, queue: Queue, timestamp: float) -> datetime | None:
        """Place the next run of a job no longer stored, from the caller's copy."""
        if not job.repeats_left or job.repeats_left <= 0:
            raise NoRepeatsLeft(f"Job {job.id} has no repeat left.")
        before = job.repeats_left, job.repeat_intervals
        interval = cls.get_interval(0, job.repeat_intervals or [0])
        job.repeats_left -= 1
        if job.repeat_intervals and len(job.repeat_intervals) > 1:
            job.repeat_intervals = job.repeat_intervals[1:]
        due = _due(timestamp, interval)
        try:
            queue.enqueue_job(job, at=due or datetime.fromtimestamp(timestamp, UTC))
        except Exception:
            job.repeats_left, job.repeat_intervals = before  # nothing was stored
            raise
        return due


def _due(timestamp: float, interval: float) -> datetime | None:
    """When a run placed at ``timestamp`` with ``interval`` is due; None: at once."""
    if not interval:
        return None
    return datetime.fromtimestamp(timestamp, UTC) + timedelta(seconds=interval)


def finish_run(job: Job, timestamp: float, result_ttl: int, raw: bytes, worker: str) -> list:
    """Record a successful run of a job that repeats, and place its next run.

    For :func:`.outcome.record_success`, in the shape of ``scripts.finish``'s
    reply: ``[dependents JSON or None, None]`` (no next job is taken: the
    repeated one may be it). The job's status becomes that of its next run
    (queued or scheduled), or finished when no repeat was left after all.
    """
    reply = scripts.finish_repeat(
        job.connection, job.keys, job.origin, job.id, timestamp, result_ttl, raw, worker
    )
    if not reply:
        return [None, None]
    status, dependents = (as_str(part) for part in reply)
    if status != "finished":
        job.repeats_left = (job.repeats_left or 1) - 1
        if job.repeat_intervals and len(job.repeat_intervals) > 1:
            job.repeat_intervals = job.repeat_intervals[1:]
    job.set_status(status)
    return [dependents, None]
