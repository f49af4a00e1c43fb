"""Sentry for jobs: a failed job is reported once, with what ran and where.

sentry-sdk's own RQ integration patches ``rq.Worker`` and never sees our
workers. This one listens to the engine's hooks instead, so it sees every
worker that forks or runs jobs in process (pool, fork, simple) and
``JOBQUEUE_ASYNC = False``::

    import sentry_sdk
    from django_jobqueue.contrib.sentry import JobQueueIntegration

    sentry_sdk.init(dsn="...", integrations=[JobQueueIntegration()])

A job that will be retried is not reported until its last attempt fails
(``JobQueueIntegration(report_retries=True)`` reports every attempt). A job
stopped on purpose is not an error and is not reported. Each event carries the
job's id, queue and function as tags (search Sentry by them) and its
arguments, description and retry count as the ``job`` context; strip what you
must not send in Sentry's ``before_send``.
"""

from __future__ import annotations

import sys
from typing import Any

import sentry_sdk
from sentry_sdk.integrations import Integration

from ..engine import hooks
from ..engine.vocabulary import JobStatus

#: How long a failure waits for its event to leave: a forked work horse ends
#: with ``os._exit`` right after, which would drop what is still queued.
FLUSH_SECONDS = 2.0


class JobQueueIntegration(Integration):
    identifier = "django_jobqueue"

    def __init__(self, report_retries: bool = False):
        self.report_retries = report_retries

    @staticmethod
    def setup_once() -> None:
        hooks.register(SENTRY_HOOKS)


class SentryHooks(hooks.Hooks):
    def job_failed(self, job: Any, exc_info: str, worker: str) -> None:
        integration = sentry_sdk.get_client().get_integration(JobQueueIntegration)
        if integration is None:  # Sentry not initialised, or without us
            return
        status = job.get_status(refresh=False)
        retried = status in (JobStatus.QUEUED, JobStatus.SCHEDULED)
        if status == JobStatus.STOPPED or (retried and not integration.report_retries):
            return
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("jobqueue.job_id", job.id)
            scope.set_tag("jobqueue.queue", job.origin)
            scope.set_tag("jobqueue.function", job.func_name)
            scope.set_context("job", describe(job, will_retry=retried))
            raised = sys.exc_info()  # the hook runs while the job's exception is handled
            if raised[1] is not None:
                sentry_sdk.capture_exception(raised)
            else:  # the job returned a Retry and has none left: nothing was raised
                last = exc_info.strip().splitlines()[-1] if exc_info.strip() else "failed"
                sentry_sdk.capture_message(f"Job {job.id} ({job.func_name}): {last}", "error")
        sentry_sdk.flush(FLUSH_SECONDS)


SENTRY_HOOKS = SentryHooks()


def describe(job: Any, will_retry: bool) -> dict[str, Any]:
    """What Sentry shows of a job; arguments that cannot be read are said to be so."""
    context: dict[str, Any] = {
        "id": job.id,
        "queue": job.origin,
        "function": job.func_name,
        "retries": job.number_of_retries,
        "will_retry": will_retry,
    }
    try:
        context.update(args=job.args, kwargs=job.kwargs, description=job.description)
    except Exception as exc:  # unreadable data: the failure is still worth seeing
        context["args"] = f"<unreadable: {type(exc).__name__}>"
    return context
