"""How a job's failure is told and recorded outside a worker (RQ's ``rq.job_lifecycle``).

Workers record outcomes through :mod:`.outcome`; these are the pieces RQ
exposes for code that ends jobs itself.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from typing import Any

from .job import Job
from .rate_limit import release_slot
from .scripts import release_dependents
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
    its ``failure_ttl``, in one step; its retries are not used (as in RQ):
    :meth:`Job.requeue` runs it again. Then, as for any failed job, its
    dependents that allow a failed parent are released and its rate-limit
    slot is freed. With ``pipeline`` the step runs when the caller executes
    it, which a job with dependents or a rate limit refuses (``ValueError``).

    Raises:
        NoSuchJobError: the job is gone (with ``pipeline``: at execute).
    """
    ttl = job.failure_ttl if job.failure_ttl is not None else DEFAULT_FAILURE_TTL
    if pipeline is not None:
        job.refuse_pipeline("failed")
    timestamp = now()
    job.move_to(JobStatus.FAILED, ttl, pipeline=pipeline, fields=["exc_info", exc_string])
    job.exc_info = exc_string
    job.ended_at = timestamp
    if pipeline is None:
        dependents = job.dependent_keys(refresh=False)  # as the move read them
        release_dependents(job.connection, job.keys, job.key, dependents, JobStatus.FAILED)
        release_slot(job)


__all__ = ["call_exception_handlers", "format_exc_info", "record_job_failure"]
