"""Workers read back from Redis, RQ's way: all(), count(), find_by_key(), refresh()."""

from __future__ import annotations

from datetime import datetime

import pytest

from django_jobqueue.engine import Job, SimpleWorker, Worker

from . import jobs


class MyJob(Job):
    pass


def test_all_and_count_filter_by_queue(make_queue, make_worker, redis_conn, key_prefix):
    foo, bar = make_queue("foo"), make_queue("bar")
    w1 = make_worker([foo, bar], name="w1")
    w2 = make_worker([foo], name="w2")
    w1.register_birth()
    w2.register_birth()
    assert set(Worker.all(redis_conn, prefix=key_prefix)) == {w1, w2}
    assert set(Worker.all(queue=foo)) == {w1, w2}
    assert Worker.all(queue=bar) == [w1]
    assert Worker.count(queue=bar) == 1
    w1.register_death()
    assert Worker.count(redis_conn, prefix=key_prefix) == 1


def test_find_by_key_reads_the_registration(queue, make_worker, redis_conn, key_prefix):
    worker = make_worker(queue, name="w")
    worker.register_birth()
    worker.set_state("suspended")
    found = Worker.find_by_key(worker.key, redis_conn, prefix=key_prefix)
    assert found == worker and found.queue_names == ["default"]
    assert found.get_state() == "suspended"
    assert found.version == worker.version and found.python_version == worker.python_version
    assert found.birth_date == worker.birth_date and isinstance(found.birth_date, datetime)
    assert Worker.all_keys(redis_conn, key_prefix) == [worker.key]


def test_find_by_key_forgets_a_worker_that_is_gone(queue, make_worker, redis_conn, key_prefix):
    worker = make_worker(queue, name="w")
    worker.register_birth()
    redis_conn.delete(worker.key)
    assert Worker.find_by_key(worker.key, redis_conn, prefix=key_prefix) is None
    assert not redis_conn.sismember(queue.keys.workers, "w")
    with pytest.raises(ValueError):
        Worker.find_by_key("nope", redis_conn, prefix=key_prefix)


def test_counts_and_working_time_are_published(queue, make_worker, redis_conn, key_prefix):
    queue.enqueue(jobs.add, 1, 2)
    queue.enqueue(jobs.fail)
    worker = make_worker(queue, name="w")
    worker.work(burst=True)
    worker.heartbeat()  # work() unregisters at its end; put the last state back
    found = Worker.find_by_key(worker.key, redis_conn, prefix=key_prefix)
    assert (found.successful_job_count, found.failed_job_count) == (1, 1)
    assert 0 < found.total_working_time == pytest.approx(worker.total_working_time)
    assert isinstance(worker.death_date, datetime)


def test_current_job_seen_from_another_process(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2)
    worker = make_worker(queue, name="w", job_class=MyJob)
    assert worker.get_current_job_id() is None and worker.get_current_job() is None
    worker.current_job = job
    worker.heartbeat(fresh=True)
    assert worker.get_current_job() is job
    found = Worker.find_by_key(worker.key, redis_conn, prefix=key_prefix, job_class=MyJob)
    assert found.get_current_job_id() == job.id
    assert isinstance(found.get_current_job(), MyJob) and found.get_current_job() == job
    worker.current_job = None
    worker.heartbeat()
    found.refresh()
    assert found.get_current_job_id() is None


def test_job_class_is_per_worker(queue, make_worker):
    job = queue.enqueue(jobs.current_job_id)
    worker = make_worker(queue, job_class=MyJob)
    assert isinstance(worker.dequeue(), MyJob)
    assert queue.job_class is Job and job.id


def test_default_worker_ttl_is_the_old_name_of_worker_ttl(queue, make_worker):
    assert make_worker(queue, default_worker_ttl=10).worker_ttl == 10
    with pytest.raises(ValueError):
        make_worker(queue, worker_ttl=20, default_worker_ttl=10)


def test_with_scheduler_overrides_the_constructor_for_one_call(queue, make_worker):
    worker = make_worker(queue, scheduler=False)
    seen = []
    worker.on_tick = lambda w: seen.append(w.scheduler)
    queue.enqueue(jobs.add, 1, 2)
    worker.work(burst=True, with_scheduler=True)
    assert seen and seen[0] is not None
    assert worker.scheduler is None  # back as built
    assert SimpleWorker(queue).scheduler is not None


def test_rqs_suspension_functions_and_worker_status(redis_conn, key_prefix, queue, make_worker):
    from django_jobqueue.engine import WorkerStatus, suspension

    worker = make_worker([queue])
    assert not suspension.is_suspended(redis_conn, worker)
    suspension.suspend(redis_conn, prefix=key_prefix)
    assert suspension.is_suspended(redis_conn, worker)
    assert suspension.is_suspended(redis_conn, prefix=key_prefix)
    queue.enqueue(jobs.add, 1, 1)
    worker.work(burst=True)
    assert queue.count == 1  # a suspended worker takes nothing
    suspension.resume(redis_conn, prefix=key_prefix)
    assert not suspension.is_suspended(redis_conn, worker)
    suspension.suspend(redis_conn, ttl=30, prefix=key_prefix)
    assert 0 < redis_conn.ttl(f"{key_prefix}suspended") <= 30
    assert {s.value for s in WorkerStatus} == {"started", "suspended", "busy", "idle"}
