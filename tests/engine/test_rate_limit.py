"""Concurrency rate limits: RateLimit, the rate_limit= option and RateLimitRegistry."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import (
    EnqueueError,
    Job,
    JobStatus,
    RateLimit,
    RateLimitRegistry,
    Retry,
    scripts,
)
from django_jobqueue.engine.dependencies import Dependency
from django_jobqueue.engine.rate_limit import sweep
from django_jobqueue.engine.stats import queue_stats

from . import jobs

LIMIT = RateLimit("reports", concurrency=2)


def _registry(queue, key="reports"):
    return RateLimitRegistry(key, queue.connection, queue=queue.name, prefix=queue.keys.prefix)


def _statuses(*made):
    return [job.get_status() for job in made]


@pytest.mark.parametrize("key, concurrency", [("", 1), ("a{b}", 1), ("k", 0), ("k", True)])
def test_a_bad_rate_limit_is_refused(key, concurrency):
    with pytest.raises(ValueError):
        RateLimit(key, concurrency)


def test_jobs_over_the_limit_wait_out_of_the_queue(queue):
    made = [queue.enqueue(jobs.add, i, 0, rate_limit=LIMIT) for i in range(3)]
    assert _statuses(*made) == [JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.RATE_LIMITED]
    assert queue.get_job_ids() == [made[0].id, made[1].id]
    assert queue.rate_limited_job_registry.get_job_ids() == [made[2].id]
    assert _registry(queue).get_rate_limited_job_ids() == [made[2].id]
    assert queue_stats([queue])[0]["rate_limited"] == 1


def test_a_worker_runs_them_all_and_the_limit_is_forgotten(queue, make_worker):
    made = [queue.enqueue(jobs.add, i, 0, rate_limit=LIMIT) for i in range(5)]
    make_worker([queue]).work(burst=True)
    assert [job.result for job in made] == [0, 1, 2, 3, 4]
    assert RateLimitRegistry.all(queue.connection, queue=queue.name, prefix=queue.keys.prefix) == []
    assert queue.rate_limited_job_registry.count == 0


def test_never_more_than_concurrency_queued_or_running(queue, make_worker):
    made = [queue.enqueue(jobs.add, i, 0, rate_limit=LIMIT) for i in range(6)]
    worker = make_worker([queue])
    seen = []
    while worker.work(burst=True, max_jobs=1):
        seen.append(_registry(queue).get_allowed_job_count())
        waiting = queue.rate_limited_job_registry.count
        assert queue.count + waiting + sum(j.is_finished for j in made) == 6
    assert max(seen) <= 2 and all(job.is_finished for job in made)


def test_waiting_jobs_are_let_in_oldest_first_at_front_honoured(queue, make_worker):
    one = RateLimit("one", 1)
    first = queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    waiting = [queue.enqueue(jobs.add, i, 0, rate_limit=one) for i in (1, 2)]
    front = queue.enqueue(jobs.add, 3, 0, rate_limit=one, at_front=True)
    plain = queue.enqueue(jobs.add, 4, 0)
    make_worker([queue]).work(burst=True, max_jobs=1)  # first ends, frees its slot
    assert first.is_finished and waiting[0].is_queued
    assert queue.get_job_ids() == [plain.id, waiting[0].id]
    assert _registry(queue, "one").get_rate_limited_job_ids() == [waiting[1].id, front.id]
    make_worker([queue]).work(burst=True)
    assert all(job.is_finished for job in [*waiting, front, plain])


def test_a_failure_frees_the_slot(queue, make_worker):
    one = RateLimit("one", 1)
    failing = queue.enqueue(jobs.fail, rate_limit=one)
    nxt = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert failing.is_failed and nxt.is_queued
    assert _registry(queue, "one").get_allowed_job_ids() == [nxt.id]


def test_an_immediate_retry_keeps_its_slot_a_scheduled_one_frees_it(queue, make_worker):
    one = RateLimit("one", 1)
    again = queue.enqueue(jobs.fail, rate_limit=one, retry=Retry(max=1))
    nxt = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert again.is_queued and nxt.is_rate_limited
    assert _registry(queue, "one").get_allowed_job_ids() == [again.id]
    later = queue.enqueue(jobs.fail, rate_limit=RateLimit("two", 1), retry=Retry(1, [600]))
    other = queue.enqueue(jobs.add, 2, 2, rate_limit=RateLimit("two", 1))
    queue.remove(again.id)  # leave only the "two" jobs to the worker
    queue.remove(nxt.id)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert later.is_scheduled and other.is_queued


def test_a_due_scheduled_job_goes_through_the_limit(queue):
    one = RateLimit("one", 1)
    holder = queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    due = queue.enqueue_at(time.time() + 0.2, jobs.add, 1, 1, rate_limit=one)
    time.sleep(0.3)
    queue.scheduled_job_registry.enqueue_due()
    assert due.is_rate_limited and queue.get_job_ids() == [holder.id]


def test_a_released_child_goes_through_the_limit(queue, make_worker):
    one = RateLimit("one", 1)
    parent = queue.enqueue(jobs.add, 0, 0)
    holder = queue.enqueue(jobs.add, 0, 0, rate_limit=one, at_front=True)
    child = queue.enqueue(jobs.add, 1, 1, rate_limit=one, depends_on=Dependency([parent]))
    assert child.get_status() == JobStatus.DEFERRED
    make_worker([queue]).work(burst=True, max_jobs=1)  # runs holder (front)
    assert holder.is_finished and parent.is_queued
    queue.enqueue(jobs.add, 0, 0, rate_limit=one)  # takes the free slot
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert parent.is_finished and child.is_rate_limited


def test_canceling_or_deleting_frees_the_slot_and_a_waiting_job_is_passed_over(queue):
    one = RateLimit("one", 1)
    held, canceled, deleted, last = (
        queue.enqueue(jobs.add, i, 0, rate_limit=one) for i in range(4)
    )
    canceled.cancel()
    assert canceled.get_status() == JobStatus.CANCELED
    Job.fetch(deleted.id, queue.connection, origin=queue.name, prefix=queue.keys.prefix).delete()
    assert queue.rate_limited_job_registry.get_job_ids() == [last.id]
    held.cancel()
    assert last.is_queued and queue.get_job_ids() == [last.id]
    assert canceled.get_status() == JobStatus.CANCELED and deleted.get_status() is None


def test_the_sweep_frees_a_slot_an_ended_job_kept(queue, redis_conn):
    one = RateLimit("one", 1)
    held = queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    waiting = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    # As if the process that recorded held's end died before freeing its slot.
    queue.remove(held.id)
    redis_conn.hset(held.key, "status", "finished")
    assert sweep(queue.connection, queue.name, queue.keys.prefix) == 1
    assert waiting.is_queued and _registry(queue, "one").get_allowed_job_ids() == [waiting.id]


def test_an_abandoned_job_frees_its_slot(queue, make_worker):
    one = RateLimit("one", 1)
    held = queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    waiting = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    make_worker([queue], worker_ttl=1).dequeue()
    time.sleep(1.1)
    assert queue.started_job_registry.cleanup(timestamp=time.time() + 3600) == 1
    assert held.is_failed and waiting.is_queued


def test_requeue_waits_for_a_slot(queue, make_worker):
    one = RateLimit("one", 1)
    failed = queue.enqueue(jobs.fail, rate_limit=one)
    make_worker([queue]).work(burst=True)
    queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    assert failed.requeue() == JobStatus.RATE_LIMITED


def test_enqueue_many_respects_the_limit(queue):
    made = queue.enqueue_many(
        [queue.prepare_data(jobs.add, (i, 0), rate_limit=RateLimit("one", 1)) for i in range(3)]
    )
    assert _statuses(*made) == [JobStatus.QUEUED] + [JobStatus.RATE_LIMITED] * 2


def test_what_cannot_hold_a_job_back_is_refused(make_queue, redis_conn):
    with pytest.raises(EnqueueError, match="is_async=False"):
        make_queue("sync", is_async=False).enqueue(jobs.add, 1, 1, rate_limit=LIMIT)
    queue = make_queue()
    with redis_conn.pipeline() as pipe:
        with pytest.raises(EnqueueError, match="pipeline"):
            queue.enqueue_call(jobs.add, (1, 1), rate_limit=LIMIT, pipeline=pipe)
    with pytest.raises(ValueError, match="unique=True is not supported for rate-limited jobs"):
        queue.enqueue(jobs.add, 1, 1, rate_limit=LIMIT, job_id="u", unique=True)
    with pytest.raises(TypeError):
        queue.enqueue(jobs.add, 1, 1, rate_limit=("k", 1))


def test_a_limit_is_per_queue_and_its_keys_in_the_queue_slot(make_queue):
    low, high = make_queue("low"), make_queue("high")
    one = RateLimit("one", 1)
    assert [low.enqueue(jobs.add, 0, 0, rate_limit=one).get_status() for _ in "ab"] == [
        JobStatus.QUEUED,
        JobStatus.RATE_LIMITED,
    ]
    assert high.enqueue(jobs.add, 0, 0, rate_limit=one).is_queued
    registry = _registry(low, "one")
    for key in (registry.config_key, registry.allowed_key, registry.rate_limited_key):
        assert key.startswith(low.keys.tag("low") + ":")


def test_the_release_script_changes_nothing_when_the_queue_key_is_broken(queue, redis_conn):
    one = RateLimit("one", 1)
    queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    waiting = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    redis_conn.delete(queue.key)
    redis_conn.set(queue.key, "not a list")
    with pytest.raises(Exception, match="WRONGTYPE"):
        scripts.rate_limit_release(redis_conn, queue.keys, queue.name, "one", "", time.time())
    assert waiting.is_rate_limited


@pytest.mark.parametrize("func, option", [(jobs.add, "result_ttl"), (jobs.fail, "failure_ttl")])
def test_a_job_deleted_as_it_ends_frees_its_slot(queue, make_worker, redis_conn, func, option):
    one = RateLimit("one", 1)
    gone = queue.enqueue(func, 1, 1, rate_limit=one, **{option: 0})
    waiting = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert not redis_conn.exists(gone.key)
    assert waiting.is_queued and _registry(queue, "one").get_allowed_job_ids() == [waiting.id]
