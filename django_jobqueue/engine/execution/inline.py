"""Jobs run in the worker process itself: no fork, lowest overhead."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from ..errors import StopRequested
from ..job import Job, get_current_job
from ..perform import ColdShutdown
from ..vocabulary import JobStatus
from .base import Execution, Host


class InlineExecution(Execution):
    """Runs each job in the worker's own thread.

    A daemon thread keeps the worker's heartbeat going while a long job holds
    the main thread, and looks for stop requests; the job's timeout is
    enforced with SIGALRM. A stop request interrupts the job with
    :attr:`stop_signal`, whose handler raises StopRequested inside the job, so
    stopping works when the worker runs in its process's main thread.
    """

    name = "inline"
    description = "in-process"
    #: Sent to the main thread to interrupt a job that was asked to stop.
    stop_signal = signal.SIGUSR1

    def setup(self, worker: Host) -> None:
        self._stop = threading.Event()
        self._stopping: str | None = None
        self._previous_handler: Any = None
        self._main = threading.current_thread() is threading.main_thread()
        if self._main:
            self._previous_handler = signal.signal(self.stop_signal, self._interrupt)
        self._thread = threading.Thread(
            target=self._beat, args=(worker,), daemon=True, name=f"heartbeat-{worker.name}"
        )
        self._thread.start()

    def _beat(self, worker: Host) -> None:
        last_beat = time.monotonic()
        while not self._stop.wait(min(worker.heartbeat_interval, worker.stop_poll_interval)):
            job = worker.current_job
            if job is None:
                continue
            try:
                if time.monotonic() - last_beat >= worker.heartbeat_interval:
                    worker.heartbeat()
                    last_beat = time.monotonic()
                if self._main and worker.stop_requested(job):
                    self._stopping = job.id
                    main = threading.main_thread().ident
                    assert main is not None  # the main thread has always started
                    signal.pthread_kill(main, self.stop_signal)
            except Exception:
                worker.log.debug("Heartbeat failed", exc_info=True)

    def _interrupt(self, signum: int, frame: Any) -> None:
        # Only inside the job that was asked to stop: the signal may land just
        # after it ended, and must then do nothing.
        job = get_current_job()
        if job is not None and job.id == self._stopping:
            self._stopping = None
            raise StopRequested(f"Job {job.id} was stopped on request.")

    def run(self, worker: Host, job: Job) -> str | None:
        try:
            return worker.perform(job)
        except (KeyboardInterrupt, SystemExit) as exc:
            if isinstance(exc, ColdShutdown) or _interrupted_by_signal(exc):
                raise  # the worker was interrupted: it stops
            # The job itself raised it (sys.exit() in job code, say): run_job
            # recorded it as the job's failure (the worker logs its outcome),
            # and the worker goes on.
            status = job.get_status(refresh=False)
            return None if status == JobStatus.STARTED else status

    def interrupt(self, host: Host) -> None:
        # Raised in the main thread, inside the job: run_job records the
        # job's failure, and run() above lets it through to stop the worker.
        raise ColdShutdown("The worker was shut down (cold) while this job was running.")

    def teardown(self, worker: Host) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._main:
            signal.signal(self.stop_signal, self._previous_handler or signal.SIG_DFL)


def _interrupted_by_signal(exc: BaseException) -> bool:
    """Whether ``exc`` may come from a signal delivered to this process.

    A worker in the main thread handles SIGINT and SIGTERM itself (see
    BaseWorker's signal handler): its handlers never raise SystemExit or
    KeyboardInterrupt into a job, save a cold shutdown's
    (:class:`~..perform.ColdShutdown`). Only Python's default SIGINT handler, put back by job code,
    raises KeyboardInterrupt for a signal; anywhere else the job raised it.
    """
    return (
        isinstance(exc, KeyboardInterrupt)
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
