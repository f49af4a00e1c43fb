"""What a worker counts in memory and writes to Redis about once a second.

Counting in the scripts that record outcomes cost two Redis commands per job
(``HINCRBY`` + ``EXPIRE``). A worker instead keeps its counts here and adds
them to Redis in one pipelined round trip at most once per
:data:`FLUSH_INTERVAL`, and when it stops. Two kinds of keys receive them:

* the per-minute hashes (:meth:`.KeySpace.stats`) behind the dashboard's chart
  and :func:`.stats.throughput`, kept for :data:`.keys.STATS_TTL` seconds;
* one cumulative hash per queue (:meth:`.KeySpace.metrics`) behind the
  Prometheus endpoint: jobs started, finished and failed, and a histogram of
  job durations.

Counts not yet written when a worker is killed outright (``SIGKILL``) are lost:
at most one second's worth.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from .connection import is_cluster
from .keys import STATS_TTL, KeySpace
from .utils import now
from .vocabulary import JobStatus

#: Seconds between two flushes of a worker's counts to Redis.
FLUSH_INTERVAL = 1.0
#: Seconds between two "jobs done in the last minute" log lines.
REPORT_INTERVAL = 60.0
#: Upper bounds (seconds) of the job-duration histogram's buckets, 5 ms to 5 min;
#: a last bucket, ``+Inf``, takes the rest.
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)

logger = logging.getLogger("django_jobqueue.worker")


def bucket_label(bound: float) -> str:
    """The ``le`` label of a bucket as Prometheus writes it (``0.005``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


#: Field names of the histogram in the metrics hash, in bucket order.
BUCKET_FIELDS = tuple(f"le:{bucket_label(b)}" for b in (*DURATION_BUCKETS, float("inf")))


class _Counts:
    """One queue's counts since the last flush."""

    __slots__ = ("buckets", "duration_sum", "failed", "finished", "started")

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self.failed = 0
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # not cumulative yet
        self.duration_sum = 0.0


class Tally:
    """A worker's counts per queue, flushed to Redis in one round trip.

    Args:
        connection: the worker's Redis client.
        keys: the worker's key space.
        clock: monotonic seconds, for the flush interval (tests pass a fake).
        wall_clock: UNIX seconds, for the minute a job ended in.
        interval: seconds between flushes.
    """

    def __init__(
        self,
        connection: Any,
        keys: KeySpace,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = now,
        interval: float = FLUSH_INTERVAL,
    ):
        self.connection = connection
        self.keys = keys
        self.clock = clock
        self.wall_clock = wall_clock
        self.interval = interval
        self._queues: dict[str, _Counts] = {}
        #: (queue, minute) -> [finished, failed]
        self._minutes: dict[tuple[str, int], list[int]] = {}
        self._next_flush = clock() + interval
        #: Round trips made by :meth:`flush` (each one pipeline), for tests and logs.
        self.flushes = 0

    def _counts(self, queue: str) -> _Counts:
        counts = self._queues.get(queue)
        if counts is None:
            counts = self._queues[queue] = _Counts()
        return counts

    def started(self, queue: str) -> None:
        self._counts(queue).started += 1

    def ended(self, queue: str, status: str | None, seconds: float | None = None) -> None:
        """Count a job's outcome; ``status`` is what recording it returned.

        ``finished`` counts as finished; ``None`` (the outcome was not this
        worker's to record: the job was deleted or given up meanwhile) counts
        as neither; anything else (failed, stopped, or queued/scheduled again
        for a retry) counts as a failed attempt, as the chart always counted.
        """
        counts = self._counts(queue)
        if seconds is not None:
            counts.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
            counts.duration_sum += seconds
        if status is None:
            return
        minute = self._minutes.setdefault((queue, int(self.wall_clock() // 60)), [0, 0])
        if status == JobStatus.FINISHED:
            counts.finished += 1
            minute[0] += 1
        else:
            counts.failed += 1
            minute[1] += 1

    @property
    def pending(self) -> bool:
        return bool(self._queues or self._minutes)

    def flush_if_due(self) -> None:
        if self.clock() >= self._next_flush:
            self.flush()

    def flush(self) -> bool:
        """Add the counts to Redis in one round trip; returns False when Redis failed.

        The counts stay for the next flush when Redis fails, so an outage
        delays them; a flush cut off half-way may count part of it twice.
        Each increment stands on its own, so on plain Redis the pipeline is a
        ``MULTI`` for readers' sake (never half a flush), and on a cluster,
        where one transaction cannot span slots, a plain pipeline.
        """
        self._next_flush = self.clock() + self.interval
        if not self.pending:
            return True
        pipe = self.connection.pipeline(transaction=not is_cluster(self.connection))
        for queue, counts in self._queues.items():
            key = self.keys.metrics(queue)
            for name in ("started", "finished", "failed"):
                if value := getattr(counts, name):
                    pipe.hincrby(key, name, value)
            observed = sum(counts.buckets)
            if observed:
                running = 0
                for field, count in zip(BUCKET_FIELDS, counts.buckets):
                    running += count
                    if running:
                        pipe.hincrby(key, field, running)
                pipe.hincrby(key, "duration_count", observed)
                pipe.hincrbyfloat(key, "duration_sum", counts.duration_sum)
        for (queue, minute), (finished, failed) in self._minutes.items():
            key = self.keys.stats(queue, minute)
            if finished:
                pipe.hincrby(key, "finished", finished)
            if failed:
                pipe.hincrby(key, "failed", failed)
            pipe.expire(key, STATS_TTL)
        try:
            pipe.execute()
        except Exception as exc:
            logger.warning(
                "Could not write job counts to Redis (%s: %s); trying again in %ss",
                type(exc).__name__,
                exc,
                self.interval,
            )
            return False
        finally:
            pipe.reset()
        self.flushes += 1
        self._queues.clear()
        self._minutes.clear()
        return True


class MinuteReport:
    """Logs one line every :data:`REPORT_INTERVAL`: jobs done and failed, and the rate.

    Args:
        name: the worker's name, for the line.
        clock: monotonic seconds (tests pass a fake).
        interval: seconds between lines.
    """

    def __init__(
        self,
        name: str,
        clock: Callable[[], float] = time.monotonic,
        interval: float = REPORT_INTERVAL,
        log: logging.Logger = logger,
    ):
        self.name = name
        self.clock = clock
        self.interval = interval
        self.log = log
        self._since = clock()
        self._done = 0
        self._failed = 0

    def tick(self, done: int, failed: int) -> None:
        """Log the line if due; ``done`` and ``failed`` count jobs since the worker started.

        ``done`` includes the failed ones.
        """
        elapsed = self.clock() - self._since
        if elapsed < self.interval or elapsed <= 0:
            return
        jobs, bad = done - self._done, failed - self._failed
        self.log.info(
            "Worker %s: %d jobs done, %d failed in the last %ds (%.2f jobs/s); "
            "%d done, %d failed since start",
            self.name,
            jobs,
            bad,
            round(elapsed),
            jobs / elapsed,
            done,
            failed,
        )
        self._since += elapsed
        self._done, self._failed = done, failed


def describe_redis(client: Any) -> str:
    """Where ``client`` connects, for the start-up log: never a password or user name."""
    if is_cluster(client):
        try:
            node = client.get_default_node()
            return f"Redis Cluster via {node.host}:{node.port}"
        except Exception:
            return "Redis Cluster"
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", {}) or {}
    db = kwargs.get("db", 0)
    service = getattr(pool, "service_name", None)
    if service is not None:  # a Sentinel-managed pool
        sentinels = getattr(getattr(pool, "sentinel_manager", None), "sentinels", [])
        where = ", ".join(
            "{host}:{port}".format(**s.connection_pool.connection_kwargs) for s in sentinels
        )
        return f"sentinel master {service!r} via {where or '?'}, db {db}"
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={db}"
    scheme = "rediss" if "SSL" in getattr(pool, "connection_class", type).__name__ else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"


__all__ = [
    "BUCKET_FIELDS",
    "DURATION_BUCKETS",
    "FLUSH_INTERVAL",
    "REPORT_INTERVAL",
    "MinuteReport",
    "Tally",
    "bucket_label",
    "describe_redis",
]
