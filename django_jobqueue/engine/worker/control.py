"""Asking a running job to stop, and a worker to shut down or kill its work-horse.

Every request is left on the worker's registration, which the worker reads
about once a second (at once when idle), so a request made while the worker
is busy or between two reads is not lost. RQ's names for them
(``send_shutdown_command``, ...) are here too, and in :mod:`..command`.
"""

from __future__ import annotations

from typing import Any

from .. import scripts
from ..connection import resolve_connection
from ..errors import InvalidJobOperation
from ..job import Job, JobStatus
from ..keys import keyspace
from ..outcome import record_failure

#: The commands a worker obeys (``stop-job`` takes a ``job_id``).
COMMANDS = ("shutdown", "kill-horse", "stop-job")


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
        job.connection.publish(job.keys.worker_channel(worker), "stop-job")  # heard at once
        return "stopping"
    text = f"StopRequested: Job {job.id} was stopped on request; no live worker was running it."
    if record_failure(job, text, worker, status=JobStatus.STOPPED, retry=False) is None:
        raise InvalidJobOperation(f"Job {job.id} ended before it could be stopped.")
    return "stopped"


def send_command(
    connection: Any, worker_name: str, command: str, *, prefix: str | None = None, **kwargs: Any
) -> bool:
    """Leave ``command`` for the worker named ``worker_name``; RQ's ``send_command``.

    Args:
        command: ``"shutdown"`` (a warm shutdown: the running job ends first),
            ``"kill-horse"`` (kill the work-horse running the current job, which
            fails as a horse that died) or ``"stop-job"`` with ``job_id=``
            (see :func:`stop_job`; ignored unless that job is the one running).

    Returns:
        Whether a live worker of that name was found.
    """
    if command not in COMMANDS:
        raise ValueError(f"Unknown command {command!r}; choose from {COMMANDS}.")
    connection = resolve_connection(connection)
    ks = keyspace(prefix)
    if command == "stop-job":
        if not scripts.request_stop(connection, ks, worker_name, str(kwargs["job_id"])):
            return False
        connection.publish(ks.worker_channel(worker_name), command)
        return True
    if not scripts.worker_command(connection, ks, worker_name, command):
        return False
    connection.publish(ks.worker_channel(worker_name), command)  # wakes it if idle
    return True


def send_shutdown_command(connection: Any, worker_name: str, *, prefix: str | None = None) -> bool:
    """Ask a worker to stop after its current job (as its first SIGTERM does)."""
    return send_command(connection, worker_name, "shutdown", prefix=prefix)


def send_kill_horse_command(
    connection: Any, worker_name: str, *, prefix: str | None = None
) -> bool:
    """Ask a forking worker to kill the work-horse running its job; ignored when idle.

    The job fails as if its process died (it is retried when it has retries
    left), and the worker goes on with its next job.
    """
    return send_command(connection, worker_name, "kill-horse", prefix=prefix)


def send_stop_job_command(
    connection: Any, job_id: str, serializer: Any = None, *, prefix: str | None = None
) -> str:
    """Stop the running job ``job_id``: :func:`stop_job` by id, RQ's name for it.

    Raises:
        NoSuchJobError: no such job.
        InvalidJobOperation: the job is not running.
    """
    return stop_job(Job.fetch(job_id, connection, serializer, prefix=prefix))


__all__ = [
    "COMMANDS",
    "send_command",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
    "stop_job",
]
