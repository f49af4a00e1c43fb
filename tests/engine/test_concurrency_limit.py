"""Concurrency limits per key: ``concurrency_key=`` / ``concurrency_limit=``.

They are another spelling of ``rate_limit=RateLimit(key, concurrency)`` (see
engine/rate_limit.py); the rate-limit tests cover the machinery script by
script. These check the promises docs/limits.rst makes for the spelling, with
real worker subprocesses where the promise is about processes.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from redis.crc import key_slot

from django_jobqueue.engine import (
    EnqueueError,
    EnqueueOptions,
    JobStatus,
    RateLimit,
    RateLimitRegistry,
    Retry,
    job,
    outcome,
    stop_job,
)

from . import jobs
from .conftest import wait_until

TENANT = {"concurrency_key": "tenant:7", "concurrency_limit": 2}
ONE = {"concurrency_key": "one", "concurrency_limit": 1}


def _limit(queue, key):
    return RateLimitRegistry(key, queue.connection, queue=queue.name, prefix=queue.keys.prefix)


def _trace(queue, name):
    return [
        x.decode() for x in queue.connection.lrange(jobs.trace_key(queue.keys.prefix, name), 0, -1)
    ]


def _all_done(made):
    return all(j.get_status() in (JobStatus.FINISHED, JobStatus.FAILED) for j in made)


# -- the options --------------------------------------------------------------


def test_the_options_spell_a_rate_limit(queue):
    made = queue.enqueue(jobs.add, 1, 2, **TENANT)
    assert (made.rate_limit_key, made.rate_limit_concurrency) == ("tenant:7", 2)
    assert EnqueueOptions.of(**TENANT).rate_limit == RateLimit("tenant:7", 2)
    # The same slots whichever way a job names the limit.
    other = queue.enqueue(jobs.add, 1, 2, rate_limit=RateLimit("tenant:7", 2))
    third = queue.enqueue(jobs.add, 1, 2, **TENANT)
    assert [made.get_status(), other.get_status(), third.get_status()] == [
        JobStatus.QUEUED,
        JobStatus.QUEUED,
        JobStatus.RATE_LIMITED,
    ]
    assert _limit(queue, "tenant:7").get_allowed_job_ids() == [made.id, other.id]


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"concurrency_key": "k", "concurrency_limit": 0}, ValueError, "at least 1"),
        ({"concurrency_key": "k", "concurrency_limit": -3}, ValueError, "at least 1"),
        ({"concurrency_key": "k", "concurrency_limit": True}, ValueError, "at least 1"),
        ({"concurrency_key": "k", "concurrency_limit": "2"}, ValueError, "at least 1"),
        ({"concurrency_key": "k"}, ValueError, "needs a concurrency_limit"),
        ({"concurrency_limit": 2}, ValueError, "needs a concurrency_key"),
        ({"concurrency_key": "", "concurrency_limit": 2}, ValueError, "non-empty string"),
        ({"concurrency_key": "a{b}", "concurrency_limit": 2}, ValueError, "Invalid"),
        ({**TENANT, "rate_limit": RateLimit("other", 2)}, ValueError, "not both"),
        ({**TENANT, "job_id": "u", "unique": True}, ValueError, "unique=True"),
    ],
)
def test_a_bad_limit_is_refused_when_enqueued(queue, options, error, match):
    with pytest.raises(error, match=match):
        queue.enqueue(jobs.add, 1, 2, **options)
    assert queue.count == 0


def test_a_pipeline_is_refused(queue, redis_conn):
    with redis_conn.pipeline() as pipe:
        with pytest.raises(EnqueueError, match="concurrency_key"):
            queue.enqueue_call(jobs.add, (1, 2), pipeline=pipe, **TENANT)


def test_the_last_limit_given_for_a_key_wins(queue, make_worker):
    first = [queue.enqueue(jobs.echo, i, concurrency_key="k", concurrency_limit=1) for i in "ab"]
    assert [j.get_status() for j in first] == [JobStatus.QUEUED, JobStatus.RATE_LIMITED]
    # A job with a higher limit takes the free slot it sees, and sets the limit.
    wider = queue.enqueue(jobs.echo, "c", concurrency_key="k", concurrency_limit=3)
    assert wider.get_status() == JobStatus.QUEUED
    assert _limit(queue, "k").concurrency == 3
    make_worker([queue]).work(burst=True)
    assert all(j.get_status() == JobStatus.FINISHED for j in [*first, wider])


def test_the_decorator_holds_the_limit_and_each_call_names_its_key(queue):
    limited = job(queue, concurrency_limit=1)(jobs.power)
    a = limited.delay(2, 2, concurrency_key="tenant:1")
    b = limited.delay(2, 3, concurrency_key="tenant:1")
    c = limited.delay(2, 4, concurrency_key="tenant:2")
    assert [j.get_status() for j in (a, b, c)] == [
        JobStatus.QUEUED,
        JobStatus.RATE_LIMITED,
        JobStatus.QUEUED,
    ]
    with pytest.raises(ValueError, match="needs a concurrency_key"):
        limited.delay(2, 5)
    with pytest.raises(ValueError, match="at least 1"):
        job(queue, concurrency_limit=0)


def test_enqueue_many_takes_the_options(queue):
    made = queue.enqueue_many([queue.prepare_data(jobs.add, (i, 0), **ONE) for i in range(3)])
    assert [j.get_status() for j in made] == [JobStatus.QUEUED] + [JobStatus.RATE_LIMITED] * 2


# -- inline queues ------------------------------------------------------------


@pytest.mark.parametrize("in_memory", [False, True])
def test_an_inline_queue_runs_the_job_at_once_and_takes_no_slot(make_queue, in_memory):
    inline = make_queue("inline", is_async=False, in_memory=in_memory)
    made = [inline.enqueue(jobs.add, i, 1, **ONE) for i in range(3)]
    assert [(j.get_status(), j.result) for j in made] == [
        (JobStatus.FINISHED, i + 1) for i in range(3)
    ]
    assert made[0].rate_limit_key is None
    limit = _limit(inline, "one")
    assert limit.get_allowed_job_count() == 0 and limit.concurrency == 0
    assert RateLimitRegistry.all(inline.connection, queue="inline", prefix=inline.keys.prefix) == []
    # rate_limit= itself is still refused there, as RQ refuses it.
    with pytest.raises(EnqueueError, match="is_async=False"):
        inline.enqueue(jobs.add, 1, 1, rate_limit=RateLimit("one", 1))


# -- order, and workers never held up -----------------------------------------


def test_waiting_jobs_run_in_enqueue_order_and_others_pass_them(queue, make_worker):
    limited = [queue.enqueue(jobs.run_counted, f"L{i}", **ONE) for i in range(4)]
    free = queue.enqueue(jobs.run_counted, "U")
    # Only the job holding the slot is in the queue: the others are not there
    # for a worker to take and put back, or to wait on.
    assert queue.get_job_ids() == [limited[0].id, free.id]
    assert queue.rate_limited_job_registry.get_job_ids() == [j.id for j in limited[1:]]
    make_worker([queue]).work(burst=True)
    assert _trace(queue, "order") == ["L0", "U", "L1", "L2", "L3"]


def test_a_worker_serves_other_jobs_while_limited_ones_wait(queue, spawn_worker, make_worker):
    spawn_worker("default", "SimpleWorker")
    holder = queue.enqueue(jobs.sleep_for, 10, **ONE)
    wait_until(lambda: holder.get_status() == JobStatus.STARTED, message="holder never started")
    waiting = queue.enqueue(jobs.add, 1, 1, **ONE)
    free = queue.enqueue(jobs.add, 2, 2)
    began = time.monotonic()
    # A burst worker stops when the queue is empty: it ran the free job, and
    # neither took the waiting one nor slept on it.
    make_worker([queue]).work(burst=True)
    assert time.monotonic() - began < 5
    assert free.get_status() == JobStatus.FINISHED
    assert holder.get_status() == JobStatus.STARTED
    assert waiting.get_status() == JobStatus.RATE_LIMITED


# -- never more than the limit, across processes -------------------------------


def test_never_more_than_the_limit_run_at_once_across_workers(queue, spawn_worker):
    for _ in range(3):
        spawn_worker("default", "SimpleWorker")
    made = [queue.enqueue(jobs.run_counted, f"L{i}", 0.3, **TENANT) for i in range(8)]
    wait_until(lambda: _all_done(made), timeout=60, message="the limited jobs never all ran")
    assert all(j.get_status() == JobStatus.FINISHED for j in made)
    overlap = [int(n) for n in _trace(queue, "overlap")]
    assert len(overlap) == 8 and max(overlap) <= 2
    # The spans the jobs recorded (Redis server time) agree.
    spans = [line.split() for line in _trace(queue, "spans")]
    for _, start, _ in spans:
        at = float(start)
        assert sum(1 for _, s, e in spans if float(s) <= at < float(e)) <= 2
    assert _limit(queue, "tenant:7").get_allowed_job_count() == 0


def test_three_workers_run_a_limit_of_one_strictly_in_enqueue_order(queue, spawn_worker):
    for _ in range(3):
        spawn_worker("default", "SimpleWorker")
    made = [queue.enqueue(jobs.run_counted, f"L{i}", 0.05, **ONE) for i in range(6)]
    wait_until(lambda: _all_done(made), timeout=60, message="the limited jobs never all ran")
    assert _trace(queue, "order") == [f"L{i}" for i in range(6)]
    assert max(int(n) for n in _trace(queue, "overlap")) == 1


# -- slots freed or kept -------------------------------------------------------


def test_a_killed_workers_slot_comes_back_when_its_heartbeat_lapses(
    queue, spawn_worker, make_worker, redis_conn
):
    proc = spawn_worker("default", "SimpleWorker", worker_ttl=4)
    holder = queue.enqueue(jobs.sleep_for, 60, **ONE)
    wait_until(lambda: holder.get_status() == JobStatus.STARTED, message="holder never started")
    waiting = queue.enqueue(jobs.add, 1, 1, **ONE)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    sweeper = make_worker([queue])
    deadline = redis_conn.zscore(queue.started_job_registry.key, holder.id)
    if time.time() < deadline - 0.5:  # (a machine too busy to get here in time skips it)
        sweeper.maintain()  # the heartbeat has not lapsed yet: the slot is still held
        assert holder.get_status() == JobStatus.STARTED
        assert waiting.get_status() == JobStatus.RATE_LIMITED
    time.sleep(max(deadline - time.time(), 0) + 0.1)
    sweeper.maintain()
    assert holder.get_status() == JobStatus.FAILED
    holder.refresh()
    assert "abandoned" in holder.exc_info
    assert waiting.get_status() == JobStatus.QUEUED
    assert _limit(queue, "one").get_allowed_job_ids() == [waiting.id]
    sweeper.work(burst=True)
    assert waiting.get_status() == JobStatus.FINISHED


def test_a_stopped_job_frees_its_slot(queue, spawn_worker):
    spawn_worker("default", "Worker")
    holder = queue.enqueue(jobs.sleep_for, 60, **ONE)
    wait_until(lambda: holder.get_status() == JobStatus.STARTED, message="holder never started")
    waiting = queue.enqueue(jobs.add, 1, 1, **ONE)
    assert stop_job(holder) == "stopping"
    wait_until(lambda: waiting.get_status() == JobStatus.FINISHED, message="waiting never ran")
    assert holder.get_status() == JobStatus.STOPPED


@pytest.mark.parametrize("end", ["fail", "cancel", "delete"])
def test_an_ended_job_frees_its_slot_for_the_next(queue, make_worker, end):
    holder = queue.enqueue(jobs.fail if end == "fail" else jobs.add, 1, **ONE)
    waiting = queue.enqueue(jobs.add, 1, 1, **ONE)
    assert waiting.get_status() == JobStatus.RATE_LIMITED
    if end == "fail":
        make_worker([queue]).work(burst=True, max_jobs=1)
        assert holder.get_status() == JobStatus.FAILED
    elif end == "cancel":
        holder.cancel()
    else:
        holder.delete()
    assert waiting.get_status() == JobStatus.QUEUED
    assert _limit(queue, "one").get_allowed_job_ids() == [waiting.id]


def test_a_waiting_job_canceled_lets_the_next_one_keep_its_place(queue, make_worker):
    holder = queue.enqueue(jobs.run_counted, "A", **ONE)
    canceled = queue.enqueue(jobs.run_counted, "B", **ONE)
    last = queue.enqueue(jobs.run_counted, "C", **ONE)
    canceled.cancel()
    assert holder.get_status() == JobStatus.QUEUED and last.get_status() == JobStatus.RATE_LIMITED
    make_worker([queue]).work(burst=True)
    assert _trace(queue, "order") == ["A", "C"]


def test_an_immediate_retry_keeps_its_slot(queue, make_worker):
    again = queue.enqueue(jobs.fail, retry=Retry(max=1), **ONE)
    waiting = queue.enqueue(jobs.add, 1, 1, **ONE)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert again.get_status() == JobStatus.QUEUED
    assert waiting.get_status() == JobStatus.RATE_LIMITED
    assert _limit(queue, "one").get_allowed_job_ids() == [again.id]


def test_a_retry_later_frees_its_slot_and_waits_for_one_again(queue, make_worker, redis_conn):
    flaky = queue.enqueue(jobs.fail, retry=Retry(max=1, interval=600), **ONE)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert flaky.get_status() == JobStatus.SCHEDULED  # its slot went with the attempt
    other = queue.enqueue(jobs.add, 1, 1, **ONE)
    first_in_line = queue.enqueue(jobs.add, 2, 2, **ONE)
    assert (other.get_status(), first_in_line.get_status()) == (
        JobStatus.QUEUED,
        JobStatus.RATE_LIMITED,
    )
    redis_conn.zadd(queue.scheduled_job_registry.key, {flaky.id: 1})  # due now
    queue.scheduled_job_registry.enqueue_due()
    assert flaky.get_status() == JobStatus.RATE_LIMITED  # behind first_in_line
    make_worker([queue]).work(burst=True, max_jobs=1)  # other ends
    assert (first_in_line.get_status(), flaky.get_status()) == (
        JobStatus.QUEUED,
        JobStatus.RATE_LIMITED,
    )
    make_worker([queue]).work(burst=True, max_jobs=1)  # first_in_line ends
    assert flaky.get_status() == JobStatus.QUEUED


# -- Redis Cluster ---------------------------------------------------------------


def test_every_key_of_a_limit_is_in_its_queues_slot(make_queue):
    low, high = make_queue("low"), make_queue("high")
    a = low.enqueue(jobs.add, 0, 0, **ONE)
    b = high.enqueue(jobs.add, 0, 0, **ONE)  # the same key on another queue: another limit
    assert a.get_status() == b.get_status() == JobStatus.QUEUED
    limit = _limit(low, "one")
    keys = [
        limit.config_key,
        limit.allowed_key,
        limit.rate_limited_key,
        low.rate_limited_job_registry.key,
        low.keys.rate_limit_keys(low.name),
    ]
    assert {key_slot(k.encode()) for k in keys} == {key_slot(low.key.encode())}


@pytest.mark.parametrize("how", ["abandoned", "failed", "retry later"])
def test_the_script_recording_a_failure_frees_the_slot_itself(queue, make_worker, monkeypatch, how):
    # As if the process recording the outcome died right after it: the step
    # that frees slots afterwards (release_slot) never runs.
    monkeypatch.setattr(outcome, "release_slot", lambda job: [])
    retry = Retry(max=1, interval=600) if how == "retry later" else None
    holder = queue.enqueue(
        jobs.sleep_for if how == "abandoned" else jobs.fail, 0, retry=retry, **ONE
    )
    waiting = queue.enqueue(jobs.add, 1, 1, **ONE)
    worker = make_worker([queue], worker_ttl=1)
    if how == "abandoned":
        worker.dequeue()  # taken, then its worker is gone: nobody runs it
        time.sleep(1.1)
        assert queue.started_job_registry.cleanup(timestamp=time.time() + 3600) == 1
    else:
        worker.work(burst=True, max_jobs=1)
    expected = JobStatus.SCHEDULED if how == "retry later" else JobStatus.FAILED
    assert holder.get_status() == expected
    assert waiting.get_status() == JobStatus.QUEUED
    assert _limit(queue, "one").get_allowed_job_ids() == [waiting.id]
