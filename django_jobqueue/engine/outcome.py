"""Recording how a job ended, the same way wherever it ran.

Workers, pool children, inline (``is_async=False``) queues and the abandoned-job
sweep all end a job through these two functions, so the registries, retries and
dependents behave identically.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from . import connection, scripts
from .connection import is_cluster
from .dependencies import release_dependents
from .errors import RetryLater
from .job import Job
from .rate_limit import release_slot
from .repeat import finish_run
from .retry import RETRY_LATER_MAX, Retry
from .utils import as_shown, now
from .vocabulary import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, JobStatus

logger = logging.getLogger("django_jobqueue.worker")

#: The status of a running job as Redis returns it.
_STARTED = JobStatus.STARTED.encode()

#: ``record_failure(exc=...)``'s default: the exception being handled where it is called.
_HANDLED: Any = object()


def _send(job: Job, worker: str | bytes, wait: bool, call: Any) -> tuple[Any, bool]:
    """Run a recording script; with ``wait``, ride out a Redis outage.

    Returns the reply and whether the call had to be retried: a retried call
    may have run once already with its reply lost on the way.
    """
    if not wait:
        return call(), False
    before = connection.outages
    reply = connection.call_with_reconnect(call, name=f"Worker {as_shown(worker)}")
    return reply, connection.outages != before


def _ended_by(job: Job, worker: str | bytes) -> tuple[str, Any] | None:
    """(status, dependents) when an earlier, unanswered call already ended the job."""
    status, owner, dependents = job.connection.hmget(job.key, ["status", "worker", "dependents"])
    name = worker.encode() if isinstance(worker, str) else worker
    if owner is not None and owner == name and status not in (None, _STARTED):
        return as_shown(status), dependents or b"[]"
    return None


def record_success(
    job: Job,
    result: Any,
    raw: bytes,
    worker: str,
    result_ttl: int | None = None,
    take_next: scripts.TakeNext | None = None,
    wait_for_redis: bool = False,
) -> bool:
    """Store the result and release dependents; False if the job was no longer ours.

    ``raw`` is ``result`` serialized, by whoever ran the job (see
    :func:`.perform.run_job`, which fails a result that cannot be).
    With ``take_next``, the worker's next job comes back in the same round
    trip, in ``take_next.reply``. With ``wait_for_redis`` (workers), a lost
    connection is waited out and the call repeated instead of raising.
    """
    ttl = job.result_ttl if job.result_ttl is not None else result_ttl
    if ttl is None:
        ttl = DEFAULT_RESULT_TTL
    job.returned_retry = None
    if not job.store.in_redis:
        job.set_result(result, raw)
        job.exc_info = None
        job.set_status(JobStatus.FINISHED)
        job.ended_at = now()
        job.send_webhooks(JobStatus.FINISHED)
        return True
    # A job with repeats left goes back to wait for its next run (see repeat.py).
    repeats = bool(job.repeats_left)
    (dependents, next_reply), retried = _send(
        job,
        worker,
        wait_for_redis,
        lambda: (
            finish_run(job, now(), ttl, raw, worker)
            if repeats
            else scripts.finish(
                job.connection,
                job.keys,
                job.origin,
                job.id,
                now(),
                ttl,
                raw,
                worker,
                take_next,
                job.started_timestamp(),
            )
        ),
    )
    if take_next is not None:
        take_next.reply = next_reply
    if dependents is None and retried and (ended := _ended_by(job, worker)):
        dependents = ended[1]
    if dependents is None:
        logger.warning("Job %s ended while no longer owned by %s; outcome dropped.", job.id, worker)
        return False
    job.set_result(result, raw)
    if not repeats:  # finish_run set the status of the next run
        job.set_status(JobStatus.FINISHED)
    _send(
        job,
        worker,
        wait_for_redis,
        lambda: release_dependents(
            job.connection, job.keys, job.key, dependents, JobStatus.FINISHED
        ),
    )  # idempotent: retry is safe
    _after_end(job, worker, wait_for_redis, JobStatus.FINISHED)
    return True


def record_failure(
    job: Job,
    exc_info: str,
    worker: str | bytes,
    *,
    status: str = JobStatus.FAILED,
    retry: bool = True,
    only_if_abandoned: bool = False,
    take_next: scripts.TakeNext | None = None,
    wait_for_redis: bool = False,
    returned: Retry | None = None,
    exc: BaseException | None = _HANDLED,
) -> str | None:
    """Retry the job or move it to the failed registry; returns its new status.

    With ``returned``, the run returned that :class:`~.retry.Retry` instead
    of raising (``exc_info`` is then ""): the job is retried by its rules
    while it has returned fewer than ``returned.max`` retries, else it fails,
    with no traceback; ``retry_max``/``retries_left`` play no part.

    ``exc`` is the exception the job raised, which ``Retry(retry_on=...,
    dont_retry_on=...)`` are matched against and which may be a
    :class:`~.errors.RetryLater`; by default, the exception being handled
    where this is called (callers record a failure inside their ``except``
    clause); None for a failure that was no exception of the job's.

    Returns None when the job was no longer this worker's to record.
    """
    if exc is _HANDLED:
        exc = sys.exc_info()[1]
    retry_in, asked = None, False
    if returned is None and retry:
        retry_in, asked, exc_info = _retry_after_raise(job, exc, exc_info)
    if not job.store.in_redis:
        job.exc_info = exc_info or None
        job.returned_retry = returned
        job.ended_at = now()
        if returned is not None and job.returned_retries < returned.max:
            job.returned_retries += 1  # no wait: there is no scheduler in memory
            job.set_status(JobStatus.QUEUED)
        elif retry_in is not None:
            if asked:
                job.returned_retries += 1
            else:
                job.retries_left -= 1  # type: ignore[operator]
            job.set_status(JobStatus.QUEUED)
        else:
            job.set_status(status)
            job.send_webhooks(status, exc_string=exc_info)
        return job.get_status(refresh=False)
    ttl = job.failure_ttl if job.failure_ttl is not None else DEFAULT_FAILURE_TTL
    if returned is not None and not returned.rules.is_default:
        # Grown, capped and jittered here; fail.lua still decides whether it retries.
        retry_in = returned.wait_after(job.returned_retries)
    (new_status, dependents, next_reply), retried = _send(
        job,
        worker,
        wait_for_redis,
        lambda: scripts.fail(
            job.connection,
            job.keys,
            job.origin,
            job.id,
            now(),
            ttl,
            exc_info,
            worker,
            retry_in,
            status,
            only_if_abandoned,
            take_next,
            returned.dumps() if returned is not None else None,
            asked,
        ),
    )
    if take_next is not None:
        take_next.reply = next_reply
    if new_status is None and retried and (ended := _ended_by(job, worker)):
        new_status, dependents = ended
    if new_status is None:
        return None
    new_status = new_status.decode() if isinstance(new_status, bytes) else new_status
    job.set_status(new_status)
    job.exc_info = exc_info or None
    # The script decides: a job someone asked to stop is not retried (see fail.lua).
    job.returned_retry = returned if new_status != JobStatus.STOPPED else None
    if new_status in (JobStatus.QUEUED, JobStatus.SCHEDULED):
        if returned is not None:
            job.returned_retries += 1
            job.enqueue_at_front_on_retry |= returned.enqueue_at_front
        elif asked:
            job.returned_retries += 1
        else:
            job.retries_left -= 1  # type: ignore[operator]
        if is_cluster(job.connection):  # the script could not list the queue (another slot)
            job.connection.sadd(job.keys.queues, job.origin)
    else:
        _send(
            job,
            worker,
            wait_for_redis,
            lambda: release_dependents(job.connection, job.keys, job.key, dependents, new_status),
        )
    # fail.lua freed the job's slot itself (or kept it for a retry at once).
    _after_end(job, worker, wait_for_redis, new_status, exc_info, slot_freed=True)
    return new_status


def _retry_after_raise(
    job: Job, exc: BaseException | None, exc_info: str
) -> tuple[float | None, bool, str]:
    """Whether a run that raised ``exc`` is retried: ``(wait or None, asked, exc_info)``.

    ``asked``: the job raised :class:`~.errors.RetryLater` without a ``retry``
    option, so the retry is counted with those it asks for by returning a
    Retry (``returned_retries``), not in ``retries_left``. ``exc_info`` gains a
    first line saying why a RetryLater was not honoured.
    """
    if isinstance(exc, RetryLater):
        if job.retries_left is None and job.retry_max is None:
            if job.returned_retries < RETRY_LATER_MAX:
                return float(exc.delay or 0), True, exc_info
            why = (
                f"The job raised RetryLater after {job.returned_retries} retries, the most "
                "it gets without a retry option: enqueue it with retry=Retry(max=...) for "
                "more. It failed."
            )
            return None, False, f"{why}\n{exc_info}"
        if _retries_left(job):
            wait = exc.delay if exc.delay is not None else _policy_wait(job)
            return float(wait), False, exc_info
        why = f"The job raised RetryLater with no retry left (of {job.retry_max}): it failed."
        return None, False, f"{why}\n{exc_info}"
    if not _retries_left(job):
        return None, False, exc_info
    rules = job.retry_rules
    if rules is not None and not rules.allows(exc):
        return None, False, exc_info
    return _policy_wait(job), False, exc_info


def _retries_left(job: Job) -> bool:
    # Above 0: a negative count (only another program writes one) would
    # otherwise count down for ever, the job retried each time.
    return job.retries_left is not None and job.retries_left > 0


def _policy_wait(job: Job) -> float:
    """The wait before the job's next retry after an error, jitter included."""
    wait = job.get_retry_interval()
    rules = job.retry_rules
    return rules.spread(wait) if rules is not None else wait


def _after_end(
    job: Job,
    worker: str | bytes,
    wait_for_redis: bool,
    status: str,
    exc_info: str | None = None,
    slot_freed: bool = False,
) -> None:
    """Once an outcome is recorded: free the job's rate-limit slot unless it is
    queued again or the script that recorded it did (``slot_freed``; see
    :mod:`.rate_limit`), then send its webhooks for ``status``."""
    if job.rate_limit_key and not slot_freed:
        _send(job, worker, wait_for_redis, lambda: release_slot(job))  # idempotent
    if job.webhooks:
        if job.ended_at is None:
            job.ended_at = now()
        job.send_webhooks(status, exc_string=exc_info)
