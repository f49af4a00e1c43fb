"""Per-queue registries: sorted sets of job ids by what happened to them.

The score means one thing per registry, which is what keeps each operation a
single range query: for finished, failed and canceled jobs it is when the entry
expires (the job hash expires with it); for started jobs it is the heartbeat
deadline after which the job counts as abandoned; for scheduled jobs it is when
the job is due; for deferred and rate-limited jobs it is when the job started waiting.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import ResponseError

from . import scripts
from .callbacks import run_callback
from .connection import resolve_connection
from .corrupt import damage, execute, fetch_jobs
from .errors import AbandonedJobError, InvalidJobOperation, NoSuchJobError
from .job import Job
from .keys import PRIORITY_BAND, keyspace, validate_queue_name
from .perform import call_exception_handlers
from .rate_limit import release_slot, sweep
from .utils import as_shown, as_str, json_strings, now, timestamp_of
from .vocabulary import DEFAULT_FAILURE_TTL

logger = logging.getLogger("django_jobqueue.registry")


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
    """A sorted set of job ids of one queue, as RQ's ``rq.registry.BaseRegistry``.

    Used as such it is a plain registry of the queue that no engine operation
    writes or reads (RQ's base class): :meth:`add` only writes the entry,
    scored by when it expires, and nothing removes expired entries. The
    subclasses below are the engine's own registries, one per status; their
    :meth:`add` moves a job there (see :meth:`add`).
    """

    #: The status this registry is named after; "" for the plain registry.
    kind = ""
    #: Scores are expiry times: entries below "now" are gone.
    expiring = False
    #: Scores are expiry times, even when nothing drops the expired entries.
    timed = True
    #: The class :meth:`get_queue` builds; queue.py sets it to its ``Queue``
    #: (the registries are made by the queue, so this module cannot import it).
    queue_class: Any = None

    def __init__(
        self,
        name: str = "default",
        connection: Any = None,
        job_class: type[Job] | None = None,
        queue: Any = None,
        serializer: Any = None,
        death_penalty_class: Any = None,
        *,
        prefix: str | None = None,
    ):
        if queue is not None:
            name, connection = queue.name, queue.connection
            serializer, prefix = queue.serializer, queue.keys.prefix
            job_class = job_class or getattr(queue, "job_class", None)
        self.name = validate_queue_name(name)
        self.connection = resolve_connection(connection)
        #: As given (RQ keeps the class or alias it was handed); jobs resolve it.
        self.serializer = serializer
        self.job_class: type[Job] = job_class or Job
        #: Accepted for RQ's signature; the engine's timeouts do not use it.
        self.death_penalty_class = death_penalty_class
        self.keys = keyspace(prefix)
        if self.kind:
            self.key = self.keys.registry(self.name, self.kind)
        else:
            self.key = f"{self.keys.tag(self.name)}:registry"

    def job_handle(self, job_id: str) -> Job:
        """A job (of :attr:`job_class`) naming ``job_id`` of this registry's queue, nothing read."""
        return self.job_class(
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
        """How many entries, after :meth:`cleanup` (as RQ counts)."""
        return self.get_job_count(cleanup=True)

    def get_job_count(self, cleanup: bool = True) -> int:
        """How many entries; with ``cleanup``, :meth:`cleanup` runs first.

        Entries of an expiring registry that are past their expiry are never
        counted (their jobs are gone); 0 for a key of the wrong type (logged
        once, see corrupt.py).
        """
        if cleanup:
            damage.guard(self.key, self.cleanup)
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
        score = self.connection.zscore(self.key, _job_id(job_or_id))
        if score is None or not self.timed or score == float("inf"):
            return None
        return datetime.fromtimestamp(float(score), tz=UTC)

    def __contains__(self, item: Any) -> bool:
        score = self.connection.zscore(self.key, _job_id(item))
        return score is not None and (not self.expiring or score > now())

    def get_job_ids(
        self, start: int = 0, end: int = -1, desc: bool = False, cleanup: bool = True
    ) -> list[str]:
        """Ids from position ``start`` to ``end`` (inclusive, -1 for the last).

        With ``cleanup`` (RQ's default), :meth:`cleanup` runs first. An
        expiring registry never lists entries past their expiry either way.
        """
        if cleanup:
            damage.guard(self.key, self.cleanup)
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
        return [as_shown(i) for i in ids]

    def get_expired_job_ids(self, timestamp: float | None = None) -> list[str]:
        """Ids whose score is at or below ``timestamp`` (now by default), lowest first.

        What that means is the registry's: expired entries, abandoned jobs
        (started), due jobs (scheduled).
        """
        high = timestamp if timestamp is not None else now()
        ids = self.connection.zrange(self.key, "-inf", high, byscore=True)
        return [as_shown(i) for i in ids]

    def pages(self, desc: bool = True) -> IdPages:
        """The ids for paging, highest score (newest) first, or lowest first with ``desc=False``.

        A read only: no cleanup runs.
        """
        return IdPages(
            self.get_job_count(cleanup=False),
            lambda start, stop: self.get_job_ids(start, stop - 1, desc=desc, cleanup=False),
        )

    def get_jobs(self, start: int = 0, end: int = -1, desc: bool = False) -> list[Job]:
        ids = self.get_job_ids(start, end, desc, cleanup=False)
        jobs = fetch_jobs(
            ids,
            self.connection,
            self.serializer,
            origin=self.name,
            prefix=self.keys.prefix,
            job_class=self.job_class,
        )
        return [job for job in jobs if job is not None]

    def get_queue(self) -> Any:
        """The queue this registry belongs to."""
        return self.queue_class(
            self.name,
            connection=self.connection,
            serializer=self.serializer,
            prefix=self.keys.prefix,
            job_class=self.job_class,
        )

    def _score(self, ttl: int | None) -> str:
        """An expiry score ``ttl`` seconds from now; a negative ttl never expires."""
        if ttl is None or ttl >= 0:
            return repr(now() + (ttl or 0))
        return "+inf"

    def add(self, job: Any, ttl: int = 0, pipeline: Any = None, xx: bool = False) -> int:
        """Add ``job`` (a Job or an id), its entry expiring ``ttl`` seconds from now.

        A negative ``ttl`` keeps it until it is removed; ``xx`` only updates
        an entry that exists. Given a ``pipeline``, the change is queued on it
        (the caller executes it). Returns 1 for a new entry, else 0 (the reply
        is the pipeline's then).

        In the engine's own registries this moves the job, atomically: it
        leaves its queue and its queue's other registries, takes the status
        the registry is named after and, in the finished, failed and canceled
        registries, its hash expires with the entry. A running job is
        refused (:class:`InvalidJobOperation`): it leaves the started
        registry when its worker ends it. Its dependents are left waiting,
        as in RQ.
        """
        return self._add(job, self._score(ttl), pipeline, xx=xx, keep_for=ttl)

    def _add(
        self,
        job: Any,
        score: str,
        pipeline: Any,
        *,
        xx: bool = False,
        keep_for: int | None = None,
        exc_info: str = "",
    ) -> int:
        job_id = _job_id(job)
        if not self.expiring:
            keep_for = None
        elif keep_for is not None and keep_for < 0:
            keep_for = -1
        client = self.connection if pipeline is None else pipeline
        if pipeline is not None:
            scripts.preload(self.connection, "registry_add")
        try:
            reply = scripts.registry_add(
                client,
                self.keys,
                self.name,
                self.key,
                job_id,
                score,
                status=self.kind,
                xx=xx,
                keep_for=keep_for,
                exc_info=exc_info,
            )
        except ResponseError as exc:
            if str(exc).startswith("NOT_MOVABLE"):
                status = str(exc).split(" ", 1)[1]
                raise InvalidJobOperation(
                    f"Job {job_id} is {status} and cannot be moved to the {self.kind} "
                    "registry: it leaves the started registry when its worker ends it."
                ) from None
            raise
        if pipeline is None and self.kind and isinstance(job, Job):
            release_slot(job)  # a queued job of a rate limit no longer needs its slot
        return reply if pipeline is not None else int(reply)

    def remove(self, job: Any, pipeline: Any = None, delete_job: bool = False) -> int:
        """Take ``job`` (a Job or an id) out of this registry; returns 1 if it was there.

        Only the entry goes: the job hash stays, in no registry (as in RQ),
        unless ``delete_job``, which deletes the job everywhere at once
        (not on ``pipeline``, which only carries the removal of the entry).
        """
        job_id = _job_id(job)
        client = self.connection if pipeline is None else pipeline
        removed = client.zrem(self.key, job_id)
        if delete_job:
            handle = job if isinstance(job, Job) else self.job_handle(job_id)
            handle.delete()
        return removed

    def requeue(self, job_or_id: Any, at_front: bool = False) -> Job:
        """Put a failed, stopped or canceled job of this registry back in its queue.

        Raises:
            InvalidJobOperation: the job is not in this registry, or cannot be requeued.
        """
        job_id = _job_id(job_or_id)
        if self.connection.zscore(self.key, job_id) is None:
            raise InvalidJobOperation(f"Job {job_id} is not in the {self.kind or 'registry'}.")
        job = job_or_id if isinstance(job_or_id, Job) else self.job_handle(job_id)
        job.requeue(at_front=at_front)
        return job

    def cleanup(self, timestamp: float | None = None, exception_handlers: Any = None) -> int:
        """Drop entries whose job has expired; returns how many."""
        if not self.expiring:
            return 0
        high = timestamp if timestamp is not None else now()
        return int(self.connection.zremrangebyscore(self.key, "-inf", high))


def _job_id(job_or_id: Any) -> str:
    return job_or_id if isinstance(job_or_id, str) else as_str(job_or_id.id)


class StartedJobRegistry(BaseRegistry):
    """The jobs being run, scored by the heartbeat deadline of their worker.

    Only workers put jobs here and take them out, so :meth:`add` and
    :meth:`remove` raise NotImplementedError, as RQ 3's do.
    """

    kind = "started"
    timed = False

    def add(self, job: Any, ttl: int = 0, pipeline: Any = None, xx: bool = False) -> int:
        raise NotImplementedError("Jobs enter the started registry when a worker takes them.")

    def remove(self, job: Any, pipeline: Any = None, delete_job: bool = False) -> int:
        raise NotImplementedError("Jobs leave the started registry when their worker ends them.")

    def cleanup(self, timestamp: float | None = None, exception_handlers: Any = None) -> int:
        """Fail (or retry) jobs whose worker stopped heart-beating; returns how many.

        As for a job that fails in its worker, each job failed (or retried)
        this way has its ``on_failure`` callback run, as
        ``on_failure(job, connection, AbandonedJobError, error, None)``
        (``on_stopped`` for one that was asked to stop), and each
        ``exception_handlers`` entry is called as
        ``handler(job, AbandonedJobError, error, None)``, in order, until one
        returns False.
        An entry whose job is gone, or no longer running (a leftover of a
        job that ended), is dropped.
        """
        from .outcome import record_failure

        high = timestamp if timestamp is not None else now()
        ids = [as_shown(i) for i in self.connection.zrange(self.key, "-inf", high, byscore=True)]
        if not ids:
            return 0
        handled = 0
        for job_id, job, stop, status, owner in zip(ids, *self._load(ids)):
            if job is None or status != "started":
                self._drop_if_not_running(job_id, high)
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
                owner,
                status="stopped" if stop else "failed",
                retry=not stop,
                only_if_abandoned=True,
            ):
                handled += 1
                self._tell(job, stop, text, exception_handlers)
        return handled

    @staticmethod
    def _tell(job: Job, stop: bool, text: str, exception_handlers: Any) -> None:
        """Run the job's ``on_failure`` (``on_stopped``) callback, then the exception handlers.

        As for a job that failed in its worker, after its outcome was
        recorded; a callback that raises is logged, and the cleanup goes on.
        """
        error: BaseException = AbandonedJobError(text.strip())
        name, args = (
            ("on_stopped", ()) if stop else ("on_failure", (AbandonedJobError, error, None))
        )
        try:
            run_callback(job, name, *args)
        except Exception:
            logger.exception("%s callback of abandoned job %s failed", name, job.id)
        if exception_handlers and not stop:
            call_exception_handlers(exception_handlers, job, error)

    def _drop_if_not_running(self, job_id: str, high: float) -> None:
        """Remove the entry of a job that is gone or not running, unless that changed meanwhile.

        One script: a job that was taken again in between (same id, a new
        deadline) keeps its entry.
        """
        scripts.started_drop(self.connection, self.keys, self.name, job_id, high)

    def _load(
        self, ids: list[str]
    ) -> tuple[list[Job | None], list[bool], list[str | None], list[bytes]]:
        """The jobs (None: gone), whether each was asked to stop, its status and
        its worker's name as stored, in one round trip.

        A hash that cannot be loaded (a field that is not a number, say) gives
        a bare job: its failure is still recorded, with the retries it had
        unknown (so no retry). The name as stored is what the failure's script
        checks the job still belongs to, whatever bytes another program wrote.
        """
        keys = [self.keys.job(self.name, job_id) for job_id in ids]
        pipe = self.connection.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        jobs: list[Job | None] = []
        stops = []
        statuses = []
        owners = []
        for job_id, fields in zip(ids, execute(pipe, keys, default={})):
            stops.append(bool(fields.get(b"stop_requested")))
            owners.append(fields.get(b"worker") or b"")
            # as_shown: a status another program wrote as non-UTF-8 bytes is
            # an unknown one (its entry is dropped), not an error in the sweep.
            statuses.append(as_shown(fields.get(b"status")))
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
                job.worker_name = as_shown(fields.get(b"worker"))
            jobs.append(job)
        return jobs, stops, statuses, owners


class FinishedJobRegistry(BaseRegistry):
    kind = "finished"
    expiring = True


class FailedJobRegistry(BaseRegistry):
    """Failed and stopped jobs, scored by when each expires (its hash with it)."""

    kind = "failed"
    expiring = True

    def add(  # type: ignore[override]  # RQ's FailedJobRegistry.add has this signature
        self,
        job: Any,
        ttl: int | None = None,
        exc_string: str = "",
        pipeline: Any = None,
    ) -> int:
        """Move ``job`` here (see :meth:`BaseRegistry.add`), kept ``ttl`` seconds.

        ``ttl`` defaults to a year (``DEFAULT_FAILURE_TTL``); ``exc_string``,
        when given, is stored as the job's traceback text.
        """
        ttl = DEFAULT_FAILURE_TTL if ttl is None else ttl
        return self._add(job, self._score(ttl), pipeline, keep_for=ttl, exc_info=exc_string)


class DeferredJobRegistry(BaseRegistry):
    """Jobs waiting for their parents, scored by when they started waiting."""

    kind = "deferred"
    timed = False

    def add(self, job: Any, ttl: int | None = None, pipeline: Any = None, xx: bool = False) -> int:
        """Move ``job`` here (see :meth:`BaseRegistry.add`), scored now; ``ttl`` is ignored."""
        return self._add(job, repr(now()), pipeline, xx=xx)

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
            as_shown(i)
            for i in self.connection.zrange(
                self.key, "-inf", now() - older_than, byscore=True, offset=0, num=batch
            )
        ]
        if not ids:
            return 0
        pipe = self.connection.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(self.keys.job(self.name, job_id), ["pending", "pending_set"])
        fields = dict(zip(ids, pipe.execute()))
        pending = {job_id: json_strings(raw) for job_id, (raw, _) in fields.items() if raw}
        # A batch's callbacks keep their pending parents in a set (see release.lua),
        # which may be large: ``batch`` of them at random per sweep. A release lost
        # delays nothing while many jobs are pending; once few are, all are looked at.
        in_sets = [job_id for job_id, (raw, in_set) in fields.items() if not raw and in_set]
        if in_sets:
            pipe = self.connection.pipeline(transaction=False)
            for job_id in in_sets:
                pipe.srandmember(self.keys.pending(self.name, job_id), batch)
            for job_id, members in zip(in_sets, pipe.execute()):
                pending[job_id] = sorted(as_shown(key) for key in members)
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
                status = as_shown(statuses[key])
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
    """Canceled jobs, scored by when each expires (its hash with it)."""

    kind = "canceled"
    expiring = True


class RateLimitedJobRegistry(BaseRegistry):
    """Jobs waiting for a slot of their rate limit (see :mod:`.rate_limit`),
    scored by when they started waiting."""

    kind = "rate_limited"
    timed = False

    def add(self, job: Any, ttl: int = 0, pipeline: Any = None, xx: bool = False) -> int:
        raise NotImplementedError("Jobs enter this registry when their rate limit has no slot.")


class ScheduledJobRegistry(BaseRegistry):
    """Jobs waiting for a time, scored by when they are due (``add(job, ttl)``: in ttl seconds)."""

    kind = "scheduled"
    timed = False

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

    def schedule(self, job: Any, scheduled_datetime: Any, pipeline: Any = None) -> int:
        """Move ``job`` here, due at ``scheduled_datetime`` (see :meth:`BaseRegistry.add`).

        An aware datetime, a naive one read as local time (as in RQ), or a
        UNIX time. A queued, saved or scheduled job moves here in one script
        (RQ's only adds the entry, leaving a queued job in two places); a
        running job is refused with :class:`InvalidJobOperation`.
        """
        added = self._add(job, repr(timestamp_of(scheduled_datetime)), pipeline)
        # So that schedulers look at this queue even if nothing was ever enqueued on it.
        (self.connection if pipeline is None else pipeline).sadd(self.keys.queues, self.name)
        return added

    def add(self, job: Any, ttl: int = 0, pipeline: Any = None, xx: bool = False) -> int:
        """Move ``job`` here, due in ``ttl`` seconds (see :meth:`BaseRegistry.add`)."""
        return self._add(job, self._score(ttl), pipeline, xx=xx)

    def get_jobs_to_enqueue(self, timestamp: float | None = None) -> list[str]:
        """The ids of the jobs due at ``timestamp`` (now by default), earliest first."""
        return self.get_expired_job_ids(timestamp)

    def get_jobs_to_schedule(
        self, timestamp: float | None = None, chunk_size: int = 1000
    ) -> list[str]:
        """At most ``chunk_size`` ids of the jobs due at ``timestamp`` (now by default)."""
        high = timestamp if timestamp is not None else now()
        ids = self.connection.zrange(self.key, "-inf", high, byscore=True, offset=0, num=chunk_size)
        return [as_shown(i) for i in ids]

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


def clean_registries(queue: Any, exception_handlers: Any = None) -> None:
    """Clean ``queue``'s registries, as a worker does now and then.

    Expired entries leave the finished, failed and canceled registries,
    abandoned jobs leave the started one (failed or retried; each
    ``exception_handlers`` entry is told, see
    :meth:`StartedJobRegistry.cleanup`), and the slots of ``queue``'s rate
    limits that ended jobs still hold are freed.
    """
    for registry in (
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.canceled_job_registry,
    ):
        registry.cleanup()
    queue.started_job_registry.cleanup(exception_handlers=exception_handlers)
    sweep(queue.connection, queue.name, queue.keys.prefix)


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


def waiting_counts(queue: Any) -> tuple[int, int, int]:
    """How many of ``queue``'s waiting jobs have a negative priority, none, and a
    positive one, in one round trip (the parts :func:`waiting_pages` reads, in
    its order; scores at or above ``100 * PRIORITY_BAND`` are the negative ones)."""
    prio_key, band = queue.keys.priority(queue.name), 100 * PRIORITY_BAND
    pipe = queue.connection.pipeline(transaction=False)
    pipe.zcount(prio_key, band, "+inf")
    pipe.llen(queue.key)
    pipe.zcount(prio_key, "-inf", f"({band}")
    negative, listed, positive = pipe.execute()
    return negative, listed, positive


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
    negative, listed, positive = waiting_counts(queue)

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
                ids += [as_shown(i) for i in reader(lo, hi - lo)]
            base += size
        return ids

    return IdPages(negative + listed + positive, read)


def _job_registry(registry_class: type[BaseRegistry]) -> property:
    def registry(job: Job) -> BaseRegistry:
        return registry_class(
            job.origin,
            job.connection,
            job_class=type(job),
            serializer=job.serializer,
            prefix=job.keys.prefix,
        )

    registry.__doc__ = f"The {registry_class.__name__} of the job's queue (RQ's name)."
    return property(registry)


# job.py cannot import this module (it imports job.py), so the registries of a
# job's queue join Job here, as RQ's job.started_job_registry and friends.
Job.started_job_registry = _job_registry(StartedJobRegistry)  # type: ignore[attr-defined]
Job.finished_job_registry = _job_registry(FinishedJobRegistry)  # type: ignore[attr-defined]
Job.failed_job_registry = _job_registry(FailedJobRegistry)  # type: ignore[attr-defined]
Job.deferred_job_registry = _job_registry(DeferredJobRegistry)  # type: ignore[attr-defined]
Job.scheduled_job_registry = _job_registry(ScheduledJobRegistry)  # type: ignore[attr-defined]
Job.canceled_job_registry = _job_registry(CanceledJobRegistry)  # type: ignore[attr-defined]
