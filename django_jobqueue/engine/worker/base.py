"""What every kind of worker does the same way, around one loop.

A worker (one process taking jobs) and a pool (a process supervising such
workers) differ in what one turn of their loop does; they register, beat,
shut down, wait for Redis and keep the scheduler's time the same way, here.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from datetime import UTC, datetime
from typing import Any

import redis

from .. import corrupt, scripts
from ..connection import UNAVAILABLE, resolve_connection
from ..job import Job
from ..keys import keyspace
from ..queue import Queue
from ..scheduler import Scheduler
from ..serializers import resolve_serializer
from ..tally import MinuteReport, Tally, describe_redis
from ..timeouts import BaseDeathPenalty, DeathPenalty
from ..utils import as_shown, import_attribute, now
from ..vocabulary import DEFAULT_RESULT_TTL, DEFAULT_WORKER_TTL, DequeueStrategy, WorkerState
from .lookup import WorkerLookup

logger = logging.getLogger("django_jobqueue.worker")

#: Seconds between housekeeping rounds (due retries, expired entries, abandoned jobs).
MAINTENANCE_INTERVAL = 1.0
#: Seconds between two looks at stop requests and commands while a job runs.
STOP_POLL_INTERVAL = 1.0


def version() -> str:
    from ... import __version__

    return __version__


class QueueNames(list):
    """The names of a worker's queues, in priority order: a list, and callable
    as RQ's ``worker.queue_names()`` method is (it returns a copy)."""

    def __call__(self) -> list[str]:
        return list(self)


def resolve_class(value: Any, what: str) -> Any:
    """A class given as itself or by its dotted path (``"myapp.jobs.MyJob"``)."""
    if isinstance(value, str):
        try:
            return import_attribute(value)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"{what}={value!r} cannot be imported: {exc}") from None
    return value


class BaseWorker(WorkerLookup):
    """Serves queues in priority order until stopped; subclasses say what a turn does.

    Args:
        queues: queues or queue names, highest priority first; a job from a
            later queue starts only while every earlier queue is empty.
        connection: the Redis client (queue objects keep their own).
        name: unique worker name; a random one by default.
        worker_ttl: seconds without a heartbeat after which this worker's job
            is taken for abandoned.
        scheduler: True (default) to run a :class:`~..scheduler.Scheduler` in
            this worker: it becomes the active one unless another worker's
            is. It releases scheduled jobs and delayed retries, so some worker
            on each connection must run one. False for none, or a Scheduler.
        cron: periodic entries (:class:`~..cron.CronEntry`) for the scheduler.
        job_class: the :class:`~..job.Job` subclass jobs are loaded as, or its
            dotted path (default: the class attribute when a subclass sets it,
            else each queue's own).
        queue_class: the :class:`~..queue.Queue` subclass queue names become, or
            its dotted path (default: the class attribute).
        exception_handlers: a callable or a list of them, each called as
            ``handler(job, exc_type, exc_value, traceback)`` in the process that
            ran a job that raised, after its failure was recorded. A handler
            that returns False (not None) stops the chain; one that raises is
            logged and stops it too. The worker never dies of one.
        disable_default_exception_handler: do not log the failure's traceback.
            Unlike RQ, the failure is still recorded in the failed registry:
            every job that ends is found in a registry and expires from it.
        log_job_description: False to name jobs by id only in the log (their
            description may hold arguments that must not be logged).
        maintenance_interval: seconds between housekeeping rounds (expired
            registry entries, abandoned jobs); 1 by default.
        job_monitoring_interval: seconds between two looks at a running job for
            stop requests and commands; 1 by default.
        default_worker_ttl: RQ's older name for ``worker_ttl``.
        prepare_for_work: False for a worker object that will not work (one
            read back from Redis): it does not name its Redis connection nor
            ask for its own address.
        death_penalty_class: what keeps each job's timeout where it runs
            (see :mod:`..timeouts`); the class attribute by default.

    A worker may be built with no queue (RQ allows it); ``work()`` then
    refuses to start. Building one names its Redis connection after the
    worker (``CLIENT SETNAME``) and reads the address Redis sees
    (``ip_address``, ``"unknown"`` when the server does not tell); a
    connection without ``socket_timeout`` gets ``connection_timeout``, so a
    command never hangs forever (one with its own timeout keeps it).
    """

    #: The classes queue names and jobs become unless the constructor says
    #: otherwise; a subclass may set them (RQ's names).
    job_class: type[Job] = Job
    queue_class: type[Queue] = Queue
    #: The set of live workers' names, under the default prefix (RQ's name).
    redis_workers_keys = keyspace(None).workers
    #: What enforces a job's and its callbacks' timeout where it runs (RQ's
    #: name; see :mod:`..timeouts`).
    death_penalty_class: type[BaseDeathPenalty] = DeathPenalty

    #: Whether the worker belongs in the set of workers (pool children do not).
    listed = True
    #: What ``execution`` its registration names.
    kind = ""
    #: The order queues are looked at for each job (``work(dequeue_strategy=)``).
    dequeue_strategy = DequeueStrategy.DEFAULT
    #: Whether this kind can take jobs in another order than its queues' own.
    reorders_queues = False

    def __init__(
        self,
        queues: Any,
        connection: Any = None,
        name: str | None = None,
        default_result_ttl: int = DEFAULT_RESULT_TTL,
        worker_ttl: int = DEFAULT_WORKER_TTL,
        serializer: Any = None,
        prefix: str | None = None,
        queue_class: type[Queue] | str | None = None,
        scheduler: Any = True,
        cron: Any = (),
        job_class: type[Job] | str | None = None,
        exception_handlers: Any = None,
        disable_default_exception_handler: bool = False,
        log_job_description: bool = True,
        maintenance_interval: float = MAINTENANCE_INTERVAL,
        job_monitoring_interval: float = STOP_POLL_INTERVAL,
        default_worker_ttl: int | None = None,
        prepare_for_work: bool = True,
        death_penalty_class: type[BaseDeathPenalty] | None = None,
    ):
        if death_penalty_class is not None:
            self.death_penalty_class = death_penalty_class
        if default_worker_ttl is not None:
            if worker_ttl != DEFAULT_WORKER_TTL and worker_ttl != default_worker_ttl:
                raise ValueError(
                    "Give worker_ttl or default_worker_ttl (its older name), not both."
                )
            worker_ttl = default_worker_ttl
        if isinstance(queues, (str, Queue)):
            queues = [queues]
        queues = list(queues)
        first = next((q for q in queues if isinstance(q, Queue)), None)
        if connection is None and first is not None:
            connection = first.connection
        self.connection = resolve_connection(connection)
        self.serializer = resolve_serializer(serializer)
        if prefix is None and first is not None:
            prefix = first.keys.prefix
        self.keys = keyspace(prefix)
        if queue_class is not None:
            self.queue_class = resolve_class(queue_class, "queue_class")
        # Jobs are loaded as the class given here or set on a subclass; else as
        # each queue's own (a queue made with its job_class keeps it).
        chosen = resolve_class(job_class, "job_class") if job_class is not None else None
        if chosen is None and type(self).job_class is not Job:
            chosen = type(self).job_class
        #: The class jobs are loaded as; None: each queue's own.
        self.load_jobs_as: type[Job] | None = chosen
        if chosen is not None:
            self.job_class = chosen
        extra: dict[str, Any] = {"job_class": chosen} if chosen else {}
        self.queues: list[Queue] = [
            q
            if isinstance(q, Queue)
            else self.queue_class(
                q,
                self.connection,
                serializer=self.serializer,
                prefix=self.keys.prefix,
                **extra,
            )
            for q in queues
        ]
        self.queue_names = QueueNames(q.name for q in self.queues)
        if callable(exception_handlers):
            exception_handlers = [exception_handlers]
        #: Called in turn when a job raises (see the class docstring).
        self.exception_handlers: list[Any] = list(exception_handlers or ())
        self.disable_default_exception_handler = disable_default_exception_handler
        self.log_job_description = log_job_description
        self.maintenance_interval = maintenance_interval
        self.stop_poll_interval = job_monitoring_interval
        self.name = name or uuid.uuid4().hex
        self.key = self.keys.worker(self.name)
        self.default_result_ttl = default_result_ttl
        self.worker_ttl = worker_ttl
        self.heartbeat_interval = max(0.5, min(30.0, worker_ttl / 6))
        self.log = logger
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        #: The address Redis sees this worker's connection come from.
        self.ip_address = "unknown"
        if prepare_for_work:
            self._configure_connection()
        self.state = WorkerState.STARTED
        self.successful_job_count = 0
        self.failed_job_count = 0
        #: Seconds spent running jobs.
        self.total_working_time = 0.0
        #: Published in the registration (RQ's names); a worker read back shows the worker's.
        self.version = version()
        self.python_version = sys.version
        #: The job running now (workers that run jobs themselves set it).
        self.current_job: Job | None = None
        #: Set by the first stop signal (or :meth:`request_stop`): no new work.
        self.stopping = False
        #: Set by the second: running jobs are stopped too.
        self.cold = False
        self._last_heartbeat = 0.0
        self._birth = now()
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
        #: Counts written to Redis about once a second (see :mod:`..tally`).
        self.tally = Tally(self.connection, self.keys)
        #: The once-a-minute log line; None for none (pool children: their pool logs it).
        self.report: MinuteReport | None = MinuteReport(self.name)
        #: Called with the worker on every turn of the loop (``rqworker``'s live line).
        self.on_tick: Any = None

    # -- what RQ's worker offers besides ---------------------------------------

    def _configure_connection(self) -> None:
        """Name the connection after the worker, learn its address, bound its reads."""
        pool = getattr(self.connection, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("socket_timeout") is None:
            kwargs["socket_timeout"] = self.connection_timeout
        try:
            self.connection.client_setname(self.name)
        except redis.ResponseError:
            warnings.warn(
                "CLIENT SETNAME command not supported, setting ip_address to unknown",
                Warning,
                stacklevel=3,
            )
            return
        except Exception:  # Redis not up yet, a cluster client...: the address stays unknown
            return
        try:
            self.ip_address = str(self.connection.client_info()["addr"])
        except redis.ResponseError:  # CLIENT INFO came with Redis 6.2
            self.ip_address = self._address_from_client_list()
        except Exception:
            pass

    def _address_from_client_list(self) -> str:
        try:
            found = [c["addr"] for c in self.connection.client_list() if c.get("name") == self.name]
        except redis.ResponseError:
            found = []
        except Exception:
            return "unknown"
        if not found:
            warnings.warn(
                "CLIENT LIST command not supported, setting ip_address to unknown",
                Warning,
                stacklevel=4,
            )
            return "unknown"
        return str(found[0])

    def queue_keys(self) -> list[str]:
        """The Redis keys of the worker's queues, in priority order."""
        return [q.key for q in self.queues]

    @property
    def dequeue_timeout(self) -> int:
        """RQ's longest wait for a job in one call: ``worker_ttl`` less 15 s (1 at least)."""
        return max(1, int(self.worker_ttl) - 15)

    @property
    def connection_timeout(self) -> int:
        """The socket timeout given to a connection that has none."""
        return self.dequeue_timeout + 10

    @property
    def should_run_maintenance_tasks(self) -> bool:
        """Whether the registries are due for cleaning (never cleaned, or
        ``maintenance_interval`` seconds ago or more)."""
        last = getattr(self, "last_cleaned_at", None)
        if last is None:
            return True
        if isinstance(last, datetime):
            last = last.timestamp()
        return now() - float(last) > self.maintenance_interval

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """Seconds the registration of a worker running ``job`` must live
        between two heartbeats: until the next look at the job, at most until
        its timeout, plus a minute's margin."""
        interval = self.stop_poll_interval
        if job.timeout is not None and job.timeout > 0:
            left = max(float(job.timeout) - working_time, 0.0)
            return int(min(left, interval)) + 60
        return int(interval) + 60

    @property
    def job_monitoring_interval(self) -> float:
        """RQ's name for ``stop_poll_interval``."""
        return self.stop_poll_interval

    @job_monitoring_interval.setter
    def job_monitoring_interval(self, value: float) -> None:
        self.stop_poll_interval = value

    # -- the loop ------------------------------------------------------------

    def work(
        self,
        burst: bool = False,
        max_jobs: int | None = None,
        max_idle_time: float | None = None,
        logging_level: str | int | None = "INFO",
        with_scheduler: bool | None = None,
        dequeue_strategy: str | None = None,
    ) -> bool:
        """Work until stopped; returns True when at least one job ran.

        Args:
            burst: stop as soon as every queue is empty.
            max_jobs: stop after this many jobs.
            max_idle_time: stop after this many seconds without a job.
            logging_level: log at this level unless logging is configured
                (None: leave logging alone).
            with_scheduler: True to run a scheduler in this worker, False to
                run none, for this call; None (default) keeps the choice
                made with ``scheduler=`` when the worker was built.
            dequeue_strategy: a :class:`DequeueStrategy` (RQ's keyword): the
                order the queues are looked at for each job; None keeps the
                worker's own (strict priority unless its class says otherwise).
        """
        if dequeue_strategy is not None:
            self.use_dequeue_strategy(dequeue_strategy)
        constructed = self.scheduler
        if with_scheduler is False:
            self.scheduler = None
        elif with_scheduler and self.scheduler is None:
            self.scheduler = Scheduler(
                self.connection, self.keys.prefix, name=self.name, serializer=self.serializer
            )
        try:
            return self._work(burst, max_jobs, max_idle_time, logging_level)
        finally:
            self.scheduler = constructed

    def use_dequeue_strategy(self, strategy: str) -> None:
        """Take jobs in this order from now on (see :class:`DequeueStrategy`)."""
        try:
            chosen = DequeueStrategy(strategy)
        except ValueError:
            choices = ", ".join(repr(s.value) for s in DequeueStrategy)
            raise ValueError(f"dequeue_strategy={strategy!r}: use one of {choices}.") from None
        if chosen != DequeueStrategy.DEFAULT and not self.reorders_queues:
            raise ValueError(
                f"{type(self).__name__} takes jobs in the order of its queues; "
                f"dequeue_strategy={strategy!r} needs a Worker or SimpleWorker."
            )
        self.dequeue_strategy = chosen

    def _work(
        self,
        burst: bool,
        max_jobs: int | None,
        max_idle_time: float | None,
        logging_level: str | int | None,
    ) -> bool:
        if not self.queues:
            raise ValueError("A worker needs at least one queue to work.")
        undo_logging = self._setup_logging(logging_level)
        previous_handlers = self._install_signal_handlers()
        try:
            self.check()
            if not self.wait_for_redis(burst):  # stopped before Redis came up
                return False
            self.register_birth()
            self.begin(burst, max_jobs, max_idle_time)
            try:
                while self.turn():
                    pass
            finally:
                self.finish()
                if self.scheduler is not None:
                    self.scheduler.release()
                self.register_death()
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            undo_logging()
        return self.did_work()

    def check(self) -> None:
        """Raise when this worker cannot work as configured (before it registers)."""

    def begin(self, burst: bool, max_jobs: int | None, max_idle_time: float | None) -> None:
        """Get ready for the first turn (registered, not yet working)."""

    def turn(self) -> bool:
        """One turn of the loop; False to leave it."""
        raise NotImplementedError

    def finish(self) -> None:
        """Put away what :meth:`begin` and the turns left (the loop is over)."""

    def did_work(self) -> bool:
        return self.successful_job_count + self.failed_job_count > 0

    # -- on every turn -------------------------------------------------------

    def observe(self) -> None:
        """Flush the tally, log the minute's line, update a live display: each when due."""
        self.tally.flush_if_due()
        if self.report is not None:
            self.report.tick(
                self.successful_job_count + self.failed_job_count, self.failed_job_count
            )
        if self.on_tick is not None:
            self.on_tick(self)

    def heartbeat_if_due(self) -> None:
        self.tally.flush_if_due()  # also called while a forked job runs
        if time.monotonic() - self._last_heartbeat >= self.heartbeat_interval:
            try:
                self._redis(self.heartbeat)
            finally:  # a failed beat is tried again an interval later, not at once
                self._last_heartbeat = time.monotonic()

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
        self._next_schedule = time.monotonic() + (1.0 if wait is None else wait)

    def _redis(self, func: Any, *args: Any) -> Any:
        """Call ``func`` on Redis the way this kind of worker copes with outages."""
        raise NotImplementedError

    # -- registration and heartbeat ------------------------------------------

    def describe(self) -> str:
        """How it runs jobs, for the start-up line."""
        return self.kind

    def register_birth(self) -> None:
        self.log.info(
            "Worker %s started with PID %d, version %s%s",
            self.name,
            self.pid,
            version(),
            self._birth_note(),
        )
        self.log.info("*** Listening on %s...", ", ".join(self.queue_names))
        self.log.info(
            "Worker %s: Redis %s; queues in priority order: %s; %s; scheduler %s",
            self.name,
            describe_redis(self.connection),
            ", ".join(self.queue_names),
            self.describe(),
            "on" if self.scheduler is not None else "off",
        )
        self._birth = now()
        self.heartbeat(fresh=True)

    def _birth_note(self) -> str:
        return ""

    def register_death(self) -> None:
        self.log.info("Worker %s: stopped", self.name)
        self.death_date = datetime.now(UTC)
        try:
            pipe = self.connection.pipeline(transaction=False)
            pipe.srem(self.keys.workers, self.name)
            pipe.delete(self.key)
            pipe.execute()
        except UNAVAILABLE:
            self.log.warning("Could not unregister worker %s: Redis unreachable", self.name)

    def registration(self) -> dict[str, Any]:
        """The fields of this worker's registration that do not change while it runs."""
        return {
            "name": self.name,
            "hostname": self.hostname,
            "pid": self.pid,
            "queues": ",".join(self.queue_names),
            "birth": repr(self._birth),
            "execution": self.kind,
            "version": self.version,
            "python_version": self.python_version,
            "ip_address": self.ip_address,
        }

    def beat_fields(self) -> dict[str, Any]:
        """The fields of its registration that each heartbeat brings up to date."""
        return {
            "state": self.state,
            "successful": self.successful_job_count,
            "failed": self.failed_job_count,
            "total_working_time": repr(self.total_working_time),
        }

    def heartbeat(self, fresh: bool = False) -> None:
        """Tell Redis this worker (and what it runs) is alive.

        Each heartbeat writes the whole registration, in the same round trip:
        a Redis that came back empty (restart without persistence, failover
        to a lagging replica, FLUSHDB) shows the worker again after its next
        heartbeat. ``fresh`` first drops what an earlier worker of this name
        left (at birth).
        """
        timestamp = now()
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
                **self.beat_fields(),
                "last_heartbeat": repr(timestamp),
            },
        )
        pipe.expire(self.key, int(self.worker_ttl) + 1)
        if self.listed:
            pipe.sadd(self.keys.workers, self.name)
            keys.append(self.keys.workers)
        keys += self.beat_along(pipe, timestamp)
        corrupt.execute(pipe, keys)
        self._last_heartbeat = time.monotonic()

    def write_fields(self, fields: dict[str, Any]) -> None:
        """Update these fields of the registration now, if the worker is registered
        (a lost connection leaves them to the next heartbeat)."""
        try:
            scripts.save(self.connection, self.key, fields)
        except UNAVAILABLE:
            pass

    def publish_state(self, state: str) -> None:
        """Set the worker's state, written at once when it changes."""
        if state != self.state:
            self.state = state
            self.write_fields({"state": state})

    def beat_along(self, pipe: Any, timestamp: float) -> list[str]:
        """Add what else each heartbeat keeps alive to ``pipe``; returns their keys."""
        return []

    # -- start-up and shutdown -------------------------------------------------

    def wait_for_redis(self, burst: bool) -> bool:
        """Before starting: return True once Redis answers, False if stopped first.

        A worker started before its Redis (containers started together) logs
        that once and waits, retrying with back-off up to 5 s, as during an
        outage; in burst mode an unreachable Redis raises at once.
        """
        delay = 0.1
        since = None
        while True:
            try:
                self.connection.ping()
            except UNAVAILABLE as exc:
                if burst:
                    raise
                if since is None:
                    since = time.monotonic()
                    self.log.warning(
                        "Worker %s: Redis %s is unreachable (%s); waiting for it",
                        self.name,
                        describe_redis(self.connection),
                        exc,
                    )
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline:
                    if self.stopping:
                        return False
                    time.sleep(0.05)
                delay = min(delay * 2, 5.0)
                continue
            if since is not None:
                self.log.warning(
                    "Worker %s: Redis is reachable after %.0f s; starting",
                    self.name,
                    time.monotonic() - since,
                )
            return not self.stopping

    def request_stop(self) -> None:
        """Ask the loop to end after the work in hand (what the first SIGTERM does)."""
        if not self.stopping:
            self.shutdown_requested_at = time.monotonic()
        self.stopping = True

    # -- commands (see control.py) ---------------------------------------------

    def obey_commands(self) -> None:
        """Carry out (and take away) a command left on this worker's registration."""
        # as_shown: bytes another program left there are an unknown command.
        command = as_shown(self.connection.hget(self.key, "command"))
        if command:
            self.connection.hdel(self.key, "command")
            self.obey(command)

    def obey(self, command: str) -> None:
        if command == "shutdown":
            if not self.stopping:  # its announcement may have been obeyed already
                self.log.info("Worker %s: shutdown command received", self.name)
            self.request_stop()
        elif command == "kill-horse":
            self.kill_horse()
        else:
            self.log.warning("Worker %s: unknown command %r ignored", self.name, command)

    def kill_horse(self) -> None:
        """Kill the process running the current job (workers that fork one override this)."""
        self.log.info("Worker %s: no work-horse to kill, command ignored", self.name)

    def stop_now(self) -> None:
        """Stop the work in hand too (what a second SIGTERM does)."""
        raise NotImplementedError

    #: Logged on the first stop signal, and on the second.
    warm_message = (
        "Warm shut down requested: finishing the current job, then "
        "exiting (send the signal again to stop now)"
    )
    cold_message = "Cold shut down: stopping the running job"

    def _install_signal_handlers(self) -> dict[int, Any]:
        """Take over SIGINT/SIGTERM; returns the handlers to put back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {
            signum: signal.signal(signum, self._on_stop_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }

    #: Seconds within which a second stop signal counts as the same one: a
    #: worker started by a pool gets the pool's and the terminal's Ctrl-C.
    duplicate_signal_window = 1.0

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        if not self.stopping:
            self.log.warning(self.warm_message)
            self.request_stop()
            self.handle_warm_shutdown_request()
            return
        self.request_force_stop(signum, frame)

    #: When the first stop signal came (``time.monotonic()``), None before.
    shutdown_requested_at: float | None = None

    def handle_warm_shutdown_request(self) -> None:
        """Called on the first stop signal, once the loop was asked to end (a hook)."""

    def request_force_stop(self, signum: int | None = None, frame: Any = None) -> None:
        """Stop now, the running job too (a cold shutdown: what a second signal does).

        A call within :attr:`duplicate_signal_window` seconds of the first
        signal is taken for a copy of it and ignored.
        """
        first = self.shutdown_requested_at
        if first is not None and time.monotonic() - first < self.duplicate_signal_window:
            self.log.debug("Worker %s: a second stop signal this soon is ignored", self.name)
            return
        self.log.warning(self.cold_message)
        self.cold = True
        self.stop_now()

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
