"""Registries: what lands where, listing, counting, requeueing and cleanup."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import (
    AbandonedJobError,
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    InvalidJobOperation,
    Job,
    JobStatus,
    JSONSerializer,
    NoSuchJobError,
    Queue,
    Retry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from django_jobqueue.engine.registry import BaseRegistry, clean_registries
from django_jobqueue.engine.vocabulary import DEFAULT_FAILURE_TTL

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
    # Read without a cleanup: never listed, still stored.
    assert registry.get_job_count(cleanup=False) == 0
    assert registry.get_job_ids(cleanup=False) == []
    assert job.id not in registry
    assert registry.get_expired_job_ids() == [job.id]
    assert registry.cleanup() == 1
    assert redis_conn.zcard(registry.key) == 0
    # count and get_job_ids clean up first, as RQ's do.
    redis_conn.zadd(registry.key, {job.id: time.time() - 1})
    assert registry.count == 0
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
    assert registry.get_job_count(cleanup=False) == 1
    assert registry.get_job_ids(cleanup=False) == ["old"]
    assert "old" in registry


@pytest.mark.parametrize("cls", [DeferredJobRegistry, ScheduledJobRegistry])
def test_cleanup_leaves_waiting_registries_alone(cls, redis_conn, key_prefix):
    registry = cls("default", connection=redis_conn, prefix=key_prefix)
    redis_conn.zadd(registry.key, {"old": 1.0})
    assert registry.count == 1
    assert registry.get_job_ids() == ["old"]
    assert registry.cleanup() == 0


def test_started_registry_count_fails_abandoned_jobs_first(queue, make_worker, redis_conn):
    running = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).dequeue()
    registry = queue.started_job_registry
    redis_conn.zadd(registry.key, {"gone": 1.0})  # an entry whose job vanished
    assert registry.get_job_count(cleanup=False) == 2
    assert registry.get_job_ids(cleanup=False) == ["gone", running.id]
    assert registry.count == 1
    assert registry.get_job_ids() == [running.id]


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


# -- RQ's registry API: add, remove, get_queue, job_class, clean_registries ----


def test_base_registry_is_a_plain_sorted_set_of_the_queue(queue, redis_conn, key_prefix):
    registry = BaseRegistry(queue=queue)
    assert registry.key == f"{key_prefix}{{default}}:registry"
    job = queue.enqueue(jobs.add, 1, 1)
    assert job not in registry
    before = time.time()
    assert registry.add(job, 100) == 1
    assert job in registry and job.id in registry
    assert before + 99 < redis_conn.zscore(registry.key, job.id) < time.time() + 101
    expires = registry.get_expiration_time(job)
    assert 99 < expires.timestamp() - before < 101
    # Only the entry is written: the job is still queued, in its queue.
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    assert registry.add(job, -1) == 0  # an update; -1 keeps it until removed
    assert redis_conn.zscore(registry.key, job.id) == float("inf")
    assert registry.get_expiration_time(job) is None
    # Nothing cleans a plain registry: an expired entry is still listed and counted.
    redis_conn.zadd(registry.key, {"old": 1.0})
    assert registry.count == 2 and len(registry) == 2
    assert registry.get_job_ids() == ["old", job.id]
    assert registry.get_expired_job_ids() == ["old"]
    assert registry.remove("old") == 1
    assert registry.remove(job) == 1
    assert registry.remove(job) == 0
    assert redis_conn.exists(job.key)


def test_add_with_xx_only_updates_an_entry(queue, redis_conn):
    registry = BaseRegistry(queue=queue)
    job = queue.enqueue(jobs.add, 1, 1)
    assert registry.add(job, 10, xx=True) == 0
    assert job not in registry
    registry.add(job, 10)
    registry.add(job, -1, xx=True)
    assert redis_conn.zscore(registry.key, job.id) == float("inf")


def test_add_and_remove_on_a_pipeline(queue, redis_conn):
    registry = queue.finished_job_registry
    job = queue.enqueue(jobs.add, 1, 1)
    with redis_conn.pipeline() as pipe:
        registry.add(job, 100, pipeline=pipe)
        assert job not in registry  # queued, not sent
        pipe.execute()
    assert job in registry
    with redis_conn.pipeline() as pipe:
        registry.remove(job.id, pipeline=pipe)
        assert job in registry
        pipe.execute()
    assert job not in registry
    assert redis_conn.exists(job.key)


def test_remove_with_delete_job_deletes_it(queue, redis_conn):
    registry = queue.failed_job_registry
    by_id, by_job = queue.enqueue(jobs.add, 1, 1), queue.enqueue(jobs.add, 2, 2)
    for job in (by_id, by_job):
        registry.add(job, 100)
    registry.remove(by_id.id, delete_job=True)
    registry.remove(by_job, delete_job=True)
    assert registry.get_job_ids() == []
    assert not redis_conn.exists(by_id.key) and not redis_conn.exists(by_job.key)


def test_add_moves_a_job_to_the_registry(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    registry = queue.finished_job_registry
    registry.add(job, 100)
    assert job.get_status() == JobStatus.FINISHED
    assert queue.job_ids == []  # out of its queue: never in two places
    assert 90 < redis_conn.ttl(job.key) <= 100  # the hash expires with the entry
    queue.deferred_job_registry.add(job)
    assert job.get_status() == JobStatus.DEFERRED
    assert job not in registry
    assert redis_conn.ttl(job.key) > 90  # a waiting registry leaves the expiry alone
    queue.canceled_job_registry.add(job, -1)
    assert job.get_status() == JobStatus.CANCELED
    assert job not in queue.deferred_job_registry
    assert redis_conn.ttl(job.key) == -1  # kept for ever, as the entry


def test_add_takes_a_job_out_of_the_priority_set(queue):
    job = queue.enqueue_call(jobs.add, args=(1, 1), priority=5)
    assert queue.job_ids == [job.id]
    queue.scheduled_job_registry.add(job, 60)
    assert queue.job_ids == []
    assert job.get_status() == JobStatus.SCHEDULED
    due = queue.scheduled_job_registry.get_scheduled_time(job)
    assert 55 < due.timestamp() - time.time() <= 60


def test_deferred_add_scores_now_and_ignores_ttl(queue, redis_conn):
    registry = queue.deferred_job_registry
    job = queue.enqueue(jobs.add, 1, 1)
    registry.add(job, ttl=500)
    assert abs(redis_conn.zscore(registry.key, job.id) - time.time()) < 2
    assert registry.count == 1
    assert registry.cleanup() == 0
    assert registry.count == 1


def test_add_of_an_id_without_a_job_records_the_id(queue, redis_conn):
    registry = queue.deferred_job_registry
    assert registry.add(Job(connection=redis_conn, prefix=queue.keys.prefix)) == 1
    assert registry.count == 1
    assert not redis_conn.keys(f"{queue.keys.job_prefix(queue.name)}*")


def test_failed_add_keeps_the_job_a_year_by_default_and_stores_the_text(queue, redis_conn):
    registry = queue.failed_job_registry
    job = queue.enqueue(jobs.add, 1, 1)
    before = time.time()
    registry.add(job, exc_string="Traceback: it broke")
    score = redis_conn.zscore(registry.key, job.id)
    assert before + DEFAULT_FAILURE_TTL - 2 < score < time.time() + DEFAULT_FAILURE_TTL + 2
    assert DEFAULT_FAILURE_TTL - 2 < redis_conn.ttl(job.key) <= DEFAULT_FAILURE_TTL
    assert job.get_status() == JobStatus.FAILED
    assert job.exc_info == "Traceback: it broke"
    registry.add(job, ttl=5)
    assert 0 < redis_conn.ttl(job.key) <= 5
    # A failed job added this way is requeued as any other.
    registry.requeue(job)
    assert job.is_queued and job not in registry


def test_add_refuses_a_running_job(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).dequeue()
    with pytest.raises(InvalidJobOperation, match="started"):
        queue.failed_job_registry.add(job)
    assert job.get_status() == JobStatus.STARTED
    assert job in queue.started_job_registry and job not in queue.failed_job_registry


def test_started_and_rate_limited_registries_refuse_add_and_remove(queue):
    job = queue.enqueue(jobs.add, 1, 1)
    with pytest.raises(NotImplementedError):
        queue.started_job_registry.add(job)
    with pytest.raises(NotImplementedError):
        queue.started_job_registry.remove(job)
    with pytest.raises(NotImplementedError):
        queue.rate_limited_job_registry.add(job)
    assert queue.job_ids == [job.id]


def test_requeue_refuses_a_job_not_in_the_registry(queue):
    job = queue.enqueue(jobs.add, 1, 1)
    job.cancel()
    with pytest.raises(InvalidJobOperation, match="not in the failed"):
        queue.failed_job_registry.requeue(job)
    assert queue.canceled_job_registry.requeue(job.id).is_queued


def test_registry_takes_rq_arguments(queue, redis_conn, key_prefix):
    class CustomJob(Job):
        pass

    registry = FinishedJobRegistry(
        "other", redis_conn, CustomJob, serializer=JSONSerializer, prefix=key_prefix
    )
    assert registry.job_class is CustomJob
    assert registry.serializer is JSONSerializer
    made = registry.get_queue()
    assert made == Queue("other", connection=redis_conn, prefix=key_prefix)
    assert made.connection is redis_conn and made.job_class is CustomJob
    assert FinishedJobRegistry(queue=queue).get_queue() == queue
    assert FinishedJobRegistry(queue=queue).job_class is queue.job_class


def test_get_jobs_builds_the_registry_job_class(queue, make_worker, redis_conn, key_prefix):
    class CustomJob(Job):
        pass

    queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True)
    registry = FinishedJobRegistry("default", redis_conn, CustomJob, prefix=key_prefix)
    assert [type(j) for j in registry.get_jobs()] == [CustomJob]
    failing = queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    failed = FailedJobRegistry("default", redis_conn, CustomJob, prefix=key_prefix)
    requeued = failed.requeue(failing.id)
    assert type(requeued) is CustomJob and requeued.is_queued


def test_started_cleanup_drops_leftovers_of_jobs_not_running(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True)
    registry = queue.started_job_registry
    redis_conn.zadd(registry.key, {job.id: 1.0})  # a leftover of a finished job
    assert registry.cleanup() == 0
    assert registry.get_job_count(cleanup=False) == 0
    assert job.get_status() == JobStatus.FINISHED
    assert job not in queue.failed_job_registry


def test_started_cleanup_tells_exception_handlers(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue], worker_ttl=1).dequeue()
    seen = []

    def first(job, exc_type, exc, tb):
        seen.append(("first", job.id, exc_type, tb))
        return False  # ends the chain

    def second(*args):
        seen.append(("second",))

    time.sleep(1.1)
    registry = queue.started_job_registry
    assert registry.cleanup(time.time() + 3600, exception_handlers=[first, second]) == 1
    assert seen == [("first", job.id, AbandonedJobError, None)]
    assert job.get_status() == JobStatus.FAILED


def test_clean_registries_cleans_a_queue(queue, make_worker, redis_conn):
    for registry in (
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.canceled_job_registry,
        queue.started_job_registry,
    ):
        redis_conn.zadd(registry.key, {"old": 1.0})
    kept = queue.enqueue(jobs.add, 1, 1)
    queue.deferred_job_registry.add(kept)
    clean_registries(queue)
    for registry in (
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.canceled_job_registry,
        queue.started_job_registry,
    ):
        assert redis_conn.zcard(registry.key) == 0
    assert queue.deferred_job_registry.get_job_ids() == [kept.id]


def test_scheduled_registry_schedule_and_due_ids(queue, redis_conn):
    from datetime import UTC, datetime, timedelta, timezone

    registry = queue.scheduled_job_registry
    job = queue.enqueue(jobs.add, 1, 1)
    registry.schedule(job, datetime(2019, 1, 1, 7, tzinfo=timezone(timedelta(hours=7))))
    assert redis_conn.zscore(registry.key, job.id) == 1546300800  # 2019-01-01 00:00 UTC
    assert job.get_status() == JobStatus.SCHEDULED and queue.job_ids == []
    naive = datetime(2030, 7, 1, 12)
    registry.schedule(job, naive)
    assert registry.get_scheduled_time(job) == naive.astimezone().astimezone(UTC)
    redis_conn.zadd(registry.key, {f"due-{i}": 1 + i for i in range(4)})
    assert registry.get_jobs_to_enqueue() == ["due-0", "due-1", "due-2", "due-3"]
    assert registry.get_jobs_to_enqueue(2.5) == ["due-0", "due-1"]
    assert registry.get_jobs_to_schedule(chunk_size=3) == ["due-0", "due-1", "due-2"]
    assert registry.get_jobs_to_schedule(timestamp=1.5) == ["due-0"]


def test_started_cleanup_runs_the_failure_callback_of_abandoned_jobs(
    queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(jobs.add, 1, 1, on_failure=jobs.on_failure_callback)
    make_worker([queue], worker_ttl=1).dequeue()
    time.sleep(1.1)
    assert queue.started_job_registry.cleanup(time.time() + 3600) == 1
    assert job.get_status() == JobStatus.FAILED
    traced = redis_conn.lrange(jobs.trace_key(key_prefix, "callbacks"), 0, -1)
    assert len(traced) == 1
    assert traced[0].decode().startswith(f"failure:{job.id}:AbandonedJobError:")


def test_a_raising_failure_callback_does_not_stop_the_cleanup(queue, make_worker):
    first = queue.enqueue(jobs.add, 1, 1, on_failure=jobs.fail)
    second = queue.enqueue(jobs.add, 2, 2)
    worker = make_worker([queue], worker_ttl=1)
    worker.dequeue()
    worker.dequeue()
    time.sleep(1.1)
    assert queue.started_job_registry.cleanup(time.time() + 3600) == 2
    assert first.get_status() == JobStatus.FAILED and second.get_status() == JobStatus.FAILED
    assert queue.failed_job_registry.get_job_ids() == [first.id, second.id]


def test_registry_api_on_a_redis_cluster(cluster_conn, key_prefix):
    queue = Queue("low", cluster_conn, prefix=key_prefix)
    job = queue.enqueue(jobs.add, 1, 1)
    queue.failed_job_registry.add(job, 100, exc_string="broke")
    assert job.get_status() == JobStatus.FAILED and queue.job_ids == []
    plain = BaseRegistry(queue=queue)
    plain.add(job, -1)
    assert job in plain and plain.count == 1
    plain.remove(job, delete_job=True)
    assert not cluster_conn.exists(job.key)
    cluster_conn.zadd(queue.started_job_registry.key, {"gone": 1.0})
    clean_registries(queue)
    assert queue.started_job_registry.get_job_count(cleanup=False) == 0


def test_scheduled_registry_schedule_moves_or_schedules(queue, redis_conn):
    from datetime import UTC, datetime, timedelta, timezone

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
    registry.schedule(queued, 1_900_000_000)  # moved out of its queue: never in two places
    assert queued.id in registry and queue.job_ids == []
    # A due job moves into its queue as any scheduled job does.
    registry.schedule(saved, 1)
    registry.schedule(queued, 2)
    assert registry.enqueue_due() == 3
    assert queue.job_ids == [saved.id, queued.id, scheduled.id]  # soonest first


def test_a_job_knows_the_registries_of_its_queue(queue, make_worker):
    failing = queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    assert failing.failed_job_registry == queue.failed_job_registry
    assert failing in failing.failed_job_registry
    assert failing.started_job_registry == queue.started_job_registry
    for name in ("finished", "deferred", "scheduled", "canceled"):
        assert getattr(failing, f"{name}_job_registry") == getattr(queue, f"{name}_job_registry")
    assert failing.failed_job_registry.job_class is type(failing)
