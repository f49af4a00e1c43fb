"""Repeat: a job that runs again after each success (engine/repeat.py)."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import (
    InvalidJobOperation,
    Job,
    JobStatus,
    NoRepeatsLeft,
    Queue,
    Repeat,
    Retry,
    scripts,
)

from . import jobs


def _order(redis_conn, key_prefix):
    return [x.decode() for x in redis_conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)]


def _stored(job):
    return Job.fetch(job.id, job.connection, origin=job.origin, prefix=job.keys.prefix)


def test_repeat_takes_times_and_one_interval_or_a_list():
    assert (Repeat(times=3, interval=5).times, Repeat(times=3, interval=5).intervals) == (3, [5])
    assert Repeat(times=2, interval=[5, 10]).intervals == [5, 10]
    assert Repeat(times=1).intervals == [0]
    for bad in ({"times": 0}, {"times": 1, "interval": -1}, {"times": 1, "interval": [5, -1]}):
        with pytest.raises(ValueError):
            Repeat(**bad)
    with pytest.raises(TypeError):
        Repeat(times=2, interval="5")


def test_get_interval_keeps_the_last_one_for_the_runs_past_the_list():
    assert [Repeat.get_interval(n, [5, 10]) for n in range(4)] == [5, 10, 10, 10]
    with pytest.raises(IndexError):
        Repeat.get_interval(0, [])


def test_repeat_is_stored_with_the_job_by_enqueue_and_enqueue_many(queue):
    one = queue.enqueue(jobs.add, 1, 2, repeat=Repeat(times=3, interval=[5, 10]))
    (many,) = queue.enqueue_many([Queue.prepare_data(jobs.add, (1, 2), repeat=Repeat(2, 7))])
    assert (_stored(one).repeats_left, _stored(one).repeat_intervals) == (3, [5, 10])
    assert (_stored(many).repeats_left, _stored(many).repeat_intervals) == (2, [7])


def test_a_worker_runs_the_job_once_more_per_repeat(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.record_order, "r", repeat=Repeat(times=2))
    make_worker([queue]).work(burst=True)
    assert _order(redis_conn, key_prefix) == ["r", "r", "r"]
    stored = _stored(job)
    assert (stored.get_status(), stored.repeats_left, stored.result) == ("finished", 0, "r")
    assert queue.finished_job_registry.get_job_ids() == [job.id]


def test_after_a_run_the_next_waits_its_interval_in_the_scheduled_registry(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 2, repeat=Repeat(times=3, interval=[60, 120]))
    before = time.time()
    make_worker([queue]).work(burst=True)
    stored = _stored(job)
    assert stored.get_status() == JobStatus.SCHEDULED
    assert (stored.repeats_left, stored.repeat_intervals, stored.result) == (2, [120], 3)
    assert queue.job_ids == [] and queue.finished_job_registry.get_job_ids() == []
    (due,) = queue.scheduled_job_registry.runs_at([job.id])
    assert before + 60 <= due <= time.time() + 60


def test_a_failed_run_is_not_repeated(queue, make_worker):
    job = queue.enqueue(jobs.fail, repeat=Repeat(times=2))
    make_worker([queue]).work(burst=True)
    assert _stored(job).get_status() == JobStatus.FAILED
    assert (queue.job_ids, _stored(job).repeats_left) == ([], 2)


def test_a_retried_run_that_succeeds_goes_on_repeating(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=1), repeat=Repeat(times=1, interval=60))
    make_worker([queue]).work(burst=True)
    assert _stored(job).get_status() == JobStatus.SCHEDULED


def test_schedule_moves_a_waiting_job_never_copies_it(queue):
    job = queue.enqueue(jobs.add, 1, 2, repeat=Repeat(times=2, interval=[0, 30]))
    assert Repeat.schedule(job, queue) is None
    assert queue.job_ids == [job.id] and job.repeats_left == 1
    due = Repeat.schedule(job, queue)
    assert queue.job_ids == [] and queue.scheduled_job_registry.get_job_ids() == [job.id]
    assert due is not None and due.timestamp() == pytest.approx(time.time() + 30, abs=2)
    with pytest.raises(NoRepeatsLeft):
        Repeat.schedule(job, queue)
    assert issubclass(NoRepeatsLeft, ValueError)


@pytest.mark.parametrize("interval", [0, 30])
def test_schedule_stores_a_job_that_is_gone_again_from_the_callers_copy(queue, interval):
    job = queue.enqueue(jobs.add, 1, 2, repeat=Repeat(times=3, interval=[interval, 5]))
    queue.empty()  # deletes the job
    due = Repeat.schedule(job, queue)
    stored = _stored(job)
    assert stored.repeats_left == 2 and stored.repeat_intervals == [5]
    if interval:
        assert due is not None and due.timestamp() == pytest.approx(time.time() + 30, abs=2)
        assert queue.scheduled_job_registry.get_job_ids() == [job.id]
        assert queue.scheduled_job_registry.get_scheduled_time(job.id) == due
        assert queue.job_ids == []
    else:
        assert due is None and queue.job_ids == [job.id]
        assert queue.scheduled_job_registry.get_job_ids() == []
    queue.empty()
    queue.scheduled_job_registry.remove(job.id, delete_job=True)
    job.repeats_left = 0
    with pytest.raises(NoRepeatsLeft):
        Repeat.schedule(job, queue)


def test_schedule_refuses_a_job_waiting_on_its_parents(queue):
    parent = queue.enqueue(jobs.add, 1, 2)
    child = queue.enqueue(jobs.add, 1, 2, depends_on=parent, repeat=Repeat(times=1))
    with pytest.raises(InvalidJobOperation, match="deferred"):
        Repeat.schedule(child, queue)
    assert _stored(child).repeats_left == 1


def test_finish_repeat_leaves_a_job_that_another_worker_owns(queue):
    job = queue.enqueue(jobs.add, 1, 2, repeat=Repeat(times=1))
    queue.connection.hset(job.key, mapping={"status": "started", "worker": "other"})
    reply = scripts.finish_repeat(
        queue.connection, queue.keys, queue.name, job.id, time.time(), 500, b"x", "me"
    )
    assert reply is None
    assert (_stored(job).get_status(), _stored(job).repeats_left) == ("started", 1)


def test_an_in_memory_queue_runs_a_repeating_job_once(make_queue):
    inline = make_queue("inline", is_async=False, in_memory=True)
    job = inline.enqueue(jobs.add, 1, 2, repeat=Repeat(times=2))
    assert (job.get_status(refresh=False), job.result) == (JobStatus.FINISHED, 3)
