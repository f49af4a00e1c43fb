"""Registries: what lands where, listing, counting, requeueing and cleanup."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    Job,
    JobStatus,
    NoSuchJobError,
    Retry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from . import jobs


def test_registries_are_queue_attributes(queue, key_prefix):
    expected = {
        "started_job_registry": StartedJobRegistry,
        "finished_job_registry": FinishedJobRegistry,
        "failed_job_registry": FailedJobRegistry,
        "deferred_job_registry": DeferredJobRegistry,
        "canceled_job_registry": CanceledJobRegistry,
        "scheduled_job_registry": ScheduledJobRegistry,
    }
    for attr, cls in expected.items():
        registry = getattr(queue, attr)
        assert isinstance(registry, cls)
        assert registry.name == "default"
        assert registry.key.startswith(f"{key_prefix}{{default}}:")
        assert registry.count == 0
        assert len(registry) == 0
        assert registry.get_job_ids() == []
        assert registry == cls(queue=queue) and hash(registry) == hash(cls(queue=queue))
    assert queue.started_job_registry != queue.finished_job_registry
    assert queue.started_job_registry != StartedJobRegistry("other", connection=queue.connection)


def test_expiration_and_scheduled_times_as_rq_names_them(queue, make_worker):
    from datetime import UTC, datetime

    done = queue.enqueue(jobs.add, 1, 1, result_ttl=100)
    make_worker([queue]).work(burst=True)
    expires = queue.finished_job_registry.get_expiration_time(done)
    assert 95 < (expires - datetime.now(UTC)).total_seconds() <= 100
    assert queue.finished_job_registry.get_expiration_time("missing") is None
    later = queue.enqueue_at(datetime(2030, 1, 1, tzinfo=UTC), jobs.add, 1, 1)
    registry = queue.scheduled_job_registry
    assert registry.get_scheduled_time(later) == datetime(2030, 1, 1, tzinfo=UTC)
    assert registry.get_scheduled_time(later.id) == later.get_scheduled_time()
    with pytest.raises(NoSuchJobError, match="not scheduled"):
        registry.get_scheduled_time(done)


def test_registry_made_by_name(redis_conn, key_prefix, queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True)
    registry = FinishedJobRegistry("default", connection=redis_conn, prefix=key_prefix)
    assert registry.get_job_ids() == [job.id]
    assert [j.id for j in registry.get_jobs()] == [job.id]


def test_finished_registry(queue, make_worker):
    done = [queue.enqueue(jobs.add, i, i) for i in range(4)]
    make_worker([queue]).work(burst=True)
    registry = queue.finished_job_registry
    assert len(registry) == 4
    assert registry.count == 4
    assert registry.get_job_ids() == [j.id for j in done]
    assert registry.get_job_ids(start=0, end=1) == [done[0].id, done[1].id]
    assert registry.get_job_ids(start=2, end=-1) == [done[2].id, done[3].id]
    assert registry.get_job_ids(desc=True)[0] == done[3].id
    assert done[0] in registry
    assert done[0].id in registry
    assert "other" not in registry
    assert [j.result for j in registry.get_jobs()] == [0, 2, 4, 6]


def test_failed_registry_and_requeue_by_id(queue, make_worker):
    job = queue.enqueue(jobs.fail_until, 2)
    worker = make_worker([queue])
    worker.work(burst=True)
    registry = queue.failed_job_registry
    assert registry.get_job_ids() == [job.id]
    assert len(registry) == 1
    assert registry.count == 1
    requeued = registry.requeue(job.id)
    assert isinstance(requeued, Job)
    assert requeued.id == job.id
    assert len(registry) == 0
    assert job.is_queued
    make_worker([queue]).work(burst=True)
    assert job.result == 2


def test_failed_registry_requeue_by_job_at_front(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.record_order_and_fail, "failing")
    make_worker([queue]).work(burst=True)
    queue.enqueue(jobs.record_order, "other")
    queue.failed_job_registry.requeue(job, at_front=True)
    assert queue.job_ids[0] == job.id


def test_started_registry_while_running(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    worker = make_worker([queue])
    taken = worker.dequeue()
    assert queue.started_job_registry.get_job_ids() == [job.id]
    assert queue.started_job_registry.count == 1
    assert len(queue) == 0
    worker.execute(taken)
    assert queue.started_job_registry.count == 0
    assert queue.finished_job_registry.get_job_ids() == [job.id]


def test_deferred_registry(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    children = [queue.enqueue(jobs.add, i, i, depends_on=parent) for i in range(3)]
    assert queue.deferred_job_registry.get_job_ids() == [c.id for c in children]
    assert len(queue.deferred_job_registry) == 3
    make_worker([queue]).work(burst=True)
    assert queue.deferred_job_registry.count == 0
    assert len(queue.finished_job_registry) == 4


def test_canceled_registry(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1, failure_ttl=100)
    job.cancel()
    assert queue.canceled_job_registry.get_job_ids() == [job.id]
    assert queue.canceled_job_registry.count == 1
    assert 90 <= redis_conn.ttl(job.key) <= 100


def test_scheduled_registry_and_enqueue_due(queue, make_worker):
    job = queue.enqueue(jobs.fail, retry=Retry(max=1, interval=60))
    make_worker([queue]).work(burst=True)
    registry = queue.scheduled_job_registry
    assert registry.get_job_ids() == [job.id]
    assert registry.count == 1
    assert job.is_scheduled
    assert registry.enqueue_due() == 0  # not due yet
    assert registry.enqueue_due(timestamp=time.time() + 61) == 1
    assert registry.count == 0
    assert job.is_queued
    assert queue.job_ids == [job.id]


def test_enqueue_due_in_batches(queue, make_worker):
    failing = [queue.enqueue(jobs.fail, retry=Retry(max=1, interval=30)) for _ in range(7)]
    make_worker([queue]).work(burst=True)
    assert queue.scheduled_job_registry.count == 7
    assert queue.scheduled_job_registry.enqueue_due(timestamp=time.time() + 31, batch=3) == 7
    assert sorted(queue.job_ids) == sorted(j.id for j in failing)


def test_expired_entries_are_not_listed_and_are_cleaned_up(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1, result_ttl=100)
    make_worker([queue]).work(burst=True)
    registry = queue.finished_job_registry
    assert registry.count == 1
    # As if the entry's time had come: its score is its expiry time.
    redis_conn.zadd(registry.key, {job.id: time.time() - 1})
    assert registry.count == 0
    assert registry.get_job_ids() == []
    assert job.id not in registry
    assert registry.cleanup() == 1
    assert redis_conn.zcard(registry.key) == 0


def test_cleanup_with_timestamp(queue, make_worker, redis_conn):
    short = queue.enqueue(jobs.fail, failure_ttl=50)
    long = queue.enqueue(jobs.fail, failure_ttl=5000)
    make_worker([queue]).work(burst=True)
    registry = queue.failed_job_registry
    assert registry.cleanup(timestamp=time.time() + 100) == 1
    assert registry.get_job_ids() == [long.id]
    assert short.id not in registry


def test_remove_from_registry(queue, make_worker, redis_conn):
    kept = queue.enqueue(jobs.add, 1, 1)
    deleted = queue.enqueue(jobs.add, 2, 2)
    make_worker([queue]).work(burst=True)
    registry = queue.finished_job_registry
    registry.remove(kept)
    registry.remove(deleted.id, delete_job=True)
    assert registry.count == 0
    assert redis_conn.exists(kept.key)
    assert not redis_conn.exists(deleted.key)


def test_started_registry_cleanup_ignores_live_jobs(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    worker = make_worker([queue])
    taken = worker.dequeue()
    # The heartbeat deadline is far away: the job is not abandoned.
    assert queue.started_job_registry.cleanup() == 0
    assert job.is_started
    worker.execute(taken)
    assert job.is_finished


def test_started_registry_cleanup_fails_abandoned_jobs(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    worker = make_worker([queue], worker_ttl=1)
    worker.dequeue()
    # Nobody heart-beats for the job any more; wait until its deadline passed.
    time.sleep(1.1)
    assert queue.started_job_registry.cleanup(timestamp=time.time() + 3600) == 1
    assert job.get_status() == JobStatus.FAILED
    assert job.id in queue.failed_job_registry
    assert queue.started_job_registry.count == 0
    assert "AbandonedJobError" in job.exc_info
    assert worker.name in job.exc_info


def test_started_registry_cleanup_drops_vanished_jobs(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).dequeue()
    redis_conn.delete(job.key)
    redis_conn.zadd(queue.started_job_registry.key, {job.id: time.time() - 1})
    queue.started_job_registry.cleanup()
    assert queue.started_job_registry.count == 0


def test_abandoned_job_with_retries_left_is_retried(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1, retry=Retry(max=1))
    worker = make_worker([queue], worker_ttl=1)
    worker.dequeue()
    time.sleep(1.1)
    assert queue.started_job_registry.cleanup(timestamp=time.time() + 3600) == 1
    assert job.is_queued
    make_worker([queue]).work(burst=True)
    assert job.result == 2


@pytest.mark.parametrize("cls", [StartedJobRegistry, DeferredJobRegistry, ScheduledJobRegistry])
def test_registries_not_expiring_keep_old_scores(cls, redis_conn, key_prefix):
    registry = cls("default", connection=redis_conn, prefix=key_prefix)
    redis_conn.zadd(registry.key, {"old": 1.0})
    assert registry.count == 1
    assert registry.get_job_ids() == ["old"]
    assert "old" in registry


def test_pages_read_a_registry_newest_first_a_slice_at_a_time(queue, make_worker):
    for i in range(5):
        queue.enqueue(jobs.fail, job_id=f"f{i}", failure_ttl=100 + i)
    make_worker([queue]).work(burst=True)
    pages = queue.failed_job_registry.pages()
    assert pages.count == 5
    assert pages.read(0, 2) == ["f4", "f3"] and pages.read(2, 9) == ["f2", "f1", "f0"]
    assert queue.failed_job_registry.pages(desc=False).read(0, 2) == ["f0", "f1"]


def test_runs_at_says_when_scheduled_jobs_are_due(queue):
    due = time.time() + 3600
    job = queue.enqueue_at(due, jobs.add, 1, 2)
    registry = queue.scheduled_job_registry
    assert registry.runs_at([job.id, "other"]) == [pytest.approx(due), None]
    assert registry.runs_at([]) == []


def test_waiting_pages_read_the_queue_newest_first(queue):
    from django_jobqueue.engine.registry import waiting_pages

    queue.enqueue_call(jobs.add, args=(1, 1), job_id="first", priority=5)
    for name in ("a", "b"):
        queue.enqueue(jobs.add, 1, 1, job_id=name)
    queue.enqueue_call(jobs.add, args=(1, 1), job_id="last", priority=-5)
    pages = waiting_pages(queue)
    assert queue.get_job_ids() == ["first", "a", "b", "last"]
    assert pages.count == 4
    assert [pages.read(i, i + 1)[0] for i in range(4)] == ["last", "b", "a", "first"]
    assert pages.read(1, 3) == ["b", "a"] and pages.read(0, 10) == ["last", "b", "a", "first"]


def test_scheduled_registry_schedule_moves_or_schedules(queue, redis_conn):
    from datetime import UTC, datetime, timedelta, timezone

    from django_jobqueue.engine import InvalidJobOperation

    registry = queue.scheduled_job_registry
    scheduled = queue.enqueue_in(3600, jobs.add, 1, 1)
    registry.schedule(scheduled, datetime(2019, 1, 1, 7, tzinfo=timezone(timedelta(hours=7))))
    assert registry.get_scheduled_time(scheduled) == datetime(2019, 1, 1, tzinfo=UTC)
    saved = queue.create_job(jobs.add, [2, 2])
    saved.save()
    with redis_conn.pipeline() as pipe:
        registry.schedule(saved, 1_900_000_000, pipeline=pipe)
        assert saved.get_status() == "created"
        pipe.execute()
    assert saved.get_status() == "scheduled"
    assert registry.get_scheduled_time(saved.id).timestamp() == 1_900_000_000
    naive = datetime(2019, 7, 1)
    registry.schedule(saved, naive)  # a naive datetime is local time, as in RQ
    assert redis_conn.zscore(registry.key, saved.id) == naive.astimezone().timestamp()
    queued = queue.enqueue(jobs.add, 3, 3)
    with pytest.raises(InvalidJobOperation, match="queued"):
        registry.schedule(queued, 1_900_000_000)
    assert queued.id not in registry
    # A due job moves into its queue as any scheduled job does.
    registry.schedule(saved, 1)
    assert registry.enqueue_due() == 2
    assert queue.job_ids == [queued.id, saved.id, scheduled.id]  # soonest first
