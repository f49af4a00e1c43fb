"""The worker: takes jobs from its queues, in strict priority order, and runs them."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from typing import Any

from . import connection as connection_module
from . import corrupt, scripts
from .connection import UNAVAILABLE, call_with_reconnect, one_slot, resolve_connection
from .corrupt import damage
from .errors import InvalidJobOperation
from .execution import EXECUTIONS, Execution
from .execution.base import Success, perform_job, record_result
from .job import DEFAULT_RESULT_TTL, Job, JobStatus
from .keys import keyspace
from .live import WorkerState
from .outcome import record_failure
from .queue import Queue
from .scheduler import Scheduler
from .serializers import resolve_serializer
from .tally import MinuteReport, Tally, describe_redis
from .utils import as_str, now

logger = logging.getLogger("django_jobqueue.worker")

#: Seconds without a heartbeat after which a worker and its job count as dead.
DEFAULT_WORKER_TTL = 420
#: Seconds between sweeps for deferred jobs whose release was lost.
DEFERRED_SWEEP_INTERVAL = 30.0
#: Seconds between housekeeping rounds (due retries, expired entries, abandoned jobs).
MAINTENANCE_INTERVAL = 1.0
#: Seconds between two looks at stop requests (:func:`stop_job`) while a job runs.
STOP_POLL_INTERVAL = 1.0


def _version() -> str:
    from .. import __version__

    return __version__


class Worker:
    """Serves queues in the given order, running each job in a forked child.

    Args:
        queues: queues or queue names, highest priority first; a job from a
            later queue starts only while every earlier queue is empty.
        connection: the Redis client (queue objects keep their own).
        name: unique worker name; a random one by default.
        execution: ``"fork"`` (one child per job) or ``"inline"``.
        worker_ttl: seconds without a heartbeat after which this worker's job
            is taken for abandoned.
        scheduler: True (default) to run a :class:`~.scheduler.Scheduler` in
            this worker: it becomes the active one unless another worker's
            is. It releases scheduled jobs and delayed retries, so some worker
            on each connection must run one. False for none, or a Scheduler.
        cron: periodic entries (:class:`~.cron.CronEntry`) for the scheduler.
    """

    execution_name = "fork"

    def __init__(
        self,
        queues: Any,
        connection: Any = None,
        name: str | None = None,
        default_result_ttl: int = DEFAULT_RESULT_TTL,
        worker_ttl: int = DEFAULT_WORKER_TTL,
        serializer: Any = None,
        prefix: str | None = None,
        execution: str | Execution | None = None,
        queue_class: type[Queue] = Queue,
        scheduler: Any = True,
        cron: Any = (),
    ):
        if isinstance(queues, (str, Queue)):
            queues = [queues]
        queues = list(queues)
        if not queues:
            raise ValueError("A worker needs at least one queue.")
        first = next((q for q in queues if isinstance(q, Queue)), None)
        if connection is None and first is not None:
            connection = first.connection
        self.connection = resolve_connection(connection)
        self.serializer = resolve_serializer(serializer)
        if prefix is None and first is not None:
            prefix = first.keys.prefix
        self.keys = keyspace(prefix)
        self.queues: list[Queue] = [
            q
            if isinstance(q, Queue)
            else queue_class(
                q, self.connection, serializer=self.serializer, prefix=self.keys.prefix
            )
            for q in queues
        ]
        self.queue_names = [q.name for q in self.queues]
        self.name = name or uuid.uuid4().hex
        self.key = self.keys.worker(self.name)
        self.default_result_ttl = default_result_ttl
        self.worker_ttl = worker_ttl
        self.heartbeat_interval = max(0.5, min(30.0, worker_ttl / 6))
        execution = execution or self.execution_name
        if isinstance(execution, str):
            try:
                execution = EXECUTIONS[execution]()
            except KeyError:
                raise ValueError(
                    f"Unknown execution {execution!r}; choose from {sorted(EXECUTIONS)}."
                ) from None
        self.execution: Execution = execution
        self.log = logger
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.state = WorkerState.STARTED
        self.current_job: Job | None = None
        self.successful_job_count = 0
        self.failed_job_count = 0
        self._stop_requested = False
        self._cold = False
        self._last_heartbeat = 0.0
        self._birth = now()
        self._next_maintenance = 0.0
        self._pubsub: Any = None
        self._suspended = False
        self.stop_poll_interval = STOP_POLL_INTERVAL
        # Recording a job's outcome also takes the next job (one round trip per
        # job) when the job ran in this process and another one is wanted.
        self._next_deferred_sweep = time.monotonic() + DEFERRED_SWEEP_INTERVAL
        self._take_next = scripts.TakeNext(self.queue_names, self.worker_ttl)
        # One script may take from every queue at once unless they lie in
        # different slots of a Redis Cluster; then dequeue asks each in turn
        # and no next job comes back with an outcome.
        self._one_script = one_slot(
            self.connection, [self.keys.tag(name) for name in self.queue_names]
        )
        if scheduler is True:
            scheduler = Scheduler(
                self.connection,
                self.keys.prefix,
                cron=cron,
                name=self.name,
                serializer=self.serializer,
            )
        elif cron:
            raise ValueError("Periodic entries (cron=) need the scheduler (scheduler=True).")
        self.scheduler: Scheduler | None = scheduler or None
        self._next_schedule = 0.0
        #: Counts written to Redis about once a second (see :mod:`.tally`).
        self.tally = Tally(self.connection, self.keys)
        #: The once-a-minute log line; None for none (pool children: their pool logs it).
        self.report: MinuteReport | None = MinuteReport(self.name)
        #: Called with the worker on every turn of the loop (``rqworker``'s live line).
        self.on_tick: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, queues={self.queue_names})"

    # -- the loop ------------------------------------------------------------

    def work(
        self,
        burst: bool = False,
        max_jobs: int | None = None,
        max_idle_time: float | None = None,
        logging_level: str | int | None = "INFO",
    ) -> bool:
        """Run jobs until stopped; returns True when at least one job ran.

        Args:
            burst: stop as soon as every queue is empty.
            max_jobs: stop after this many jobs.
            max_idle_time: stop after this many seconds without a job.
        """
        undo_logging = self._setup_logging(logging_level)
        previous_handlers = self._install_signal_handlers()
        if not wait_for_redis(self, burst):  # stopped before Redis came up
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            undo_logging()
            return False
        self.register_birth()
        self.execution.setup(self)
        done = 0
        idle_since = time.monotonic()
        try:
            if not burst:
                self._subscribe()
            while not self._stop_requested:
                self.observe()
                self.maintain_if_due()
                self.schedule_if_due()
                if self._suspended:
                    self._give_back_prefetched()
                    if burst:
                        self.log.info("Worker %s: suspended, quitting (burst mode)", self.name)
                        break
                    self.wait_for_work(max_idle_time, idle_since)
                    continue
                job = self._prefetched() or self.dequeue()
                if job is None:
                    if burst:
                        self.log.info("Worker %s: done, quitting", self.name)
                        break
                    if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                        self.log.info("Worker %s: idle for %ss, quitting", self.name, max_idle_time)
                        break
                    self.wait_for_work(max_idle_time, idle_since)
                    continue
                self._take_next.enabled = (
                    max_jobs is None or done + 1 < max_jobs
                ) and not self._stop_requested
                self.execute(job)
                done += 1
                idle_since = time.monotonic()
                if max_jobs is not None and done >= max_jobs:
                    self.log.info("Worker %s: finished %d jobs, quitting", self.name, done)
                    break
        finally:
            self._give_back_prefetched()
            self.tally.flush()
            if self.scheduler is not None:
                self.scheduler.release()
            self.execution.teardown(self)
            self._unsubscribe()
            self.register_death()
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            undo_logging()
        return done > 0

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
                as_str(i)
                for i in self.connection.zrange(queue.keys.registry(queue.name, "started"), 0, -1)
            ]
            if not ids:
                continue
            pipe = self.connection.pipeline(transaction=False)
            for job_id in ids:
                pipe.hget(queue.keys.job(queue.name, job_id), "worker")
            for job_id, owner in zip(ids, pipe.execute()):
                current = self.current_job.id if self.current_job else None
                if owner and owner.decode() == self.name and job_id not in (known, current):
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
        job_id = taken.id.decode()
        try:
            return queue.job_class.from_hash(
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

    def execute(self, job: Job) -> str | None:
        self.current_job = job
        self.state = WorkerState.BUSY
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
        log_outcome(self.log, job, status, time.monotonic() - began, self.default_result_ttl)
        if status == "finished":
            self.successful_job_count += 1
        else:
            self.failed_job_count += 1
        return status

    def perform(self, job: Job) -> str | None:
        """Run the job in this process and record its outcome (called by executions)."""
        take_next = self._take_next if self._one_script else None
        outages = connection_module.outages
        status = perform_job(
            job,
            self.name,
            default_result_ttl=self.default_result_ttl,
            take_next=take_next,
            wait_for_redis=True,
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
        self._pubsub.subscribe(*(self.keys.wake_channel(q) for q in self.queue_names))

    def _unsubscribe(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                pass
            self._pubsub = None

    def wait_for_work(self, max_idle_time: float | None = None, idle_since: float = 0.0) -> None:
        """Block until a push on one of the queues is announced, or housekeeping is due."""
        self.state = WorkerState.IDLE
        timeout = min(self.heartbeat_interval, MAINTENANCE_INTERVAL)
        if self.scheduler is not None:
            timeout = min(timeout, max(self._next_schedule - time.monotonic(), 0.0))
        if max_idle_time is not None:
            timeout = min(timeout, max(max_idle_time - (time.monotonic() - idle_since), 0.01))
        try:
            if self._pubsub is None:
                self._subscribe()
            message = self._pubsub.get_message(timeout=timeout)
            while message is not None:  # drain what else is buffered
                message = self._pubsub.get_message(timeout=0)
        except (*UNAVAILABLE, OSError):
            self._unsubscribe()
            self._connection_lost()
        self.heartbeat_if_due()

    # -- registration and heartbeat ------------------------------------------

    def register_birth(self) -> None:
        self.log.info("Worker %s started with PID %d, version %s", self.name, self.pid, _version())
        self.log.info("*** Listening on %s...", ", ".join(self.queue_names))
        mode = "fork (a child per job)" if self.execution.name == "fork" else "in-process"
        self.log.info(
            "Worker %s: Redis %s; queues in priority order: %s; %s; scheduler %s",
            self.name,
            describe_redis(self.connection),
            ", ".join(self.queue_names),
            mode,
            "on" if self.scheduler is not None else "off",
        )
        self._birth = now()
        self.heartbeat(fresh=True)

    def register_death(self) -> None:
        self.log.info("Worker %s: stopped", self.name)
        try:
            pipe = self.connection.pipeline(transaction=False)
            pipe.srem(self.keys.workers, self.name)
            pipe.delete(self.key)
            pipe.execute()
        except UNAVAILABLE:
            self.log.warning("Could not unregister worker %s: Redis unreachable", self.name)

    #: Whether the worker belongs in the set of workers (pool children do not).
    listed = True

    def registration(self) -> dict[str, Any]:
        """The fields of this worker's registration that do not change while it runs."""
        return {
            "name": self.name,
            "hostname": self.hostname,
            "pid": self.pid,
            "queues": ",".join(self.queue_names),
            "birth": repr(self._birth),
            "execution": self.execution.name,
            "version": _version(),
        }

    def heartbeat(self, fresh: bool = False) -> None:
        """Tell Redis this worker (and its current job) is alive.

        Each heartbeat writes the whole registration, in the same round trip:
        a Redis that came back empty (restart without persistence, failover
        to a lagging replica, FLUSHDB) shows the worker again after its next
        heartbeat. ``fresh`` first drops what an earlier worker of this name
        left (at birth).
        """
        timestamp = now()
        job = self.current_job
        pipe = self.connection.pipeline(transaction=False)
        keys = []  # the key of each command, to name a bad one
        if fresh:
            pipe.delete(self.key)
            keys.append(self.key)
        keys += [self.key, self.key]
        pipe.hset(
            self.key,
            mapping={
                **self.registration(),
                "state": self.state,
                "last_heartbeat": repr(timestamp),
                "current_job": job.id if job else "",
                "current_queue": job.origin if job else "",
                "successful": self.successful_job_count,
                "failed": self.failed_job_count,
            },
        )
        pipe.expire(self.key, int(self.worker_ttl) + 1)
        if self.listed:
            pipe.sadd(self.keys.workers, self.name)
            keys.append(self.keys.workers)
        if job is not None:
            started = self.keys.registry(job.origin, "started")
            pipe.zadd(started, {job.id: timestamp + self.worker_ttl}, xx=True)
            keys.append(started)
        corrupt.execute(pipe, keys)
        self._last_heartbeat = time.monotonic()

    def heartbeat_if_due(self) -> None:
        self.tally.flush_if_due()  # also called while a forked job runs
        if time.monotonic() - self._last_heartbeat >= self.heartbeat_interval:
            self._redis(self.heartbeat)

    def stop_requested(self, job: Job) -> bool:
        """Whether :func:`stop_job` asked to abort ``job``; takes the request away.

        Executions call this about every :data:`STOP_POLL_INTERVAL` seconds
        while a job runs.
        """
        try:
            if as_str(self.connection.hget(self.key, "stop_job")) != job.id:
                return False
            self.connection.hdel(self.key, "stop_job")
        except UNAVAILABLE:
            return False
        self.log.warning("%s: stopping job %s on request", job.origin, job.id)
        return True

    # -- housekeeping --------------------------------------------------------

    def observe(self) -> None:
        """Flush the tally, log the minute's line, update a live display: each when due."""
        observe(self)

    def maintain_if_due(self) -> None:
        if time.monotonic() >= self._next_maintenance:
            self._redis(self.maintain)
            self._next_maintenance = time.monotonic() + MAINTENANCE_INTERVAL

    def schedule_if_due(self) -> None:
        """Tick the scheduler when it asked to be; also called while a forked job runs.

        An in-process (``simple``) worker cannot tick during a job: if the job
        outlasts the lock, another worker's scheduler takes over meanwhile.
        """
        if self.scheduler is None or time.monotonic() < self._next_schedule:
            return
        try:
            wait = self._redis(self.scheduler.tick)
        except UNAVAILABLE:
            raise
        except Exception:
            self.log.exception(
                "Worker %s: the scheduler failed; trying again in a second", self.name
            )
            wait = 1.0
        self._next_schedule = time.monotonic() + wait

    def maintain(self) -> None:
        """Drop expired registry entries, fail abandoned jobs, follow suspension.

        Scheduled jobs and delayed retries are released by the scheduler
        (:meth:`schedule_if_due`), in one worker only.
        """
        suspended = bool(self.connection.exists(self.keys.suspended))
        if suspended != self._suspended:
            self._suspended = suspended
            self.state = WorkerState.SUSPENDED if suspended else WorkerState.IDLE
            self.log.info(
                "Worker %s: %s",
                self.name,
                "suspended, taking no new jobs" if suspended else "resumed",
            )
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
            started = queue.started_job_registry
            abandoned = damage.guard(started.key, started.cleanup, default=0)
            if abandoned:
                for _ in range(abandoned):  # failed on behalf of their dead worker
                    self.tally.ended(queue.name, "failed")
                self.log.warning(
                    "%s: %d abandoned job(s) moved out of the started registry",
                    queue.name,
                    abandoned,
                )

    # -- resilience ------------------------------------------------------------

    def _redis(self, func: Any, *args: Any) -> Any:
        """Call ``func``; on a lost connection, wait and retry with back-off."""
        return call_with_reconnect(
            func, *args, name=f"Worker {self.name}", give_up=lambda: self._stop_requested
        )

    def _connection_lost(self) -> None:
        time.sleep(0.1)

    # -- shutdown ------------------------------------------------------------

    def _install_signal_handlers(self) -> dict[int, Any]:
        """Take over SIGINT/SIGTERM; returns the handlers to put back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {
            signum: signal.signal(signum, self._request_stop)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }

    def _request_stop(self, signum: int, frame: Any) -> None:
        if not self._stop_requested:
            self._stop_requested = True
            self._take_next.enabled = False
            self.log.warning(
                "Warm shut down requested: finishing the current job, then "
                "exiting (send the signal again to stop now)"
            )
            return
        self.log.warning("Cold shut down: stopping the running job")
        self._cold = True
        if self.current_job is None:
            raise SystemExit(1)
        if self.execution.name == "fork":
            # The parent's wait loop sees the child die and records the job.
            self.execution.stop_current_job(self)
            return
        exc = SystemExit("The worker was shut down (cold) while this job was running.")
        exc._job_stop = True  # type: ignore[attr-defined]
        raise exc

    def request_stop(self) -> None:
        """Ask the loop to exit after the current job (what the first SIGTERM does)."""
        self._stop_requested = True
        self._take_next.enabled = False

    def _setup_logging(self, level: str | int | None) -> Any:
        """Log at ``level`` unless logging is configured; returns what undoes it.

        A script gets a stderr handler; an application that configured the
        ``django_jobqueue`` loggers keeps its choice. The level is only set for
        the duration of ``work()``, so one call does not change the next.
        """
        if level is None:
            return lambda: None
        added = None
        if not logger.handlers and not logging.getLogger().handlers:
            added = logging.StreamHandler(sys.stderr)
            added.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            logger.addHandler(added)
        previous = logger.level
        if previous == logging.NOTSET:
            logger.setLevel(level)

        def undo() -> None:
            logger.setLevel(previous)
            if added is not None:
                logger.removeHandler(added)

        return undo


class SimpleWorker(Worker):
    """Runs each job in the worker process itself (no fork): faster, less isolated."""

    execution_name = "inline"


def stop_job(job: Job) -> str:
    """Abort a started job; it ends with status ``stopped`` and is not retried.

    The worker running the job is asked through its registration and aborts
    the job within about a second (a forking worker kills the work-horse; an
    in-process worker raises :class:`~.errors.StopRequested` in the job, which
    needs the worker to run in its main thread). When no live worker has the
    job, it is recorded as stopped here.

    Returns:
        ``"stopping"`` when the worker was asked, ``"stopped"`` when the job
        was recorded as stopped at once.

    Raises:
        NoSuchJobError: the job is gone.
        InvalidJobOperation: the job is not running.
    """
    job.refresh()
    status = job.get_status(refresh=False)
    if status == JobStatus.STARTED and not scripts.mark_stop(job.connection, job.key):
        status = job.get_status()  # it ended meanwhile
    if status != JobStatus.STARTED:
        raise InvalidJobOperation(f"Job {job.id} is {status} and cannot be stopped.")
    # The job carries the request too: should its worker die before acting on
    # it, the sweep that recovers the job ends it as stopped (see fail.lua).
    worker = job.worker_name or ""
    if worker and scripts.request_stop(job.connection, job.keys, worker, job.id):
        return "stopping"
    text = f"StopRequested: Job {job.id} was stopped on request; no live worker was running it."
    if record_failure(job, text, worker, status="stopped", retry=False) is None:
        raise InvalidJobOperation(f"Job {job.id} ended before it could be stopped.")
    return "stopped"


def log_outcome(
    log: logging.Logger, job: Job, status: str | None, seconds: float, default_result_ttl: int
) -> None:
    """The one line a job gets when it ends: what ran, how it ended, how long it took.

    A failure's line carries its traceback; how long a result is kept is a
    detail (DEBUG).
    """
    what = f"{job.origin}: {job.description} ({job.id})"
    if status == "finished":
        log.info("%s OK in %.3f s", what, seconds)
        if log.isEnabledFor(logging.DEBUG):
            ttl = job.result_ttl if job.result_ttl is not None else default_result_ttl
            kept = "discarded" if ttl == 0 else "never expires" if ttl < 0 else f"kept {ttl} s"
            log.debug("%s: result %s", what, kept)
        return
    if status is None:
        log.info("%s ended in %.3f s, recorded by another worker", what, seconds)
        return
    try:
        # Set by this process, or read back from what the work-horse recorded.
        trace = (job.exc_info or "").rstrip()
    except UNAVAILABLE:
        trace = ""
    if status in ("queued", "scheduled"):
        log.warning("%s failed in %.3f s, will be retried\n%s", what, seconds, trace)
    elif status == "failed":
        log.error("%s failed in %.3f s, moved to the failed jobs\n%s", what, seconds, trace)
    else:
        log.warning("%s %s after %.3f s\n%s", what, status, seconds, trace)


def wait_for_redis(runner: Any, burst: bool) -> bool:
    """Before a worker starts: return True once Redis answers, False if stopped first.

    A worker started before its Redis (containers started together) logs that
    once and waits, retrying with back-off up to 5 s, as during an outage; in
    burst mode an unreachable Redis raises at once.
    """
    delay = 0.1
    since = None
    while True:
        try:
            runner.connection.ping()
        except UNAVAILABLE as exc:
            if burst:
                raise
            if since is None:
                since = time.monotonic()
                runner.log.warning(
                    "Worker %s: Redis %s is unreachable (%s); waiting for it",
                    runner.name,
                    describe_redis(runner.connection),
                    exc,
                )
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:
                if runner._stop_requested:
                    return False
                time.sleep(0.05)
            delay = min(delay * 2, 5.0)
            continue
        if since is not None:
            runner.log.warning(
                "Worker %s: Redis is reachable after %.0f s; starting",
                runner.name,
                time.monotonic() - since,
            )
        return not runner._stop_requested


def observe(runner: Any) -> None:
    """What a worker or a pool does on every turn of its loop (see Worker.observe)."""
    runner.tally.flush_if_due()
    if runner.report is not None:
        runner.report.tick(
            runner.successful_job_count + runner.failed_job_count, runner.failed_job_count
        )
    if runner.on_tick is not None:
        runner.on_tick(runner)


__all__ = [
    "DEFAULT_WORKER_TTL",
    "SimpleWorker",
    "Worker",
    "WorkerState",
    "stop_job",
]
