"""Per-queue registries: sorted sets of job ids by what happened to them.

The score means one thing per registry, which is what keeps each operation a
single range query: for finished, failed and canceled jobs it is when the entry
expires (the job hash expires with it); for started jobs it is the heartbeat
deadline after which the job counts as abandoned; for scheduled jobs it is when
the job is due; for deferred and rate-limited jobs it is when the job started waiting.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import ResponseError

from .connection import resolve_connection
from .corrupt import damage, execute, fetch_jobs
from .errors import AbandonedJobError, NoSuchJobError
from .job import Job
from .keys import PRIORITY_BAND, keyspace, validate_queue_name
from .utils import as_str, now, timestamp_of


@dataclass(frozen=True)
class IdPages:
    """``count`` job ids in a fixed order, read one slice at a time (for paging).

    ``read(start, stop)`` returns the ids from position ``start`` to ``stop``
    (exclusive). The count is read once, when the pages are made: a list
    that changes meanwhile gives shorter or shifted slices, never an error.
    """

    count: int
    read: Callable[[int, int], list[str]]


class BaseRegistry:
    kind = ""
    #: Scores are expiry times: entries below "now" are gone.
    expiring = False

    def __init__(
        self,
        name: str = "default",
        connection: Any = None,
        serializer: Any = None,
        prefix: str | None = None,
        queue: Any = None,
    ):
        if queue is not None:
            name, connection = queue.name, queue.connection
            serializer, prefix = queue.serializer, queue.keys.prefix
        self.name = validate_queue_name(name)
        self.connection = resolve_connection(connection)
        self.serializer = serializer
        self.keys = keyspace(prefix)
        self.key = self.keys.registry(self.name, self.kind)

    def job_handle(self, job_id: str) -> Job:
        """A Job naming ``job_id`` of this registry's queue, nothing read from Redis."""
        return Job(
            job_id,
            self.connection,
            origin=self.name,
            serializer=self.serializer,
            prefix=self.keys.prefix,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __eq__(self, other: object) -> bool:
        """Two registries are equal when they are the same kind on the same queue and server."""
        if not isinstance(other, BaseRegistry):
            return NotImplemented
        return (type(self), self.key, self.connection) == (type(other), other.key, other.connection)

    def __hash__(self) -> int:
        return hash((type(self), self.key))

    def _live_min(self) -> str:
        return f"({now()!r}" if self.expiring else "-inf"

    @property
    def count(self) -> int:
        """How many entries; 0 for a key of the wrong type (logged once, see corrupt.py)."""
        return damage.guard(
            self.key, self.connection.zcount, self.key, self._live_min(), "+inf", default=0
        )

    def __len__(self) -> int:
        return self.count

    def get_expiration_time(self, job_or_id: Any) -> datetime | None:
        """When the entry leaves this registry: its score as an aware UTC datetime.

        None when the job is not in it, or stays until it is removed (as in
        the deferred registry, whose scores are when jobs entered it).
        """
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        score = self.connection.zscore(self.key, job_id)
        if score is None or not self.expiring or score == float("inf"):
            return None
        return datetime.fromtimestamp(float(score), tz=UTC)

    def __contains__(self, item: Any) -> bool:
        job_id = item.id if isinstance(item, Job) else item
        score = self.connection.zscore(self.key, job_id)
        return score is not None and (not self.expiring or score > now())

    def get_job_ids(self, start: int = 0, end: int = -1, desc: bool = False) -> list[str]:
        """Ids from position ``start`` to ``end`` (inclusive, -1 for the last)."""
        if self.expiring:
            count = -1 if end < 0 else max(end - start + 1, 0)
            low, high = self._live_min(), "+inf"
            if desc:
                low, high = high, low
            ids = damage.guard(
                self.key,
                self.connection.zrange,
                self.key,
                low,
                high,
                desc=desc,
                byscore=True,
                offset=start,
                num=count,
                default=[],
            )
        else:
            ids = damage.guard(
                self.key, self.connection.zrange, self.key, start, end, desc=desc, default=[]
            )
        return [as_str(i) for i in ids]

    def pages(self, desc: bool = True) -> IdPages:
        """The ids for paging, highest score (newest) first, or lowest first with ``desc=False``."""
        return IdPages(self.count, lambda start, stop: self.get_job_ids(start, stop - 1, desc=desc))

    def get_jobs(self, start: int = 0, end: int = -1, desc: bool = False) -> list[Job]:
        ids = self.get_job_ids(start, end, desc)
        jobs = fetch_jobs(
            ids,
            self.connection,
            self.serializer,
            origin=self.name,
            prefix=self.keys.prefix,
            job_class=Job,
        )
        return [job for job in jobs if job is not None]

    def remove(self, job: Job | str, delete_job: bool = False) -> None:
        job_id = job.id if isinstance(job, Job) else job
        if delete_job:
            self.job_handle(job_id).delete()
        else:
            self.connection.zrem(self.key, job_id)

    def cleanup(self, timestamp: float | None = None) -> int:
        """Drop entries whose job has expired; returns how many."""
        if not self.expiring:
            return 0
        return self.connection.zremrangebyscore(self.key, "-inf", timestamp or now())


class StartedJobRegistry(BaseRegistry):
    kind = "started"

    def cleanup(self, timestamp: float | None = None) -> int:
        """Fail (or retry) jobs whose worker stopped heart-beating; returns how many."""
        from .outcome import record_failure

        ids = [
            as_str(i)
            for i in self.connection.zrange(self.key, "-inf", timestamp or now(), byscore=True)
        ]
        if not ids:
            return 0
        handled = 0
        for job_id, job, stop in zip(ids, *self._load(ids)):
            if job is None:  # nothing left to record
                self.connection.zrem(self.key, job_id)
                continue
            if stop:  # fail.lua ends it as stopped in any case; the text says why
                text = (
                    f"StopRequested: Job {job.id} was stopped on request; its worker "
                    f"{job.worker_name} died before it could stop it."
                )
            else:
                text = "".join(
                    traceback.format_exception_only(
                        AbandonedJobError(
                            f"Job {job.id} was abandoned: worker {job.worker_name} "
                            "stopped heart-beating while running it "
                            "(killed, crashed or lost its connection)."
                        )
                    )
                )
            if record_failure(
                job,
                text,
                job.worker_name or "",
                status="stopped" if stop else "failed",
                retry=not stop,
                only_if_abandoned=True,
            ):
                handled += 1
        return handled

    def _load(self, ids: list[str]) -> tuple[list[Job | None], list[bool]]:
        """The jobs (None: gone) and whether each was asked to stop, in one round trip.

        A hash that cannot be loaded (a field that is not a number, say) gives
        a bare job: its failure is still recorded, with the worker and retries
        it had unknown (so no retry).
        """
        keys = [self.keys.job(self.name, job_id) for job_id in ids]
        pipe = self.connection.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        jobs: list[Job | None] = []
        stops = []
        for job_id, fields in zip(ids, execute(pipe, keys, default={})):
            stops.append(bool(fields.get(b"stop_requested")))
            if not fields:
                jobs.append(None)
                continue
            try:
                job = Job.from_hash(
                    job_id,
                    fields,
                    self.connection,
                    origin=self.name,
                    serializer=self.serializer,
                    prefix=self.keys.prefix,
                )
            except Exception:
                job = self.job_handle(job_id)
                job.worker_name = as_str(fields.get(b"worker"))
            jobs.append(job)
        return jobs, stops


class FinishedJobRegistry(BaseRegistry):
    kind = "finished"
    expiring = True


class FailedJobRegistry(BaseRegistry):
    kind = "failed"
    expiring = True

    def requeue(self, job_or_id: Job | str, at_front: bool = False) -> Job:
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        job = self.job_handle(job_id)
        job.requeue(at_front=at_front)
        return job


class DeferredJobRegistry(BaseRegistry):
    kind = "deferred"

    def release_ready(self, older_than: float = 30.0, batch: int = 500) -> int:
        """Release deferred jobs whose parents all ended; returns how many entered the queue.

        Releasing normally happens when a parent ends; this sweep covers the
        rare case where that step was lost (the process recording the parent
        died, or its connection dropped, between the two). Only jobs deferred
        more than ``older_than`` seconds ago are looked at.
        """
        from .dependencies import ENDED
        from .scripts import Batch, release

        ids = [
            as_str(i)
            for i in self.connection.zrange(
                self.key, "-inf", now() - older_than, byscore=True, offset=0, num=batch
            )
        ]
        if not ids:
            return 0
        pipe = self.connection.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(self.keys.job(self.name, job_id), "pending")
        pending = {job_id: json.loads(raw) for job_id, raw in zip(ids, pipe.execute()) if raw}
        parents = sorted({key for keys in pending.values() for key in keys})
        if not parents:
            return 0
        pipe = self.connection.pipeline(transaction=False)
        for key in parents:
            pipe.hget(key, "status")
        statuses = dict(zip(parents, pipe.execute()))
        calls = Batch(self.connection)
        for job_id, keys in pending.items():
            for key in keys:
                status = as_str(statuses[key])
                if status is None or status in ENDED:
                    release(
                        calls,
                        self.keys,
                        self.keys.job(self.name, job_id),
                        key,
                        status if status in ENDED else "deleted",
                        now(),
                    )
        return sum(int(r) for r in calls.execute() if isinstance(r, int))


class CanceledJobRegistry(BaseRegistry):
    kind = "canceled"
    expiring = True


class RateLimitedJobRegistry(BaseRegistry):
    """Jobs waiting for a slot of their rate limit (see :mod:`.rate_limit`),
    scored by when they started waiting."""

    kind = "rate_limited"


class ScheduledJobRegistry(BaseRegistry):
    kind = "scheduled"

    def get_scheduled_time(self, job_or_id: Any) -> datetime:
        """When the job enters its queue (an aware UTC datetime), as RQ names it.

        Raises:
            NoSuchJobError: the job is not in this registry.
        """
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        score = self.connection.zscore(self.key, job_id)
        if score is None:
            raise NoSuchJobError(f"Job {job_id!r} is not scheduled on queue {self.name!r}.")
        return datetime.fromtimestamp(float(score), tz=UTC)

    def get_expiration_time(self, job_or_id: Any) -> datetime | None:
        """When the job leaves this registry for its queue (None when it is not in it)."""
        try:
            return self.get_scheduled_time(job_or_id)
        except NoSuchJobError:
            return None

    def schedule(self, job: Job, scheduled_datetime: Any, pipeline: Any = None) -> None:
        """Give a job the time it enters its queue (RQ's name).

        A scheduled job of this queue is moved to the new time; a job that
        was only saved (``job.save()``) becomes scheduled. Any other job is
        refused with :class:`InvalidJobOperation` (it is somewhere else
        already). ``scheduled_datetime`` is an aware datetime, a naive one
        read as local time (as in RQ), or a UNIX time. With ``pipeline``,
        the change is made when the caller executes it.
        """
        from . import scripts

        when = timestamp_of(scheduled_datetime)
        client = self.connection if pipeline is None else pipeline
        if pipeline is not None:
            scripts.preload(self.connection, "schedule")
        try:
            scripts.schedule(client, self.keys, self.name, job.id, when)
        except ResponseError as exc:
            raise scripts.script_error(exc, job.id, verb="scheduled") from None
        client.sadd(self.keys.queues, self.name)  # so that schedulers look at this queue

    def get_jobs_to_schedule(
        self, timestamp: float | None = None, chunk_size: int = 1000
    ) -> list[str]:
        """Ids of up to ``chunk_size`` jobs due at ``timestamp`` (UNIX time; now), soonest first."""
        due = now() if timestamp is None else timestamp
        ids = self.connection.zrange(self.key, 0, due, byscore=True, offset=0, num=chunk_size)
        return [as_str(i) for i in ids]

    def get_jobs_to_enqueue(self, timestamp: float | None = None) -> list[str]:
        """Ids of every job due at ``timestamp`` (UNIX time, now by default), soonest first."""
        due = now() if timestamp is None else timestamp
        return [as_str(i) for i in self.connection.zrange(self.key, 0, due, byscore=True)]

    def runs_at(self, job_ids: list[str]) -> list[float | None]:
        """When each job is due (UNIX time), in one round trip; None for one not scheduled."""
        if not job_ids:
            return []
        return [None if s is None else float(s) for s in self.connection.zmscore(self.key, job_ids)]

    def enqueue_due(self, timestamp: float | None = None, batch: int = 500) -> int:
        """Move due jobs into the queue, one atomic batch at a time; returns how many."""
        from . import scripts

        moved = 0
        while True:
            taken, entered = scripts.enqueue_due(
                self.connection, self.keys, self.name, timestamp or now(), batch
            )
            moved += entered
            if taken < batch:
                return moved


REGISTRY_CLASSES = {
    cls.kind: cls
    for cls in (
        StartedJobRegistry,
        FinishedJobRegistry,
        FailedJobRegistry,
        DeferredJobRegistry,
        CanceledJobRegistry,
        ScheduledJobRegistry,
    )
}


def waiting_pages(queue: Any) -> IdPages:
    """The waiting jobs of ``queue`` for paging, newest first: the reverse of the order
    workers take them.

    Workers take positive priorities (priority set, low scores), then the list
    from its head, then negative priorities (see ``scripts/_push.lua``); so
    newest first reads negative priorities from the highest score, then the
    list from its tail, then the positive priorities, each with a range read.
    One round trip counts the three; a slice reads each part it covers.
    """
    conn, prio_key, list_key = queue.connection, queue.keys.priority(queue.name), queue.key
    band = 100 * PRIORITY_BAND
    pipe = conn.pipeline(transaction=False)
    pipe.zcount(prio_key, band, "+inf")
    pipe.llen(list_key)
    pipe.zcount(prio_key, "-inf", f"({band}")
    negative, listed, positive = pipe.execute()

    def negatives(offset: int, count: int) -> list[Any]:
        return conn.zrange(
            prio_key, "+inf", band, desc=True, byscore=True, offset=offset, num=count
        )

    def waiting(offset: int, count: int) -> list[Any]:
        return list(reversed(conn.lrange(list_key, -(offset + count), -(offset + 1))))

    def positives(offset: int, count: int) -> list[Any]:
        return conn.zrange(
            prio_key, f"({band}", "-inf", desc=True, byscore=True, offset=offset, num=count
        )

    # Each part is (size, reader(offset, count)), in newest-first order.
    parts = ((negative, negatives), (listed, waiting), (positive, positives))

    def read(start: int, stop: int) -> list[str]:
        ids: list[str] = []
        base = 0
        for size, reader in parts:
            lo, hi = max(start - base, 0), min(stop - base, size)
            if hi > lo:
                ids += [as_str(i) for i in reader(lo, hi - lo)]
            base += size
        return ids

    return IdPages(negative + listed + positive, read)
