"""Result: each way a run ends, read back as RQ's Result objects."""

from __future__ import annotations

import threading
import time

from django_jobqueue.engine import Job, Result, Retry

from . import jobs


def test_successful_result(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 2)
    assert job.latest_result() is None
    assert job.results() == []
    make_worker([queue]).work(burst=True)
    result = job.latest_result()
    assert result.type == Result.Type.SUCCESSFUL
    assert result.return_value == 3
    assert result.exc_string is None
    job.refresh()
    assert result.created_at == job.ended_at
    assert job.results() == [result] == Result.all(job)
    assert Result.fetch_latest(job) == result


def test_failed_result(queue, make_worker):
    job = queue.enqueue(jobs.fail, "bad")
    make_worker([queue]).work(burst=True)
    result = job.latest_result()
    assert result.type == Result.Type.FAILED
    assert "bad" in result.exc_string
    assert result.return_value is None


def test_retried_result_then_failed(queue, make_worker):
    job = queue.enqueue(jobs.fail, "bad", retry=Retry(max=1, interval=3600))
    make_worker([queue]).work(burst=True)
    assert job.latest_result().type == Result.Type.RETRIED


def test_result_of_a_job_gone_is_none(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 2, result_ttl=0)
    make_worker([queue]).work(burst=True)
    assert job.latest_result() is None


def test_latest_result_waits_for_the_run_to_end(queue, make_worker):
    job = queue.enqueue(jobs.add, 2, 3)
    worker = make_worker([queue])
    timer = threading.Timer(0.3, lambda: worker.work(burst=True))
    timer.start()
    try:
        started = time.monotonic()
        result = job.latest_result(timeout=10)
        assert result.return_value == 5
        assert time.monotonic() - started < 5
    finally:
        timer.join()


def test_latest_result_gives_up_after_timeout(queue):
    job = queue.enqueue(jobs.add, 2, 3)
    started = time.monotonic()
    assert job.latest_result(timeout=0.2) is None
    assert 0.2 <= time.monotonic() - started < 2


def test_result_of_an_inline_job(make_queue):
    job = make_queue(is_async=False, in_memory=True).enqueue(jobs.add, 1, 1)
    assert isinstance(job, Job)
    assert job.latest_result().return_value == 2
