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
from django_jobqueue.engine.keys import keyspace
from django_jobqueue.engine.rate_limit import release_slot, sweep
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


def test_a_delayed_retry_frees_its_slot_and_keeps_its_front_place_while_waiting(
    queue, make_worker, redis_conn
):
    one = RateLimit("one", 1)
    again = queue.enqueue(jobs.fail, rate_limit=one, retry=Retry(1, [600], enqueue_at_front=True))
    nxt = queue.enqueue(jobs.add, 1, 1, rate_limit=one)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert again.is_scheduled and nxt.is_queued
    assert _registry(queue, "one").get_allowed_job_ids() == [nxt.id]
    plain = queue.enqueue(jobs.add, 2, 2)
    redis_conn.zadd(queue.scheduled_job_registry.key, {again.id: 1})  # due now
    queue.scheduled_job_registry.enqueue_due()
    assert again.is_rate_limited
    make_worker([queue]).work(burst=True, max_jobs=1)  # nxt ends, again is let in
    assert queue.get_job_ids() == [again.id, plain.id]


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
    assert canceled.get_status() == JobStatus.CANCELED and not deleted.connection.exists(
        deleted.key
    )


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
    assert failed.requeue().get_status(refresh=False) == JobStatus.RATE_LIMITED


@pytest.mark.parametrize("requeue_at_front", [False, True])
def test_a_job_waiting_after_a_requeue_enters_where_the_requeue_said(
    queue, make_worker, requeue_at_front
):
    one = RateLimit("one", 1)
    failed = queue.enqueue(jobs.fail, rate_limit=one, at_front=True)
    make_worker([queue]).work(burst=True)
    blocking = queue.enqueue(jobs.add, 0, 0, rate_limit=one)
    plain = queue.enqueue(jobs.add, 1, 0)
    assert (
        failed.requeue(at_front=requeue_at_front).get_status(refresh=False)
        == JobStatus.RATE_LIMITED
    )
    assert queue.get_job_ids() == [blocking.id, plain.id]
    make_worker([queue]).work(burst=True, max_jobs=1)  # blocking ends, failed is let in
    expected = [failed.id, plain.id] if requeue_at_front else [plain.id, failed.id]
    assert queue.get_job_ids() == expected


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


# -- the registry's own API (RQ's RateLimitRegistry), for code that fills it by hand --


def _stored(queue, status):
    """A job stored with ``status`` and no rate limit of its own (nothing gates it)."""
    job = queue.enqueue(jobs.add, 1, 2)
    queue.remove(job.id)
    queue.connection.hset(job.key, "status", status)
    return job


def test_register_records_the_concurrency_and_names_the_limit(queue):
    registry = _registry(queue)
    with queue.connection.pipeline() as pipe:
        registry.register(3, pipe)
        assert registry.concurrency == 0  # nothing written before the caller executes
        pipe.execute()
    assert registry.concurrency == 3
    assert queue.connection.sismember(registry.rl_keys_key, "reports")
    assert [
        r.key
        for r in RateLimitRegistry.all(queue.connection, queue=queue.name, prefix=queue.keys.prefix)
    ] == ["reports"]
    with pytest.raises(ValueError):
        registry.register(0)


def test_the_class_names_the_default_queues_set_of_limits(queue):
    assert RateLimitRegistry.rl_keys_key == keyspace(None).rate_limit_keys("default")
    assert _registry(queue).rl_keys_key == queue.keys.rate_limit_keys(queue.name)


def test_add_to_rate_limited_orders_by_timestamp_or_arrival(queue):
    registry = _registry(queue)
    with queue.connection.pipeline() as pipe:
        registry.add_to_rate_limited("b", pipe, timestamp=2)
        registry.add_to_rate_limited("a", pipe, timestamp=1)
        pipe.execute()
    assert registry.get_rate_limited_job_ids() == ["a", "b"]
    assert queue.rate_limited_job_registry.count == 2
    other = _registry(queue, "other")
    other.add_to_rate_limited("x")
    other.add_to_rate_limited("y")
    assert other.get_rate_limited_job_ids() == ["x", "y"]


def test_acquire_and_enqueue_fills_free_slots_oldest_first_passing_over_stale_ids(queue):
    registry = _registry(queue)
    registry.register(2)
    waiting = [_stored(queue, "rate_limited") for _ in range(3)]
    registry.add_to_rate_limited("gone", timestamp=1)
    for rank, job in enumerate(waiting, start=2):
        registry.add_to_rate_limited(job.id, timestamp=rank)
    assert registry.acquire_and_enqueue(concurrency=2) == [waiting[0].id, waiting[1].id]
    assert queue.get_job_ids() == [waiting[0].id, waiting[1].id]
    assert waiting[0].get_status() == JobStatus.QUEUED
    assert registry.get_rate_limited_job_ids() == [waiting[2].id]
    assert registry.acquire_and_enqueue(concurrency=2) == []  # full


def test_release_and_enqueue_frees_the_slot_whatever_the_status(queue):
    registry = _registry(queue)
    registry.register(1)
    running = _stored(queue, "started")
    waiting = _stored(queue, "rate_limited")
    queue.connection.zadd(registry.allowed_key, {running.id: 1})
    registry.add_to_rate_limited(waiting.id)
    assert registry.release_stale_and_enqueue(running.id) == []  # still needs it
    assert registry.get_allowed_job_ids() == [running.id]
    assert registry.release_and_enqueue(running.id) == [waiting.id]
    assert registry.get_allowed_job_ids() == [waiting.id]
    assert registry.release_and_enqueue("nobody") == []


def test_release_stale_and_enqueue_frees_an_ended_jobs_slot(queue):
    registry = _registry(queue)
    registry.register(2)
    ended = _stored(queue, "failed")
    waiting = _stored(queue, "rate_limited")
    queue.connection.zadd(registry.allowed_key, {ended.id: 1, "other": 2})
    registry.add_to_rate_limited(waiting.id)
    assert registry.release_stale_and_enqueue(ended.id) == [waiting.id]
    assert registry.get_allowed_job_ids() == ["other", waiting.id]


def test_canceling_a_waiting_job_admits_nobody_even_into_a_free_slot(queue):
    registry = _registry(queue)
    registry.register(2)
    canceled = _stored(queue, "canceled")
    waiting = _stored(queue, "rate_limited")
    registry.add_to_rate_limited(canceled.id)
    registry.add_to_rate_limited(waiting.id)
    assert registry.cancel(canceled.id) == []
    assert registry.get_rate_limited_job_ids() == [waiting.id]
    assert queue.rate_limited_job_registry.get_job_ids() == [waiting.id]
    assert registry.cancel("nobody") == []


def test_canceling_a_job_holding_a_slot_admits_the_next(queue):
    registry = _registry(queue)
    registry.register(1)
    queue.connection.zadd(registry.allowed_key, {"held": 1})
    waiting = _stored(queue, "rate_limited")
    registry.add_to_rate_limited(waiting.id)
    assert registry.cancel("held") == [waiting.id]
    assert registry.get_allowed_job_ids() == [waiting.id]


def test_cancel_on_a_pipeline_only_takes_the_job_off_the_waiting_set(queue):
    registry = _registry(queue)
    registry.register(1)
    queue.connection.zadd(registry.allowed_key, {"held": 1})
    registry.add_to_rate_limited("w")
    with queue.connection.pipeline() as pipe:
        assert registry.cancel("w", pipe) == []
        assert registry.cancel("held", pipe) == []
        pipe.execute()
    assert queue.connection.zcard(registry.rate_limited_key) == 0
    assert registry.get_allowed_job_ids() == ["held"]  # freed by the next cleanup
    registry.cleanup()
    assert registry.get_allowed_job_ids() == []


@pytest.mark.parametrize(
    "status", ["finished", "failed", "canceled", "stopped", "scheduled", "bogus", None]
)
def test_cleanup_frees_slots_of_jobs_not_queued_or_running(queue, status):
    registry = _registry(queue)
    registry.register(1)
    holder = _stored(queue, "queued")
    if status is None:
        queue.connection.hdel(holder.key, "status")
    else:
        queue.connection.hset(holder.key, "status", status)
    waiting = _stored(queue, "rate_limited")
    queue.connection.zadd(registry.allowed_key, {holder.id: 1})
    registry.add_to_rate_limited(waiting.id)
    assert registry.cleanup() == 1
    assert registry.get_allowed_job_ids() == [waiting.id]
    assert waiting.get_status() == JobStatus.QUEUED


def test_cleanup_keeps_slots_of_queued_and_running_jobs(queue):
    registry = _registry(queue)
    registry.register(2)
    held = [_stored(queue, "queued"), _stored(queue, "started")]
    queue.connection.zadd(registry.allowed_key, {held[0].id: 1, held[1].id: 2})
    assert registry.cleanup() == 0
    assert registry.get_allowed_job_ids() == [held[0].id, held[1].id]


def test_cleanup_drops_waiting_ids_that_no_longer_wait(queue):
    registry = _registry(queue)
    registry.register(1)
    canceled = _stored(queue, "canceled")
    waiting = _stored(queue, "rate_limited")
    registry.add_to_rate_limited("missing", timestamp=1)
    registry.add_to_rate_limited(canceled.id, timestamp=2)
    registry.add_to_rate_limited(waiting.id, timestamp=3)
    registry.cleanup()
    assert registry.get_allowed_job_ids() == [waiting.id]
    assert queue.get_job_ids() == [waiting.id]
    assert queue.rate_limited_job_registry.count == 0
    assert canceled.get_status() == JobStatus.CANCELED


def test_cleanup_forgets_a_limit_left_with_stale_slots_only(queue):
    registry = _registry(queue)
    registry.register(2)
    queue.connection.zadd(registry.allowed_key, {"gone1": 1, "gone2": 2})
    registry.cleanup()
    assert RateLimitRegistry.all(queue.connection, queue=queue.name, prefix=queue.keys.prefix) == []
    assert not queue.connection.exists(registry.config_key)


def test_acquire_and_enqueue_only_fills_free_slots_it_frees_none(queue):
    registry = _registry(queue)
    registry.register(1)
    queue.connection.zadd(registry.allowed_key, {"gone": 1})  # stale: left to cleanup()
    waiting = _stored(queue, "rate_limited")
    registry.add_to_rate_limited(waiting.id)
    assert registry.acquire_and_enqueue(concurrency=1) == []
    assert registry.get_allowed_job_ids() == ["gone"]
    assert registry.cleanup() == 1
    assert registry.get_allowed_job_ids() == [waiting.id]


def test_calls_by_hand_leave_an_empty_limit_for_cleanup_to_forget(queue):
    registry = _registry(queue)
    registry.register(2)
    queue.connection.zadd(registry.allowed_key, {"held": 1})
    assert registry.release_and_enqueue("held") == []
    assert registry.acquire_and_enqueue() == []
    assert registry.concurrency == 2  # still known: the next release admits up to it
    registry.cleanup()
    assert registry.concurrency == 0
    assert RateLimitRegistry.all(queue.connection, queue=queue.name, prefix=queue.keys.prefix) == []


def test_release_slot_keeps_the_slot_of_a_job_whose_status_says_it_needs_it(queue):
    registry = _registry(queue)
    registry.register(1)
    waiting = _stored(queue, "rate_limited")
    registry.add_to_rate_limited(waiting.id)
    job = _stored(queue, "finished")
    job.rate_limit_key = "reports"
    queue.connection.zadd(registry.allowed_key, {job.id: 1})
    for status in (JobStatus.QUEUED, JobStatus.STARTED):
        job.set_status(status)  # what the caller holds, though Redis says finished
        assert release_slot(job) == []
        assert registry.get_allowed_job_ids() == [job.id]
    job.set_status(JobStatus.FINISHED)
    assert release_slot(job) == [waiting.id]
    assert registry.get_allowed_job_ids() == [waiting.id]
