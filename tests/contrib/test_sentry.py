"""The Sentry integration: one event per failed job, with its facts, from every worker kind."""

from __future__ import annotations

import json

import pytest

sentry_sdk = pytest.importorskip("sentry_sdk")

from sentry_sdk.transport import Transport  # noqa: E402

from django_jobqueue.contrib.sentry import JobQueueIntegration  # noqa: E402
from django_jobqueue.engine import Retry, SimpleWorker, Worker  # noqa: E402
from django_jobqueue.engine.worker.pool import WorkerPool  # noqa: E402
from tests.engine import jobs  # noqa: E402


class FileTransport(Transport):
    """Writes each event as one JSON line: forked work horses write to the same file."""

    def __init__(self, options=None, path=None):
        super().__init__(options)
        self.path = path

    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            with open(self.path, "a") as out:
                out.write(json.dumps(event, default=str) + "\n")


@pytest.fixture
def sentry(tmp_path):
    """``sentry(**integration_options)`` starts Sentry; returns a function that reads the events."""
    path = tmp_path / "events.jsonl"

    def start(**options):
        sentry_sdk.init(
            dsn="https://key@sentry.invalid/1",
            transport=FileTransport(path=str(path)),
            integrations=[JobQueueIntegration(**options)],
            default_integrations=False,
        )
        return lambda: (
            [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        )

    yield start
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def exception_of(event):
    (value,) = event["exception"]["values"]
    return value["type"], value["value"]


@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker, WorkerPool])
def test_a_failed_job_is_one_event_with_its_facts(sentry, queue, make_worker, worker_class):
    events = sentry()
    failed = queue.enqueue(jobs.fail, "no luck")
    queue.enqueue(jobs.add, 1, 2)
    options = {"num_workers": 1} if worker_class is WorkerPool else {}
    make_worker([queue], cls=worker_class, **options).work(burst=True)

    (event,) = events()
    assert exception_of(event) == ("ValueError", "no luck")
    assert event["tags"]["jobqueue.job_id"] == failed.id
    assert event["tags"]["jobqueue.queue"] == "default"
    assert event["tags"]["jobqueue.function"] == "tests.engine.jobs.fail"
    context = event["contexts"]["job"]
    assert context["args"] == ["no luck"]
    assert context["will_retry"] is False


def test_retries_are_not_reported_until_the_last_attempt_fails(sentry, queue, make_worker):
    events = sentry()
    queue.enqueue(jobs.fail, "again", retry=Retry(max=2))
    make_worker([queue]).work(burst=True)
    (event,) = events()  # three attempts, one event
    assert exception_of(event) == ("ValueError", "again")
    assert event["contexts"]["job"]["retries"] == 2


def test_report_retries_reports_every_attempt(sentry, queue, make_worker):
    events = sentry(report_retries=True)
    queue.enqueue(jobs.fail, "again", retry=Retry(max=2))
    make_worker([queue]).work(burst=True)
    assert [e["contexts"]["job"]["will_retry"] for e in events()] == [True, True, False]


def test_a_job_out_of_returned_retries_is_reported_without_an_exception(sentry, queue, make_worker):
    events = sentry()
    job = queue.enqueue(jobs.return_retry)  # asks for one retry each run: the second is refused
    make_worker([queue]).work(burst=True)
    (event,) = events()
    assert "exception" not in event
    assert event["level"] == "error"
    assert event["message"].startswith(f"Job {job.id} (tests.engine.jobs.return_retry): ")


def test_nothing_is_sent_without_the_integration(queue, make_worker, tmp_path):
    path = tmp_path / "events.jsonl"
    sentry_sdk.init(
        dsn="https://key@sentry.invalid/1",
        transport=FileTransport(path=str(path)),
        default_integrations=False,
    )
    try:
        queue.enqueue(jobs.fail)
        make_worker([queue]).work(burst=True)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)
    assert not path.exists() or not path.read_text()


def test_a_job_run_at_enqueue_is_reported_too(sentry, make_queue):
    events = sentry()
    sync = make_queue("default", is_async=False)
    job = sync.enqueue(jobs.fail, "right here")
    assert job.get_status() == "failed"
    (event,) = events()
    assert exception_of(event) == ("ValueError", "right here")
    assert event["tags"]["jobqueue.job_id"] == job.id
