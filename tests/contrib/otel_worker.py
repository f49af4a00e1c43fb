"""A worker process whose spans are written to a file, for the OpenTelemetry tests.

``python -m tests.contrib.otel_worker URL PREFIX WORKER_CLASS`` with the file
named by ``JQ_OTEL_SPANS``: the worker, its forked work-horses, pool children
and spawned work-horses (set up again by :func:`setup_tracing`) all append to
it. The spans go through a BatchSpanProcessor, as in production, so a process
that ended without flushing them would lose them.
"""

from __future__ import annotations

import json
import os
import sys

import redis
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from django_jobqueue.contrib.otel import JobQueueInstrumentor
from django_jobqueue.engine import Queue, SimpleWorker, SpawnWorker, Worker
from django_jobqueue.engine.errors import StopRequested
from django_jobqueue.engine.execution import spawn
from django_jobqueue.engine.worker.pool import WorkerPool

#: The environment variable naming the file spans are appended to.
VARIABLE = "JQ_OTEL_SPANS"


def as_dict(span) -> dict:
    """What the tests look at of a finished span, in JSON."""
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": span.context.trace_id,
        "span_id": span.context.span_id,
        "parent_id": parent.span_id if parent is not None else None,
        "attributes": dict(span.attributes),
        "status": span.status.status_code.name,
        "events": [event.name for event in span.events],
        "exceptions": [
            event.attributes.get("exception.type")
            for event in span.events
            if event.name == "exception"
        ],
        "pid": os.getpid(),
    }


class FileExporter(SpanExporter):
    """Appends each span as one JSON line: every process writes to the same file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans) -> SpanExportResult:
        with open(self.path, "a") as out:
            for span in spans:
                out.write(json.dumps(as_dict(span)) + "\n")
        return SpanExportResult.SUCCESS


def read_spans(path) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path) as spans:
        return [json.loads(line) for line in spans]


def setup_tracing() -> None:
    """Trace to the file named in the environment (also a spawned work-horse's initializer)."""
    provider = TracerProvider()
    # A long delay: only a flush sends the spans of a process that ends early.
    provider.add_span_processor(
        BatchSpanProcessor(FileExporter(os.environ[VARIABLE]), schedule_delay_millis=60_000)
    )
    trace.set_tracer_provider(provider)
    JobQueueInstrumentor().instrument()


def stop_itself():
    """A job that stops the way a stop request stops it."""
    raise StopRequested("asked to stop")


def current_span_id() -> int:
    """A job that says which span is current while it runs (its spans' parent)."""
    return trace.get_current_span().get_span_context().span_id


def main(url: str, prefix: str, worker_class: str) -> int:
    setup_tracing()
    spawn.configure("tests.contrib.otel_worker.setup_tracing")
    connection = redis.Redis.from_url(url)
    queue = Queue("default", connection=connection, prefix=prefix)
    cls = {
        "Worker": Worker,
        "SimpleWorker": SimpleWorker,
        "SpawnWorker": SpawnWorker,
        "WorkerPool": WorkerPool,
    }[worker_class]
    options = {"num_workers": 1} if cls is WorkerPool else {}
    cls([queue], connection=connection, prefix=prefix, **options).work(burst=True)
    trace.get_tracer_provider().shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
