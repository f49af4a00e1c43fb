"""Batches: jobs whose callbacks run once, when the last of them has ended.

A batch (Sidekiq Pro's batches, Celery's chords) is a set of jobs, which may
grow while it runs, with two callbacks: ``on_complete`` runs once every job
has ended, whatever the outcome; ``on_success`` once every job has finished
successfully.

How "once" is kept, with many workers and crashes: each callback is itself a
job, made when the batch is created, that waits in the deferred registry for
parents, as ``depends_on`` makes a job wait. Its parents are every job of the
batch (``on_complete`` with ``allow_failure``) and the batch itself, which
stands as a parent until :meth:`Batch.close`. A parent that ends tells its
children with ``release.lua``, one atomic step that removes it from the child's
pending parents and queues the child only when none is left and it is still
deferred: whichever worker ends the last job, and however often that step is
repeated (a retried call, the deferred sweep that finishes releases a dead
process left undone), the callback enters its queue once, and then runs as any
job does, with its own retries. A job not in a batch pays nothing for this.

Adding jobs (``batch_add.lua``) first checks, in one step with the adding,
that no callback has been released: a batch is complete from then on and
refuses new jobs (:class:`BatchCompleteError`). The jobs are then stored and
announced to the callbacks as any child's parents are (``add_dependent``):
a job that ended between the two steps is seen ended and released at once.

Where the keys live (Redis Cluster): the batch's hash, its set of job ids,
its jobs and its callbacks all live on the batch's queue, in that queue's
slot. ``<prefix>batches`` maps batch ids to queues, to find a batch by id.

The callbacks keep their pending parents in a set each (``keys.pending``,
flagged by ``pending_set`` in their hash) rather than in the JSON ``pending``
field of other deferred jobs: ``release.lua`` then removes an ended job in
O(1), where rewriting a JSON list of N parents for each of N jobs would cost
O(N^2) for the batch.

Counting: the callbacks' pending parents are the batch's progress. Those of
``on_complete`` are the jobs that have not ended, those of ``on_success`` the
jobs that have not finished; so progress is one round trip (two SCARD), and
stays right after the jobs themselves have expired.

On a queue with ``is_async=False`` each job runs as it is added, so nothing
can race the callbacks: they are made at :meth:`Batch.close`, depending on the
jobs as ``depends_on`` would, and run there in the caller. A queue that keeps
its jobs in memory keeps its batches in this process too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, NamedTuple
from uuid import uuid4

from redis.exceptions import ResponseError

from . import scripts
from .callbacks import Callback
from .dependencies import Dependency
from .errors import InvalidJobOperation, JobQueueError
from .job import Job, get_current_job
from .keys import validate_job_id
from .options import EnqueueOptions
from .parents import ENDED
from .queue import EnqueueData, Queue
from .retry import Retry
from .utils import as_shown, as_str, float_or_none, now
from .vocabulary import JobStatus

#: Jobs stored per step by :meth:`Batch.enqueue_many`.
CHUNK = 1000

#: The meta key that names a job's batch (``job.meta[BATCH_META]``).
BATCH_META = "batch"

#: The two callbacks, in the order they are made and shown.
ROLES = ("on_complete", "on_success")

#: Longest batch id: the callbacks' ids add ``.on_complete`` to it (job ids are ≤ 200).
MAX_ID = 180

#: Batches of in-memory queues (``is_async=False, in_memory=True``, as Django's
#: ``JOBQUEUE_ASYNC = False`` makes them), by id, newest last; the newest
#: :data:`MEMORY_BATCHES_KEPT` are kept, as the queue keeps its newest jobs.
_memory_batches: OrderedDict[str, Batch] = OrderedDict()
MEMORY_BATCHES_KEPT = 1_000


class NoSuchBatchError(JobQueueError, LookupError):
    """No batch has that id (it never existed, or was deleted)."""


class BatchCompleteError(InvalidJobOperation):
    """The batch's callbacks have been released: it takes no more jobs."""


class BatchStatus:
    """What :attr:`Batch.status` says."""

    #: Jobs may still be added; the callbacks wait for :meth:`Batch.close`.
    OPEN = "open"
    #: Closed; some jobs have not ended (jobs may still be added).
    RUNNING = "running"
    #: Every job finished: both callbacks were released.
    SUCCEEDED = "succeeded"
    #: Every job ended, not all successfully: ``on_complete`` was released,
    #: ``on_success`` waits (it is released if the failed jobs are requeued
    #: and finish).
    FAILED = "failed"


class BatchProgress(NamedTuple):
    """How far a batch has got: ``finished + failed + pending == total``."""

    #: Jobs added to the batch.
    total: int
    #: Jobs that finished successfully.
    finished: int
    #: Jobs that ended otherwise: failed (retries used up), stopped, canceled or deleted.
    failed: int
    #: Jobs that have not ended yet (waiting, running or waiting for a retry).
    pending: int

    @property
    def percent(self) -> int:
        """Ended jobs, as a whole percentage of the total (100 for an empty batch)."""
        if not self.total:
            return 100
        return (self.finished + self.failed) * 100 // self.total


def batch_done(batch_id: str) -> None:
    """The job that stands for a callback a batch was not given: it does nothing.

    Each batch has both callback jobs, given or not, since their pending
    parents are how the batch counts its jobs (see the module's docstring).
    """


class Batch:
    """A set of jobs on one queue whose callbacks run once, when they have all ended.

    Made by :meth:`create` and read back by :meth:`fetch`; not built directly.
    """

    def __init__(self, queue: Queue, batch_id: str, fields: dict[str, str] | None = None):
        self.queue = queue
        self.id = batch_id
        self.connection = queue.connection
        self.keys = queue.keys
        self._fields = fields or {}
        #: In memory only (an in-memory queue): the jobs, and the callback jobs by role.
        self._memory_jobs: list[Job] = []
        self._memory_callbacks: dict[str, Job] = {}

    def __repr__(self) -> str:
        return f"Batch(id={self.id!r}, queue={self.queue.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Batch) and (self.id, self.key) == (other.id, other.key)

    def __hash__(self) -> int:
        return hash(self.key)

    # -- making and finding -------------------------------------------------------

    @classmethod
    def create(
        cls,
        queue: Queue,
        name: str | None = None,
        *,
        on_success: Any = None,
        on_complete: Any = None,
        callback_retry: Retry | None = None,
        description: str | None = None,
    ) -> Batch:
        """Store a new, open batch on ``queue`` with its two callback jobs.

        Args:
            queue: where the batch, its jobs and its callbacks live.
            name: the batch's id (letters, digits and ``_.:@+-``, up to
                :data:`MAX_ID`); a random hex id when None.
            on_success: run once every job finished successfully; called as
                ``f(batch_id)``. A module-level function, its dotted path, or
                a :class:`Callback` (whose timeout is the callback job's).
            on_complete: run once every job ended, whatever the outcome; called
                as ``f(batch_id)``, likewise.
            callback_retry: a :class:`Retry` for the callback jobs.
            description: shown on the dashboard.

        The callbacks wait until :meth:`close` (or the end of a ``with``
        block): until then, jobs may be added even if all those added so far
        have ended.

        On a queue with ``is_async=False`` every job runs as it is added and
        the callbacks run in :meth:`close`, in the caller; on one that also
        keeps its jobs in memory (Django's ``JOBQUEUE_ASYNC = False``) the
        batch lives in this process only, as its jobs do.
        """
        batch_id = validate_job_id(name) if name else uuid4().hex
        if len(batch_id) > MAX_ID:
            raise ValueError(f"A batch id has at most {MAX_ID} characters, not {len(batch_id)}.")
        if callback_retry is not None and not isinstance(callback_retry, Retry):
            raise TypeError("callback_retry must be a Retry(max=..., interval=...).")
        callbacks = {"on_complete": on_complete, "on_success": on_success}
        for value in callbacks.values():
            if value is not None:
                Callback.of(value)  # refuses a method or a callable object, early
        batch = cls(queue, batch_id)
        conn = queue.connection
        # The index of batch ids is where a name is taken, atomically (HSETNX),
        # before the batch is stored: Batch.fetch() finds every stored batch.
        if batch_id in _memory_batches or (
            not queue.in_memory and not conn.hsetnx(queue.keys.batches, batch_id, queue.name)
        ):
            raise InvalidJobOperation(f"Batch {batch_id!r} exists already: choose another name.")
        timestamp = now()
        fields = {
            "status": "open",  # read as a parent's status: see keys.batch
            "created_at": repr(timestamp),
            "total": "0",
            "desc": description or "",
            "inline": "" if queue.is_async else "1",
            "callback_retry": callback_retry.dumps() if callback_retry else "",
        }
        for role, value in callbacks.items():
            fields[role] = _func_name(value) if value is not None else ""
        if queue.in_memory:
            batch._fields = {k: str(v) for k, v in fields.items()}
            _memory_batches[batch_id] = batch
            while len(_memory_batches) > MEMORY_BATCHES_KEPT:
                _memory_batches.popitem(last=False)
            return batch
        queue.register()
        if not queue.is_async:
            # is_async=False: every job runs as it is added, so the callbacks,
            # made at close, find every job ended (see close()).
            conn.hset(batch.key, mapping=fields)
        else:
            scripts.preload(conn, "enqueue")
            with conn.pipeline(transaction=True) as pipe:  # MULTI ... EXEC, one slot
                pipe.hset(batch.key, mapping=fields)
                for role in ROLES:
                    job = batch._callback_job(role, callbacks[role], callback_retry)
                    job.allow_dependency_failures = role == "on_complete"
                    # Its pending parents, in a set (see release.lua): first the
                    # batch, which holds it back until closed.
                    pipe.sadd(queue.keys.pending(queue.name, job.id), batch.key)
                    scripts.enqueue(
                        pipe,
                        queue.keys,
                        queue.name,
                        job.id,
                        JobStatus.DEFERRED,
                        timestamp,
                        timestamp,
                        False,
                        job.ttl,
                        [*job.to_fields(), "pending_set", "1"],
                        True,
                        job.priority,
                    )
                pipe.execute()
        batch._fields = {k: str(v) for k, v in fields.items()}
        return batch

    @classmethod
    def fetch(
        cls,
        batch_id: str,
        connection: Any = None,
        *,
        prefix: str | None = None,
        **queue_kwargs: Any,
    ) -> Batch:
        """The batch ``batch_id``, on whichever queue it lives.

        ``queue_kwargs`` (``serializer=`` ...) go to the :class:`Queue` built for it.

        Inside a job (a callback, or a job of the batch), ``connection`` and
        ``prefix`` default to that job's, and the serializer to its own. A
        batch of an in-memory queue is found in this process only.

        Raises:
            NoSuchBatchError: no batch has that id.
        """
        if batch_id in _memory_batches:
            return _memory_batches[batch_id]
        current = get_current_job()
        if connection is None and prefix is None and current is not None:
            connection, prefix = current.connection, current.keys.prefix
            queue_kwargs.setdefault("serializer", current.serializer)
        probe = Queue("default", connection=connection, prefix=prefix, **queue_kwargs)
        name = probe.connection.hget(probe.keys.batches, batch_id)
        if name is None:
            raise NoSuchBatchError(f"No batch {batch_id!r}.")
        queue = Queue(as_str(name), connection=probe.connection, prefix=prefix, **queue_kwargs)
        return cls.fetch_from(queue, batch_id)

    @classmethod
    def fetch_from(cls, queue: Queue, batch_id: str) -> Batch:
        """The batch ``batch_id`` of ``queue`` (a queue whose serializer reads its jobs).

        Raises:
            NoSuchBatchError: ``queue`` has no batch with that id.
        """
        found = _memory_batches.get(batch_id)
        if queue.in_memory and found is not None and found.queue.name == queue.name:
            return found
        batch = cls(queue, batch_id)
        if queue.in_memory or not batch.refresh():
            raise NoSuchBatchError(f"No batch {batch_id!r} on queue {queue.name!r}.")
        return batch

    def refresh(self) -> bool:
        """Read the batch's hash again; False when it is gone."""
        if self.in_memory:
            return True
        raw = self.connection.hgetall(self.key)
        self._fields = {as_shown(k): as_shown(v) for k, v in raw.items()}
        return bool(self._fields)

    # -- keys and callbacks -------------------------------------------------------

    @property
    def key(self) -> str:
        """The batch's hash."""
        return self.keys.batch(self.queue.name, self.id)

    @property
    def jobs_key(self) -> str:
        """The set of the batch's job ids."""
        return self.keys.batch_jobs(self.queue.name, self.id)

    def callback_id(self, role: str) -> str:
        """The id of the job that runs callback ``role`` (``on_success``/``on_complete``)."""
        if role not in ROLES:
            raise ValueError(f"A batch's callbacks are {ROLES}, not {role!r}.")
        return f"{self.id}.{role}"

    def callback_key(self, role: str) -> str:
        return self.keys.job(self.queue.name, self.callback_id(role))

    def callback_job(self, role: str) -> Job | None:
        """The job of callback ``role``; None before :meth:`close` on an is_async=False
        queue (it is made then), or once it expired after running."""
        if self.in_memory:
            return self._memory_callbacks.get(role)
        return Job.fetch_many(
            [self.callback_id(role)],
            self.connection,
            self.queue.serializer,
            origin=self.queue.name,
            prefix=self.keys.prefix,
        )[0]

    def callback_name(self, role: str) -> str:
        """The dotted name of the function given as callback ``role`` ("" if none)."""
        return self._fields.get(role, "")

    def _callback_job(self, role: str, value: Any, retry: Retry | None) -> Job:
        callback = Callback.of(value) if value is not None else Callback(batch_done)
        what = _func_name(value) if value is not None else "nothing to run"
        return self.queue.create_job(
            callback.func,
            (self.id,),
            job_id=self.callback_id(role),
            # A Callback's own timeout, else the queue's default, as for any job.
            timeout=callback.timeout if isinstance(value, Callback) else None,
            retry=retry,
            description=f"batch {self.id}: {role} ({what})",
            meta={BATCH_META: self.id, "batch_callback": role},
        )

    @property
    def in_memory(self) -> bool:
        """Whether the batch lives in this process only, as its in-memory queue's jobs do."""
        return self.queue.in_memory

    @property
    def is_inline(self) -> bool:
        """Whether the batch lives on an is_async=False queue (its jobs run as added)."""
        return self._fields.get("inline") == "1" or self.in_memory

    # -- adding jobs --------------------------------------------------------------

    def enqueue(self, func: Any, *args: Any, **kwargs: Any) -> Job:
        """Add a call of ``func(*args, **kwargs)`` to the batch (no job options: see
        :meth:`enqueue_call`)."""
        return self.enqueue_call(func, args, kwargs)

    def enqueue_call(
        self, func: Any, args: Iterable | None = None, kwargs: dict | None = None, **options: Any
    ) -> Job:
        """Add one call, with job options (those of :meth:`Queue.enqueue_call`)."""
        return self.enqueue_many([self.queue.prepare_data(func, args, kwargs, **options)])[0]

    def enqueue_many(self, job_datas: Iterable[EnqueueData]) -> list[Job]:
        """Add calls made by :meth:`Queue.prepare_data` to the batch.

        Per :data:`CHUNK` calls, three round trips: the batch takes the ids
        (refusing them once complete), the jobs are stored, and they are
        announced to the callbacks. Each job's ``meta["batch"]`` is the batch id.

        Raises:
            BatchCompleteError: the callbacks were released already; nothing was added.
            NoSuchBatchError: the batch was deleted.
            ValueError: a call with ``depends_on`` (a batch's job depends on nothing).
        """
        datas = [self._prepared(data) for data in job_datas]
        jobs: list[Job] = []
        for start in range(0, len(datas), CHUNK):
            jobs += self._add(datas[start : start + CHUNK])
        return jobs

    def _prepared(self, data: EnqueueData) -> EnqueueData:
        options = data.options or EnqueueOptions()
        if options.depends_on is not None:
            raise ValueError(
                "A batch's job cannot have depends_on: the batch's callbacks depend on it. "
                "Chain work inside the job, or in on_success."
            )
        meta = dict(options.meta or {})
        meta[BATCH_META] = self.id
        job_id = options.job_id or uuid4().hex
        options = replace(options, job_id=job_id, meta=meta)
        return data._replace(options=options)

    def _add(self, datas: list[EnqueueData]) -> list[Job]:
        if self.in_memory:
            if self._fields["status"] != "open":
                raise self._refusal(ResponseError("BATCH_COMPLETE"))
            jobs = self.queue.enqueue_many(datas)
            self._memory_jobs += jobs
            self._fields["total"] = str(len(self._memory_jobs))
            return jobs
        ids = [str(data.options.job_id) for data in datas]  # set by _prepared
        callbacks = [] if self.is_inline else [self.callback_key(role) for role in ROLES]
        try:
            total = scripts.batch_add(
                self.connection, self.keys, self.queue.name, self.id, callbacks, ids
            )
        except ResponseError as exc:
            raise self._refusal(exc) from None
        self._fields["total"] = str(total)
        try:
            jobs = self.queue.enqueue_many(datas)
        except BaseException:
            self._forget_unstored(ids, callbacks)
            raise
        if callbacks:
            self._announce(jobs, callbacks)
        return jobs

    def _announce(self, jobs: list[Job], callbacks: list[str]) -> None:
        """List the callbacks among each job's dependents; release those a job ended for."""
        calls = scripts.Batch(self.connection)
        pairs = [(job.key, callback) for job in jobs for callback in callbacks]
        for parent, child in pairs:
            scripts.add_dependent(calls, self.keys, parent, child)
        late = [
            (parent, child, as_shown(status) or "deleted")
            for (parent, child), status in zip(pairs, calls.execute())
            if status is None or as_shown(status) in ENDED
        ]
        for parent, child, status in late:  # ended (or gone) before it was announced
            scripts.release(self.connection, self.keys, child, parent, status, now())

    def _forget_unstored(self, ids: list[str], callbacks: list[str]) -> None:
        """Take back the ids of jobs whose storing failed: the batch no longer waits for them."""
        found = Job.fetch_many(
            ids,
            self.connection,
            self.queue.serializer,
            origin=self.queue.name,
            prefix=self.keys.prefix,
        )
        # A refused chosen id may belong to another job: only this batch's are its own.
        gone = [
            job_id
            for job_id, job in zip(ids, found)
            if job is None or job.meta.get(BATCH_META) != self.id
        ]
        if not gone:
            return
        self.connection.srem(self.jobs_key, *gone)
        self.connection.hincrby(self.key, "total", -len(gone))
        for job_id in gone:
            for callback in callbacks:  # "finished": leaves the pending list, as a success would
                scripts.release(
                    self.connection,
                    self.keys,
                    callback,
                    self.keys.job(self.queue.name, job_id),
                    JobStatus.FINISHED,
                    now(),
                )

    def _refusal(self, exc: ResponseError) -> Exception:
        if str(exc).startswith("BATCH_COMPLETE"):
            return BatchCompleteError(
                f"Batch {self.id!r} is complete (its callbacks were released): "
                "it takes no more jobs. Create a new batch."
            )
        if str(exc).startswith("NO_SUCH_BATCH"):
            return NoSuchBatchError(f"No batch {self.id!r}: it was deleted.")
        return exc

    # -- closing ------------------------------------------------------------------

    def close(self) -> bool:
        """Say that no more jobs are coming but from the batch's own jobs.

        The callbacks are released once every job has ended: at once if all
        already have (a batch with no job at all runs both at once). On an
        is_async=False queue, where every job ran as it was added, the
        callbacks run here, in the caller. Closing twice does nothing more;
        returns whether this call closed the batch.
        """
        when = now()
        if self.in_memory:
            if self._fields["status"] != "open":
                return False
        else:
            try:
                closed = scripts.batch_close(
                    self.connection, self.keys, self.queue.name, self.id, when
                )
            except ResponseError as exc:
                raise self._refusal(exc) from None
            if not closed:
                return False
        # As batch_close.lua stored it: this object says so without a refresh().
        self._fields["closed_at"] = repr(when)
        self._fields["status"] = JobStatus.FINISHED
        if self.is_inline:
            self._run_inline_callbacks()
        else:
            callbacks = [self.callback_key(role) for role in ROLES]
            scripts.release_dependents(
                self.connection, self.keys, self.key, callbacks, JobStatus.FINISHED
            )
        return True

    def _run_inline_callbacks(self) -> None:
        """Make the callbacks on the is_async=False queue, which runs each that may run now.

        Every job has ended, so ``on_complete`` runs; ``on_success`` runs if
        every job finished, else it stays deferred on the jobs that did not.
        """
        raw = self._fields.get("callback_retry")
        retry = Retry.loads(raw) if raw else None
        # The jobs themselves are the parents: in memory an id is looked for among
        # the process's latest jobs only, and in Redis a finished job may have
        # expired (a Job that was stored and is gone counts as finished).
        parents: list[Any] = list(self._memory_jobs) if self.in_memory else self._stored_jobs()
        for role in ROLES:
            job = self._callback_job(role, self._fields.get(role) or None, retry)
            allow = role == "on_complete"
            depends_on = Dependency(parents, allow_failure=allow) if parents else None
            self._memory_callbacks[role] = self.queue.enqueue_job(job, depends_on=depends_on)

    def _stored_jobs(self) -> list[Job]:
        found = Job.fetch_many(
            self.job_ids(),
            self.connection,
            self.queue.serializer,
            origin=self.queue.name,
            prefix=self.keys.prefix,
        )
        return [job for job in found if job is not None]

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Close the batch when the block ends normally; after an exception it stays
        open (nothing fires), for the caller to add the missing jobs or close it."""
        if exc_type is None:
            self.close()

    # -- reading ------------------------------------------------------------------

    def job_ids(self) -> list[str]:
        """The ids of the jobs added to the batch (sorted)."""
        if self.in_memory:
            return sorted(job.id for job in self._memory_jobs)
        return sorted(as_shown(i) for i in self.connection.smembers(self.jobs_key))

    @property
    def jobs(self) -> list[Job]:
        """The batch's jobs still in Redis, oldest first (those expired are left out)."""
        if self.in_memory:
            return list(self._memory_jobs)
        jobs = self._stored_jobs()
        return sorted(
            jobs, key=lambda job: (job.created_at.timestamp() if job.created_at else 0, job.id)
        )

    def _state(self) -> tuple[dict[str, str], dict[str, tuple[str | None, int]]]:
        """The batch's fields, and each callback's status and number of pending jobs.

        One round trip, whatever the size of the batch.
        """
        pipe = self.connection.pipeline(transaction=False)
        self._ask_state(pipe)
        return self._read_state(pipe.execute())

    def _ask_state(self, pipe: Any) -> None:
        """Queue on ``pipe`` the seven commands whose replies :meth:`_read_state` reads."""
        pipe.hgetall(self.key)
        for role in ROLES:
            pending = self.keys.pending(self.queue.name, self.callback_id(role))
            pipe.hget(self.callback_key(role), "status")
            pipe.scard(pending)
            pipe.sismember(pending, self.key)

    def _read_state(
        self, replies: list[Any]
    ) -> tuple[dict[str, str], dict[str, tuple[str | None, int]]]:
        fields, *replies = replies
        self._fields = {as_shown(k): as_shown(v) for k, v in fields.items()}
        if not self._fields:
            raise NoSuchBatchError(f"No batch {self.id!r}: it was deleted.")
        state = {}
        for n, role in enumerate(ROLES):
            status, count, holds = replies[3 * n : 3 * n + 3]
            # as_shown: a status another program wrote is an unknown one, not an error.
            state[role] = (as_shown(status), int(count) - int(bool(holds)))  # jobs, not the batch
        return self._fields, state

    @property
    def status(self) -> str:
        """One of :class:`BatchStatus`'s values, read now."""
        return self._status_and_progress()[0]

    @property
    def progress(self) -> BatchProgress:
        """How many jobs finished, failed and are pending, read now (one round trip)."""
        return self._status_and_progress()[1]

    def _status_and_progress(
        self, read: tuple[dict[str, str], dict[str, tuple[str | None, int]]] | None = None
    ) -> tuple[str, BatchProgress]:
        """Status and progress, from ``read`` (what :meth:`_read_state` returned) if given."""
        if self.in_memory:
            return self._memory_status()
        fields, state = read or self._state()
        total = int(float_or_none(fields.get("total")) or 0)
        if fields.get("inline") == "1":
            return self._inline_status(fields, state, total)
        complete_status, not_ended = state["on_complete"]
        success_status, not_finished = state["on_success"]
        # A callback no longer deferred (or gone, after it ran and expired) was released.
        complete = complete_status != JobStatus.DEFERRED
        succeeded = success_status != JobStatus.DEFERRED
        pending = 0 if complete else not_ended
        unsucceeded = 0 if succeeded else not_finished
        progress = BatchProgress(total, total - unsucceeded, unsucceeded - pending, pending)
        if fields.get("status") == "open":
            return BatchStatus.OPEN, progress
        if not complete:
            return BatchStatus.RUNNING, progress
        return (BatchStatus.SUCCEEDED if succeeded else BatchStatus.FAILED), progress

    def _inline_status(
        self, fields: dict[str, str], state: dict[str, tuple[str | None, int]], total: int
    ) -> tuple[str, BatchProgress]:
        """On an is_async=False queue every job ended as it was added: read their statuses."""
        pipe = self.connection.pipeline(transaction=False)
        ids = self.job_ids()
        for job_id in ids:
            pipe.hget(self.keys.job(self.queue.name, job_id), "status")
        statuses = [as_shown(s) for s in pipe.execute()] if ids else []
        finished = statuses.count(JobStatus.FINISHED)
        progress = BatchProgress(total, finished, total - finished, 0)
        if fields.get("status") == "open" or state["on_complete"][0] is None:
            return BatchStatus.OPEN, progress  # or closed, its callbacks being made
        succeeded = state["on_success"][0] != JobStatus.DEFERRED
        if succeeded:  # every job finished, though some may have expired since
            progress = BatchProgress(total, total, 0, 0)
        return (BatchStatus.SUCCEEDED if succeeded else BatchStatus.FAILED), progress

    def _memory_status(self) -> tuple[str, BatchProgress]:
        statuses = [job.get_status(refresh=False) for job in self._memory_jobs]
        total = len(statuses)
        finished = statuses.count(JobStatus.FINISHED)
        progress = BatchProgress(total, finished, total - finished, 0)
        if self._fields["status"] == "open":
            return BatchStatus.OPEN, progress
        return (BatchStatus.SUCCEEDED if finished == total else BatchStatus.FAILED), progress

    @property
    def is_complete(self) -> bool:
        """Whether every job has ended and ``on_complete`` was released."""
        return self.status in (BatchStatus.SUCCEEDED, BatchStatus.FAILED)

    @property
    def description(self) -> str:
        return self._fields.get("desc", "")

    @property
    def created_at(self) -> float | None:
        return float_or_none(self._fields.get("created_at"))

    @property
    def closed_at(self) -> float | None:
        return float_or_none(self._fields.get("closed_at"))

    def delete(self, delete_jobs: bool = False) -> None:
        """Forget the batch: its hash, its set of ids and its callback jobs.

        Its jobs are left as they are unless ``delete_jobs``. A deleted
        batch's callbacks never run.
        """
        if self.in_memory:
            _memory_batches.pop(self.id, None)
            return
        if delete_jobs:
            for job in self.jobs:
                job.delete()
        for role in ROLES:
            callback = self.callback_job(role)
            if callback is not None:
                callback.delete()
        pending = [self.keys.pending(self.queue.name, self.callback_id(r)) for r in ROLES]
        self.connection.delete(self.key, self.jobs_key, *pending)
        self.connection.hdel(self.keys.batches, self.id)


#: Entries of the batch index read by :func:`unfinished_batches`, at most, per
#: connection and prefix (the index keeps every batch until it is deleted).
INDEX_READ = 10_000


class BatchListing(NamedTuple):
    """What :func:`unfinished_batches` found."""

    #: ``(batch, status, progress)`` of the newest batches not complete, newest first.
    batches: list[tuple[Batch, str, BatchProgress]]
    #: Batches not complete that were found but not listed (past the limit).
    more: int
    #: Complete batches found (succeeded or failed), not listed.
    complete: int
    #: Entries of the index read (of every queue).
    read: int
    #: Entries in the index when it was not read to the end (of every queue), else None.
    indexed: int | None


def unfinished_batches(
    queues: Iterable[Queue], limit: int = 20, index_read: int | None = None
) -> BatchListing:
    """The batches of ``queues`` that are not complete (open or running), newest first.

    For ``rqstats``. Per connection and key prefix: the index of batch ids is
    read with HSCAN (1,000 entries a call) up to ``index_read`` entries, then
    one pipeline reads each found batch's ``status`` and creation time and
    its ``on_complete`` callback's status (two commands a batch), and one
    more reads the status and progress of the ``limit`` newest that are not
    complete (seven commands each, as :attr:`Batch.progress`). A batch of an
    ``is_async=False`` queue that is listed costs one more round trip (its
    progress is its jobs' statuses). Past ``index_read`` entries the rest of
    the index is not read: ``indexed`` then says how many it holds.
    Batches of in-memory queues live in their own process and are not found.
    """
    index_read = INDEX_READ if index_read is None else index_read
    groups: dict[tuple[int, str], list[Queue]] = {}
    for queue in queues:
        if not queue.in_memory:
            groups.setdefault((id(queue.connection), queue.keys.prefix), []).append(queue)
    found: list[tuple[float, Batch]] = []
    complete = read = 0
    sizes: list[int] = []  # per group: the entries of its index
    capped = False
    for group in groups.values():
        connection, keys = group[0].connection, group[0].keys
        by_name = {queue.name: queue for queue in group}
        candidates, taken, size = [], 0, None
        for batch_id, name in connection.hscan_iter(keys.batches, count=1000):
            if taken >= index_read:
                size = int(connection.hlen(keys.batches))
                break
            taken += 1
            home = by_name.get(as_shown(name))
            if home is not None:
                candidates.append(Batch(home, as_shown(batch_id)))
        read += taken
        sizes.append(size if size is not None else taken)
        capped = capped or size is not None
        pipe = connection.pipeline(transaction=False)
        for batch in candidates:
            pipe.hmget(batch.key, ["status", "created_at", "inline"])
            pipe.hget(batch.callback_key("on_complete"), "status")
        replies = iter(pipe.execute(raise_on_error=False) if candidates else [])
        for batch in candidates:
            fields, callback = next(replies), next(replies)
            callback = None if isinstance(callback, Exception) else callback
            if isinstance(fields, Exception) or fields[0] is None:
                continue  # deleted since the index was read, or not a hash
            status, created, inline = (as_shown(value) for value in fields)
            if status == BatchStatus.OPEN or (
                inline != "1" and as_shown(callback) == JobStatus.DEFERRED
            ):
                try:
                    found.append((float(created or 0), batch))
                except ValueError:
                    found.append((0.0, batch))
            else:
                complete += 1
    found.sort(key=lambda item: (-item[0], item[1].id))
    chosen = [batch for _, batch in found[: max(limit, 0)]]
    listed: list[tuple[Batch, str, BatchProgress]] = []
    by_connection: dict[int, list[Batch]] = {}
    for batch in chosen:
        by_connection.setdefault(id(batch.connection), []).append(batch)
    states = {}
    for batches in by_connection.values():
        pipe = batches[0].connection.pipeline(transaction=False)
        for batch in batches:
            batch._ask_state(pipe)
        replies = pipe.execute(raise_on_error=False)
        for n, batch in enumerate(batches):
            states[batch] = replies[7 * n : 7 * n + 7]
    for batch in chosen:
        if any(isinstance(reply, Exception) for reply in states[batch]):
            continue
        try:
            status, progress = batch._status_and_progress(batch._read_state(states[batch]))
        except NoSuchBatchError:
            continue  # deleted meanwhile
        listed.append((batch, status, progress))
    indexed = sum(sizes) if capped else None
    return BatchListing(listed, max(len(found) - len(chosen), 0), complete, read, indexed)


def _func_name(value: Any) -> str:
    func = Callback.of(value).func
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


__all__ = [
    "BATCH_META",
    "Batch",
    "BatchCompleteError",
    "BatchProgress",
    "BatchStatus",
    "NoSuchBatchError",
    "batch_done",
    "unfinished_batches",
]
