"""A named queue of jobs: the place where work is put."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from itertools import islice
from typing import Any, NamedTuple

from redis.exceptions import ResponseError

from . import dependencies, hooks, scripts
from .connection import is_cluster, resolve_connection
from .errors import DequeueTimeout, EnqueueError, InvalidJobOperation, NoSuchJobError
from .job import MEMORY, Job
from .keys import PRIORITY_BAND, keyspace, validate_queue_name
from .options import CALL_KEYWORDS, EnqueueOptions, split_call
from .registry import (
    BaseRegistry,
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    RateLimitedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from .serializers import resolve_serializer
from .unique import holder_from_reply, take_in_memory
from .utils import (
    after,
    as_shown,
    as_str,
    get_version,
    now,
    parse_duration,
    text_members,
    timestamp_of,
)
from .vocabulary import DEFAULT_TIMEOUT, STATS_TTL, JobStatus

logger = logging.getLogger("django_jobqueue.queue")

#: Keyword arguments of ``enqueue`` that configure the job instead of reaching the function.
RESERVED_KWARGS = tuple(sorted(CALL_KEYWORDS))

#: Jobs run by in-memory inline queues in this process, newest last, so that
#: ``fetch_job`` and ``depends_on=<id>`` still work without Redis.
_inline_jobs: OrderedDict[tuple[str, str], Job] = OrderedDict()
INLINE_JOBS_KEPT = 10_000


class Queue:
    """A named queue on one Redis connection.

    Args:
        name: the queue's name, such as ``"default"`` or ``"high"``.
        connection: a ``redis.Redis`` client (``redis://127.0.0.1:6379/0`` if None).
        is_async: False runs each job at once in the caller, which gets it back
            finished or failed (tests, scripts).
        default_timeout: seconds a job may run unless its enqueue says otherwise.
        serializer: ``"pickle"`` (default), ``"json"``, ``"msgpack"``, a dotted path, or an
            object with ``dumps``/``loads``.
        prefix: the prefix of every key (``"jobqueue:"``).
        in_memory: with ``is_async=False``, keep jobs in this process only and
            never talk to Redis (what ``JOBQUEUE_ASYNC = False`` uses, so test
            suites need no Redis server).
        result_ttl: RQ's name for ``default_result_ttl``.
        death_penalty_class: accepted for RQ code, and kept; unused here.
    """

    def __init__(
        self,
        name: str = "default",
        connection: Any = None,
        is_async: bool = True,
        default_timeout: int | str | None = None,
        serializer: Any = None,
        prefix: str | None = None,
        job_class: type[Job] = Job,
        default_result_ttl: int | None = None,
        in_memory: bool = False,
        result_ttl: int | None = None,
        death_penalty_class: Any = None,
    ):
        self.name = validate_queue_name(name)
        if default_result_ttl is None:  # RQ's code passes result_ttl= to Queue
            default_result_ttl = result_ttl
        self.in_memory = in_memory and not is_async
        self.connection = resolve_connection(connection)
        self.is_async = is_async
        self.default_timeout = (
            parse_duration(default_timeout, allow_forever=True) or DEFAULT_TIMEOUT
        )
        self.default_result_ttl = default_result_ttl
        self.serializer = resolve_serializer(serializer)
        self.keys = keyspace(prefix)
        self.key = self.keys.queue(self.name)
        self.job_class = job_class
        #: Kept for RQ code that passes it; workers here enforce timeouts their own way.
        self.death_penalty_class = death_penalty_class

    #: Seconds a job may run when neither it nor its queue says (RQ's name).
    DEFAULT_TIMEOUT = DEFAULT_TIMEOUT

    #: What :meth:`from_queue_key` also accepts before a queue name: RQ's form
    #: of a queue key (``"rq:queue:" + name``), for code that builds keys that
    #: way. It names no key in Redis: those are ``<prefix>{name}:queue``.
    redis_queue_namespace_prefix = "rq:queue:"

    #: The key of the set of queue names under the default prefix (RQ's name;
    #: ``queue.keys.queues`` under a queue's own prefix).
    redis_queues_keys = keyspace().queues

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    def __str__(self) -> str:
        return f"<Queue {self.name}>"

    def __lt__(self, other: Queue) -> bool:
        """Queues sort by name, as RQ's do."""
        if not isinstance(other, Queue):
            return NotImplemented
        return self.name < other.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Queue) and (self.name, self.keys.prefix) == (
            other.name,
            other.keys.prefix,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.keys.prefix))

    @classmethod
    def all(cls, connection: Any = None, prefix: str | None = None, **kwargs: Any) -> list[Queue]:
        """Every queue that has had a job on this connection."""
        connection = resolve_connection(connection)
        # A member that is not UTF-8 names no queue (only another program writes one).
        names = sorted(text_members(connection.smembers(keyspace(prefix).queues))[0])
        return [cls(n, connection, prefix=prefix, **kwargs) for n in names]

    @classmethod
    def from_queue_key(
        cls,
        queue_key: str | bytes,
        connection: Any = None,
        prefix: str | None = None,
        **kwargs: Any,
    ) -> Queue:
        """The queue whose list is at ``queue_key`` (``<prefix>{name}:queue``).

        RQ's form, :attr:`redis_queue_namespace_prefix` followed by the name,
        is accepted too. Other keywords go to :class:`Queue`.

        Raises:
            ValueError: the key names no queue under ``prefix``.
        """
        key = as_str(queue_key)
        keys = keyspace(prefix)
        head, tail = keys.prefix + "{", "}:queue"
        if key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail):
            name = key[len(head) : -len(tail)]
        elif key.startswith(cls.redis_queue_namespace_prefix):
            name = key[len(cls.redis_queue_namespace_prefix) :]
        else:
            raise ValueError(
                f"{key!r} is not a queue key: queue keys are {keys.prefix}{{<name>}}:queue."
            )
        return cls(name, connection, prefix=prefix, **kwargs)

    # -- contents ------------------------------------------------------------

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:  # a Queue object is truthy even when empty
        return True

    @property
    def count(self) -> int:
        pipe = self.connection.pipeline(transaction=False)
        pipe.llen(self.key)
        pipe.zcard(self.keys.priority(self.name))
        return sum(pipe.execute())

    def is_empty(self) -> bool:
        return self.count == 0

    def get_job_ids(self, offset: int = 0, length: int = -1) -> list[str]:
        """Ids in the order workers will take them.

        Args:
            offset: how many to skip from the head.
            length: how many to return; -1 (or any negative) for all the
                rest, 0 for none.
        """
        if length == 0:
            return []
        end = -1 if length < 0 else offset + length - 1
        prio_key = self.keys.priority(self.name)
        if not self.connection.zcard(prio_key):
            return [as_shown(i) for i in self.connection.lrange(self.key, offset, end)]
        # Rare: jobs with a priority. Positive ones come before the list,
        # negative ones after it (see scripts/_push.lua).
        pipe = self.connection.pipeline(transaction=False)
        pipe.zrange(prio_key, "-inf", f"({100 * PRIORITY_BAND}", byscore=True)
        pipe.lrange(self.key, 0, -1)
        pipe.zrange(prio_key, 100 * PRIORITY_BAND, "+inf", byscore=True)
        ids = [as_shown(i) for part in pipe.execute() for i in part]
        return ids[offset:] if end == -1 else ids[offset : end + 1]

    def get_job_position(self, job_or_id: Job | str) -> int | None:
        """Where a waiting job is in this queue (0: taken next), or None when it is not in it."""
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        if not self.connection.zcard(self.keys.priority(self.name)):
            return self.connection.lpos(self.key, job_id)
        ids = self.get_job_ids()  # jobs with a priority: the order spans two keys
        return ids.index(job_id) if job_id in ids else None

    @property
    def job_ids(self) -> list[str]:
        return self.get_job_ids()

    def get_jobs(self, offset: int = 0, length: int = -1) -> list[Job]:
        jobs = self.job_class.fetch_many(
            self.get_job_ids(offset, length),
            self.connection,
            self.serializer,
            origin=self.name,
            prefix=self.keys.prefix,
        )
        return [job for job in jobs if job is not None]

    @property
    def jobs(self) -> list[Job]:
        return self.get_jobs()

    def job_handle(self, job_id: str) -> Job:
        """A Job naming ``job_id`` on this queue, nothing read from Redis.

        Enough to act on a job whose hash cannot be loaded (to record its
        failure, requeue or delete it).
        """
        return self.job_class(
            job_id,
            self.connection,
            origin=self.name,
            serializer=self.serializer,
            prefix=self.keys.prefix,
        )

    def fetch_job(self, job_id: str) -> Job | None:
        """The job with this id on this queue, or None."""
        if self.in_memory:
            return _inline_jobs.get((self.name, job_id))
        return self.job_class.fetch_many(
            [job_id], self.connection, self.serializer, origin=self.name, prefix=self.keys.prefix
        )[0]

    def remove(self, job_or_id: Job | str) -> bool:
        """Take a waiting job out of this queue; returns whether it was in it.

        RQ leaves the removed job's hash behind, in no queue and no registry,
        where nothing ever cleans it up. Here a job is always somewhere, so a
        removed job is canceled: it moves to the canceled registry (from where
        :meth:`Job.requeue` puts it back), and jobs waiting on it are told.
        """
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        job = self.job_handle(job_id)
        if not job.is_queued:  # also when there is no such job
            return False
        try:
            job.cancel()
        except InvalidJobOperation:  # taken by a worker meanwhile
            return False
        return True

    def empty(self, batch: int = 1000) -> int:
        """Delete every queued job, a batch per step; returns how many ids were removed."""
        removed = 0
        while True:
            n = scripts.empty(self.connection, self.keys, self.name, batch)
            removed += n
            if n < batch:
                return removed

    def compact(self, batch: int = 1000) -> int:
        """Take out of the queue the ids whose job is gone; returns how many.

        A waiting job's hash may expire (``ttl``) or be deleted by something
        else than this engine; its id is then passed over by workers and
        removed here, a batch per step, the order of the others kept.
        """
        removed = 0
        for part in ("list", "priority"):
            offset, done = 0, False
            while not done:
                n, offset, done = scripts.compact(
                    self.connection, self.keys, self.name, part, offset, batch
                )
                removed += n
        return removed

    def push_job_id(self, job_id: str, pipeline: Any = None, at_front: bool = False) -> None:
        """Put a job that was only saved (``job.save()``) at the back of the queue, or the front.

        RQ's low-level push. The job becomes queued, as :meth:`enqueue_job`
        would make it (but the queue's defaults are not applied, and a
        ``depends_on`` is not looked at: use :meth:`enqueue_job` for those).
        An id already queued is left where it is; the id of a job that is
        elsewhere (deferred, scheduled, started, ended) is refused with
        :class:`InvalidJobOperation`, as it would be in two places. With
        ``pipeline``, the push runs when the caller executes it.
        """
        client = self.connection if pipeline is None else pipeline
        if pipeline is not None:
            scripts.preload(self.connection, "push_id")
            _buffer(pipeline)
        self.register()
        try:
            scripts.push_id(client, self.keys, self.name, job_id, at_front, now())
        except ResponseError as exc:
            raise scripts.script_error(exc, job_id, queue=self.name) from None

    def pop_job_id(self) -> str | None:
        """Take the id at the head of the queue out of it; None when the queue is empty.

        Nothing runs the job: it is canceled (moved to the canceled registry,
        from where :meth:`Job.requeue` puts it back), as :meth:`remove`
        does, since a job is always somewhere. Use a worker or
        :meth:`dequeue_any` to run jobs.
        """
        while True:
            ids = self.get_job_ids(0, 1)
            if not ids:
                return None
            job_id = ids[0]
            # An id whose job is gone (see compact()) is simply dropped.
            if self.remove(job_id) or scripts.drop_id(
                self.connection, self.keys, self.name, job_id
            ):
                return job_id
            # A worker took it meanwhile: look again.

    @classmethod
    def dequeue_any(
        cls,
        queues: Iterable[Queue],
        timeout: float | None,
        connection: Any = None,
        job_class: type[Job] | None = None,
        serializer: Any = None,
        worker_name: str = "dequeue_any",
        **kwargs: Any,
    ) -> tuple[Job, Queue] | None:
        """Take the next job of the first queue that has one, for code that runs jobs itself.

        The job is marked started by ``worker_name`` in the same atomic step,
        as a worker takes jobs, so it is never in no place: if the caller
        never reports its outcome, it counts as abandoned once its started
        entry expires (its queue's default timeout plus a minute) and is
        handled as a worker's abandoned job is.

        Args:
            queues: in the order they are looked at.
            timeout: None returns at once; a number of seconds waits that
                long for a job (0, waiting for ever, is refused as in RQ).
            connection, job_class, serializer: override the queues'.

        Returns:
            ``(job, queue)``, or None when every queue is empty.

        Raises:
            DequeueTimeout: ``timeout`` seconds passed without a job.
        """
        queues = list(queues)
        if timeout is not None and timeout <= 0:
            raise ValueError("dequeue_any needs a timeout above 0 seconds, or None not to wait.")
        if not queues:
            return None
        connection = connection if connection is not None else queues[0].connection
        keys = queues[0].keys
        names = [q.name for q in queues]
        abandon_after = max(q.default_timeout for q in queues) + 60
        deadline = None if timeout is None else time.monotonic() + timeout
        # On Redis Cluster the queues may lie in several slots: one script each.
        groups = [[n] for n in names] if is_cluster(connection) else [names]
        while True:
            for offset, group in enumerate(groups):
                taken = scripts.dequeue(connection, keys, group, now(), worker_name, abandon_after)
                if taken is not None:
                    taken = taken._replace(position=taken.position + offset)
                    break
            if taken is not None:
                queue = queues[taken.position - 1]
                job = (job_class or queue.job_class).from_hash(
                    taken.id.decode(),
                    taken.fields,
                    connection,
                    origin=queue.name,
                    serializer=serializer if serializer is not None else queue.serializer,
                    prefix=keys.prefix,
                )
                return job, queue
            if deadline is None:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise DequeueTimeout(timeout, [q.key for q in queues])
            time.sleep(min(DEQUEUE_POLL_INTERVAL, left))

    def delete(self, delete_jobs: bool = True) -> None:
        """Remove the queue: its jobs (unless ``delete_jobs=False``), registries and name."""
        if delete_jobs:
            self.empty()
            for registry in self.registries.values():
                while ids := registry.get_job_ids(0, 999, cleanup=False):
                    batch = scripts.Batch(self.connection)
                    for job_id in ids:
                        scripts.delete(batch, self.keys, self.name, job_id)
                    batch.execute()
        # One DEL per key: a cluster pipeline refuses a multi-key DEL, and they
        # all go out in the same round trip anyway.
        minute = int(now() // 60)  # the per-minute counters still alive
        keys = [
            self.key,
            self.keys.priority(self.name),
            self.keys.priority(self.name) + ":seq",
            self.keys.metrics(self.name),
            *(r.key for r in self.registries.values()),
            *(
                self.keys.stats(self.name, m)
                for m in range(minute - STATS_TTL // 60 - 1, minute + 1)
            ),
        ]
        pipe = self.connection.pipeline(transaction=False)
        for key in keys:
            pipe.delete(key)
        pipe.srem(self.keys.queues, self.name)
        pipe.execute()

    def get_redis_server_version(self) -> tuple[int, ...]:
        """The version of the Redis server, such as ``(7, 2, 4)``."""
        return get_version(self.connection)

    @property
    def registry_cleaning_key(self) -> str:
        """The lock :meth:`acquire_maintenance_lock` takes, beside the queue."""
        return self.keys.maintenance_lock(self.name)

    def acquire_maintenance_lock(self) -> bool:
        """Take this queue's cleaning lock for 899 seconds; False when someone holds it.

        RQ's workers take it before they clean a queue's registries; workers
        here clean them atomically and need none. It is for code of your own
        that does something to a queue once at a time.
        """
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True, ex=899))

    def release_maintenance_lock(self) -> None:
        self.connection.delete(self.registry_cleaning_key)

    @property
    def scheduler_pid(self) -> int | None:
        """The process id of the RQ-style scheduler (:class:`~.scheduler.RQScheduler`) that
        holds this queue's lock, or None (no such scheduler, or it has not registered)."""
        name = self.connection.get(self.keys.scheduler_lock(self.name))
        if name is None:
            return None
        pid = self.connection.hget(self.keys.queue_scheduler(as_str(name)), "pid")
        return int(pid) if pid else None

    # -- registries ----------------------------------------------------------

    @property
    def started_job_registry(self) -> StartedJobRegistry:
        return StartedJobRegistry(queue=self)

    @property
    def finished_job_registry(self) -> FinishedJobRegistry:
        return FinishedJobRegistry(queue=self)

    @property
    def failed_job_registry(self) -> FailedJobRegistry:
        return FailedJobRegistry(queue=self)

    @property
    def deferred_job_registry(self) -> DeferredJobRegistry:
        return DeferredJobRegistry(queue=self)

    @property
    def canceled_job_registry(self) -> CanceledJobRegistry:
        return CanceledJobRegistry(queue=self)

    @property
    def scheduled_job_registry(self) -> ScheduledJobRegistry:
        return ScheduledJobRegistry(queue=self)

    @property
    def rate_limited_job_registry(self) -> RateLimitedJobRegistry:
        return RateLimitedJobRegistry(queue=self)

    @property
    def registries(self) -> dict[str, Any]:
        return {
            JobStatus.STARTED: self.started_job_registry,
            JobStatus.FINISHED: self.finished_job_registry,
            JobStatus.FAILED: self.failed_job_registry,
            JobStatus.DEFERRED: self.deferred_job_registry,
            JobStatus.CANCELED: self.canceled_job_registry,
            JobStatus.SCHEDULED: self.scheduled_job_registry,
            JobStatus.RATE_LIMITED: self.rate_limited_job_registry,
        }

    # -- enqueueing ----------------------------------------------------------

    def enqueue(self, f: Any, *args: Any, **kwargs: Any) -> Job:
        """Put a call of ``f(*args, **kwargs)`` on this queue.

        ``f`` is a module-level function, a bound method of a picklable object,
        or a dotted path string. The keywords named in :data:`RESERVED_KWARGS`
        (every :class:`EnqueueOptions` field, with ``job_timeout`` for
        ``timeout``) configure the job; pass ``args=``/``kwargs=`` explicitly
        (and no positional arguments) to give the function keywords of those names.
        """
        pipeline = kwargs.pop("pipeline", None)
        args, kwargs, options = split_call(args, kwargs)
        return self.enqueue_call(f, args=args, kwargs=kwargs, pipeline=pipeline, **options)

    def enqueue_at(self, when: Any, f: Any, *args: Any, **kwargs: Any) -> Job:
        """Like :meth:`enqueue`, but the job enters the queue at ``when`` (an aware datetime)."""
        pipeline = kwargs.pop("pipeline", None)
        args, kwargs, options = split_call(args, kwargs)
        return self.enqueue_call(f, args=args, kwargs=kwargs, pipeline=pipeline, at=when, **options)

    def enqueue_in(self, delay: Any, f: Any, *args: Any, **kwargs: Any) -> Job:
        """Like :meth:`enqueue`, but the job enters the queue after ``delay``.

        ``delay`` is a timedelta or a number of seconds.
        """
        pipeline = kwargs.pop("pipeline", None)
        args, kwargs, options = split_call(args, kwargs)
        return self.enqueue_call(
            f, args=args, kwargs=kwargs, pipeline=pipeline, at=after(delay), **options
        )

    def enqueue_call(
        self,
        func: Any,
        args: Iterable | None = None,
        kwargs: dict | None = None,
        pipeline: Any = None,
        **options: Any,
    ) -> Job:
        """Like :meth:`enqueue`, with the function's arguments and the job's options apart.

        ``options`` are the fields of :class:`EnqueueOptions` (and
        ``job_timeout`` for ``timeout``): ``timeout`` in seconds (-1 for none);
        TTLs in seconds (``result_ttl`` 0 keeps no result, -1 keeps it
        forever); ``priority`` (-100..100) orders jobs within this queue,
        higher first; ``at`` (aware datetime or UNIX time) schedules the job.

        With ``pipeline`` (a redis-py pipeline of this queue's server), the
        job's one script call is queued on it and runs when the caller
        executes it, in its transaction (a chosen id already in use then shows
        as that call's error among the pipeline's replies). Such a job may not
        wait for parents that have not finished, nor run at once
        (``is_async=False``): both take more steps than one script call.
        """
        job = self.create_job(func, args, kwargs, options=EnqueueOptions.of(**options))
        if pipeline is not None:
            return self._enqueue_in_pipeline(pipeline, job, *placement(job, None, None, None))
        return self.enqueue_job(job)

    def create_job(
        self,
        func: Any,
        args: Iterable | None = None,
        kwargs: dict | None = None,
        *,
        options: EnqueueOptions | None = None,
        **option_kwargs: Any,
    ) -> Job:
        """Build (and check) a job for this queue without storing it.

        Its options come as keywords or as ``options``; the queue's defaults
        fill in a missing timeout and result TTL.
        """
        if options is None:
            options = EnqueueOptions.of(**option_kwargs)
        elif option_kwargs:
            raise TypeError("Pass the job's options as keywords or as options=, not both.")
        job = self.job_class.create(
            func,
            args=list(args or ()),
            kwargs=kwargs or {},
            connection=self.connection,
            origin=self.name,
            serializer=self.serializer,
            prefix=self.keys.prefix,
            options=options,
        )
        return self._fill_defaults(job)

    def _fill_defaults(self, job: Job) -> Job:
        """The queue's timeout and result TTL, for a new job that chose none.

        Only values still as :meth:`Job.create` left them are filled, so a
        second call changes nothing and a value set on the job by hand stays.
        """
        if job.options is not None:  # None: read back from Redis, already settled
            if job.options.timeout is None and job.timeout == DEFAULT_TIMEOUT:
                job.timeout = self.default_timeout
            if job.options.result_ttl is None and job.result_ttl is None:
                job.result_ttl = self.default_result_ttl
        return job

    def enqueue_job(
        self,
        job: Job,
        at_front: bool | None = None,
        depends_on: Any = None,
        at: Any = None,
        *,
        pipeline: Any = None,
        unique: bool = False,
    ) -> Job:
        """Store a job built by :meth:`create_job` and put it where it belongs.

        A job whose parents have not all finished waits in the deferred
        registry; a job given a future ``at`` waits in the scheduled registry;
        any other job enters the queue (or, on a queue with ``is_async=False``,
        runs at once). Without dependencies this is one round trip.
        ``at_front``, ``depends_on`` and ``at`` not given here are those the
        job was created with. With ``pipeline`` the job is stored when the
        caller executes it (as ``enqueue_call(pipeline=...)``); with
        ``unique=True`` a job that already has the id is kept and
        :class:`DuplicateJobError` raised.
        """
        if unique:
            if not job.id_chosen:
                raise ValueError("unique=True needs a job_id: uniqueness is that of the id.")
            job.options = replace(job.options or EnqueueOptions(), job_id=job.id, unique=True)
        job.origin = self.name  # a job from Job.create() has none yet, as in RQ
        self._fill_defaults(job)  # a job from Job.create() gets them here, as in RQ
        at_front, depends_on, at = placement(job, at_front, depends_on, at)
        if pipeline is not None:
            return self._enqueue_in_pipeline(pipeline, job, at_front, depends_on, at)
        if job.has_rate_limit and not self.is_async:
            if not (job.options and job.options.concurrency_key):
                raise EnqueueError(
                    f"Queue {self.name!r} runs jobs at once (is_async=False), so a rate_limit "
                    "cannot hold them back: enqueue without one."
                )
            # A concurrency limit on an inline queue: the job runs at once, in
            # the caller, taking no slot (see docs/limits.rst, "Inline queues").
            job.rate_limit_key = job.rate_limit_concurrency = None
        if self.in_memory:
            if job.unique_key is not None and (held := take_in_memory(self, job)):
                return held
            return self._run_in_memory(job, depends_on)
        parents, allow_failure, dep_at_front = dependencies.normalize(depends_on)
        pending: list[str] = []
        if parents:
            located = dependencies.locate(self.connection, self.keys, parents)
            job.dependency_keys = [key for key, _ in located]
            pending = [
                key for key, status in located if not dependencies.satisfies(status, allow_failure)
            ]
            job.allow_dependency_failures = allow_failure
        job.enqueue_at_front = at_front or dep_at_front
        job.pending_keys = pending
        self.register()
        target = self._write(self.connection, job, at)
        if isinstance(target, Job):  # a duplicate: the job holding the unique key
            return target
        if pending:
            dependencies.register(self.connection, self.keys, job.key, pending, allow_failure)
        elif target == JobStatus.STARTED:
            from .perform import perform_job

            perform_job(job, INLINE_WORKER, enforce_timeout=False)
            if job.ended_at is None:  # the outcome script wrote it, in Redis only
                ended_at = self.connection.hget(job.key, "ended_at")
                job.ended_at = float(ended_at) if ended_at is not None else now()
        return job

    def schedule_job(
        self, job: Job, when: Any, *, pipeline: Any = None, unique: bool = False
    ) -> Job:
        """Store a job made by :meth:`create_job` to enter the queue at ``when`` (RQ's name).

        ``when`` is an aware datetime, a naive one read as local time, or a UNIX time;
        ``pipeline`` and ``unique`` are those of :meth:`enqueue_job`.
        """
        return self.enqueue_job(job, at=when, pipeline=pipeline, unique=unique)

    def enqueue_job_on(self, pipeline: Any, job: Job) -> Job:
        """Queue the storing of a job built by :meth:`create_job` on a caller's pipeline.

        The job is stored when the caller executes ``pipeline``, as with
        ``enqueue_call(..., pipeline=...)``, whose limits it has.
        """
        return self._enqueue_in_pipeline(pipeline, job, *placement(job, None, None, None))

    def _enqueue_in_pipeline(
        self, pipeline: Any, job: Job, at_front: bool, depends_on: Any, at: Any
    ) -> Job:
        job.origin = self.name
        if not self.is_async:
            raise InvalidJobOperation(
                f"Queue {self.name!r} runs jobs at once (is_async=False): "
                "enqueue without pipeline=."
            )
        if job.has_rate_limit:
            raise EnqueueError(
                f"Job {job.id} has a rate_limit (or concurrency_key), so where it goes is "
                "known only when its script runs: enqueue it without pipeline=."
            )
        if job.unique_key is not None:
            raise EnqueueError(
                f"Job {job.id} has unique_for, so whether it is a duplicate is known only "
                "when its script runs, and the job holding its key could not be returned "
                "from a pipeline (nor a Group's transaction): enqueue it on its own."
            )
        parents, allow_failure, dep_at_front = dependencies.normalize(depends_on)
        if parents:
            located = dependencies.locate(self.connection, self.keys, parents)
            if any(not dependencies.satisfies(status, allow_failure) for _, status in located):
                raise InvalidJobOperation(
                    f"Job {job.id} depends on jobs that have not finished, so it cannot be "
                    "enqueued in a pipeline (announcing it to its parents takes more steps); "
                    "enqueue it without pipeline=."
                )
            job.dependency_keys = [key for key, _ in located]
            job.allow_dependency_failures = allow_failure
        job.enqueue_at_front = at_front or dep_at_front
        self.register()
        scripts.preload(self.connection, "enqueue")
        _buffer(pipeline)
        self._write(pipeline, job, at)
        return job

    def _write(self, client: Any, job: Job, at: Any = None, wrap: bool = True) -> Any:
        """Send the enqueue script for a prepared job (on a client or a Batch).

        Returns the job's status; for a job with a unique key that another job
        holds, that job instead (nothing was stored). The hooks that wrap
        enqueues wrap it (``wrap=False`` is the call they wrap).
        """
        if wrap and hooks.enqueue_wrappers:  # empty unless a hook wraps enqueues (a tracer)
            with hooks.enqueueing(job, self):
                return self._write(client, job, at, wrap=False)
        due = _timestamp(at)
        timestamp = now()
        if job.pending_keys:
            target, score = JobStatus.DEFERRED, timestamp
        elif due is not None and due > timestamp and self.is_async:
            target, score = JobStatus.SCHEDULED, due
        elif not self.is_async:
            target, score = JobStatus.STARTED, timestamp + 365 * 24 * 3600
        else:
            target, score = JobStatus.QUEUED, timestamp
        if target in (JobStatus.QUEUED, JobStatus.STARTED):
            job.enqueued_at = timestamp
        job.created_at = timestamp
        fields = job.to_fields()
        if target == JobStatus.STARTED:
            job.started_at, job.worker_name = timestamp, INLINE_WORKER
            fields += ["started_at", repr(timestamp), "worker", INLINE_WORKER]
        try:
            if job.unique_key is not None:  # a class attribute: None for most jobs
                holder = self._write_unique(client, job, target, timestamp, score, fields)
                if holder is not None:
                    return holder
            elif target == JobStatus.QUEUED and job.has_rate_limit:
                target = JobStatus(
                    as_str(
                        scripts.rate_limit_enqueue(
                            client,
                            self.keys,
                            self.name,
                            job.id,
                            timestamp,
                            job.enqueue_at_front,
                            job.ttl,
                            fields,
                            job.id_chosen,
                            job.priority,
                        )
                    )
                )
            else:
                scripts.enqueue(
                    client,
                    self.keys,
                    self.name,
                    *_placement(job, target, timestamp, score, fields),
                )
        except ResponseError as exc:
            raise scripts.script_error(exc, job.id, queue=self.name) from None
        job.set_status(target)
        job.unsaved = False
        job.stored = True
        if client is self.connection:  # not queued on a caller's pipeline, which may never run
            hooks.emit("job_enqueued", job=job, queue=self)
        return target

    def _write_unique(
        self, client: Any, job: Job, target: str, timestamp: float, score: float, fields: list
    ) -> Job | None:
        """enqueue_unique.lua: the job that holds ``job``'s unique key, else None once
        ``job`` is stored holding it (see :mod:`.unique`)."""
        reply = scripts.enqueue_unique(
            client,
            self.keys,
            self.name,
            job.unique_key,  # type: ignore[arg-type]
            job.unique_for,  # type: ignore[arg-type]
            *_placement(job, target, timestamp, score, fields),
        )
        return holder_from_reply(reply, self)

    @staticmethod
    def prepare_data(
        func: Any, args: Iterable | None = None, kwargs: dict | None = None, **options: Any
    ) -> EnqueueData:
        """Describe one call for :meth:`enqueue_many` (same options as :meth:`enqueue_call`)."""
        return EnqueueData(func, args, kwargs, EnqueueOptions.of(**dict(options)), options)

    def enqueue_many(
        self, calls: Iterable[EnqueueData], batch_size: int = 1000, pipeline: Any = None
    ) -> list[Job]:
        """Enqueue many prepared calls, ``batch_size`` per script call.

        Every call is checked (importable function, serializable arguments)
        before its batch is sent; ``calls`` may be any iterable, even a
        generator of millions, since only two batches are held at a time: the
        next one is prepared while Redis stores the one before. Calls with
        ``depends_on`` or ``at`` are enqueued one by one after their batch. A
        batch that meets an error (a chosen id already in use) is stored apart
        from that call, and the error is raised before the next batch is sent.

        With ``pipeline`` (a redis-py pipeline of this connection), the jobs are
        only added to it, stored when the caller executes it, as RQ does. A job
        id chosen twice in one call is refused (``ValueError``) before anything
        is sent: the second would replace the first.
        """
        if pipeline is not None:
            return self._enqueue_many_in_pipeline(pipeline, calls)
        if self.in_memory or not self.is_async:
            return [
                self.enqueue_job(self.create_job(c.func, c.args, c.kwargs, options=c.options))
                for c in calls
            ]
        self.register()
        jobs: list[Job] = []
        pending = iter(calls)
        seen: set[str] = set()  # chosen ids, to refuse one given twice
        with scripts.Overlapped(self.connection) as wire:
            in_flight: _Batch | None = None
            while True:
                try:
                    batch = self._prepare_batch(list(islice(pending, batch_size)), seen)
                except BaseException:
                    if in_flight is not None:  # it was stored: report it as usual
                        self._settle_batch(wire, in_flight)
                    raise
                if in_flight is not None:
                    jobs += self._settle_batch(wire, in_flight)
                if not batch.prepared:
                    return jobs
                self._send_batch(wire, batch)
                in_flight = batch

    def _enqueue_many_in_pipeline(self, pipeline: Any, calls: Iterable[EnqueueData]) -> list[Job]:
        calls = list(calls)
        _refuse_repeated_ids(calls, set())
        made = []
        for call in calls:
            job = self.create_job(call.func, call.args, call.kwargs, options=call.options)
            o = call.options
            made.append(self._enqueue_in_pipeline(pipeline, job, o.at_front, o.depends_on, o.at))
        return made

    def _prepare_batch(self, calls: list[EnqueueData], seen: set[str]) -> _Batch:
        _refuse_repeated_ids(calls, seen)
        batch = _Batch()
        for call in calls:
            job = self.create_job(call.func, call.args, call.kwargs, options=call.options)
            batch.prepared.append(job)
            if not _one_by_one(call.options):
                job.enqueue_at_front = call.options.at_front
                batch.plain.append(job)
        return batch

    def _send_batch(self, wire: scripts.Overlapped, batch: _Batch) -> None:
        """Jobs without parents go in one script call; the others one by one when settled."""
        if batch.plain:
            if hooks.enqueue_wrappers:  # each job's, entered before its fields are built
                batch.wrapped = [hooks.enqueueing(job, self) for job in batch.plain]
                for wrapped in batch.wrapped:
                    wrapped.__enter__()
            timestamp = now()
            for job in batch.plain:
                job.created_at = job.enqueued_at = timestamp
            try:
                scripts.send_enqueue_many(wire, self.keys, self.name, timestamp, batch.plain)
            except BaseException as exc:
                for wrapped in batch.wrapped:
                    wrapped.__exit__(type(exc), exc, exc.__traceback__)
                raise

    def _settle_batch(self, wire: scripts.Overlapped, batch: _Batch) -> list[Job]:
        replies = iter(wire.read() if batch.plain else ())
        wrapped = iter(batch.wrapped)
        errors = []
        for index, job in enumerate(batch.prepared):
            if not _one_by_one(job.options):  # type: ignore[arg-type]
                reply = next(replies)
                raised: Any = (None, None, None)
                if reply != 1:
                    error = scripts.script_error(
                        ResponseError(as_str(reply)), job.id, queue=self.name
                    )
                    errors.append(error)
                    raised = (type(error), error, None)
                else:
                    job.set_status(JobStatus.QUEUED)
                    job.unsaved = False
                    job.stored = True
                    hooks.emit("job_enqueued", job=job, queue=self)
                if batch.wrapped:
                    next(wrapped).__exit__(*raised)
            else:
                stored = self.enqueue_job(job)
                if stored is not job:  # a duplicate: the job holding its unique key
                    batch.prepared[index] = stored
        if errors:
            raise errors[0]
        return batch.prepared

    def _run_in_memory(self, job: Job, depends_on: Any) -> Job:
        """Run the job here without Redis; a job whose parents did not succeed stays deferred."""
        if hooks.enqueue_wrappers:  # empty unless a hook wraps enqueues (a tracer's span)
            with hooks.enqueueing(job, self):
                resolved, allow_failure = self._keep_in_memory(job, depends_on)
        else:
            resolved, allow_failure = self._keep_in_memory(job, depends_on)
        if any(
            not dependencies.satisfies(p.get_status(refresh=False), allow_failure) for p in resolved
        ):
            job.set_status(JobStatus.DEFERRED)
            return job
        from .perform import perform_job

        job.worker_name = INLINE_WORKER
        while True:  # retries happen at once: there is no scheduler to wait for
            job.set_status(JobStatus.STARTED)
            job.started_at = now()
            if perform_job(job, INLINE_WORKER, enforce_timeout=False) != JobStatus.QUEUED:
                return job

    def _keep_in_memory(self, job: Job, depends_on: Any) -> tuple[list[Job], bool]:
        """Keep ``job`` in this process's memory, as enqueued; returns its parents."""
        parents, allow_failure, _ = dependencies.normalize(depends_on)
        resolved = []
        for parent in parents:
            found = (
                parent
                if isinstance(parent, Job)
                else next(
                    (j for (_, job_id), j in reversed(_inline_jobs.items()) if job_id == parent),
                    None,
                )
            )
            if found is None:
                raise NoSuchJobError(
                    f"depends_on names job {parent!r}, which this process "
                    "has not run (inline jobs live in memory only)."
                )
            resolved.append(found)
            found.add_dependent(job.key)
        job.store = MEMORY
        job.dependency_keys = [p.key for p in resolved]
        job.allow_dependency_failures = allow_failure
        job.enqueued_at = now()
        _inline_jobs[(self.name, job.id)] = job
        while len(_inline_jobs) > INLINE_JOBS_KEPT:
            _inline_jobs.popitem(last=False)
        hooks.emit("job_enqueued", job=job, queue=self)
        return resolved, allow_failure

    def enqueue_dependents(
        self, job: Job, exclude_job_id: str | None = None, refresh_job_status: bool = True
    ) -> dict[str, list[str]]:
        """Tell the dependents of ``job`` that it ended, as its status says; returns those released.

        Workers do this themselves when a job ends; this is for code that
        ends jobs by other means. A dependent enters its queue once none of
        its parents is pending (or, with ``allow_failure``, once they all
        ended). The status is the one ``job`` holds (read from Redis when it
        holds none); a job that has not ended releases nothing.

        Returns:
            queue name -> ids of the dependents that entered it.
        """
        status = job.get_status(refresh=False) or job.get_status()
        ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
        released: dict[str, list[str]] = {}
        if status not in ended:
            return released
        timestamp = now()
        for child in job.fetch_dependents():
            if child is None or child.id == exclude_job_id:
                continue
            if scripts.release(self.connection, self.keys, child.key, job.key, status, timestamp):
                released.setdefault(child.origin, []).append(child.id)
        return released

    def register(self) -> None:
        """List this queue in the set of queue names before a job is put in it.

        The enqueue scripts add the name themselves, on every enqueue, so a
        Redis that came back empty (restart, failover, FLUSHDB) lists the
        queue again with the first job put in it. On Redis Cluster that set
        lies in another slot than the queue's keys, which a script may not
        touch together: there this one command is sent, also every time.
        """
        if is_cluster(self.connection):
            self.connection.sadd(self.keys.queues, self.name)


# A registry's get_queue() builds this class (registry.py cannot import this module).
BaseRegistry.queue_class = Queue


class _Batch:
    """Jobs of one enqueue_many batch: all of them, with their options, and those sent at once."""

    def __init__(self) -> None:
        self.prepared: list[Job] = []
        self.plain: list[Job] = []
        #: The hooks' managers around storing each plain job (see hooks.Hooks.job_enqueueing).
        self.wrapped: list[hooks.Wrapped] = []


def _refuse_repeated_ids(calls: Iterable[EnqueueData], seen: set[str]) -> None:
    for call in calls:
        job_id = call.options.job_id
        if job_id is None:
            continue
        if job_id in seen:
            raise ValueError(
                f"job_id {job_id!r} is given twice to one enqueue_many() call; the second "
                "job would replace the first. Give each job its own id."
            )
        seen.add(job_id)


class EnqueueData(NamedTuple):
    """One call for :meth:`Queue.enqueue_many`, made by :meth:`Queue.prepare_data`."""

    func: Any
    args: Iterable | None
    kwargs: dict | None
    options: EnqueueOptions
    #: The options as given to prepare_data, before they were checked.
    given: dict | None = None

    def __getattr__(self, name: str) -> Any:
        # RQ's EnqueueData has each option as an attribute (data.job_id, ...),
        # as it was given (on_success=print is print, not a Callback).
        if self.given is not None and name in self.given:
            return self.given[name]
        if name in EnqueueOptions.__dataclass_fields__:
            return getattr(self.options, name)
        raise AttributeError(f"EnqueueData has no attribute {name!r}")


#: Seconds between two looks for a job while :meth:`Queue.dequeue_any` waits.
DEQUEUE_POLL_INTERVAL = 0.2

#: Worker name recorded for jobs run by ``is_async=False`` queues.
INLINE_WORKER = "inline"


def placement(job: Job, at_front: bool | None, depends_on: Any, at: Any) -> tuple[bool, Any, Any]:
    """Where ``enqueue_job`` puts ``job``: what it was told, else what the job was created with."""
    if job.options is not None:
        at_front = job.options.at_front if at_front is None else at_front
        depends_on = job.options.depends_on if depends_on is None else depends_on
        at = job.options.at if at is None else at
    return bool(at_front), depends_on, at


def _buffer(pipeline: Any) -> None:
    """Start the transaction of a pipeline that WATCHes keys, as RQ does.

    After WATCH a redis-py pipeline runs each command at once; the caller
    who hands it to an enqueue expects the job to be written by its
    ``execute()``, in its transaction.
    """
    if getattr(pipeline, "watching", False) and not getattr(pipeline, "explicit_transaction", True):
        pipeline.multi()


def _placement(job: Job, target: str, timestamp: float, score: float, fields: list) -> tuple:
    """What scripts.enqueue and scripts.enqueue_unique take after the queue: the
    job and where it goes."""
    return (
        job.id,
        target,
        timestamp,
        score,
        job.enqueue_at_front,
        job.ttl,
        fields,
        job.id_chosen,
        job.priority,
        bool(job.options and job.options.unique),
    )


def _timestamp(when: Any) -> float | None:
    # A naive datetime is local time, as in RQ 3.0 (the Django layer reads it
    # in the current time zone instead, as Django does).
    return None if when is None else timestamp_of(when)


def _one_by_one(options: EnqueueOptions) -> bool:
    """Whether enqueue_many sends this call on its own instead of in a batch."""
    return (
        options.depends_on is not None
        or options.at is not None
        or options.rate_limit is not None
        or options.unique_for is not None
    )
