"""OpenTelemetry for jobs: a span for each enqueue and each run, in one trace.

Turn it on once per process, after your tracer provider is set (in your
``AppConfig.ready``, say, which the web process, ``rqworker`` and its
spawned work-horses all run)::

    from django_jobqueue.contrib.otel import JobQueueInstrumentor

    JobQueueInstrumentor().instrument()

Enqueueing a job makes a ``send <queue>`` span (kind PRODUCER) where
``enqueue`` is called; the span's context travels in the job's meta (under
``"otel"``, put there by the configured propagator), so that the job's run, a
``process <queue>`` span (kind CONSUMER) made in the process that runs it, is
its child, in the trace of the request that enqueued it. A job enqueued with
no span active still gets both. A run that fails records its exception and
ends with status ERROR; the spans the job makes are children of its run.

Only ``opentelemetry-api`` is needed (the ``[otel]`` extra): the SDK and its
exporters are the application's choice, as for any instrumented library. Like
:mod:`.sentry`, this listens to the engine's hooks and imports no Django, so it
sees every worker (simple, fork, spawn, pool) and queues that run jobs at once.
A tracer that raises is logged and left out: it never fails a job.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .. import __version__
from ..engine import hooks
from ..engine.vocabulary import JobStatus

#: The key of ``job.meta`` that carries the enqueue span's context to the run.
META_KEY = "otel"
#: ``messaging.system`` of every span (OpenTelemetry's messaging conventions).
SYSTEM = "django_jobqueue"
#: Milliseconds a work-horse waits for its spans to leave before ``os._exit``.
FLUSH_MILLIS = 2000

#: What ``jobqueue.outcome`` says for the status a run left the job in.
OUTCOMES = {
    JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed",
    JobStatus.STOPPED: "stopped",
    JobStatus.QUEUED: "retried",
    JobStatus.SCHEDULED: "retried",
}
#: Outcomes that are no error: a stop was asked for.
NOT_ERRORS = frozenset({"finished", "stopped"})


class JobQueueInstrumentor:
    """Turns the spans on (:meth:`instrument`) and off (:meth:`uninstrument`).

    Named and called like OpenTelemetry's instrumentors, without depending on
    ``opentelemetry-instrumentation``. ``tracer_provider`` defaults to the
    global one, looked up when a span starts (so one set later is used).
    """

    def instrument(self, tracer_provider: Any = None) -> None:
        TRACING_HOOKS.tracer = trace.get_tracer(
            "django_jobqueue", __version__, tracer_provider=tracer_provider
        )
        TRACING_HOOKS.tracer_provider = tracer_provider
        hooks.register(TRACING_HOOKS)

    def uninstrument(self) -> None:
        hooks.unregister(TRACING_HOOKS)


def common_attributes(job: Any, queue_name: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.destination.name": queue_name,
        "messaging.message.id": job.id,
        "jobqueue.queue": queue_name,
        "jobqueue.job_id": job.id,
        "jobqueue.function": job.func_name,
    }


class TracingHooks(hooks.Hooks):
    def __init__(self) -> None:
        self.tracer: Any = trace.get_tracer("django_jobqueue", __version__)
        self.tracer_provider: Any = None

    def job_enqueueing(self, job: Any, queue: Any) -> EnqueueSpan:
        return EnqueueSpan(self.tracer, job, queue.name)

    def job_running(self, job: Any, worker: str) -> RunSpan:
        return RunSpan(self.tracer, job, worker)

    def job_failed(self, job: Any, exc_info: str, worker: str) -> None:
        # Told inside the run, while its exception is handled (see Hooks.job_running).
        run = RUNNING.get()
        if run is None or run.job.id != job.id:
            return
        raised = sys.exc_info()[1]  # None for a returned Retry: nothing was raised
        if raised is not None:
            run.span.record_exception(raised)
        lines = exc_info.strip().splitlines()
        run.failure = lines[-1] if lines else "failed"

    def process_exiting(self, worker: str) -> None:
        provider = self.tracer_provider or trace.get_tracer_provider()
        flush = getattr(provider, "force_flush", None)  # the API's own provider has none
        if flush is not None:
            flush(FLUSH_MILLIS)


class EnqueueSpan:
    """The PRODUCER span around storing a job; its context goes into the job's meta."""

    def __init__(self, tracer: Any, job: Any, queue_name: str) -> None:
        self.tracer, self.job, self.queue_name = tracer, job, queue_name

    def __enter__(self) -> None:
        attributes = common_attributes(self.job, self.queue_name)
        attributes["messaging.operation.type"] = "send"
        attributes["messaging.operation.name"] = "enqueue"
        self.span = self.tracer.start_span(
            f"send {self.queue_name}", kind=SpanKind.PRODUCER, attributes=attributes
        )
        # Not made current: enqueue_many stores many jobs at once, and each
        # job's span is its own, a sibling of the others.
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(self.span))
        if carrier:  # nothing to carry when no tracing is set up
            self.job.meta[META_KEY] = carrier

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None:
            self.span.record_exception(exc)
            self.span.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {exc}"))
        self.span.end()


#: The run span of the job running in this process (thread, task), for job_failed.
RUNNING: ContextVar[RunSpan | None] = ContextVar("django_jobqueue_otel_run", default=None)


class RunSpan:
    """The CONSUMER span around one run of a job, a child of its enqueue span."""

    def __init__(self, tracer: Any, job: Any, worker: str) -> None:
        self.tracer, self.job, self.worker = tracer, job, worker
        #: The last line of the failure that job_failed was told of.
        self.failure: str | None = None

    def __enter__(self) -> None:
        job = self.job
        carrier = job.meta.get(META_KEY)
        # No carrier (enqueued untraced, or before tracing was on): the run
        # starts a trace of its own, or joins the span active here.
        parent = propagate.extract(carrier) if isinstance(carrier, dict) else None
        attributes = common_attributes(job, job.origin)
        attributes["messaging.operation.type"] = "process"
        attributes["messaging.operation.name"] = "run"
        attributes["jobqueue.attempt"] = (job.number_of_retries or 0) + 1
        attributes["jobqueue.worker"] = self.worker
        self.span = self.tracer.start_span(
            f"process {job.origin}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        )
        # Current while the job runs: the spans it makes are the run's children.
        self.token = context.attach(trace.set_span_in_context(self.span))
        self.running = RUNNING.set(self)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            RUNNING.reset(self.running)
            context.detach(self.token)
            status = self.job.get_status(refresh=False)
            outcome = OUTCOMES.get(status, str(status))
            self.span.set_attribute("jobqueue.outcome", outcome)
            if exc is not None:  # the worker was interrupted while the job ran
                self.span.record_exception(exc)
                self.span.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {exc}"))
            elif outcome not in NOT_ERRORS:
                self.span.set_status(Status(StatusCode.ERROR, self.failure or outcome))
        finally:
            self.span.end()


TRACING_HOOKS = TracingHooks()
