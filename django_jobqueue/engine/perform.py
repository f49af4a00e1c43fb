"""Performing one job and recording its outcome, whatever process it runs in.

Every execution model ends a job here: an in-process worker calls
:func:`perform_job`, a forked work-horse calls :func:`run_job` and hands its
:class:`Success` back for the worker to :func:`record_result`, and a queue with
``is_async=False`` performs the job while it is enqueued. Nothing here knows
about workers.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any, NamedTuple

from . import chain_link, hooks
from .callbacks import run_callback
from .errors import ChainResultLost, ChainStopped, DeserializationError, StopRequested
from .job import Job
from .outcome import record_failure, record_success
from .payloads import PayloadTooLarge, SignatureError, check_result_size, dumps_value
from .retry import Retry
from .scripts import TakeNext
from .timeouts import BaseDeathPenalty, DeathPenalty
from .vocabulary import JobStatus

logger = logging.getLogger("django_jobqueue.worker")

#: The worker name under which a queue with ``is_async=False`` performs its
#: jobs (``queue.INLINE_WORKER``, which imports this module, spells it too).
INLINE_WORKER = "inline"


class ColdShutdown(SystemExit):
    """Raised inside a job when its worker is shut down cold (a second signal).

    The job's failure is recorded, and the worker, not the job, stops: unlike
    a ``SystemExit`` the job raises itself, which is only the job's failure.
    """


class Success(NamedTuple):
    """A job that returned, with its result serialized, not yet recorded."""

    result: Any
    raw: bytes


def perform_job(
    job: Job,
    worker_name: str,
    *,
    enforce_timeout: bool = True,
    default_result_ttl: int | None = None,
    take_next: TakeNext | None = None,
    wait_for_redis: bool = False,
    exception_handlers: Sequence[Any] = (),
    death_penalty_class: type[BaseDeathPenalty] = DeathPenalty,
) -> str | None:
    """Run ``job`` here and record the outcome; returns the job's new status.

    Nothing the job does (including failing to import or to unpickle) escapes
    as an exception: it becomes the job's failure. With ``take_next``, recording
    the outcome also takes the worker's next job (see :class:`TakeNext`). On a
    queue with ``is_async=False`` (``worker_name`` is :data:`INLINE_WORKER`),
    an error of the ``on_failure`` or ``on_stopped`` callback is raised to the
    caller once the failure is recorded, as in RQ; a worker only logs it.
    """
    ran = run_job(
        job,
        worker_name,
        enforce_timeout=enforce_timeout,
        take_next=take_next,
        wait_for_redis=wait_for_redis,
        exception_handlers=exception_handlers,
        death_penalty_class=death_penalty_class,
    )
    if isinstance(ran, Success):
        return record_result(job, ran, worker_name, default_result_ttl, take_next, wait_for_redis)
    return ran


def run_job(
    job: Job,
    worker_name: str,
    *,
    enforce_timeout: bool = True,
    take_next: TakeNext | None = None,
    wait_for_redis: bool = False,
    exception_handlers: Sequence[Any] = (),
    death_penalty_class: type[BaseDeathPenalty] = DeathPenalty,
    wrap: bool = True,
) -> Success | str | None:
    """Run ``job`` here: a failure is recorded at once, a success is handed back.

    Split from :func:`perform_job` so that a forked work horse can hand its
    success to the worker, which records it on the connection it already has
    (and takes the next job in the same round trip) instead of the horse
    opening a connection of its own for every job. When the job raises, the
    ``exception_handlers`` are called (see :func:`call_exception_handlers`)
    once its failure is recorded. The job's timeout is kept by a
    ``death_penalty_class`` (see :mod:`.timeouts`). The hooks that wrap runs
    (:meth:`.hooks.Hooks.job_running`) wrap it here, in the process that runs
    it; ``wrap=False`` is the run they wrap. Without them this costs one test
    of an empty list: the job's hot path is left as it was.
    """
    if wrap and hooks.run_wrappers:  # empty unless a hook wraps runs (a tracer's span)
        with hooks.running(job, worker_name):
            return run_job(
                job,
                worker_name,
                enforce_timeout=enforce_timeout,
                take_next=take_next,
                wait_for_redis=wait_for_redis,
                exception_handlers=exception_handlers,
                death_penalty_class=death_penalty_class,
                wrap=False,
            )
    hooks.emit("job_started", job=job, worker=worker_name)
    try:
        with death_penalty_class(job.timeout if enforce_timeout else None, job_id=job.id):
            result = job.perform()
        if isinstance(result, Retry):
            return _retry_returned(job, result, worker_name, take_next, wait_for_redis)
        # Inside its on_success callback the job counts as finished, as in RQ; it
        # is recorded only after the callback returns, so a callback that fails
        # (or runs past its own timeout) fails the job: it never is finished in
        # Redis and then failed, and a worker lost meanwhile leaves it in the
        # started registry, to be found abandoned (at least once).
        job.set_status(JobStatus.FINISHED)
        run_callback(
            job,
            "on_success",
            result,
            enforce_timeout=enforce_timeout,
            death_penalty_class=death_penalty_class,
        )
    except BaseException as exc:
        if isinstance(exc, ChainStopped):  # a chain's step whose predecessor did not finish
            return chain_link.stop(job, str(exc))
        if isinstance(exc, (KeyboardInterrupt, SystemExit)) and not isinstance(exc, ColdShutdown):
            # A real interrupt of the worker: record it, then let it propagate.
            _fail(job, exc, worker_name, wait_for_redis=wait_for_redis, penalty=death_penalty_class)
            call_exception_handlers(exception_handlers, job, exc)
            raise
        status = _fail(job, exc, worker_name, take_next, wait_for_redis, death_penalty_class)
        call_exception_handlers(exception_handlers, job, exc)
        return status
    try:
        raw = dumps_value(job.serializer, result, job.id, "result")
        check_result_size(raw)
    except PayloadTooLarge as exc:
        reason = str(exc)
    except Exception as exc:
        reason = (
            f"The job returned a value the serializer cannot store: {type(exc).__name__}: {exc}"
        )
    else:
        return Success(result, raw)
    return record_failure(
        job, reason, worker_name, take_next=take_next, wait_for_redis=wait_for_redis
    )


def record_result(
    job: Job,
    success: Success,
    worker_name: str,
    default_result_ttl: int | None = None,
    take_next: TakeNext | None = None,
    wait_for_redis: bool = False,
) -> str | None:
    """Record a :class:`Success` and tell the hooks; returns the job's new status."""
    if not record_success(
        job, success.result, success.raw, worker_name, default_result_ttl, take_next, wait_for_redis
    ):
        return job.get_status(refresh=False)
    hooks.emit("job_finished", job=job, result=success.result, worker=worker_name)
    return JobStatus.FINISHED


def _retry_returned(
    job: Job,
    retry: Retry,
    worker_name: str,
    take_next: TakeNext | None,
    wait_for_redis: bool,
) -> str | None:
    """Record a run that returned a :class:`~.retry.Retry`: a retry, not a success.

    As in RQ, no callback and no exception handler is called (there is no
    exception), whether the job is retried or, past ``retry.max``, failed.
    The ``job_failed`` hook is told, as for every run that did not succeed,
    with a line that names the Retry in place of a traceback.
    """
    status = record_failure(
        job, "", worker_name, take_next=take_next, wait_for_redis=wait_for_redis, returned=retry
    )
    if status is not None:
        hooks.emit(
            "job_failed", job=job, exc_info=f"The job returned {retry!r}.", worker=worker_name
        )
    return status


def _fail(
    job: Job,
    exc: BaseException,
    worker_name: str,
    take_next: TakeNext | None = None,
    wait_for_redis: bool = False,
    penalty: type[BaseDeathPenalty] = DeathPenalty,
) -> str | None:
    exc_info = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, DeserializationError):
        exc_info = f"{exc}\n{exc_info}"
    stopped = isinstance(exc, StopRequested)
    if stopped:  # stopped on purpose: final, never retried
        status = record_failure(
            job, exc_info, worker_name, status=JobStatus.STOPPED, retry=False, take_next=take_next
        )
    else:
        # A refused signature never turns valid, nor does a chain's lost
        # result come back: those failures are final too.
        status = record_failure(
            job,
            exc_info,
            worker_name,
            retry=not isinstance(exc, (SignatureError, ChainResultLost)),
            take_next=take_next,
            wait_for_redis=wait_for_redis,
        )
    # A call that could not be read or verified has its callbacks left alone:
    # their names are as untrusted as the function's. The outcome is recorded
    # first, so the callback sees the job failed (or stopped).
    if not isinstance(exc, DeserializationError):
        name, args = (
            ("on_stopped", ()) if stopped else ("on_failure", (type(exc), exc, exc.__traceback__))
        )
        try:
            run_callback(job, name, *args, death_penalty_class=penalty)
        except Exception:
            if worker_name == INLINE_WORKER:  # is_async=False: the caller sees it
                raise
            logger.exception("%s callback of job %s failed", name, job.id)
    hooks.emit("job_failed", job=job, exc_info=exc_info, worker=worker_name)
    return status


def call_exception_handlers(handlers: Sequence[Any], job: Job, exc: BaseException) -> None:
    """Call each handler as ``handler(job, exc_type, exc_value, traceback)``, in order.

    A handler that returns False (None does not count) ends the chain, as in
    RQ. One that raises is logged and ends the chain too: it never reaches the
    worker, which goes on with its next job.
    """
    for handler in handlers:
        try:
            go_on = handler(job, type(exc), exc, exc.__traceback__)
        except Exception:
            logger.exception("Exception handler %r failed on job %s", handler, job.id)
            return
        if go_on is not None and not go_on:
            return


def death_reason(
    job: Job, code: int, *, process: str, cold: bool = False, timed_out: bool = False
) -> str:
    """Why a process running ``job`` ended without recording it (for exc_info).

    ``code`` is its exit code as ``os.waitstatus_to_exitcode`` gives it
    (negative: killed by that signal).
    """
    if cold:
        return (
            f"The worker was shut down (cold) while job {job.id} was running; {process} was killed."
        )
    if timed_out:
        return (
            f"JobTimeoutException: Job {job.id} exceeded its timeout of {job.timeout} "
            f"seconds and {process} was killed."
        )
    how = f"signal {-code}" if code < 0 else f"exit code {code}"
    return (
        f"{process[0].upper()}{process[1:]} died unexpectedly ({how}) while running job {job.id}."
    )
