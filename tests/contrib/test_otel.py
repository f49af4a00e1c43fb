"""The OpenTelemetry integration: an enqueue span and a run span per job, in one trace."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import NoOpTracerProvider, SpanKind, StatusCode

from django_jobqueue.contrib.otel import META_KEY, JobQueueInstrumentor
from django_jobqueue.engine import Job, Retry, SimpleWorker, hooks
from tests.contrib import otel_worker
from tests.engine import jobs
from tests.engine.conftest import REPO_ROOT


@pytest.fixture
def provider():
    """A tracer provider of the test's own, its finished spans kept in memory, and the
    jobqueue instrumented with it (the global provider is left alone)."""
    provider = TracerProvider()
    provider.memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(provider.memory))
    instrumentor = JobQueueInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    yield provider
    instrumentor.uninstrument()
    provider.shutdown()


def finished(provider, kind=None):
    spans = provider.memory.get_finished_spans()
    return [s for s in spans if kind is None or s.kind == kind]


def request_span(provider):
    """The span a web request would have open while it enqueues."""
    return provider.get_tracer("test").start_as_current_span("GET /order")


def test_enqueue_makes_a_producer_span_whose_context_travels_in_the_job(provider, queue):
    with request_span(provider) as request:
        job = queue.enqueue(jobs.add, 1, 2)

    (send,) = finished(provider, SpanKind.PRODUCER)
    assert send.name == "send default"
    assert send.parent.span_id == request.get_span_context().span_id
    assert send.context.trace_id == request.get_span_context().trace_id
    assert send.attributes["messaging.system"] == "django_jobqueue"
    assert send.attributes["messaging.operation.type"] == "send"
    assert send.attributes["messaging.destination.name"] == "default"
    assert send.attributes["messaging.message.id"] == job.id
    assert send.attributes["jobqueue.queue"] == "default"
    assert send.attributes["jobqueue.job_id"] == job.id
    assert send.attributes["jobqueue.function"] == "tests.engine.jobs.add"
    # Stored with the job: what a worker reads back from Redis carries it.
    carrier = Job.fetch(job.id, queue.connection, prefix=queue.keys.prefix).meta[META_KEY]
    assert carrier["traceparent"].startswith(
        f"00-{send.context.trace_id:032x}-{send.context.span_id:016x}-"
    )


def test_a_run_is_a_consumer_span_child_of_its_enqueue(provider, queue, make_worker):
    with request_span(provider) as request:
        job = queue.enqueue(jobs.add, 1, 2)
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    (send,) = finished(provider, SpanKind.PRODUCER)
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert run.name == "process default"
    assert run.context.trace_id == request.get_span_context().trace_id
    assert run.parent.span_id == send.context.span_id
    assert run.attributes["messaging.system"] == "django_jobqueue"
    assert run.attributes["messaging.operation.type"] == "process"
    assert run.attributes["messaging.destination.name"] == "default"
    assert run.attributes["messaging.message.id"] == job.id
    assert run.attributes["jobqueue.function"] == "tests.engine.jobs.add"
    assert run.attributes["jobqueue.attempt"] == 1
    assert run.attributes["jobqueue.outcome"] == "finished"
    assert run.status.status_code == StatusCode.UNSET
    assert job.get_status() == "finished"


def test_spans_the_job_makes_are_children_of_its_run(provider, queue, make_worker):
    job = queue.enqueue(otel_worker.current_span_id)
    make_worker([queue], cls=SimpleWorker).work(burst=True)
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert job.return_value() == run.context.span_id


def test_a_failed_run_records_its_exception_and_is_an_error(provider, queue, make_worker):
    queue.enqueue(jobs.fail, "no luck")
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    (run,) = finished(provider, SpanKind.CONSUMER)
    assert run.status.status_code == StatusCode.ERROR
    assert run.status.description == "ValueError: no luck"
    assert run.attributes["jobqueue.outcome"] == "failed"
    (event,) = [e for e in run.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "no luck"


def test_a_stopped_run_is_no_error(provider, queue, make_worker):
    job = queue.enqueue(otel_worker.stop_itself)
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    assert job.get_status() == "stopped"
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert run.attributes["jobqueue.outcome"] == "stopped"
    assert run.status.status_code == StatusCode.UNSET


def test_each_attempt_is_a_run_of_the_same_enqueue(provider, queue, make_worker):
    queue.enqueue(jobs.fail, "again", retry=Retry(max=1))
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    (send,) = finished(provider, SpanKind.PRODUCER)
    runs = finished(provider, SpanKind.CONSUMER)
    assert [r.attributes["jobqueue.attempt"] for r in runs] == [1, 2]
    assert [r.attributes["jobqueue.outcome"] for r in runs] == ["retried", "failed"]
    assert [r.status.status_code for r in runs] == [StatusCode.ERROR] * 2
    assert {r.parent.span_id for r in runs} == {send.context.span_id}


def test_a_job_enqueued_with_no_span_active_still_has_both(provider, queue, make_worker):
    queue.enqueue(jobs.add, 1, 2)
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    (send,) = finished(provider, SpanKind.PRODUCER)
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert send.parent is None
    assert run.parent.span_id == send.context.span_id
    assert run.context.trace_id == send.context.trace_id


def test_a_job_enqueued_untraced_gets_a_run_span_of_its_own(provider, queue, make_worker):
    JobQueueInstrumentor().uninstrument()
    job = queue.enqueue(jobs.add, 1, 2)
    assert META_KEY not in job.meta
    JobQueueInstrumentor().instrument(tracer_provider=provider)
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    assert finished(provider, SpanKind.PRODUCER) == []
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert run.parent is None
    assert run.attributes["jobqueue.outcome"] == "finished"


def test_enqueue_many_gives_each_job_its_own_span(provider, queue, make_worker):
    with request_span(provider) as request:
        made = queue.enqueue_many([queue.prepare_data(jobs.add, (i, 1)) for i in range(3)])
    make_worker([queue], cls=SimpleWorker).work(burst=True)

    sends = {s.attributes["jobqueue.job_id"]: s for s in finished(provider, SpanKind.PRODUCER)}
    runs = {s.attributes["jobqueue.job_id"]: s for s in finished(provider, SpanKind.CONSUMER)}
    assert set(sends) == set(runs) == {job.id for job in made}
    for job_id, send in sends.items():
        assert send.parent.span_id == request.get_span_context().span_id  # siblings
        assert runs[job_id].parent.span_id == send.context.span_id


@pytest.mark.parametrize("in_memory", [False, True], ids=["is_async=False", "in_memory"])
def test_a_job_run_at_enqueue_has_both_spans(provider, make_queue, in_memory):
    sync = make_queue("default", is_async=False, in_memory=in_memory)
    with request_span(provider) as request:
        job = sync.enqueue(jobs.fail, "right here")
    assert job.get_status() == "failed"

    (send,) = finished(provider, SpanKind.PRODUCER)
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert send.parent.span_id == request.get_span_context().span_id
    assert run.parent.span_id == send.context.span_id
    assert run.attributes["jobqueue.worker"] == "inline"
    assert run.status.status_code == StatusCode.ERROR


def test_jobqueue_async_false_has_both_spans(provider, settings):
    from django_jobqueue import get_queue

    settings.JOBQUEUE_ASYNC = False
    job = get_queue("default").enqueue(jobs.add, 2, 3)
    assert job.return_value() == 5

    (send,) = finished(provider, SpanKind.PRODUCER)
    (run,) = finished(provider, SpanKind.CONSUMER)
    assert run.parent.span_id == send.context.span_id
    assert run.attributes["jobqueue.outcome"] == "finished"


class BrokenTracerProvider:
    """Hands out a tracer that raises whenever a span is asked for."""

    def get_tracer(self, *args, **kwargs):
        return self

    def start_span(self, *args, **kwargs):
        raise RuntimeError("the tracer is broken")


def test_a_tracer_that_raises_never_breaks_a_job(make_queue, make_worker, caplog):
    instrumentor = JobQueueInstrumentor()
    instrumentor.instrument(tracer_provider=BrokenTracerProvider())
    try:
        queue = make_queue("default")
        job = queue.enqueue(jobs.add, 1, 2)
        make_worker([queue], cls=SimpleWorker).work(burst=True)
        inline = make_queue("default", is_async=False).enqueue(jobs.add, 3, 4)
    finally:
        instrumentor.uninstrument()
    assert job.get_status() == "finished"
    assert job.return_value() == 3
    assert inline.return_value() == 7
    assert "the tracer is broken" in caplog.text


def test_without_an_sdk_nothing_is_added_to_the_job(queue, make_worker):
    instrumentor = JobQueueInstrumentor()
    instrumentor.instrument(tracer_provider=NoOpTracerProvider())
    try:
        job = queue.enqueue(jobs.add, 1, 2)
        make_worker([queue], cls=SimpleWorker).work(burst=True)
    finally:
        instrumentor.uninstrument()
    assert job.get_status() == "finished"
    assert META_KEY not in job.get_meta()


def test_uninstrument_leaves_the_engine_with_nothing_to_call(provider):
    assert hooks.run_wrappers and hooks.enqueue_wrappers and hooks.exit_watchers
    JobQueueInstrumentor().uninstrument()
    assert not (hooks.run_wrappers or hooks.enqueue_wrappers or hooks.exit_watchers)


@pytest.mark.parametrize("worker_class", ["Worker", "SpawnWorker", "WorkerPool", "SimpleWorker"])
def test_a_worker_subprocess_runs_the_job_in_the_enqueuers_trace(
    provider, queue, redis_url, key_prefix, tmp_path, worker_class
):
    """The run span is made (and flushed) in the process that runs the job: a forked
    or spawned work-horse, a pool's child, or the worker itself."""
    with request_span(provider) as request:
        done = queue.enqueue(jobs.add, 1, 2)
        failed = queue.enqueue(jobs.fail, "far away")
    sends = {s.attributes["jobqueue.job_id"]: s for s in finished(provider, SpanKind.PRODUCER)}

    path = tmp_path / "spans.jsonl"
    env = {**os.environ, otel_worker.VARIABLE: str(path)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    worker = subprocess.run(
        [sys.executable, "-m", "tests.contrib.otel_worker", redis_url, key_prefix, worker_class],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert done.get_status() == "finished"

    runs = {s["attributes"]["jobqueue.job_id"]: s for s in otel_worker.read_spans(path)}
    assert set(runs) == {done.id, failed.id}
    for job_id, run in runs.items():
        assert run["kind"] == "CONSUMER"
        assert run["trace_id"] == request.get_span_context().trace_id
        assert run["parent_id"] == sends[job_id].context.span_id
        assert run["pid"] != os.getpid()
    assert runs[done.id]["attributes"]["jobqueue.outcome"] == "finished"
    assert runs[done.id]["status"] == "UNSET"
    assert runs[failed.id]["status"] == "ERROR"
    assert runs[failed.id]["exceptions"] == ["ValueError"]
    if worker_class in ("Worker", "SpawnWorker"):  # a process for each job
        assert runs[done.id]["pid"] != runs[failed.id]["pid"]
