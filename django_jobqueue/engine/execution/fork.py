"""Each job runs in a forked child, so a job that crashes or leaks harms only itself."""

from __future__ import annotations

import gc
import os
import select
import signal
import time
from typing import TYPE_CHECKING

from .. import utils
from ..job import Job
from ..outcome import record_failure
from .base import Execution, death_reason

if TYPE_CHECKING:
    from ..worker import Worker

#: Seconds past a job's timeout before its child is killed outright (the child's
#: own SIGALRM fires first; this catches jobs stuck in C code).
KILL_GRACE = 5


class ForkExecution(Execution):
    name = "fork"

    def __init__(self) -> None:
        self.child_pid: int | None = None

    def run(self, worker: Worker, job: Job) -> str | None:
        # The child reports the status it recorded through a pipe: an exit code
        # alone cannot tell our exit from a job calling os._exit() itself.
        read_end, write_end = os.pipe()
        # Objects that exist now are moved out of the collector's sight, so the
        # child does not touch (and so copy) their pages by collecting them.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                gc.disable()  # a short life, ended by os._exit: nothing to collect
                os.close(read_end)
                # The parent decides about shutdown; the child only runs the job.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                status = worker.perform(job)
                os.write(write_end, (status or "none").encode())
            finally:
                os._exit(0)
        os.close(write_end)
        self.child_pid = pid
        try:
            return self._wait(worker, job, pid, read_end)
        finally:
            self.child_pid = None
            os.close(read_end)

    def _wait(self, worker: Worker, job: Job, pid: int, report: int) -> str | None:
        deadline = None
        if job.timeout and job.timeout > 0:
            deadline = time.monotonic() + job.timeout + KILL_GRACE
        pidfd = utils.pidfd(pid)
        killed_for_timeout = stopped = False
        next_stop_check = time.monotonic() + worker.stop_poll_interval
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                wait = min(worker.heartbeat_interval, worker.stop_poll_interval)
                if deadline is not None:
                    wait = min(wait, max(deadline - time.monotonic(), 0))
                if pidfd is not None:
                    select.select([pidfd], [], [], wait)
                else:
                    time.sleep(min(wait, 0.01))
                worker.heartbeat_if_due()
                worker.schedule_if_due()  # the scheduler keeps time while a job runs
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
        os.set_blocking(report, False)
        try:
            recorded = os.read(report, 64).decode()
        except BlockingIOError:
            recorded = ""
        if recorded:
            return None if recorded == "none" else recorded
        # The child died without recording anything: record it here.
        if stopped:
            reason = (
                f"StopRequested: Job {job.id} was stopped on request; its work-horse was killed."
            )
            worker.log.warning(reason)
            return record_failure(job, reason, worker.name, status="stopped", retry=False)
        reason = death_reason(
            job,
            code,
            process="its work-horse process",
            cold=worker._cold,
            timed_out=killed_for_timeout,
        )
        worker.log.error(reason)
        return record_failure(job, reason, worker.name)

    def stop_current_job(self, worker: Worker) -> None:
        if self.child_pid:
            utils.kill_quietly(self.child_pid)
