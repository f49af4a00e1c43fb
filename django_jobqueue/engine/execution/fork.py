"""Each job runs in a forked child, so a job that crashes or leaks harms only itself."""

from __future__ import annotations

import gc
import os
import select
import signal
import time
from collections.abc import Callable

from .. import hooks, utils
from ..job import Job
from ..outcome import record_failure
from ..payloads import loads_value
from ..perform import Success, death_reason, run_job
from ..vocabulary import KILL_GRACE, JobStatus
from .base import Execution, Host

#: Seconds between two looks at the worker's subscription while a job runs:
#: a command published for it (stop-job, kill-horse) is acted on this soon.
#: The look reads a socket; Redis is asked only when something came.
COMMAND_POLL = 0.1
#: Starts a child's report of a success; the serialized result follows.
SUCCESS = b"\x00"
#: Starts a child's report that it could not load its job; a traceback follows.
NOT_STARTED = b"\x01"


class NotStarted(Exception):
    """No process could be started for a job (the job did not run)."""


class ForkExecution(Execution):
    """Each job in a work-horse forked for it; the worker only waits and records."""

    name = "fork"
    description = "fork (a child per job)"
    process_per_job = True
    #: How a failure names the process that ran the job.
    process = "its work-horse process"
    #: Seconds past a job's timeout before its process is killed: the job's
    #: own SIGALRM, in the child, fires first.
    kill_grace: float = KILL_GRACE

    def __init__(self) -> None:
        self.child_pid: int | None = None
        #: Set by a cold shutdown: the work-horse was killed on purpose.
        self.cold = False

    def run(self, worker: Host, job: Job) -> str | None:
        try:
            pid, report = self.start(worker, job)
        except NotStarted as exc:
            # The job never ran: say why on the job, and go on with the next one.
            worker.log.error("%s", exc)
            # No exception of the job's: Retry(retry_on=...) matches nothing here.
            return record_failure(job, str(exc), worker.name, exc=None)
        self.child_pid = pid
        try:
            return self._wait(worker, job, pid, report)
        finally:
            self.child_pid = None
            os.close(report)

    def start(self, worker: Host, job: Job) -> tuple[int, int]:
        """Start the process that runs ``job``; returns its pid and the read end of its report.

        The child reports through a pipe: either the status of a failure it
        recorded, or a success for this process to record (SUCCESS, then the
        serialized result). This process keeps its connection to Redis, so a
        success costs the child none of its own, and recording it also takes
        the next job. An exit code alone could not tell our exit from a job
        calling os._exit() itself.

        Raises:
            NotStarted: no process could be started; the job did not run.
        """
        read_end, write_end = os.pipe()
        # Objects that exist now are moved out of the collector's sight, so the
        # child does not touch (and so copy) their pages by collecting them.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read_end)
            os.close(write_end)
            raise NotStarted(f"Job {job.id} was not run: fork() failed ({exc}).") from None
        if pid == 0:  # the child
            try:
                gc.disable()  # a short life, ended by os._exit: nothing to collect
                os.close(read_end)
                ignore_stop_signals()
                run_and_report(
                    job, worker.name, worker.exception_handlers, write_end, run=worker.run_in_horse
                )
            finally:
                if hooks.exit_watchers:
                    hooks.process_exiting(worker.name)
                os._exit(0)
        os.close(write_end)
        return pid, read_end

    def _wait(self, worker: Host, job: Job, pid: int, report: int) -> str | None:
        # Read the report while waiting: a result larger than the pipe's buffer
        # would otherwise block the child in its write, and never end.
        os.set_blocking(report, False)
        received: list[bytes] = []
        open_report = True
        deadline = None
        if job.timeout and job.timeout > 0:
            deadline = time.monotonic() + job.timeout + self.kill_grace
        pidfd = utils.pidfd(pid)
        killed_for_timeout = stopped = False
        next_stop_check = time.monotonic() + worker.stop_poll_interval
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                wait = min(worker.heartbeat_interval, worker.stop_poll_interval, COMMAND_POLL)
                if deadline is not None:
                    wait = min(wait, max(deadline - time.monotonic(), 0))
                # The report stops being watched at its end of file: a job that
                # closes its descriptors must not make this loop spin.
                watched = [report] if open_report else []
                if pidfd is not None:
                    select.select([pidfd, *watched], [], [], wait)
                else:
                    select.select(watched, [], [], min(wait, 0.01))
                if open_report:
                    open_report = _read_available(report, received)
                worker.heartbeat_if_due()
                worker.schedule_if_due()  # the scheduler keeps time while a job runs
                if worker.command_waiting():  # announced: look now, not at the next poll
                    next_stop_check = 0.0
                if not stopped and time.monotonic() >= next_stop_check:
                    next_stop_check = time.monotonic() + worker.stop_poll_interval
                    if worker.stop_requested(job):
                        os.kill(pid, signal.SIGKILL)
                        stopped = True
                if deadline is not None and time.monotonic() >= deadline and not killed_for_timeout:
                    os.kill(pid, signal.SIGKILL)
                    killed_for_timeout = True
        finally:
            if pidfd is not None:
                os.close(pidfd)
        code = os.waitstatus_to_exitcode(status)
        # Non-blocking: a grandchild the job forked may still hold the write end.
        _read_available(report, received)
        message = b"".join(received)
        if message.startswith(SUCCESS):
            return worker.record_result(job, _success(job, message[len(SUCCESS) :]))
        if message.startswith(NOT_STARTED):
            trace = message[len(NOT_STARTED) :].decode(errors="replace")
            reason = f"Job {job.id} was not run: {self.process} could not load it.\n{trace}"
            worker.log.error("%s", reason)
            return record_failure(job, reason, worker.name)
        if message:
            recorded = message.decode()
            return None if recorded == "none" else recorded
        # The child died without recording anything: record it here.
        if stopped:
            reason = (
                f"StopRequested: Job {job.id} was stopped on request; its work-horse was killed."
            )
            worker.log.warning(reason)
            return record_failure(job, reason, worker.name, status=JobStatus.STOPPED, retry=False)
        reason = death_reason(
            job,
            code,
            process=self.process,
            cold=self.cold,
            timed_out=killed_for_timeout,
        )
        worker.log.error(reason)
        return record_failure(job, reason, worker.name)

    def interrupt(self, host: Host) -> None:
        # The wait loop in run() sees the work-horse die and records the job.
        self.cold = True
        if self.child_pid:
            utils.kill_quietly(self.child_pid)


def ignore_stop_signals() -> None:
    """In a work-horse: the worker decides about shutdown, the child only runs the job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_and_report(
    job: Job,
    worker_name: str,
    exception_handlers: list,
    report: int,
    *,
    enforce_timeout: bool = True,
    run: Callable[[Job], Success | str | None] | None = None,
) -> None:
    """In a work-horse: run ``job``, then write how it ended to ``report`` (see start()).

    ``run`` runs it in place of :func:`run_job` (the worker's own way).
    """
    try:
        if run is not None:
            ran = run(job)
        else:
            ran = run_job(
                job,
                worker_name,
                enforce_timeout=enforce_timeout,
                wait_for_redis=True,
                exception_handlers=exception_handlers,
            )
    except (KeyboardInterrupt, SystemExit):
        # The job raised it (signals are ignored here): run_job
        # recorded the failure before letting it through.
        status = job.get_status(refresh=False)
        ran = None if status == JobStatus.STARTED else status
    if isinstance(ran, Success):
        write_all(report, SUCCESS + ran.raw)
    else:
        os.write(report, (ran or "none").encode())


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_available(fd: int, into: list[bytes]) -> bool:
    """Append what can be read now; False once the writers are all gone."""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        into.append(chunk)


def _success(job: Job, raw: bytes) -> Success:
    """The child's result, loaded again here for the job_finished hook."""
    try:
        result = loads_value(job.serializer, raw, job.id, "result")
    except Exception:  # stored as the child serialized it, whatever this process can read
        result = None
    return Success(result, raw)
