"""Asking a running job to stop, through the worker that runs it."""

from __future__ import annotations

from .. import scripts
from ..errors import InvalidJobOperation
from ..job import Job, JobStatus
from ..outcome import record_failure


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
    if record_failure(job, text, worker, status=JobStatus.STOPPED, retry=False) is None:
        raise InvalidJobOperation(f"Job {job.id} ended before it could be stopped.")
    return "stopped"


__all__ = ["stop_job"]
