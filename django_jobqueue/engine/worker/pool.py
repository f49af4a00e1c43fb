"""A pool of long-lived child processes, each running many jobs in-process.

Forking per job isolates jobs but costs a fork each; running jobs in the worker
process is fast but one crash takes the worker with it. The pool sits between:
``processes`` children each run the in-process loop (one round trip per job),
and the parent only supervises. A child that dies is replaced at once and its
job is recorded as failed; a child is also replaced after ``max_jobs_per_child``
jobs or once its memory passes ``max_memory_per_child``, which bounds leaks in
job code. To the admin and ``rqstats`` the pool is one worker whose children
are listed in its ``children`` field.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import redis

from .. import hooks
from ..connection import UNAVAILABLE
from ..job import Job
from ..outcome import record_failure
from ..perform import death_reason
from ..utils import kill_quietly, now, parent_death_signal, pidfd
from ..vocabulary import KILL_GRACE, WorkerState
from .base import BaseWorker, logger, resolve_class
from .single import Worker

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
#: Seconds at most between two children started in place of ones that died at once.
MAX_RESPAWN_DELAY = 30.0
#: Children in a row dying before running a job after which a burst pool gives up.
BURST_CRASHES = 5


def rss_bytes() -> int:
    """Resident memory of this process (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class PoolChild(Worker):
    """The in-process worker a pool child runs; it reports each job to the parent."""

    execution_name = "inline"
    #: Children are listed by their pool, not in the set of workers.
    listed = False

    def __init__(
        self, *args: Any, report: int, max_memory: int | None = None, pool: str = "", **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self._report = report
        self._max_memory = max_memory
        self.pool = pool
        self.recycle = False
        self._stop_requested_by_signal = False
        self.report = None  # the pool logs the whole pool's minute line

    def _on_stop_signal(self, signum: int, frame: Any) -> None:
        self._stop_requested_by_signal = True
        super()._on_stop_signal(signum, frame)

    def execute(self, job: Job) -> str | None:
        timeout = job.timeout if job.timeout and job.timeout > 0 else 0
        os.write(self._report, f"S {job.origin} {job.id} {timeout}\n".encode())
        status = None
        try:
            status = super().execute(job)
            return status
        finally:
            os.write(self._report, f"E {status == 'finished'}\n".encode())
            if self._max_memory and rss_bytes() > self._max_memory:
                self.log.info(
                    "Worker %s: memory above %d bytes, leaving for a fresh child",
                    self.name,
                    self._max_memory,
                )
                self.recycle = True
                self.request_stop()

    def _install_signal_handlers(self) -> dict[int, Any]:
        # Ctrl-C reaches the whole process group: only the parent acts on it,
        # and passes SIGTERM on (once: warm, twice: the parent kills us).
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, self._on_stop_signal)
        }
        # Blocked since the fork (see WorkerPool._spawn): a stop sent meanwhile
        # arrives now, at this handler.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return previous

    def registration(self) -> dict[str, Any]:
        return {
            **super().registration(),
            "pid": os.getpid(),
            "pool": self.pool,
            "execution": "pool-child",
        }

    def register_birth(self) -> None:
        self._birth = now()
        self.heartbeat()

    def register_death(self) -> None:
        try:
            self.connection.delete(self.key)
        except Exception:
            pass


@dataclass
class Child:
    pid: int
    name: str
    report: int
    pidfd: int | None
    started: float = field(default_factory=time.monotonic)
    #: (queue, job id, kill deadline or None) of the job it is running.
    job: tuple[str, str, float | None] | None = None
    buffer: bytes = b""
    #: Jobs it started.
    ran: int = 0


class WorkerPool(BaseWorker):
    """Runs ``processes`` children that each take and run jobs in strict priority order.

    Args:
        processes: how many children (default: the number of CPUs);
            ``num_workers`` is RQ's name for it.
        max_jobs_per_child: replace a child after this many jobs.
        max_memory_per_child: replace a child once its RSS passes this many bytes.
        scheduler, cron: as for :class:`~.base.BaseWorker`; the scheduler runs
            in this supervising process, once for the whole pool, never in the
            children.

        worker_class: taken for RQ's sake; children always run their jobs
            in-process (what RQ's ``SimpleWorker`` does), whatever it names.

    Other arguments are those of :class:`~.base.BaseWorker`;
    ``exception_handlers=None`` given stays None on the pool, as in RQ.

    ``start()`` runs the pool until stopped, as ``work()`` does. RQ's finer
    controls are here too: ``start_workers()`` starts the children and
    returns, ``check_workers()`` / ``reap_workers()`` collect the ones that
    exited, ``stop_workers()`` stops the rest, ``worker_dict`` names them.
    """

    class Status(Enum):
        """Where the pool is in its life (RQ's ``WorkerPool.Status``)."""

        IDLE = 1
        STARTED = 2
        STOPPED = 3

    kind = "pool"
    warm_message = (
        "Warm shut down requested: children finish their current job "
        "(send the signal again to stop now)"
    )
    cold_message = "Cold shut down: stopping the running jobs"

    def __init__(
        self,
        queues: Any,
        *args: Any,
        processes: int | None = None,
        max_jobs_per_child: int | None = None,
        max_memory_per_child: int | None = None,
        num_workers: int | None = None,
        worker_class: Any = None,
        **kwargs: Any,
    ):
        if processes and num_workers and processes != num_workers:
            raise ValueError("Give processes or num_workers (RQ's name for it), not both.")
        super().__init__(queues, *args, **kwargs)
        if "exception_handlers" in kwargs and kwargs["exception_handlers"] is None:
            self.exception_handlers = None  # type: ignore[assignment]  # as given, as in RQ
        self.worker_class = worker_class
        self.status = self.Status.IDLE
        #: What each child's work() is given (burst, max_jobs, max_idle_time).
        self._child_options: dict[str, Any] = {}
        self.processes = processes or num_workers or os.cpu_count() or 1
        self.max_jobs_per_child = max_jobs_per_child
        self.max_memory_per_child = max_memory_per_child
        self.children: dict[int, Child] = {}
        self._spawned = 0
        self._die_with_parent = parent_death_signal(signal.SIGTERM)
        self._burst = False
        self._reaped = False
        #: Children in a row that died before running a job, and when to start
        #: the ones that replace them (see _replace).
        self._crashes = 0
        self._respawns: list[float] = []
        self._redis_down = False
        self._next_commands = 0.0

    def __repr__(self) -> str:
        return f"WorkerPool({self.name!r}, processes={self.processes}, queues={self.queue_names})"

    def start(self, burst: bool = False, logging_level: str | int | None = "INFO") -> bool:
        """RQ's name for running the pool: :meth:`work` (blocks until it stops)."""
        return self.work(burst=burst, logging_level=logging_level)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        self.status = self.Status.STARTED
        try:
            return super().work(*args, **kwargs)
        finally:
            self.status = self.Status.STOPPED

    # -- RQ's finer controls ----------------------------------------------------

    @property
    def worker_dict(self) -> dict[str, Child]:
        """The children running now, by name."""
        return {c.name: c for c in self.children.values()}

    def start_workers(
        self, burst: bool = True, _sleep: float = 0, logging_level: Any = None
    ) -> None:
        """Start the children and return (no supervising loop: see :meth:`check_workers`)."""
        self.status = self.Status.STARTED
        self._burst = burst
        self._child_options = {"burst": burst, "max_idle_time": None, "max_jobs": None}
        while len(self.children) < self.processes:
            self._spawn()

    def reap_workers(self) -> None:
        """Collect the children that exited (the job one was running is failed)."""
        self._reaped |= self._reap(replace=False)

    def check_workers(self, respawn: bool = True) -> None:
        """Collect the children that exited; with ``respawn``, start new ones in their place."""
        self.reap_workers()
        if respawn and not self.stopping:
            while len(self.children) < self.processes:
                self._spawn()

    def all_workers_have_stopped(self) -> bool:
        """Whether every child has exited (and was collected)."""
        self.reap_workers()
        return not self.children

    def stop_workers(self, timeout: float = 10.0) -> None:
        """Ask every child to stop after its job, wait up to ``timeout`` s, then kill the rest."""
        for child in list(self.children.values()):
            kill_quietly(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.children and time.monotonic() < deadline:
            self._wait_for_children()
            self.reap_workers()
        for child in list(self.children.values()):
            kill_quietly(child.pid)
        while self.children:
            self._wait_for_children()
            self.reap_workers()
        self.status = self.Status.STOPPED

    @property
    def num_workers(self) -> int:
        """RQ's name for :attr:`processes`."""
        return self.processes

    # -- the supervisor loop --------------------------------------------------

    def begin(self, burst: bool, max_jobs: int | None, max_idle_time: float | None) -> None:
        """Start the children; ``max_jobs`` and ``max_idle_time`` apply to each child."""
        self._burst = burst
        self._child_options = {
            "burst": burst,
            "max_idle_time": max_idle_time,
            "max_jobs": max_jobs,
        }
        self.schedule_if_due()  # jobs already due are queued before the children start
        for _ in range(self.processes):
            if not self.stopping:  # a signal may come during start-up
                self._spawn()

    def turn(self) -> bool:
        """Watch the children for one moment; False once none is left to wait for."""
        if not (self.children or self._respawns):
            return False
        self._wait_for_children()
        self._reaped |= self._reap()
        self._respawn_if_due()
        self._kill_overdue()
        self._obey_commands_if_due()
        self.heartbeat_if_due()
        self.schedule_if_due()
        self.observe()
        return True

    def finish(self) -> None:
        for child in list(self.children.values()):
            os.kill(child.pid, signal.SIGKILL)
        while self.children:
            self._wait_for_children()
            self._reap()
        self.observe()  # the last children's reports arrived after the last turn
        self.tally.flush()

    def did_work(self) -> bool:
        return self._reaped or super().did_work()

    def _spawn(self) -> None:
        self._spawned += 1
        name = f"{self.name}.{self._spawned}"
        read_end, write_end = os.pipe()
        # Until the child has its own handler, a stop signal would run the
        # parent's handler in it (copied by fork): keep them blocked till then.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # A pool killed outright (SIGKILL) takes its children along: they
                # get SIGTERM, finish their job and leave.
                if self._die_with_parent is not None:
                    self._die_with_parent()
                if os.getppid() != parent:  # it died before that took effect
                    os._exit(1)
                os.close(read_end)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                child = PoolChild(
                    self.queues,
                    connection=self.connection,
                    name=name,
                    default_result_ttl=self.default_result_ttl,
                    worker_ttl=self.worker_ttl,
                    report=write_end,
                    max_memory=self.max_memory_per_child,
                    pool=self.name,
                    scheduler=False,
                    job_class=self.load_jobs_as,
                    exception_handlers=self.exception_handlers,
                    disable_default_exception_handler=self.disable_default_exception_handler,
                    log_job_description=self.log_job_description,
                    maintenance_interval=self.maintenance_interval,
                    job_monitoring_interval=self.stop_poll_interval,
                )
                opts = self._child_options
                limit = min(n for n in (opts["max_jobs"], self.max_jobs_per_child, 2**62) if n)
                child.work(
                    burst=opts["burst"],
                    max_jobs=limit,
                    max_idle_time=opts["max_idle_time"],
                    logging_level=None,
                )
                done = child.successful_job_count + child.failed_job_count
                # Exit code 3 asks for a fresh child: this one has done its share.
                recycled = child.recycle or (
                    self.max_jobs_per_child is not None and done >= self.max_jobs_per_child
                )
                code = 3 if recycled and not child._stop_requested_by_signal else 0
            except BaseException:
                logger.exception("Pool child %s crashed", name)
            finally:
                if hooks.exit_watchers:
                    hooks.process_exiting(name)
                os._exit(code)
        os.close(write_end)
        os.set_blocking(read_end, False)
        self.children[pid] = Child(pid, name, read_end, pidfd(pid))
        # Only now, with the child listed, may a stop signal reach our handler.
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self._last_heartbeat = 0.0  # publish the new list of children at once

    def _wait_for_children(self) -> None:
        fds = [c.report for c in self.children.values()]
        fds += [c.pidfd for c in self.children.values() if c.pidfd is not None]
        timeout = min(self.heartbeat_interval, 1.0)
        if self._respawns:
            timeout = min(timeout, max(min(self._respawns) - time.monotonic(), 0.0))
        if self.scheduler is not None:
            timeout = min(timeout, max(self._next_schedule - time.monotonic(), 0.0))
        try:
            select.select(fds, [], [], timeout)
        except InterruptedError:
            pass
        for child in self.children.values():
            self._read_reports(child)

    def _read_reports(self, child: Child) -> None:
        try:
            chunk = os.read(child.report, 65536)
        except BlockingIOError:
            return
        child.buffer += chunk
        *lines, child.buffer = child.buffer.split(b"\n")
        for line in lines:
            parts = line.decode().split()
            if parts[:1] == ["S"]:
                child.ran += 1
                timeout = float(parts[3])
                deadline = time.monotonic() + timeout + KILL_GRACE if timeout > 0 else None
                child.job = (parts[1], parts[2], deadline)
            elif parts[:1] == ["E"]:
                child.job = None
                if parts[1:] == ["True"]:
                    self.successful_job_count += 1
                else:
                    self.failed_job_count += 1

    def _reap(self, replace: bool = True) -> bool:
        """Collect children that exited; fail the job a dead child was running."""
        reaped = False
        for pid, child in list(self.children.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                continue
            reaped = True
            self._read_reports(child)
            del self.children[pid]
            os.close(child.report)
            if child.pidfd is not None:
                os.close(child.pidfd)
            code = os.waitstatus_to_exitcode(status)
            if child.job is not None:
                self._fail_orphan(child, code)
            elif code not in (0, 3) and not self.stopping:
                self.log.error("Pool child %s exited with code %s", child.name, code)
            # A child that died or was recycled is replaced; one that ran out of
            # work (burst), hit the pool's own limits or was told to stop is not.
            if code != 0 and not self.stopping and replace:
                self._replace(child, code)
        return reaped

    def _replace(self, child: Child, code: int) -> None:
        """Spawn a child in place of one that exited with ``code``.

        Children that die before running a job (something in the environment
        or in Redis kills each one the same way) are replaced after a growing
        pause, 0.1 s doubling up to :data:`MAX_RESPAWN_DELAY`, not in a tight
        loop; in burst mode the pool gives up after :data:`BURST_CRASHES` of
        them in a row, so that it ends.
        """
        if code == 3 or child.ran:
            self._crashes = 0
            self._spawn()
            return
        self._crashes += 1
        if self._burst and self._crashes >= BURST_CRASHES:
            if not self.children and not self._respawns:
                self.log.error(
                    "Worker %s: %d children in a row died before running a job; giving up "
                    "(burst mode)",
                    self.name,
                    self._crashes,
                )
            return
        delay = min(0.1 * 2 ** (self._crashes - 1), MAX_RESPAWN_DELAY)
        if self._crashes in (2, 10) or delay == MAX_RESPAWN_DELAY:
            self.log.error(
                "Worker %s: %d children in a row died before running a job; "
                "the next one starts in %.1f s",
                self.name,
                self._crashes,
                delay,
            )
        self._respawns.append(time.monotonic() + delay)

    def _respawn_if_due(self) -> None:
        if self.stopping:
            self._respawns.clear()
            return
        due = [t for t in self._respawns if t <= time.monotonic()]
        for t in due:
            self._respawns.remove(t)
            self._spawn()

    def _fail_orphan(self, child: Child, code: int) -> None:
        queue_name, job_id, deadline = child.job  # type: ignore[misc]
        queue = next(q for q in self.queues if q.name == queue_name)
        try:
            job = queue.fetch_job(job_id)
        except Exception:  # a hash that cannot be loaded: its failure is still recorded
            job = queue.job_handle(job_id)
        if job is None:
            return
        reason = death_reason(
            job,
            code,
            process=f"pool child {child.name}",
            cold=self.cold,
            timed_out=deadline is not None and time.monotonic() >= deadline,
        )
        self.log.error(reason)
        status = record_failure(job, reason, child.name)
        if status:
            self.failed_job_count += 1
        self.tally.ended(queue_name, status)

    def _kill_overdue(self) -> None:
        for child in self.children.values():
            if child.job and child.job[2] is not None and time.monotonic() >= child.job[2]:
                self.log.warning(
                    "Pool child %s: job %s is past its timeout; killing the child",
                    child.name,
                    child.job[1],
                )
                kill_quietly(child.pid)

    # -- registration -----------------------------------------------------------

    def _obey_commands_if_due(self) -> None:
        if time.monotonic() >= self._next_commands:
            self._next_commands = time.monotonic() + 1.0
            self._redis(self.obey_commands)  # an outage: logged, tried again in a second

    def _birth_note(self) -> str:
        return f" (pool of {self.processes})"

    def describe(self) -> str:
        return f"pool of {self.processes} in-process children"

    def registration(self) -> dict[str, Any]:
        return {**super().registration(), "processes": self.processes}

    def beat_fields(self) -> dict[str, Any]:
        busy = any(c.job for c in self.children.values())
        return {
            **super().beat_fields(),
            "state": WorkerState.BUSY if busy else WorkerState.IDLE,
            "children": ",".join(c.name for c in self.children.values()),
        }

    def _redis(self, func: Any, *args: Any) -> Any:
        """Call ``func`` once: the supervisor must go on watching its children.

        An outage is logged once when it starts and once when it ends (each
        child logs its own too); meanwhile this returns None.
        """
        try:
            result = func(*args)
        except UNAVAILABLE as exc:
            if not self._redis_down:
                self._redis_down = True
                self.log.warning(
                    "Worker %s: lost connection to Redis (%s); retrying", self.name, exc
                )
            return None
        except Exception:
            self.log.warning("Worker %s: %s failed", self.name, func.__name__, exc_info=True)
            return None
        if self._redis_down:
            self._redis_down = False
            self.log.warning("Worker %s: connection to Redis is back", self.name)
        return result

    # -- shutdown ---------------------------------------------------------------

    def request_stop(self) -> None:
        """Children finish their current job, then exit (what the first SIGTERM does)."""
        super().request_stop()
        for child in self.children.values():
            kill_quietly(child.pid, signal.SIGTERM)

    def stop_now(self) -> None:
        for child in self.children.values():
            kill_quietly(child.pid)


def run_worker(
    worker_name: str,
    queue_names: Iterable[str],
    connection_class: Any,
    connection_pool_class: Any,
    connection_pool_kwargs: dict[str, Any],
    worker_class: Any = Worker,
    serializer: Any = None,
    job_class: Any = None,
    queue_class: Any = None,
    exception_handlers: Any = None,
    burst: bool = True,
    logging_level: str | int | None = "INFO",
    _sleep: float = 0,
) -> bool:
    """Build a worker on a new connection described by its parts, and run it.

    RQ's pool runs this in each child process; it is here for code that
    starts workers the same way. Returns what ``work()`` returns.
    """
    pool = redis.ConnectionPool(connection_class=connection_pool_class, **connection_pool_kwargs)
    connection = connection_class(connection_pool=pool)
    make_queue = (
        resolve_class(queue_class, "queue_class") if queue_class else worker_class.queue_class
    )
    queues = [
        make_queue(name, connection=connection, serializer=serializer) for name in queue_names
    ]
    worker = worker_class(
        queues,
        name=worker_name,
        connection=connection,
        serializer=serializer,
        job_class=job_class,
        queue_class=queue_class,
        exception_handlers=exception_handlers,
    )
    worker.log.info("Starting worker %s with PID %s", worker_name, os.getpid())
    time.sleep(_sleep)
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level=logging_level))


__all__ = ["WorkerPool", "rss_bytes", "run_worker"]
