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


# -- results recorded through Result.create (RQ's worker API) ------------------------------


def test_recorded_results_are_kept_newest_first(queue, redis_conn):
    from datetime import UTC, datetime, timedelta

    job = queue.enqueue(jobs.add, 1, 2)
    assert job.latest_result() is None and Result.count(job) == 0
    started = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = Result.create_failure(job, ttl=10, exc_string="Traceback: boom", worker_name="w")
    second = Result.create(
        job,
        Result.Type.SUCCESSFUL,
        ttl=10,
        return_value={"n": 1},
        worker_name="w",
        execution_id="exec-1",
        execution_started_at=started,
        execution_ended_at=started + timedelta(seconds=1),
    )
    assert job.results() == [second, first] == Result.all(job)
    assert Result.count(job) == 2
    latest = Result.fetch_latest(job)
    assert latest == second and latest.return_value == {"n": 1}
    assert (latest.worker_name, latest.execution_id) == ("w", "exec-1")
    assert latest.execution_started_at == started
    assert latest.execution_ended_at == started + timedelta(seconds=1)
    older = job.results()[1]
    assert (older.type, older.exc_string, older.execution_id) == (
        Result.Type.FAILED,
        "Traceback: boom",
        None,
    )
    assert job.return_value() == {"n": 1}
    # The stream lies beside the job, in its queue's slot, for the ttl given.
    key = Result.get_key(job)
    assert key == Result.get_key(job.id, queue=queue.name, prefix=queue.keys.prefix)
    assert key.startswith(queue.keys.tag(queue.name))
    assert 5 < redis_conn.ttl(key) <= 10


def test_recorded_retries_keep_the_retry(queue):
    job = queue.enqueue(jobs.add, 1, 2)
    Result.create_retried(job, ttl=10, return_value=Retry(max=2, interval=[1, 2]), worker_name="w")
    retried = job.latest_result()
    assert retried.type == Result.Type.RETRIED
    assert (retried.return_value.max, retried.return_value.intervals) == (2, [1, 2])
    Result.create_max_retries_exceeded(job, ttl=10, return_value=Retry(max=2), worker_name="w")
    assert job.latest_result().type == Result.Type.MAX_RETRIES_EXCEEDED
    assert job.return_value() is None  # the latest run did not succeed


def test_result_ttl_of_recorded_results(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2)
    Result.create(job, Result.Type.SUCCESSFUL, ttl=-1, return_value=1)
    assert redis_conn.ttl(Result.get_key(job)) == -1  # kept for ever
    assert job.return_value() == 1
    Result.create(job, Result.Type.SUCCESSFUL, ttl=0, return_value=2)  # 0: none kept
    assert job.return_value(refresh=True) is None
    assert Result.count(job) == 0


def test_a_value_the_serializer_cannot_take_is_recorded_as_such(queue):
    from django_jobqueue.engine.defaults import UNSERIALIZABLE_RETURN_VALUE_PAYLOAD

    job = queue.enqueue(jobs.add, 1, 2)
    Result.create(job, Result.Type.SUCCESSFUL, ttl=10, return_value=threading.Lock())
    assert job.return_value() == UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
    assert Result.count(job) == 1


def test_recorded_results_merge_with_the_outcome_and_go_with_the_job(
    queue, make_worker, redis_conn
):
    job = queue.enqueue(jobs.add, 1, 2)
    recorded = Result.create_failure(job, ttl=-1, exc_string="earlier attempt")
    make_worker([queue]).work(burst=True)
    outcome, earlier = job.results()
    assert (outcome.type, outcome.return_value) == (Result.Type.SUCCESSFUL, 3)
    assert earlier == recorded
    Result.delete_all(job)  # the recorded ones; the outcome is the job's own
    assert job.results() == [outcome]
    Result.create_failure(job, ttl=-1, exc_string="again")
    job.delete()
    assert not redis_conn.exists(Result.get_key(job))


def test_emptying_a_queue_deletes_recorded_results(make_queue, redis_conn):
    queue, other = make_queue("q"), make_queue("other")
    job, kept = queue.enqueue(jobs.add, 1, 2), other.enqueue(jobs.add, 1, 2)
    for j in (job, kept):
        Result.create_failure(j, ttl=-1, exc_string="boom")
    assert queue.empty() == 1
    assert not redis_conn.exists(Result.get_key(job))
    assert Result.count(kept) == 1


def test_fetch_latest_waits_for_a_recorded_result(queue):
    job = queue.enqueue(jobs.add, 1, 2)
    timer = threading.Timer(
        0.2, lambda: Result.create(job, Result.Type.SUCCESSFUL, ttl=10, return_value=7)
    )
    timer.start()
    try:
        assert Result.fetch_latest(job, timeout=5).return_value == 7
    finally:
        timer.join()
