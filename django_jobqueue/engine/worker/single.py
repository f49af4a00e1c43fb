"""A worker: one process that takes jobs from its queues and runs each one.

Jobs are taken in strict priority order, marked started in the same atomic
step, and handed to an :class:`~..execution.Execution` that runs them in this
process (``SimpleWorker``), in a forked work-horse (``Worker``) or in a new
process started for each (``SpawnWorker``).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
import traceback
from typing import Any

from .. import connection as connection_module
from .. import rate_limit, scripts
from ..connection import UNAVAILABLE, call_with_reconnect, one_slot
from ..corrupt import damage, fail_unnamed
from ..errors import ShutDownImminentException
from ..execution import EXECUTIONS, Execution
from ..group import Group
from ..job import Job
from ..outcome import record_failure
from ..perform import Success, call_exception_handlers, perform_job, record_result, run_job
from ..utils import as_shown, kill_quietly, now
from ..vocabulary import DequeueStrategy, JobStatus, WorkerState
from .base import MAINTENANCE_INTERVAL, BaseWorker, QueueNames

#: Seconds between sweeps for deferred jobs whose release was lost.
DEFERRED_SWEEP_INTERVAL = 30.0


class Worker(BaseWorker):
    """Serves queues in the given order, running each job in a forked child.

    ``work(dequeue_strategy="round_robin" | "random")`` (or
    :class:`RoundRobinWorker`, :class:`RandomWorker`) changes that order,
    as RQ's do.

    Args:
        execution: ``"fork"`` (one child per job, the default), ``"spawn"``
            (a new process per job) or ``"inline"`` (in this process), or an
            :class:`~..execution.Execution`.

    Other arguments are those of :class:`~.base.BaseWorker`.
    """

    execution_name = "fork"
    reorders_queues = True

    def __init__(
        self, queues: Any, *args: Any, execution: str | Execution | None = None, **kwargs: Any
    ):
        super().__init__(queues, *args, **kwargs)
        execution = execution or self.execution_name
        if isinstance(execution, str):
            try:
                execution = EXECUTIONS[execution]()
            except KeyError:
                raise ValueError(
                    f"Unknown execution {execution!r}; choose from {sorted(EXECUTIONS)}."
                ) from None
        self.execution: Execution = execution
        self.kind = execution.name
        self._next_maintenance = 0.0
        self._next_cleaning = 0.0
        #: When the registries were last cleaned (None: not yet).
        self.last_cleaned_at: float | None = None
        self._pubsub: Any = None
        #: Set while the loop calls an overridden outcome handler (see _announce_outcome).
        self._outcome_announced = False
        self._suspended = False
        self._next_deferred_sweep = time.monotonic() + DEFERRED_SWEEP_INTERVAL
        # Recording a job's outcome also takes the next job (one round trip per
        # job) when the job ran in this process and another one is wanted.
        self._take_next = scripts.TakeNext(self.queue_names, self.worker_ttl)
        # One script may take from every queue at once unless they lie in
        # different slots of a Redis Cluster; then dequeue asks each in turn
        # and no next job comes back with an outcome.
        self._one_script = one_slot(
            self.connection, [self.keys.tag(name) for name in self.queue_names]
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, queues={self.queue_names})"

    # -- the loop ------------------------------------------------------------

    def check(self) -> None:
        self.execution.check(self)

    def begin(self, burst: bool, max_jobs: int | None, max_idle_time: float | None) -> None:
        self._burst = burst
        self._max_jobs = max_jobs
        self._max_idle_time = max_idle_time
        self._done = 0
        self._idle_since = time.monotonic()
        # A new call to work() looks at suspension and commands at once: an
        # earlier call's state (suspended, say) may be over.
        self._next_maintenance = 0.0
        self.execution.setup(self)
        # Also in burst mode: a command (stop-job, kill-horse) published while
        # a job runs is heard at once (see command_waiting).
        try:
            self._subscribe()
        except UNAVAILABLE:
            self._pubsub = None  # wait_for_work subscribes again

    def turn(self) -> bool:
        """Take and run one job, or wait for one; False once it is time to stop."""
        if self.stopping:
            return False
        self.observe()
        self.maintain_if_due()
        if self.stopping:  # a shutdown command was obeyed just now
            return False
        self.schedule_if_due()
        if self._suspended:
            self._give_back_prefetched()
            if self._burst:
                self.log.info("Worker %s: suspended, quitting (burst mode)", self.name)
                return False
            self.wait_for_work(self._max_idle_time, self._idle_since)
            return True
        job = self._prefetched() or self.dequeue()
        if job is not None and self.dequeue_strategy != DequeueStrategy.DEFAULT:
            self._reorder_queues(job.origin)
        if job is None:
            if self._burst:
                self.log.info("Worker %s: done, quitting", self.name)
                return False
            idle = time.monotonic() - self._idle_since
            if self._max_idle_time is not None and idle >= self._max_idle_time:
                self.log.info("Worker %s: idle for %ss, quitting", self.name, self._max_idle_time)
                return False
            self.wait_for_work(self._max_idle_time, self._idle_since)
            return True
        max_jobs = self._max_jobs
        self._take_next.enabled = (
            max_jobs is None or self._done + 1 < max_jobs
        ) and not self.stopping
        self.execute_job(job, self.queue_of(job))
        self._done += 1
        self._idle_since = time.monotonic()
        if max_jobs is not None and self._done >= max_jobs:
            self.log.info("Worker %s: finished %d jobs, quitting", self.name, self._done)
            return False
        return True

    def finish(self) -> None:
        self._give_back_prefetched()
        self.tally.flush()
        self.execution.teardown(self)
        self._unsubscribe()

    def did_work(self) -> bool:
        return self._done > 0

    def dequeue(self) -> Job | None:
        """Take the next job, marking it started in the same atomic step.

        A job whose stored hash cannot be read is moved to the failed jobs
        (see :meth:`_job_from_reply`) and the next one taken.
        """
        while True:
            taken = self._take()
            if taken is None:
                return None
            job = self._job_from_reply(taken)
            if job is not None:
                return job

    def _take(self) -> scripts.Taken | None:
        if self._one_script:
            reply = self._redis(
                scripts.dequeue,
                self.connection,
                self.keys,
                self.queue_names,
                now(),
                self.name,
                self.worker_ttl,
            )
            return reply
        # Queues on several cluster slots: one script per queue, in priority order.
        for position, name in enumerate(self.queue_names, 1):
            reply = self._redis(
                scripts.dequeue,
                self.connection,
                self.keys,
                [name],
                now(),
                self.name,
                self.worker_ttl,
            )
            if reply:
                return reply._replace(position=position)
        return None

    def _reorder_queues(self, taken_from: str) -> None:
        """Look at the queues in the strategy's order for the next job.

        Called after a job is taken and before its outcome script runs, since
        that script takes the next job from the queues in this order.
        """
        if self.dequeue_strategy == DequeueStrategy.RANDOM:
            random.shuffle(self.queues)
        else:  # round robin: start after the queue this job came from
            names = [q.name for q in self.queues]
            after = names.index(taken_from) + 1 if taken_from in names else 0
            self.queues = self.queues[after:] + self.queues[:after]
        self.queue_names = QueueNames(q.name for q in self.queues)
        self._take_next = scripts.TakeNext(self.queue_names, self.worker_ttl)

    def _prefetched(self) -> Job | None:
        reply, self._take_next.reply = self._take_next.reply, None
        return self._job_from_reply(reply)

    def _give_back_lost_jobs(self) -> None:
        """After an outage, return jobs taken for us whose handover reply was lost.

        A recording script retried after a dropped connection may have run the
        first time, taking our next job with it; that job is marked started by
        this worker although we never saw it.
        """
        known = self._take_next.reply[1].decode() if self._take_next.reply else None
        for queue in self.queues:
            ids = [
                as_shown(i)
                for i in self.connection.zrange(
                    queue.keys.registry(queue.name, JobStatus.STARTED), 0, -1
                )
            ]
            if not ids:
                continue
            pipe = self.connection.pipeline(transaction=False)
            for job_id in ids:
                pipe.hget(queue.keys.job(queue.name, job_id), "worker")
            for job_id, owner in zip(ids, pipe.execute()):
                current = self.current_job.id if self.current_job else None
                if owner == self.name.encode() and job_id not in (known, current):
                    scripts.give_back(
                        self.connection, self.keys, queue.name, job_id, now(), self.name
                    )
                    self.log.warning(
                        "Worker %s: gave job %s back to %s after a lost reply",
                        self.name,
                        job_id,
                        queue.name,
                    )

    def _give_back_prefetched(self) -> None:
        """A job taken with the last outcome but not run (we are stopping) goes back."""
        job = self._prefetched()
        if job is not None:
            scripts.give_back(job.connection, job.keys, job.origin, job.id, now(), self.name)

    def _job_from_reply(self, taken: scripts.Taken | None) -> Job | None:
        """The job taken; None when none was, or when its hash could not be read.

        A hash that cannot be loaded (a field such as ``created_at`` that is
        not a number, written by something else than this code) is recorded
        as failed, with the reason, before it could harm the worker.
        """
        if taken is None:
            return None
        queue = self.queues[taken.position - 1]
        try:
            job_id = taken.id.decode()
        except UnicodeDecodeError:
            fail_unnamed(queue.connection, queue.keys, queue.name, taken.id, now())
            self.tally.started(queue.name)
            self.tally.ended(queue.name, JobStatus.FAILED)
            return None
        try:
            return (self.load_jobs_as or queue.job_class).from_hash(
                job_id,
                taken.fields,
                queue.connection,
                origin=queue.name,
                serializer=queue.serializer,
                prefix=self.keys.prefix,
            )
        except Exception as exc:
            text = (
                f"DeserializationError: job {job_id} was not run: its stored data cannot be "
                f"read ({type(exc).__name__}: {exc})."
            )
            self.log.error("%s: %s", queue.name, text)
            status = record_failure(
                queue.job_handle(job_id), text, self.name, retry=False, wait_for_redis=True
            )
            self.tally.started(queue.name)
            self.tally.ended(queue.name, status)
            return None

    # -- what RQ users call or override ----------------------------------------

    def queue_of(self, job: Job) -> Any:
        """The worker's queue that ``job`` came from (a new one if it serves none)."""
        for queue in self.queues:
            if queue.name == job.origin:
                return queue
        return self.queue_class(
            job.origin, job.connection, serializer=job.serializer, prefix=self.keys.prefix
        )

    def dequeue_job_and_maintain_ttl(
        self, timeout: float | None, max_idle_time: float | None = None
    ) -> tuple[Job, Any] | None:
        """Take the next job, waiting up to ``timeout`` seconds (None: do not wait).

        Returns ``(job, queue)``, the job already marked started by this
        worker (run it with :meth:`execute_job`), or None when none came.
        The worker beats and keeps its registries clean while it waits.
        """
        started = time.monotonic()
        limit = timeout
        if max_idle_time is not None:
            limit = max_idle_time if limit is None else min(limit, max_idle_time)
        while True:
            self.heartbeat_if_due()
            if self.should_run_maintenance_tasks:
                self._redis(self.clean_registries)
            job = self._prefetched() or self.dequeue()
            if job is not None:
                if self.dequeue_strategy != DequeueStrategy.DEFAULT:
                    self._reorder_queues(job.origin)
                return job, self.queue_of(job)
            if limit is None or time.monotonic() - started >= limit:
                return None
            self.wait_for_work(limit, started)

    def execute_job(self, job: Job, queue: Any = None) -> str | None:
        """Run a job taken by this worker to its end, recorded; returns its new status.

        Every job the loop takes goes through here: a subclass may wrap it.
        """
        return self.execute(job)

    def perform_job(self, job: Job, queue: Any = None, execution: Any = None) -> bool:
        """Run ``job`` in this process and record its outcome; True when it finished.

        The job must have been taken by this worker (started). A subclass
        may override it: a forking worker then calls it in the work-horse,
        and should it raise, the job fails with that traceback.
        """
        return self._perform_here(job) == JobStatus.FINISHED

    def _overrides_perform_job(self) -> bool:
        return "perform_job" in vars(self) or type(self).perform_job is not Worker.perform_job

    def _perform_overridden(self, job: Job) -> str | None:
        """Call an overridden :meth:`perform_job`; returns the job's status as recorded.

        Whatever it raises fails the job with that traceback, unless the job
        was recorded already (it raised after recording): the worker goes on.
        """
        try:
            self.perform_job(job, self.queue_of(job), None)  # RQ passes an execution third
        except Exception as exc:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.log.error("%s: perform_job of job %s raised\n%s", job.origin, job.id, text)
            failed = record_failure(job, text, self.name, wait_for_redis=True)
            if failed is not None:
                return failed
        try:
            status = job.get_status(refresh=True)
        except Exception:
            return None
        return None if status == JobStatus.STARTED else status

    def run_in_horse(self, job: Job, enforce_timeout: bool = True) -> Success | str | None:
        """In a work-horse: run ``job``; a success is handed back to the
        worker to record, a failure is recorded here (see :func:`run_job`)."""
        if self._overrides_perform_job():
            # It records the outcome itself, here: no next job is taken with it
            # (the worker takes its own).
            self._take_next.enabled = False
            return self._perform_overridden(job)
        return run_job(
            job,
            self.name,
            enforce_timeout=enforce_timeout,
            wait_for_redis=True,
            exception_handlers=self.exception_handlers,
            death_penalty_class=self.death_penalty_class,
        )

    def horse_needs_worker(self) -> bool:
        """Whether a work-horse must run jobs through this worker's own methods
        (a subclass overrides ``perform_job`` or ``run_in_horse``)."""
        return self._overrides_perform_job() or type(self).run_in_horse is not Worker.run_in_horse

    def horse_options(self) -> dict[str, Any]:
        """The keywords that rebuild this worker in a spawned work-horse."""
        return {
            "name": self.name,
            "queue_class": self.queue_class,
            "job_class": self.load_jobs_as,
            "default_result_ttl": self.default_result_ttl,
            "worker_ttl": self.worker_ttl,
            "exception_handlers": self.exception_handlers,
            "disable_default_exception_handler": self.disable_default_exception_handler,
            "log_job_description": self.log_job_description,
            "death_penalty_class": self.death_penalty_class,
        }

    def handle_job_failure(
        self, job: Job, queue: Any = None, started_job_registry: Any = None, exc_string: str = ""
    ) -> str | None:
        """Record that ``job`` failed (``exc_string`` says why): retried when it
        has retries left, else moved to the failed registry. Returns its new
        status, None when it was no longer this worker's to record.

        The loop calls an override once each job it ran has failed (its
        failure recorded and counted already: ``super()`` then does nothing).
        """
        if self._outcome_announced:
            return job.get_status(refresh=False)
        status = record_failure(job, exc_string, self.name, wait_for_redis=True)
        self._count(job, False)
        return status

    def handle_job_success(
        self, job: Job, queue: Any = None, started_job_registry: Any = None, execution: Any = None
    ) -> None:
        """Count a job that finished (its result is recorded when it is performed).

        The loop calls an override once each job it ran has finished (counted
        already: ``super()`` then does nothing).
        """
        if not self._outcome_announced:
            self._count(job, True)

    def _announce_outcome(self, job: Job, status: str | None) -> None:
        """Call an overridden handle_job_success/handle_job_failure for a job run here.

        In the worker's process, after the outcome is recorded; what it raises
        is logged, never the worker's death.
        """
        finished = status == JobStatus.FINISHED
        name = "handle_job_success" if finished else "handle_job_failure"
        if status is None or getattr(type(self), name) is getattr(Worker, name):
            return
        self._outcome_announced = True
        try:
            try:
                job.get_status(refresh=True)  # as recorded, maybe by a work-horse
            except Exception:  # gone already (result_ttl=0): as it was
                pass
            if finished:
                self.handle_job_success(job, self.queue_of(job))
            else:
                self.handle_job_failure(job, self.queue_of(job), exc_string=job.exc_info or "")
        except Exception:
            self.log.exception("Worker %s: %s of job %s failed", self.name, name, job.id)
        finally:
            self._outcome_announced = False

    def _count(self, job: Job, finished: bool) -> None:
        if finished:
            self.successful_job_count += 1
        else:
            self.failed_job_count += 1
        started, ended = job.started_at, job.ended_at
        if started is not None and ended is not None:
            self.total_working_time += max((ended - started).total_seconds(), 0.0)
        self.write_fields(self.beat_fields())

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        """Log a job's exception and call the exception handlers, as a failure does."""
        exc_type, exc_value, tb = (*exc_info, None, None, None)[:3]
        if not self.disable_default_exception_handler:
            text = "".join(traceback.format_exception(exc_type, exc_value, tb))
            self.log.error("Worker %s: job %s raised\n%s", self.name, job.id, text)
        if exc_value is not None:
            call_exception_handlers(self.exception_handlers, job, exc_value)

    def execute(self, job: Job) -> str | None:
        self.current_job = job
        # A process per job costs more than writing the state twice; in-process
        # runs keep their one round trip per job, and show it at the next beat.
        announce = self.execution.process_per_job
        self.state = WorkerState.BUSY
        if announce:
            self.write_fields(self.beat_fields())
        if self.log.isEnabledFor(logging.DEBUG):  # a description costs a repr of the arguments
            self.log.debug("%s: %s (%s) started", job.origin, job.description, job.id)
        job.exc_info = None  # a previous attempt's, not this one's
        self.tally.started(job.origin)
        began = time.monotonic()
        status = None
        try:
            status = self.execution.run(self, job)
        finally:
            self.tally.ended(job.origin, status, time.monotonic() - began)
            self.current_job = None
            self.state = WorkerState.IDLE
            if announce:
                self.write_fields(self.beat_fields())
        took = time.monotonic() - began
        self.total_working_time += took
        log_outcome(
            self.log,
            job,
            status,
            took,
            self.default_result_ttl,
            describe=self.log_job_description,
            traceback=not self.disable_default_exception_handler,
        )
        if status == JobStatus.FINISHED:
            self.successful_job_count += 1
        else:
            self.failed_job_count += 1
        self._announce_outcome(job, status)
        return status

    def perform(self, job: Job) -> str | None:
        """Run the job in this process and record its outcome (called by executions)."""
        if self._overrides_perform_job():
            self._take_next.enabled = False
            return self._perform_overridden(job)
        return self._perform_here(job)

    def _perform_here(self, job: Job) -> str | None:
        take_next = self._take_next if self._one_script else None
        outages = connection_module.outages
        status = perform_job(
            job,
            self.name,
            default_result_ttl=self.default_result_ttl,
            take_next=take_next,
            wait_for_redis=True,
            exception_handlers=self.exception_handlers,
            death_penalty_class=self.death_penalty_class,
        )
        return self._recorded(job, status, outages, take_next)

    def record_result(self, job: Job, success: Success) -> str | None:
        """Record a success that a work horse handed back (see ForkExecution)."""
        take_next = self._take_next if self._one_script else None
        outages = connection_module.outages
        status = record_result(
            job,
            success,
            self.name,
            default_result_ttl=self.default_result_ttl,
            take_next=take_next,
            wait_for_redis=True,
        )
        return self._recorded(job, status, outages, take_next)

    def _recorded(
        self, job: Job, status: str | None, outages: int, take_next: scripts.TakeNext | None
    ) -> str | None:
        if connection_module.outages != outages and take_next is not None:
            self._give_back_lost_jobs()
        return status

    # -- waiting without polling ---------------------------------------------

    def _subscribe(self) -> None:
        self._pubsub = self.connection.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(
            self.keys.worker_channel(self.name),
            *(self.keys.wake_channel(q) for q in self.queue_names),
        )

    def command_waiting(self) -> bool:
        """Whether a command was published for this worker since the last look.

        Reads what the subscription has received, without a round trip to
        Redis; executions call it often while a job runs.
        """
        if self._pubsub is None:
            return False
        own = self.keys.worker_channel(self.name)
        heard = False
        try:
            message = self._pubsub.get_message(timeout=0)
            while message is not None:
                if as_shown(message.get("channel")) == own:
                    heard = True
                    self._heard(as_shown(message.get("data")))
                message = self._pubsub.get_message(timeout=0)
        except (*UNAVAILABLE, OSError):
            self._unsubscribe()
        return heard

    def _heard(self, command: str | None) -> None:
        """A shutdown announced is obeyed from the announcement too.

        The command is also stored on the registration, read at once; should
        that hash be gone meanwhile (FLUSHDB, a Redis that came back empty),
        the worker still stops.
        """
        if command == "shutdown" and not self.stopping:
            self.log.info("Worker %s: shutdown command received", self.name)
            self.request_stop()

    def _unsubscribe(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                pass
            self._pubsub = None

    def wait_for_work(self, max_idle_time: float | None = None, idle_since: float = 0.0) -> None:
        """Block until a push on one of the queues is announced, or housekeeping is due."""
        self.publish_state(WorkerState.IDLE)
        timeout = min(self.heartbeat_interval, MAINTENANCE_INTERVAL)
        if self.scheduler is not None:
            timeout = min(timeout, max(self._next_schedule - time.monotonic(), 0.0))
        if max_idle_time is not None:
            timeout = min(timeout, max(max_idle_time - (time.monotonic() - idle_since), 0.01))
        try:
            if self._pubsub is None:
                self._subscribe()
            message = self._pubsub.get_message(timeout=timeout)
            own = self.keys.worker_channel(self.name)
            while message is not None:  # drain what else is buffered
                if as_shown(message.get("channel")) == own:
                    self._next_maintenance = 0.0  # a command: look at it now
                    self._heard(as_shown(message.get("data")))
                message = self._pubsub.get_message(timeout=0)
        except (*UNAVAILABLE, OSError):
            self._unsubscribe()
            self._connection_lost()
        self.heartbeat_if_due()

    # -- registration and heartbeat ------------------------------------------

    def describe(self) -> str:
        return self.execution.description

    def beat_fields(self) -> dict[str, Any]:
        job = self.current_job
        return {
            **super().beat_fields(),
            "current_job": job.id if job else "",
            "current_queue": job.origin if job else "",
        }

    def beat_along(self, pipe: Any, timestamp: float) -> list[str]:
        """The running job's lease in its started registry is renewed with each beat."""
        job = self.current_job
        if job is None:
            return []
        started = self.keys.registry(job.origin, JobStatus.STARTED)
        pipe.zadd(started, {job.id: timestamp + self.worker_ttl}, xx=True)
        return [started]

    def stop_requested(self, job: Job) -> bool:
        """Whether :func:`stop_job` asked to abort ``job``; takes the request away.

        Executions call this about every ``stop_poll_interval`` seconds while a
        job runs; other commands left for the worker are carried out meanwhile.
        """
        try:
            stop, command = self.connection.hmget(self.key, "stop_job", "command")
            if command:
                self.connection.hdel(self.key, "command")
                self.obey(as_shown(command))
            if as_shown(stop) != job.id:
                return False
            self.connection.hdel(self.key, "stop_job")
        except UNAVAILABLE:
            return False
        self.log.warning("%s: stopping job %s on request", job.origin, job.id)
        return True

    # -- housekeeping --------------------------------------------------------

    def maintain_if_due(self) -> None:
        """Follow suspension and commands every second; clean registries every
        ``maintenance_interval``."""
        if time.monotonic() >= self._next_maintenance:
            self._redis(self.obey_commands)
            self._redis(self.follow_suspension)
            self._next_maintenance = time.monotonic() + MAINTENANCE_INTERVAL
        if time.monotonic() >= self._next_cleaning:
            self._redis(self.clean_registries)
            self._next_cleaning = time.monotonic() + self.maintenance_interval

    def maintain(self) -> None:
        """Follow suspension and clean the registries, now."""
        self.follow_suspension()
        self.clean_registries()

    def follow_suspension(self) -> None:
        """Take no new jobs while the workers are suspended (``rqsuspend``)."""
        suspended = bool(self.connection.exists(self.keys.suspended))
        if suspended != self._suspended:
            self._suspended = suspended
            self.publish_state(WorkerState.SUSPENDED if suspended else WorkerState.IDLE)
            self.log.info(
                "Worker %s: %s",
                self.name,
                "suspended, taking no new jobs" if suspended else "resumed",
            )

    def clean_registries(self) -> None:
        """Drop expired registry entries and fail abandoned jobs.

        Scheduled jobs and delayed retries are released by the scheduler
        (:meth:`schedule_if_due`), in one worker only.
        """
        self.last_cleaned_at = now()
        sweep = time.monotonic() >= self._next_deferred_sweep
        if sweep:
            self._next_deferred_sweep = time.monotonic() + DEFERRED_SWEEP_INTERVAL
        # A registry of the wrong type (see corrupt.py) costs one logged error
        # and is tried again with back-off; the other queues are not held up.
        for queue in self.queues:
            for registry in (
                queue.finished_job_registry,
                queue.failed_job_registry,
                queue.canceled_job_registry,
            ):
                damage.guard(registry.key, registry.cleanup)
            if sweep:
                deferred = queue.deferred_job_registry
                damage.guard(deferred.key, deferred.release_ready)
                # Slots of rate limits held by jobs that ended without freeing them.
                keys = queue.keys.rate_limit_keys(queue.name)
                damage.guard(
                    keys, rate_limit.sweep, queue.connection, queue.name, queue.keys.prefix
                )
            started = queue.started_job_registry
            abandoned = damage.guard(started.key, started.cleanup, default=0)
            if abandoned:
                for _ in range(abandoned):  # failed on behalf of their dead worker
                    self.tally.ended(queue.name, JobStatus.FAILED)
                self.log.warning(
                    "%s: %d abandoned job(s) moved out of the started registry",
                    queue.name,
                    abandoned,
                )
        if sweep:  # however many workers there are, the groups once per sweep interval
            self.clean_group_registries(lock=DEFERRED_SWEEP_INTERVAL - 1)

    def run_maintenance_tasks(self) -> None:
        """One housekeeping round now (RQ's name): the registries, then the groups."""
        self.clean_registries()
        self.clean_group_registries()

    def clean_group_registries(self, lock: float = 0) -> None:
        """Forget expired members of groups and groups left empty, if no worker
        did within ``maintenance_interval`` (less one second) seconds, or
        ``lock`` seconds if longer."""
        timeout = max(int(self.maintenance_interval) - 1, 1, lock)
        if Group.acquire_maintenance_lock(self.connection, timeout, self.keys.prefix):
            Group.clean_registries(self.connection, prefix=self.keys.prefix)

    # -- resilience ------------------------------------------------------------

    def _redis(self, func: Any, *args: Any) -> Any:
        """Call ``func``; on a lost connection, wait and retry with back-off."""
        return call_with_reconnect(
            func, *args, name=f"Worker {self.name}", give_up=lambda: self.stopping
        )

    def _connection_lost(self) -> None:
        time.sleep(0.1)

    # -- shutdown ------------------------------------------------------------

    def request_stop(self) -> None:
        super().request_stop()
        self._take_next.enabled = False

    def kill_horse(self) -> None:
        pid = getattr(self.execution, "child_pid", None)
        if self.current_job is None or not pid:
            super().kill_horse()
            return
        self.log.warning(
            "Worker %s: killing the work-horse of job %s", self.name, self.current_job.id
        )
        kill_quietly(pid)

    def stop_now(self) -> None:
        if self.current_job is None:
            raise SystemExit(1)
        self.execution.interrupt(self)


class HerokuWorker(Worker):
    """A :class:`Worker` for platforms that kill it some seconds after SIGTERM (Heroku's 30).

    The first stop signal asks the running job's work-horse to end the job:
    :attr:`imminent_shutdown_delay` seconds later (at once when 0) the job
    gets :class:`~..errors.ShutDownImminentException`, so that its failure is
    recorded (and retried by its rules) before the platform kills everything;
    the worker then stops. A job that ends sooner is recorded as usual. As
    in RQ, a work-horse in its first milliseconds has no handler yet: the
    signal ends it at once, and its job is recorded as lost with its horse
    (failed, or retried by its rules).
    """

    #: Seconds a job has left after the first stop signal.
    imminent_shutdown_delay = 6
    #: Sent to the work-horse on the first stop signal.
    imminent_signal = signal.SIGRTMIN

    @property
    def horse_pid(self) -> int:
        """The pid of the process running the current job, 0 when none does."""
        return getattr(self.execution, "child_pid", None) or 0

    def handle_warm_shutdown_request(self) -> None:
        pid = self.horse_pid
        if not pid:
            self.log.warning(
                "Worker %s: warm shut down requested, no work-horse running", self.name
            )
            return
        self.log.info(
            "Worker %s: warm shut down requested, telling work-horse %s its job must end",
            self.name,
            pid,
        )
        kill_quietly(pid, self.imminent_signal)

    def run_in_horse(self, job: Job, enforce_timeout: bool = True) -> Success | str | None:
        signal.signal(self.imminent_signal, self._imminent)
        return super().run_in_horse(job, enforce_timeout)

    def _imminent(self, signum: int, frame: Any) -> None:
        """In the work-horse: end the job now, or after the delay."""
        if self.imminent_shutdown_delay <= 0:
            self._raise_imminent(signum, frame)
            return
        self.log.warning("Shut down imminent: the job ends in %d s", self.imminent_shutdown_delay)
        signal.signal(signum, self._raise_imminent)  # a second signal: at once
        timer = threading.Timer(
            self.imminent_shutdown_delay, os.kill, (os.getpid(), self.imminent_signal)
        )
        timer.daemon = True
        timer.start()

    def _raise_imminent(self, signum: int, frame: Any) -> None:
        signal.signal(signum, signal.SIG_IGN)
        where = {
            "f_code": getattr(frame, "f_code", None),
            "f_lineno": getattr(frame, "f_lineno", None),
        }
        raise ShutDownImminentException(
            f"shut down imminent (signal {signal.Signals(signum).name})", where
        )


class RoundRobinWorker(Worker):
    """A :class:`Worker` that takes its queues in turn (RQ's name)."""

    dequeue_strategy = DequeueStrategy.ROUND_ROBIN


class RandomWorker(Worker):
    """A :class:`Worker` that looks at its queues in a random order for each job (RQ's name)."""

    dequeue_strategy = DequeueStrategy.RANDOM


class SimpleWorker(Worker):
    """Runs each job in the worker process itself (no fork): faster, less isolated."""

    execution_name = "inline"


class SpawnWorker(Worker):
    """Runs each job in a new Python process started for it: no fork, so safe
    where forking is not (macOS, programs holding threads or locks).

    See :class:`~..execution.spawn.SpawnExecution`.
    """

    execution_name = "spawn"


#: How a job ended, as a log field: a retry is not a failure of the job yet.
OUTCOMES: dict[str | None, str] = {
    JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed",
    JobStatus.QUEUED: "retried",
    JobStatus.SCHEDULED: "retried",
}


def _log_line(log: logging.Logger, level: int, msg: str, args: tuple, extra: dict) -> None:
    """``log.log(level, msg, *args, extra=extra)``, without looking for the caller.

    Logger._log walks the stack to find the file and line that logged, for
    formats that show them; that walk was a tenth of a success's line. The
    record names this function instead, which is where every such line comes
    from. Filters and handlers see the record as from ``log.info``.
    """
    if not isinstance(log, logging.Logger):  # an adapter, say: its own way
        log.log(level, msg, *args, extra=extra)
    elif log.isEnabledFor(level):
        record = log.makeRecord(
            log.name, level, __file__, _LINE, msg, args, None, "log_outcome", extra
        )
        log.handle(record)


#: The line of log_outcome's records (see _log_line).
_LINE = _log_line.__code__.co_firstlineno


def log_outcome(
    log: logging.Logger,
    job: Job,
    status: str | None,
    seconds: float,
    default_result_ttl: int,
    *,
    describe: bool = True,
    traceback: bool = True,
) -> None:
    """The one line a job gets when it ends: what ran, how it ended, how long it took.

    A failure's line carries its traceback unless ``traceback`` is False; how
    long a result is kept is a detail (DEBUG). ``describe=False`` names the job
    by id only: its description shows its arguments.
    """
    if (status == JobStatus.FINISHED or status is None) and not log.isEnabledFor(logging.INFO):
        return  # -v 0: a success has no line, so nothing is built for one
    what = f"{job.origin}: {job.description} ({job.id})" if describe else f"{job.origin}: {job.id}"
    # The same facts as fields, for a formatter that writes one JSON object
    # per line (django_jobqueue.logutils.JSONFormatter); text formats ignore them.
    fields = {
        "job_id": job.id,
        "queue": job.origin,
        "function": job.func_name,
        "outcome": OUTCOMES.get(status) or status or "recorded_elsewhere",
        "duration": round(seconds, 6),
    }
    extra = {"job": fields}
    if status == JobStatus.FINISHED:
        _log_line(log, logging.INFO, "%s OK in %.3f s", (what, seconds), extra)
        if log.isEnabledFor(logging.DEBUG):
            ttl = job.result_ttl if job.result_ttl is not None else default_result_ttl
            kept = "discarded" if ttl == 0 else "never expires" if ttl < 0 else f"kept {ttl} s"
            log.debug("%s: result %s", what, kept)
        return
    if status is None:
        log.info("%s ended in %.3f s, recorded by another worker", what, seconds, extra=extra)
        return
    try:
        # Set by this process, or read back from what the work-horse recorded.
        trace = (job.exc_info or "").rstrip() if traceback else ""
    except UNAVAILABLE:
        trace = ""
    trace = f"\n{trace}" if trace else ""
    if status in (JobStatus.QUEUED, JobStatus.SCHEDULED):
        log.warning("%s failed in %.3f s, will be retried%s", what, seconds, trace, extra=extra)
    elif status == JobStatus.FAILED:
        log.error(
            "%s failed in %.3f s, moved to the failed jobs%s", what, seconds, trace, extra=extra
        )
    else:
        log.warning("%s %s after %.3f s%s", what, status, seconds, trace, extra=extra)


__all__ = ["HerokuWorker", "SimpleWorker", "SpawnWorker", "Worker", "log_outcome"]
