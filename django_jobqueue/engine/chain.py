"""Chains: calls run one after another, each given the result of the one before.

``Chain(Step(fetch, url), Step(parse), Step(store, table="pages")).enqueue(queue)``
runs ``fetch(url)``, then ``parse(<what fetch returned>)``, then
``store(<what parse returned>, table="pages")``: every step after the first
gets its predecessor's return value as its *first positional argument*, before
the arguments of its own. Steps may go to different queues.

Built on dependencies (see :mod:`.dependencies`): each later step is enqueued
deferred on the step before it, with ``allow_failure``, so the engine's atomic
release of dependents, which works across queues and Redis Cluster slots,
starts it when its predecessor ends, however that ended. Each step's hash
carries a ``chain`` field naming its neighbours; when a later step starts, in
the process that runs it, it reads its predecessor's result (see
:mod:`.chain_link`). Nothing is copied when a step ends, so recording an
outcome is the same for chain steps as for every other job.

A step that fails (for good: retries keep the chain waiting) stops the chain:
the step after it is released, finds its predecessor failed, and cancels
itself and the rest without running. :attr:`Chain.failed_step` tells which
step stopped the chain, and :meth:`Chain.requeue` runs it again, the chain
going on from there.

With ``is_async=False`` (``JOBQUEUE_ASYNC = False``) the steps run at once,
one after another, in :meth:`Chain.enqueue`; each later step is created with
its predecessor's result among its arguments (as a worker would see it, after
a trip through the serializer).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple, Self

from . import chain_link, scripts
from .errors import InvalidJobOperation, JobQueueError
from .job import MEMORY, Dependency, Job, callable_name
from .options import EnqueueOptions, split_call
from .utils import as_shown, as_str, now
from .vocabulary import JobStatus

#: Seconds the result of a step that is not the last is kept when neither the
#: step nor its queue says: the step after it reads it when it starts, which
#: may be long after a busy queue's default 500 s.
INTERMEDIATE_RESULT_TTL = 24 * 3600


class Step:
    """One call of a :class:`Chain`, written as for :meth:`Queue.enqueue`.

    ``Step(f, *args, **kwargs)`` calls ``f(<previous result>, *args,
    **kwargs)`` (the first step: ``f(*args, **kwargs)``). Keywords that name
    enqueue options (``job_timeout``, ``result_ttl``, ``retry``, ...,
    see :class:`EnqueueOptions`) configure the step's job; pass ``args=`` and
    ``kwargs=`` to give the function keywords of those names, as with
    ``enqueue``. ``queue`` is where the step's job goes: a :class:`Queue` or
    a queue name; None is the queue given to :meth:`Chain.enqueue`.

    A ``@job``-decorated function makes one with ``f.step(*args, **kwargs)``
    (or ``f.s(...)``), on the decorator's queue and with its options.
    """

    def __init__(self, func: Any, *args: Any, queue: Any = None, **kwargs: Any):
        args, kwargs, options = split_call(args, kwargs)
        self._fill(func, args, kwargs, queue, options)

    @classmethod
    def of(
        cls,
        func: Any,
        args: Sequence | None = None,
        kwargs: dict | None = None,
        *,
        queue: Any = None,
        **options: Any,
    ) -> Step:
        """A step with the function's arguments and the job's options apart
        (as :meth:`Queue.prepare_data`): ``timeout`` here, not ``job_timeout``."""
        step = cls.__new__(cls)
        step._fill(func, args or (), kwargs or {}, queue, options)
        return step

    def _fill(self, func: Any, args: Any, kwargs: dict, queue: Any, options: dict) -> None:
        callable_name(func)  # refused now, not when the chain is enqueued
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"args must be a tuple or list, not {type(args).__name__}.")
        if not isinstance(kwargs, dict):
            raise TypeError(f"kwargs must be a dict, not {type(kwargs).__name__}.")
        if queue is not None and not isinstance(queue, str) and not hasattr(queue, "enqueue_job"):
            raise TypeError(f"queue must be a Queue or a queue name, not {type(queue).__name__}.")
        self.func = func
        self.args = tuple(args)
        self.kwargs = dict(kwargs)
        self.queue = queue
        self.options: EnqueueOptions = EnqueueOptions.of(**options)

    def __repr__(self) -> str:
        name = callable_name(self.func)[0]
        return f"Step({name}, args={self.args!r}, kwargs={self.kwargs!r})"


class Chain:
    """Steps run one after another, each given the result of the one before.

    Args:
        steps: :class:`Step` objects (or ``f.step(...)`` of ``@job``
            functions); a plain function stands for ``Step(f)``, a
            ``@job`` one for ``f.step()``. A list of them is taken too.

    Raises:
        ValueError: no step, or options a chain's step cannot have (see
            :meth:`check`).
    """

    def __init__(self, *steps: Any):
        if len(steps) == 1 and isinstance(steps[0], (list, tuple)):
            steps = tuple(steps[0])
        if not steps:
            raise ValueError("A chain needs at least one step: Chain(Step(f, ...), Step(g), ...).")
        self.steps: list[Step] = [_as_step(step) for step in steps]
        #: The steps' jobs, in order, once enqueued (or fetched: None for a step
        #: gone from Redis).
        self.jobs: list[Job | None] = []
        self.check()

    def __repr__(self) -> str:
        return f"Chain(id={self.id!r}, steps={len(self.steps or self.jobs)})"

    def __len__(self) -> int:
        return len(self.jobs or self.steps)

    def check(self) -> None:
        """Refuse options that a step cannot have where it stands.

        Only the first step may wait for other jobs (``depends_on``) or start
        later (``at``): each later step waits for the one before. No step may
        repeat, and every step but the last must keep its result (``result_ttl``
        other than 0), since the next step reads it. Two steps may not be
        given the same ``job_id``.
        """
        last = len(self.steps) - 1
        ids: set[str] = set()
        for index, step in enumerate(self.steps):
            o, where = step.options, f"Step {index + 1} of the chain"
            if o.job_id is not None:
                if o.job_id in ids:
                    raise ValueError(
                        f"{where} has job_id {o.job_id!r}, as a step before it: the second "
                        "would replace the first. Give each step its own id."
                    )
                ids.add(o.job_id)
            if index and o.depends_on is not None:
                raise ValueError(
                    f"{where} has depends_on: only the first step may wait for other jobs; "
                    "each later step waits for the one before it."
                )
            if index and o.at is not None:
                raise ValueError(
                    f"{where} is given a time (at): only the first step may start later; "
                    "each later step starts when the one before it finishes."
                )
            if index and o.unique:
                raise ValueError(
                    f"{where} has unique=True, which jobs that wait for another cannot "
                    "have; only the first step may be unique."
                )
            if o.repeat is not None:
                raise ValueError(f"{where} has repeat=: the steps of a chain run once each.")
            if index < last and o.result_ttl == 0:
                raise ValueError(
                    f"{where} keeps no result (result_ttl=0), but step {index + 2} is given "
                    f"it: keep it for longer than step {index + 2} may wait."
                )

    # -- enqueueing ------------------------------------------------------------

    def resolve_queue(self, queue: Any, default: Any, number: int) -> Any:
        """The queue of step ``number``: its own (an object, or a name) or ``default``.

        A name is made a queue of the default queue's class, connection,
        serializer and prefix (the Django layer reads its settings instead).
        """
        queue = default if queue is None else queue
        if queue is None:
            raise ValueError(
                f"Step {number} of the chain has no queue: give one to Chain.enqueue(queue), "
                "or to the step (Step(f, queue=...))."
            )
        if not isinstance(queue, str):
            return queue
        if default is None or isinstance(default, str):
            raise ValueError(
                f"Step {number} of the chain names queue {queue!r}: pass Chain.enqueue() "
                "a Queue object, whose connection the queues named by steps use."
            )
        return type(default)(
            queue,
            connection=default.connection,
            is_async=default.is_async,
            serializer=default.serializer,
            prefix=default.keys.prefix,
            in_memory=default.in_memory,
        )

    def enqueue(self, queue: Any = None) -> Self:
        """Enqueue the steps; returns this chain, its :attr:`jobs` filled.

        The first step enters its queue (or waits, as its options say); each
        later one waits, deferred, for the one before. On queues with
        ``is_async=False`` the steps run here, one after another.

        Args:
            queue: the queue of the steps that name none (a :class:`Queue`).

        Raises:
            ValueError: the steps' queues mix ``is_async`` values, serializers
                or key prefixes (a step reads its predecessor's result with
                its own serializer, under its own prefix).
        """
        if self.jobs:
            raise InvalidJobOperation(
                "This chain was enqueued already: build a new Chain to run the steps again."
            )
        queues = [
            self.resolve_queue(step.queue, queue, number)
            for number, step in enumerate(self.steps, 1)
        ]
        _check_alike(queues)
        if not queues[0].is_async:
            return self._run_inline(queues)
        jobs: list[Job] = []
        last = len(self.steps) - 1
        for index, (step, q) in enumerate(zip(self.steps, queues)):
            options = step.options
            if index:
                options = replace(options, depends_on=Dependency(jobs[-1], allow_failure=True))
            if index < last and options.result_ttl is None and q.default_result_ttl is None:
                options = replace(options, result_ttl=INTERMEDIATE_RESULT_TTL)
            jobs.append(q.create_job(step.func, step.args, step.kwargs, options=options))
        for index, job in enumerate(jobs):
            link: dict[str, Any] = {"step": index + 1, "of": len(jobs)}
            if index:
                link["prev"] = jobs[index - 1].key
            if index < last:
                link["next"] = jobs[index + 1].key
            job.chain = link
            job.data = job.data  # signed anew: the link is part of what the call binds
        # In order: each step is written before the one that waits for it (a
        # step that ends meanwhile releases the next one when it is written).
        for index, (job, q) in enumerate(zip(jobs, queues)):
            try:
                q.enqueue_job(job)
            except BaseException:
                _take_back(jobs[:index])
                raise
        self.jobs = list(jobs)
        return self

    def _run_inline(self, queues: list[Any]) -> Self:
        """Run the steps here, one after another (queues with ``is_async=False``)."""
        previous: Job | None = None
        for step, q in zip(self.steps, queues):
            args = step.args
            going_on = previous is None or previous.get_status(refresh=False) == JobStatus.FINISHED
            if previous is not None and going_on:
                # As a worker's step gets it: through the serializer and back.
                result = previous.result
                args = (q.serializer.loads(q.serializer.dumps(result)), *args)
            job = q.create_job(step.func, args, step.kwargs, options=step.options)
            self.jobs.append(job)
            if not going_on:
                job.store = MEMORY  # never stored: it did not run
                job.set_status(JobStatus.CANCELED)
                continue
            q.enqueue_job(job)
            previous = job
        return self

    # -- reading ---------------------------------------------------------------

    @property
    def id(self) -> str | None:
        """The id of the first step's job (None before :meth:`enqueue`, or when it is gone)."""
        first = self.jobs[0] if self.jobs else None
        return first.id if first is not None else None

    def get_statuses(self) -> list[JobStatus | None]:
        """Each step's status, read in one round trip (None: gone from Redis)."""
        # Not read: steps kept in memory (inline), or waiting for a transaction to commit.
        stored = [
            job for job in self.jobs if job is not None and job.store.in_redis and not job.unsaved
        ]
        read: dict[int, Any] = {}
        if stored:
            pipe = stored[0].connection.pipeline(transaction=False)
            for one in stored:
                pipe.hget(one.key, "status")
            read = {id(one): as_str(s) for one, s in zip(stored, pipe.execute())}
        statuses: list[JobStatus | None] = []
        for job in self.jobs:
            if job is None:
                statuses.append(None)
            elif id(job) in read:
                value = read[id(job)]
                if value:
                    job.set_status(value)
                statuses.append(JobStatus(value) if value else None)
            else:
                statuses.append(job.get_status(refresh=False))
        return statuses

    def get_status(self) -> JobStatus | None:
        """Where the chain stands: ``finished`` once its last step finished; the
        status of the step that stopped it (``failed``, ``stopped``,
        ``canceled``); else the status of the first step still to finish
        (``queued``, ``started``, ``scheduled`` for a retry...). None when
        every step is gone from Redis (expired).
        """
        statuses = self.get_statuses()
        stopped = _stopper(statuses)
        if stopped is not None:
            return statuses[stopped]
        if statuses and statuses[-1] == JobStatus.FINISHED:
            return JobStatus.FINISHED
        return next((s for s in statuses if s not in (JobStatus.FINISHED, None)), None)

    status = property(get_status)

    @property
    def failed_step(self) -> Job | None:
        """The step's job that stopped the chain (its status says how, its
        ``exc_info`` why), or None while no step failed, was stopped or canceled.

        The steps after it are canceled, never run.
        """
        index = _stopper(self.get_statuses())
        return None if index is None else self.jobs[index]

    @property
    def result(self) -> Any:
        """What the last step returned, once it finished; else None."""
        last = self.jobs[-1] if self.jobs else None
        return None if last is None else last.result

    # -- acting ------------------------------------------------------------------

    def requeue(self) -> Job:
        """Run the chain again from the step that stopped it; returns that step's job.

        That step goes back to its queue (or waits for its predecessor, if
        that one has not finished), and each step after it waits again for
        the one before it. The first steps, which finished, are not run again.

        Raises:
            InvalidJobOperation: no step stopped the chain; or it was run inline.
        """
        statuses = self.get_statuses()
        index = _stopper(statuses)
        if index is None:
            raise InvalidJobOperation(
                "No step of this chain failed, was stopped or canceled: nothing to requeue."
            )
        if any(job is not None and not job.store.in_redis for job in self.jobs):
            raise InvalidJobOperation(
                "This chain ran inline (is_async=False) and was never stored: enqueue a new one."
            )
        # The later steps first, each waiting again for the one before; the
        # step that stopped the chain last, so that none is released too soon.
        for job, status in reversed(list(zip(self.jobs, statuses))[index + 1 :]):
            if job is not None and status == JobStatus.CANCELED:
                job.requeue()
        stopper = self.jobs[index]
        assert stopper is not None  # a stopper has a status, so a job
        stopper.requeue()
        prev = (stopper.chain or {}).get("prev")
        if prev and stopper.get_status(refresh=False) == JobStatus.DEFERRED:
            # Canceled while it waited, its predecessor finished since: release it now.
            if stopper.connection.hget(prev, "status") in (JobStatus.FINISHED.encode(), None):
                scripts.release(
                    stopper.connection, stopper.keys, stopper.key, prev, JobStatus.FINISHED, now()
                )
        return stopper

    def cancel(self) -> list[Job]:
        """Cancel every step that has not ended, the last first; returns those canceled.

        A step that is running is canceled without being interrupted, as
        :meth:`Job.cancel` does (:func:`~.worker.stop_job` stops one); it
        starts no later step. :meth:`requeue` runs the chain again from the
        first step canceled.
        """
        canceled = []
        for job, status in reversed(list(zip(self.jobs, self.get_statuses()))):
            if job is None or status is None or status in _ENDED:
                continue
            try:
                job.cancel()
            except JobQueueError:  # ended meanwhile
                continue
            canceled.append(job)
        return canceled[::-1]

    @classmethod
    def fetch(
        cls,
        job_id: str,
        connection: Any = None,
        serializer: Any = None,
        *,
        prefix: str | None = None,
    ) -> Self:
        """The chain that the job ``job_id`` (any of its steps) belongs to.

        Its :attr:`jobs` hold None for steps no longer in Redis (the results
        of the first steps may have expired).

        Raises:
            NoSuchJobError: no queue holds a job with this id.
            InvalidJobOperation: the job is not a step of a chain.
        """
        job = Job.fetch(job_id, connection, serializer, prefix=prefix)
        if not job.chain:
            raise InvalidJobOperation(f"Job {job_id} is not a step of a chain.")
        total = int(job.chain.get("of", 1))
        jobs: list[Job | None] = [None] * total
        jobs[int(job.chain.get("step", 1)) - 1] = job
        for direction in ("prev", "next"):
            step: Job | None = job
            while step is not None and step.chain and step.chain.get(direction):
                queue, step_id = step.keys.split_job_key(step.chain[direction])
                step = Job.fetch_many(
                    [step_id],
                    step.connection,
                    step.serializer,
                    origin=queue,
                    prefix=step.keys.prefix,
                )[0]
                number = int(step.chain.get("step", 0)) if step and step.chain else 0
                if step is None or not 0 < number <= total or jobs[number - 1] is not None:
                    break
                jobs[number - 1] = step
        chain = cls.__new__(cls)
        chain.steps = []
        chain.jobs = jobs
        return chain


#: Deferred jobs read per queue by :func:`waiting_steps`, at most.
DEFERRED_READ = 1_000


class WaitingSteps(NamedTuple):
    """The chain steps of one queue waiting for their predecessor (:func:`waiting_steps`)."""

    #: Deferred jobs read that are chain steps.
    waiting: int
    #: Deferred jobs read.
    read: int
    #: Deferred jobs of the queue (more than ``read`` when the cap was met).
    deferred: int


def waiting_steps(queues: Sequence[Any], cap: int | None = None) -> list[WaitingSteps]:
    """How many chain steps wait for their predecessor on each of ``queues``, in order.

    A later step waits in its queue's deferred registry until the step before
    it ends; its hash has the ``chain`` field, other deferred jobs do not.
    Per connection, two round trips: the first ``cap`` ids of each queue's
    deferred registry (with its size), then one HEXISTS per id. Past ``cap``
    deferred jobs, ``waiting`` counts those read only. In-memory queues count 0.
    """
    cap = DEFERRED_READ if cap is None else cap
    by_connection: dict[int, list[Any]] = {}
    for queue in queues:
        if not queue.in_memory:
            by_connection.setdefault(id(queue.connection), []).append(queue)
    counts: dict[Any, WaitingSteps] = {}
    for group in by_connection.values():
        pipe = group[0].connection.pipeline(transaction=False)
        for queue in group:
            registry = queue.keys.registry(queue.name, JobStatus.DEFERRED)
            pipe.zcard(registry)
            pipe.zrange(registry, 0, cap - 1)
        replies = pipe.execute(raise_on_error=False)
        read = []
        for n, queue in enumerate(group):
            size, ids = replies[2 * n : 2 * n + 2]
            if isinstance(size, Exception) or isinstance(ids, Exception):
                size, ids = 0, []  # not a sorted set: see engine/corrupt.py
            read.append((queue, int(size), [as_shown(job_id) for job_id in ids]))
        pipe = group[0].connection.pipeline(transaction=False)
        for queue, _, ids in read:
            for job_id in ids:
                pipe.hexists(queue.keys.job(queue.name, job_id), chain_link.FIELD)
        flags = iter(pipe.execute(raise_on_error=False) if any(ids for *_, ids in read) else [])
        for queue, size, ids in read:
            waiting = sum(1 for _ in ids if next(flags) in (True, 1))
            counts[queue] = WaitingSteps(waiting, len(ids), size)
    return [counts.get(queue, WaitingSteps(0, 0, 0)) for queue in queues]


def _as_step(step: Any) -> Step:
    if isinstance(step, Step):
        return step
    make = getattr(step, "step", None)
    if inspect.isfunction(step) and callable(make):  # a @job function: its queue and options
        made = make()
        if isinstance(made, Step):
            return made
    if callable(step):
        return Step(step)
    raise TypeError(f"A chain's steps are Step objects, not {type(step).__name__}.")


def _take_back(stored: list[Job]) -> None:
    """Cancel the steps stored before a later one was refused, last first: the
    chain is not left to run in part. (A first step already running finishes,
    canceled, and starts nothing.)"""
    for job in reversed(stored):
        try:
            job.cancel()
        except JobQueueError:  # ended, or gone, meanwhile
            pass


def _check_alike(queues: list[Any]) -> None:
    first = queues[0]
    for q in queues[1:]:
        if q.is_async != first.is_async:
            raise ValueError(
                f"Queues {first.name!r} and {q.name!r} differ in is_async: a chain's steps "
                "all run in workers, or all at once."
            )
        if _kind(q.serializer) != _kind(first.serializer):
            raise ValueError(
                f"Queues {first.name!r} and {q.name!r} use different serializers: a step "
                "reads its predecessor's result with its own, so a chain needs one."
            )
        if q.keys.prefix != first.keys.prefix:
            raise ValueError(
                f"Queues {first.name!r} and {q.name!r} use different key prefixes: a chain's "
                "steps must live under one."
            )


def _kind(serializer: Any) -> tuple[type, Any]:
    return type(serializer), getattr(serializer, "name", None)


#: Statuses of a step that has ended (nothing left to cancel).
_ENDED = frozenset({JobStatus.FINISHED, *chain_link.STOPPING})


def _stopper(statuses: list[JobStatus | None]) -> int | None:
    """The index of the first step that failed, was stopped or canceled, if any."""
    return next(
        (i for i, status in enumerate(statuses) if status in chain_link.STOPPING),
        None,
    )


__all__ = ["INTERMEDIATE_RESULT_TTL", "Chain", "Step", "WaitingSteps", "waiting_steps"]
