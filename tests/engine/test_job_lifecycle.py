"""job_lifecycle: RQ's pieces for telling and recording a failure outside a worker."""

from __future__ import annotations

import sys
import traceback

import pytest

from django_jobqueue.engine import JobStatus, NoSuchJobError, Worker, defaults
from django_jobqueue.engine.job_lifecycle import (
    call_exception_handlers,
    format_exc_info,
    record_job_failure,
)

from . import jobs


def test_exception_handlers_go_on_unless_one_returns_a_false_value():
    calls = []

    def handler(name, answer):
        def handle(job, *exc_info):
            calls.append((name, job, exc_info))
            return answer

        return handle

    call_exception_handlers([handler("a", None), handler("b", True)], "job", "exc")
    assert calls == [("a", "job", ("exc",)), ("b", "job", ("exc",))]
    calls.clear()
    call_exception_handlers([handler("a", False), handler("b", None)], "job", 1, 2, 3)
    assert calls == [("a", "job", (1, 2, 3))]


def test_format_exc_info_is_the_printed_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    assert format_exc_info(exc_info) == "".join(traceback.format_exception(*exc_info))
    assert "ValueError: boom" in format_exc_info(exc_info)


def test_record_job_failure_fails_a_job_wherever_it_is(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1, failure_ttl=60)
    with redis_conn.pipeline() as pipe:
        record_job_failure(job, "boom traceback", pipe)
        pipe.execute()
    assert job.get_status() == JobStatus.FAILED
    assert queue.job_ids == [] and job.id in queue.failed_job_registry
    assert 0 < redis_conn.ttl(job.key) <= 60
    assert "boom traceback" in job.latest_result().exc_string

    scheduled = queue.enqueue_in(60, jobs.add, 2, 2)
    record_job_failure(scheduled, "late")  # without a pipeline: at once
    assert scheduled.id not in queue.scheduled_job_registry
    assert scheduled.id in queue.failed_job_registry and scheduled.exc_info == "late"
    scheduled.requeue()
    assert scheduled.get_status() == JobStatus.QUEUED

    redis_conn.delete(job.key)
    with pytest.raises(NoSuchJobError):
        record_job_failure(job, "gone")


def test_defaults_has_rqs_names(redis_conn):
    assert defaults.CALLBACK_TIMEOUT == 60
    assert (defaults.DEFAULT_RESULT_TTL, defaults.DEFAULT_FAILURE_TTL) == (500, 365 * 24 * 3600)
    # What a worker does unless told otherwise, under RQ's names.
    worker = Worker(["default"], connection=redis_conn)
    assert worker.stop_poll_interval == defaults.DEFAULT_JOB_MONITORING_INTERVAL
    assert worker.worker_ttl == defaults.DEFAULT_WORKER_TTL


def test_record_job_failure_tells_dependents_as_any_failure_does(queue, redis_conn):
    from django_jobqueue.engine import Dependency

    parent = queue.enqueue(jobs.add, 1, 1, failure_ttl=0)  # deleted as it fails
    lenient = queue.enqueue(jobs.add, 2, 2, depends_on=Dependency(parent, allow_failure=True))
    strict = queue.enqueue(jobs.add, 3, 3, depends_on=parent)
    with redis_conn.pipeline() as pipe, pytest.raises(ValueError, match="without pipeline="):
        record_job_failure(parent, "boom", pipe)
    record_job_failure(parent, "boom")
    assert not redis_conn.exists(parent.key)
    assert lenient.get_status() == JobStatus.QUEUED and strict.get_status() == JobStatus.DEFERRED
