"""Retry policies in real worker processes: which failures are retried, how long
a retry waits, RetryLater, attempt numbers, and rules a worker cannot import.

The policy's own arithmetic and matching are in test_retry_policy.py.
"""

from __future__ import annotations

import json
import time

import pytest

from django_jobqueue.engine import JobStatus, Retry

from . import retry_jobs
from .retry_jobs import FatalError, attempts_key


def _burst(spawn_worker, worker_class="Worker"):
    """Run a burst worker subprocess until the queue is empty; returns its output."""
    proc = spawn_worker("default", worker_class, burst=True)
    out, _ = proc.communicate(timeout=60)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    return text


def _attempts(redis_conn, key_prefix, job) -> list[int]:
    return [int(a) for a in redis_conn.lrange(attempts_key(key_prefix, job.id), 0, -1)]


def _fresh(job):
    """``job`` read anew from Redis (every field, not only its status)."""
    job.refresh()
    return job


WORKERS = pytest.mark.parametrize(
    "worker_class", ["Worker", "SimpleWorker", "SpawnWorker", "WorkerPool"]
)


@WORKERS
def test_retry_on_retries_matching_failures_only(
    worker_class, queue, spawn_worker, redis_conn, key_prefix
):
    policy = Retry(max=2, retry_on=ConnectionError)
    matching = queue.enqueue(retry_jobs.raise_, "TransientError", retry=policy)  # a subclass
    other = queue.enqueue(retry_jobs.raise_, "ValueError", retry=policy)
    _burst(spawn_worker, worker_class)
    assert _attempts(redis_conn, key_prefix, matching) == [1, 2, 3]
    assert _fresh(matching).get_status() == JobStatus.FAILED
    assert (matching.retries_left, matching.attempt) == (0, 3)
    assert _attempts(redis_conn, key_prefix, other) == [1]
    assert _fresh(other).get_status() == JobStatus.FAILED
    assert (other.retries_left, other.attempt) == (2, 1)
    assert "ValueError: boom" in other.exc_info


def test_dont_retry_on_wins_over_retry_on_in_a_worker(queue, spawn_worker, redis_conn, key_prefix):
    policy = Retry(max=2, retry_on=Exception, dont_retry_on=(ValueError,))
    fatal = queue.enqueue(retry_jobs.raise_, "FatalError", retry=policy)
    transient = queue.enqueue(retry_jobs.raise_until, 2, "KeyError", retry=policy)
    _burst(spawn_worker)
    assert _attempts(redis_conn, key_prefix, fatal) == [1]
    assert _fresh(fatal).get_status() == JobStatus.FAILED
    assert f"{FatalError.__module__}.FatalError: boom" in fatal.exc_info
    assert _attempts(redis_conn, key_prefix, transient) == [1, 2]
    assert _fresh(transient).get_status() == JobStatus.FINISHED
    assert transient.return_value() == 2


def test_attempt_numbers_over_several_retries(queue, spawn_worker, redis_conn, key_prefix):
    job = queue.enqueue(retry_jobs.raise_until, 4, retry=Retry(max=5))
    assert job.attempt == 1
    _burst(spawn_worker)
    assert _attempts(redis_conn, key_prefix, job) == [1, 2, 3, 4]
    assert _fresh(job).get_status() == JobStatus.FINISHED
    assert (job.attempt, job.number_of_retries, job.retries_left) == (4, 3, 2)


def test_backoff_makes_each_retry_wait_longer(queue, spawn_worker, redis_conn):
    job = queue.enqueue(
        retry_jobs.raise_, "ConnectionError", retry=Retry(max=3, interval=10, backoff=3)
    )
    registry = queue.scheduled_job_registry
    for wait in (10, 30, 90):
        before = time.time()
        _burst(spawn_worker)
        assert _fresh(job).get_status() == JobStatus.SCHEDULED
        due = redis_conn.zscore(registry.key, job.id)
        assert before + wait <= due <= time.time() + wait
        assert registry.enqueue_due(timestamp=due) == 1
    _burst(spawn_worker)
    assert _fresh(job).get_status() == JobStatus.FAILED


def test_jittered_waits_stay_between_half_and_all_of_the_wait(queue, spawn_worker, redis_conn):
    policy = Retry(max=1, interval=100, jitter=True)
    waiting = [queue.enqueue(retry_jobs.raise_, "ConnectionError", retry=policy) for _ in range(8)]
    before = time.time()
    _burst(spawn_worker)
    after = time.time()
    dues = [redis_conn.zscore(queue.scheduled_job_registry.key, job.id) for job in waiting]
    assert all(before + 50 <= due <= after + 100 for due in dues), dues
    assert len(set(dues)) == len(dues)  # drawn for each job


def test_retry_later_with_a_delay_is_scheduled_for_then(
    queue, spawn_worker, redis_conn, key_prefix
):
    with_policy = queue.enqueue(
        retry_jobs.retry_later, 120, retry=Retry(max=2, interval=5, retry_on=KeyError)
    )
    without = queue.enqueue(retry_jobs.retry_later, 45)
    policy_wait = queue.enqueue(retry_jobs.retry_later, retry=Retry(max=2, interval=7))
    before = time.time()
    _burst(spawn_worker)
    after = time.time()
    registry = queue.scheduled_job_registry
    for job, delay in ((with_policy, 120), (without, 45), (policy_wait, 7)):
        assert _fresh(job).get_status() == JobStatus.SCHEDULED
        assert before + delay <= redis_conn.zscore(registry.key, job.id) <= after + delay
        assert job.get_scheduled_time().timestamp() == pytest.approx(
            redis_conn.zscore(registry.key, job.id), abs=0.001
        )
        assert job.attempt == 2  # the run that comes next
        assert "RetryLater: The job asked to be retried" in job.exc_info
    # With a policy it uses up one of its retries (whatever retry_on says: the job asked)...
    assert (with_policy.retries_left, with_policy.returned_retries) == (1, 0)
    # ... without one it is counted with the retries the job asks for itself.
    assert (without.retries_left, without.returned_retries) == (None, 1)


@WORKERS
def test_retry_later_respects_the_policys_max(
    worker_class, queue, spawn_worker, redis_conn, key_prefix
):
    job = queue.enqueue(retry_jobs.retry_later, retry=Retry(max=2))
    _burst(spawn_worker, worker_class)
    assert _attempts(redis_conn, key_prefix, job) == [1, 2, 3]
    assert _fresh(job).get_status() == JobStatus.FAILED
    assert job.exc_info.startswith(
        "The job raised RetryLater with no retry left (of 2): it failed.\n"
    )


def test_retry_later_without_a_policy_is_retried_three_times_then_fails(
    queue, spawn_worker, redis_conn, key_prefix
):
    gives_up = queue.enqueue(retry_jobs.retry_later)
    succeeds = queue.enqueue(retry_jobs.retry_later_until, 3)
    _burst(spawn_worker)
    assert _attempts(redis_conn, key_prefix, gives_up) == [1, 2, 3, 4]
    assert _fresh(gives_up).get_status() == JobStatus.FAILED
    assert gives_up.exc_info.startswith(
        "The job raised RetryLater after 3 retries, the most it gets without a retry option"
    )
    assert gives_up.id in queue.failed_job_registry
    assert _attempts(redis_conn, key_prefix, succeeds) == [1, 2, 3]
    assert _fresh(succeeds).get_status() == JobStatus.FINISHED
    assert succeeds.return_value() == 3


def test_a_stored_class_the_worker_cannot_import_matches_nothing(
    queue, spawn_worker, redis_conn, key_prefix
):
    still_retried = queue.enqueue(
        retry_jobs.raise_until, 2, "ConnectionError", retry=Retry(max=1, retry_on=OSError)
    )
    not_retried = queue.enqueue(
        retry_jobs.raise_, "ConnectionError", retry=Retry(max=1, retry_on=OSError)
    )
    # As if enqueued by code that has classes this worker lacks.
    redis_conn.hset(
        still_retried.key,
        "retry_rules",
        json.dumps(
            {
                "retry_on": ["no_such_module.Error", "builtins.ConnectionError"],
                "dont_retry_on": ["tests.engine.retry_broken_module.Error"],
            }
        ),
    )
    redis_conn.hset(
        not_retried.key, "retry_rules", json.dumps({"retry_on": ["no_such_module.Error"]})
    )
    out = _burst(spawn_worker)
    assert "'no_such_module.Error', which cannot be imported in this worker" in out
    assert "'tests.engine.retry_broken_module.Error', whose module raised on import" in out
    assert _attempts(redis_conn, key_prefix, still_retried) == [1, 2]
    assert _fresh(still_retried).get_status() == JobStatus.FINISHED
    assert _attempts(redis_conn, key_prefix, not_retried) == [1]
    assert _fresh(not_retried).get_status() == JobStatus.FAILED


def test_a_returned_retry_with_backoff_grows_and_caps_its_waits(
    queue, spawn_worker, redis_conn, key_prefix
):
    job = queue.enqueue(retry_jobs.return_growing_retry)
    registry = queue.scheduled_job_registry
    for wait in (10, 30, 60):  # 90 capped at 60
        before = time.time()
        _burst(spawn_worker)
        assert _fresh(job).get_status() == JobStatus.SCHEDULED
        due = redis_conn.zscore(registry.key, job.id)
        assert before + wait <= due <= time.time() + wait
        assert registry.enqueue_due(timestamp=due) == 1
    _burst(spawn_worker)
    assert _fresh(job).get_status() == JobStatus.FAILED
    assert _attempts(redis_conn, key_prefix, job) == [1, 2, 3, 4]
    assert job.returned_retry == Retry(max=3, interval=10, backoff=3, max_interval=60)


@pytest.mark.parametrize(
    "policy, retried",
    [
        (Retry(max=2, retry_on=Exception), False),
        (Retry(max=2, dont_retry_on=Exception), True),
    ],
    ids=["retry_on", "dont_retry_on"],
)
def test_a_job_whose_worker_died_matches_no_exception_class(queue, redis_conn, policy, retried):
    job = queue.enqueue(retry_jobs.raise_, "ValueError", retry=policy)
    job.prepare_for_execution("a-worker-that-died")
    registry = queue.started_job_registry
    redis_conn.zadd(registry.key, {job.id: time.time() - 1})  # its heartbeat deadline passed
    assert registry.cleanup() == 1
    assert _fresh(job).get_status() == (JobStatus.QUEUED if retried else JobStatus.FAILED)
    assert "AbandonedJobError" in job.exc_info
