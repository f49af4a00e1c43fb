"""How a job's failure is told and recorded outside a worker (RQ's ``rq.job_lifecycle``).

Workers record outcomes through :mod:`.outcome`; these are the pieces RQ
exposes for code that ends jobs itself.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from typing import Any

from . import scripts
from .errors import NoSuchJobError
from .job import Job
from .utils import now
from .vocabulary import DEFAULT_FAILURE_TTL, JobStatus


def call_exception_handlers(
    handlers: Iterable[Callable[..., Any]], job: Any, *exc_info: Any
) -> None:
    """Call each handler as ``handler(job, *exc_info)``, in order.

    A handler that returns a false value other than None ends the chain
    (None, as a function without ``return`` gives, goes on to the next).
    What a handler raises reaches the caller.
    """
    for handler in handlers:
        go_on = handler(job, *exc_info)
        if go_on is not None and not go_on:
            break


def format_exc_info(exc_info: tuple[Any, Any, Any]) -> str:
    """A ``(type, value, traceback)`` triple as the text Python prints for it."""
    return "".join(traceback.format_exception(*exc_info))


def record_job_failure(job: Job, exc_string: str, pipeline: Any = None) -> None:
    """Fail ``job`` with the traceback ``exc_string``, wherever it is, without a worker.

    The job leaves its queue or registry for the failed registry, kept for
    its ``failure_ttl``, in one step; with ``pipeline`` that step runs when
    the caller executes it. Its retries are not used and its dependents are
    not told (as in RQ): :meth:`Job.requeue` runs it again.

    Raises:
        NoSuchJobError: the job is gone (with ``pipeline``: at execute).
    """
    ttl = job.failure_ttl if job.failure_ttl is not None else DEFAULT_FAILURE_TTL
    client = job.connection if pipeline is None else pipeline
    if pipeline is not None:  # a caller's pipeline cannot load a missing script
        scripts.preload(job.connection, "move")
    timestamp = now()
    try:
        scripts.move(
            client,
            job.keys,
            job.queue_name,
            job.id,
            timestamp,
            JobStatus.FAILED,
            ttl,
            fields=["exc_info", exc_string],
        )
    except Exception as exc:
        error = scripts.script_error(exc, job.id)
        if isinstance(error, NoSuchJobError):
            raise error from None
        raise
    job.set_status(JobStatus.FAILED)
    job.exc_info = exc_string
    job.ended_at = timestamp


__all__ = ["call_exception_handlers", "format_exc_info", "record_job_failure"]
