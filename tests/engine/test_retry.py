"""Retry: a job function that returns one is retried by its rules, or failed past its max."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import (
    Dependency,
    InvalidJobOperation,
    Job,
    JobStatus,
    Result,
    Retry,
    SimpleWorker,
    Worker,
    hooks,
)
from django_jobqueue.engine.worker.pool import WorkerPool

from . import jobs


def _attempts(redis_conn, key_prefix, job):
    return int(redis_conn.get(jobs.trace_key(key_prefix, f"attempts:{job.id}")))


def _run(kind, queue, make_worker, **kwargs):
    if kind == "pool":
        kwargs.update(processes=1, connection=queue.connection, prefix=queue.keys.prefix)
        return WorkerPool([queue], **kwargs)
    return make_worker([queue], cls=kind, **kwargs)


KINDS = pytest.mark.parametrize(
    "kind", [SimpleWorker, Worker, "pool"], ids=["SimpleWorker", "Worker", "pool"]
)


def test_retry_dumps_and_loads_back():
    retry = Retry(max=3, interval=[1, 2.5], enqueue_at_front=True)
    assert Retry.loads(retry.dumps()) == retry
    assert Retry.loads(None) is None
    assert Retry.loads('{"max": 0, "intervals": [0], "at_front": false}') is None


@KINDS
def test_a_returned_retry_puts_the_job_back_as_retried(kind, queue, make_worker, key_prefix):
    job = queue.enqueue(jobs.return_retry, max=2)
    assert job.number_of_retries is None
    _run(kind, queue, make_worker).work(burst=True, max_jobs=1)
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert queue.get_job_ids() == [job.id]
    result = job.latest_result()
    assert result.type == Result.Type.RETRIED
    assert result.return_value == Retry(max=2)
    assert result.exc_string is None
    job.refresh()
    assert job.exc_info is None and job.return_value() is None
    assert (job.number_of_retries, job.retries_left) == (1, None)


@KINDS
def test_past_its_max_a_returned_retry_fails_the_job(
    kind, queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(
        jobs.return_retry,
        max=2,
        failure_ttl=600,
        on_success=jobs.on_success_callback,
        on_failure=jobs.on_failure_callback,
    )
    handled = f"{key_prefix}trace:handled"  # handlers run where the job ran: write to Redis
    worker = _run(
        kind,
        queue,
        make_worker,
        exception_handlers=[lambda job, *exc: job.connection.rpush(handled, job.id)],
    )
    worker.work(burst=True)
    assert _attempts(redis_conn, key_prefix, job) == 3
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert job.id in queue.failed_job_registry
    assert 0 < redis_conn.ttl(job.key) <= 600
    result = job.latest_result()
    assert result.type == Result.Type.MAX_RETRIES_EXCEEDED == 5
    assert result.exc_string is None
    assert result.return_value == Retry(max=2)
    job.refresh()
    assert job.number_of_retries == 2
    assert worker.failed_job_count == 3
    # As in RQ: not a success, and no exception: no callback, no exception handler.
    assert redis_conn.lrange(f"{key_prefix}trace:callbacks", 0, -1) == []
    assert redis_conn.llen(handled) == 0


def test_returned_retry_waits_its_interval_in_the_scheduled_registry(
    queue, make_worker, redis_conn
):
    job = queue.enqueue(jobs.return_retry, max=3, interval=[30, 60])
    registry = queue.scheduled_job_registry
    for wait in (30, 60):
        make_worker([queue]).work(burst=True)
        assert job.get_status(refresh=True) == JobStatus.SCHEDULED
        assert job.latest_result().type == Result.Type.RETRIED
        assert abs(redis_conn.zscore(registry.key, job.id) - (time.time() + wait)) < 5
        assert registry.enqueue_due(timestamp=time.time() + wait + 1) == 1
    make_worker([queue]).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.SCHEDULED  # the last interval repeats
    assert abs(redis_conn.zscore(registry.key, job.id) - (time.time() + 60)) < 5


def test_returned_retry_at_front_goes_ahead_of_the_queue_with_and_without_a_wait(
    queue, make_worker
):
    job = queue.enqueue(jobs.return_retry, enqueue_at_front=True)
    behind = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert queue.get_job_ids() == [job.id, behind.id]
    queue.empty()
    job = queue.enqueue(jobs.return_retry, interval=10, enqueue_at_front=True)
    behind = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert queue.scheduled_job_registry.enqueue_due(timestamp=time.time() + 11) == 1
    assert queue.get_job_ids() == [job.id, behind.id]


def test_a_raised_retry_at_front_goes_ahead_after_its_wait_too(queue, make_worker):
    job = queue.enqueue(jobs.fail, retry=Retry(max=1, interval=10, enqueue_at_front=True))
    behind = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert queue.scheduled_job_registry.enqueue_due(timestamp=time.time() + 11) == 1
    assert queue.get_job_ids() == [job.id, behind.id]


def test_a_later_success_replaces_the_retried_result(queue, make_worker):
    job = queue.enqueue(jobs.return_retry_until, 3)
    make_worker([queue]).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    result = job.latest_result()
    assert (result.type, result.return_value) == (Result.Type.SUCCESSFUL, 3)
    job.refresh()
    assert job.returned_retry is None and job.number_of_retries == 2


def test_returned_retries_are_counted_apart_from_the_retry_option(
    queue, make_worker, redis_conn, key_prefix
):
    # Raised once (uses the enqueue option's one retry), then returns Retry(max=1)
    # twice: the first is retried, the second is past that max.
    job = queue.enqueue(jobs.raise_then_return_retry, retry=Retry(max=1))
    make_worker([queue]).work(burst=True)
    assert _attempts(redis_conn, key_prefix, job) == 3
    job.refresh()
    assert (job.retries_left, job.returned_retries, job.number_of_retries) == (0, 1, 2)
    assert job.latest_result().type == Result.Type.MAX_RETRIES_EXCEEDED
    assert job.exc_info is None  # the traceback of the raised run was replaced


def test_past_its_max_dependents_are_released_as_for_a_failure(queue, make_worker):
    parent = queue.enqueue(jobs.return_retry, max=1)
    lenient = queue.enqueue(jobs.add, 1, 1, depends_on=Dependency([parent], allow_failure=True))
    strict = queue.enqueue(jobs.add, 1, 1, depends_on=parent)
    make_worker([queue]).work(burst=True)
    assert parent.get_status(refresh=True) == JobStatus.FAILED
    assert lenient.get_status(refresh=True) == JobStatus.FINISHED
    assert strict.get_status(refresh=True) == JobStatus.DEFERRED


def test_the_failed_hook_hears_of_each_returned_retry(queue, make_worker):
    seen = []

    class Watch(hooks.Hooks):
        def job_failed(self, job, exc_info, worker):
            seen.append(exc_info)

    watch = Watch()
    hooks.register(watch)
    try:
        queue.enqueue(jobs.return_retry, max=1)
        make_worker([queue]).work(burst=True)
    finally:
        hooks.unregister(watch)
    assert seen == ["The job returned Retry(max=1, interval=0, enqueue_at_front=False)."] * 2


def test_requeueing_a_job_past_its_max_drops_that_result(queue, make_worker):
    job = queue.enqueue(jobs.return_retry, max=1)
    make_worker([queue]).work(burst=True)
    job.requeue()
    assert job.latest_result() is None
    job.refresh()
    assert job.returned_retries == job.number_of_retries == 1  # kept, like retries_left


def test_inline_in_memory_queue_retries_at_once_then_fails(make_queue):
    job = make_queue(is_async=False, in_memory=True).enqueue(jobs.return_retry_until, 3)
    assert (job.get_status(refresh=False), job.return_value()) == (JobStatus.FINISHED, 3)
    job = make_queue(is_async=False, in_memory=True).enqueue(jobs.return_retry, max=2)
    assert job.get_status(refresh=False) == JobStatus.FAILED
    result = job.latest_result()
    assert (result.type, result.return_value) == (Result.Type.MAX_RETRIES_EXCEEDED, Retry(max=2))
    assert job.number_of_retries == 2


def test_inline_redis_queue_leaves_a_returned_retry_queued_like_a_raised_one(make_queue):
    q = make_queue(is_async=False)
    job = q.enqueue(jobs.return_retry, max=1)
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert job.latest_result().type == Result.Type.RETRIED
    raised = q.enqueue(jobs.fail, retry=Retry(max=1))
    assert raised.get_status(refresh=True) == JobStatus.QUEUED


# -- RQ's names for a raised error's retries -----------------------------------


def test_job_retry_uses_one_retry_now(queue, redis_conn):
    waiting = queue.enqueue(jobs.fail, retry=Retry(max=3, interval=5))
    with redis_conn.pipeline() as pipe:
        assert waiting.retry(queue, pipe) == JobStatus.SCHEDULED
        pipe.execute()
    assert waiting.retries_left == 2 and waiting.get_status() == JobStatus.SCHEDULED
    assert waiting.id in queue.scheduled_job_registry and waiting.id not in queue.job_ids
    waiting.refresh()
    assert waiting.retries_left == 2

    at_once = queue.enqueue(jobs.fail, retry=Retry(max=1, enqueue_at_front=True))
    other = queue.enqueue(jobs.add, 1, 1)
    at_once.retry()  # without a pipeline: at once, to the front of the queue
    assert at_once.get_status() == JobStatus.QUEUED and at_once.retries_left == 0
    assert queue.job_ids == [at_once.id, other.id]
    with pytest.raises(InvalidJobOperation, match="no retries left"):
        at_once.retry(queue)


def test_retry_intervals_are_taken_from_the_end_as_rq_does(redis_conn):
    job = Job.create(jobs.fail, connection=redis_conn)
    job.retries_left = 2
    assert job.get_retry_interval() == 0  # no intervals
    job.retry_intervals = [1, 2]
    assert [job.get_retry_interval() for job.retries_left in (2, 1)] == [1, 2]
    job.retry_intervals = [1, 2, 3]
    assert [job.get_retry_interval() for job.retries_left in (4, 3, 2, 1)] == [1, 1, 2, 3]
    job.retries_left = 0
    assert job.get_retry_interval() == 0


def test_a_worker_waits_the_interval_get_retry_interval_gives(queue, make_worker):
    job = queue.enqueue(jobs.fail, retry=Retry(max=3, interval=[7, 9]))
    assert job.get_retry_interval() == 7
    before = time.time()
    make_worker([queue]).work(burst=True, max_jobs=1)
    due = queue.scheduled_job_registry.get_scheduled_time(job).timestamp()
    assert 7 <= due - before < 9
    job.refresh()
    assert job.retries_left == 2 and job.get_retry_interval() == 7  # then 9 for the last


def test_retry_data_of_a_saved_job_is_kept(redis_conn, key_prefix):
    job = Job.create(jobs.fail, connection=redis_conn, prefix=key_prefix)
    job.retries_left, job.retry_intervals, job.enqueue_at_front_on_retry = 3, [1, 2, 3], True
    job.save()
    job.retries_left, job.retry_intervals, job.enqueue_at_front_on_retry = None, None, False
    job.refresh()
    assert (job.retries_left, job.retry_intervals, job.enqueue_at_front_on_retry) == (
        3,
        [1, 2, 3],
        True,
    )


def test_number_of_retries_can_be_set(queue, make_worker):
    job = queue.enqueue(jobs.fail, retry=Retry(max=2))
    make_worker([queue]).work(burst=True, max_jobs=1)
    job.refresh()
    assert job.number_of_retries == 1  # one raised retry
    job.number_of_retries = 3
    assert (job.number_of_retries, job.returned_retries) == (3, 2)
    job.number_of_retries = None
    assert (job.number_of_retries, job.returned_retries) == (1, 0)  # raised ones stay
