"""The scheduler (engine/scheduler.py): its lock, due jobs, periodic entries, workers.

Timing is controlled by passing timestamps to ``tick``/``run_entry``; only the
tests marked real-time wait on the wall clock.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime

import pytest

from django_jobqueue.engine import JobStatus, scripts
from django_jobqueue.engine.cron import MISSED_AFTER, CronEntry
from django_jobqueue.engine.keys import keyspace
from django_jobqueue.engine.scheduler import (
    LOCK_TTL,
    Scheduler,
    entry_state,
    run_now,
    scheduler_holder,
    set_paused,
    skip_next,
)
from django_jobqueue.engine.worker.pool import PoolChild, WorkerPool

from . import jobs
from .conftest import wait_until

HOUR = 3600.0
NINE = datetime(2030, 6, 3, 9, tzinfo=UTC).timestamp()  # a Monday, 09:00 UTC


@pytest.fixture
def make_scheduler(redis_conn, key_prefix):
    made = []

    def make(cron=(), **kwargs) -> Scheduler:
        scheduler = Scheduler(redis_conn, key_prefix, cron=cron, **kwargs)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.release()


def once(make_scheduler, cron, timestamp):
    """One tick of a scheduler that then stops (a worker started and stopped)."""
    scheduler = make_scheduler(cron)
    wait = scheduler.tick(timestamp)
    scheduler.release()
    return wait


def cron_jobs(queue):
    """The jobs periodic entries put on ``queue``, oldest first."""
    return [job for job in queue.jobs if "cron" in job.meta]


def record(redis_conn, key_prefix, entry):
    raw = redis_conn.hgetall(keyspace(key_prefix).cron(entry.queue, entry.name))
    return {k.decode(): v.decode() for k, v in raw.items()}


# -- the lock scripts ---------------------------------------------------------------------


def test_hold_takes_renews_and_refuses(redis_conn, key_prefix):
    ks = keyspace(key_prefix)
    assert scripts.scheduler_hold(redis_conn, ks, "a 1", 5000) == 2
    assert redis_conn.get(ks.scheduler) == b"a 1"
    redis_conn.pexpire(ks.scheduler, 100)
    assert scripts.scheduler_hold(redis_conn, ks, "a 1", 5000) == 1
    assert redis_conn.pttl(ks.scheduler) > 4000
    assert scripts.scheduler_hold(redis_conn, ks, "b 2", 5000) == 0
    assert redis_conn.get(ks.scheduler) == b"a 1"


def test_release_only_by_the_holder(redis_conn, key_prefix):
    ks = keyspace(key_prefix)
    scripts.scheduler_hold(redis_conn, ks, "a 1", 5000)
    assert scripts.scheduler_release(redis_conn, ks, "b 2") == 0
    assert redis_conn.exists(ks.scheduler)
    assert scripts.scheduler_release(redis_conn, ks, "a 1") == 1
    assert not redis_conn.exists(ks.scheduler)


def test_one_scheduler_is_active_and_another_takes_over(make_scheduler, redis_conn, key_prefix):
    a = make_scheduler(name="a", lock_ttl=0.3)
    b = make_scheduler(name="b", lock_ttl=0.3)
    assert a.hold() and a.is_active
    assert not b.hold() and not b.is_active
    assert scheduler_holder(redis_conn, key_prefix) == "a"
    a.release()  # a clean stop hands over at once
    assert b.hold()
    assert scheduler_holder(redis_conn, key_prefix) == "b"
    time.sleep(0.4)  # b stops renewing (its process hangs or dies): the lock expires
    assert a.hold()
    assert not b.hold()
    assert scheduler_holder(redis_conn, key_prefix) == "a"


def test_an_inactive_scheduler_only_asks_for_the_lock(make_scheduler, make_queue):
    queue = make_queue("default")
    job = queue.enqueue_at(NINE, jobs.add, 1, 2)
    active, standby = make_scheduler(name="active"), make_scheduler(name="standby")
    assert active.hold()
    assert standby.tick(NINE + 1) == standby.acquire_interval
    assert job.get_status() == JobStatus.SCHEDULED
    active.tick(NINE + 1)
    assert job.get_status() == JobStatus.QUEUED


# -- scheduled jobs --------------------------------------------------------------------------


def test_due_jobs_of_every_known_queue_are_moved(make_scheduler, make_queue):
    high, low = make_queue("high"), make_queue("low")
    early = high.enqueue_at(NINE - 10, jobs.add, 1, 1)
    due = low.enqueue_at(NINE, jobs.add, 2, 2)
    later = low.enqueue_at(NINE + 30, jobs.add, 3, 3)
    scheduler = make_scheduler()
    assert scheduler.tick(NINE - 20) == scheduler.poll_interval  # nothing due within a second
    assert scheduler.tick(NINE - 0.25) == pytest.approx(0.25)  # wakes up when the next is due
    assert scheduler.tick(NINE) == scheduler.poll_interval
    assert [j.get_status() for j in (early, due, later)] == ["queued", "queued", "scheduled"]
    assert high.job_ids == [early.id] and low.job_ids == [due.id]


def test_next_due_is_known_after_moving(make_scheduler, make_queue):
    queue = make_queue("default")
    queue.enqueue_at(NINE, jobs.add, 1, 1)
    queue.enqueue_at(NINE + 0.5, jobs.add, 1, 1)
    assert make_scheduler().tick(NINE) == pytest.approx(0.5)


def test_due_jobs_move_in_batches(make_scheduler, make_queue):
    queue = make_queue("default")
    for i in range(7):
        queue.enqueue_at(NINE - i, jobs.add, i, i)
    make_scheduler(batch_size=3).tick(NINE)
    assert queue.count == 7 and queue.scheduled_job_registry.count == 0


def test_delayed_retries_are_released_by_the_scheduler(make_scheduler, queue, make_worker):
    from django_jobqueue.engine import Retry

    job = queue.enqueue(jobs.fail, retry=Retry(max=1, interval=30))
    make_worker(queue, scheduler=False).work(burst=True)
    assert job.get_status() == JobStatus.SCHEDULED
    make_scheduler().tick(time.time() + 31)
    assert job.get_status() == JobStatus.QUEUED


def test_only_the_lock_holder_moves_due_jobs(make_scheduler, queue, make_worker):
    job = queue.enqueue_in(0.05, jobs.add, 1, 2)
    time.sleep(0.1)
    holder = make_scheduler(name="elsewhere")
    holder.hold()  # another worker's scheduler is active, and ticks by itself
    worker = make_worker(queue)
    worker.maintain()
    worker.schedule_if_due()
    assert job.get_status() == JobStatus.SCHEDULED
    assert worker.scheduler is not None and not worker.scheduler.is_active


def test_a_worker_without_scheduler_never_moves_due_jobs(queue, make_worker):
    job = queue.enqueue_in(0.05, jobs.add, 1, 2)
    assert job.get_status() == JobStatus.SCHEDULED
    time.sleep(0.1)
    assert make_worker(queue, scheduler=False).work(burst=True) is False
    assert job.get_status() == JobStatus.SCHEDULED


def test_a_burst_worker_releases_due_jobs_then_runs_them(queue, make_worker):
    job = queue.enqueue_in(0.05, jobs.add, 1, 2)
    assert job.get_status() == JobStatus.SCHEDULED
    time.sleep(0.1)
    assert make_worker(queue).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED


def test_the_worker_releases_the_lock_when_it_stops(queue, make_worker, redis_conn, key_prefix):
    worker = make_worker(queue, name="w1")
    worker.work(burst=True)
    assert scheduler_holder(redis_conn, key_prefix) is None


def test_cron_needs_the_scheduler(queue, make_worker):
    with pytest.raises(ValueError, match="need the scheduler"):
        make_worker(queue, scheduler=False, cron=[CronEntry("a.b", interval=5)])


def test_a_pool_runs_one_scheduler_in_its_parent(queue, redis_conn, key_prefix):
    entry = CronEntry("tests.engine.jobs.add", interval=60, args=(1, 2))
    pool = WorkerPool(queue, connection=redis_conn, prefix=key_prefix, processes=2, cron=[entry])
    assert pool.scheduler is not None and pool.scheduler.cron == [entry]
    # One scheduler in the pool, none anywhere else in it (children make none).
    assert [v for v in vars(pool).values() if isinstance(v, Scheduler)] == [pool.scheduler]
    child = PoolChild(queue, connection=redis_conn, prefix=key_prefix, report=1, scheduler=False)
    assert child.scheduler is None
    assert (
        WorkerPool(queue, connection=redis_conn, prefix=key_prefix, scheduler=False).scheduler
        is None
    )


def test_a_burst_pool_releases_due_jobs_and_fires_interval_entries(queue, redis_conn, key_prefix):
    scheduled = queue.enqueue_in(0.05, jobs.add, 1, 2)
    entry = CronEntry("tests.engine.jobs.add", interval=3600, args=(2, 3), queue="default")
    time.sleep(0.1)
    pool = WorkerPool(queue, connection=redis_conn, prefix=key_prefix, processes=1, cron=[entry])
    pool.work(burst=True, logging_level=None)
    assert scheduled.get_status() == JobStatus.FINISHED
    state = entry_state(redis_conn, entry, key_prefix)
    assert state["last_status"] == "finished"
    assert scheduler_holder(redis_conn, key_prefix) is None


# -- periodic entries ---------------------------------------------------------------------------


HOURLY = CronEntry("tests.engine.jobs.add", cron="0 * * * *", args=(1, 2), name="hourly")


def test_a_new_cron_entry_waits_for_its_next_occurrence(make_scheduler, queue):
    scheduler = make_scheduler([HOURLY])
    assert scheduler.tick(NINE + 600) == scheduler.poll_interval
    assert cron_jobs(queue) == []
    assert scheduler.run_cron(NINE + 600) == NINE + HOUR  # next look at 10:00
    scheduler.tick(NINE + HOUR - 0.5)
    assert cron_jobs(queue) == []
    scheduler.tick(NINE + HOUR + 0.2)
    (job,) = cron_jobs(queue)
    assert job.func_name == "tests.engine.jobs.add" and job.args == (1, 2)
    assert job.meta == {"cron": "hourly", "occurrence": NINE + HOUR}
    scheduler.tick(NINE + HOUR + 0.9)  # the same occurrence never fires twice
    assert len(cron_jobs(queue)) == 1


def test_the_tick_wakes_up_for_the_next_occurrence(make_scheduler):
    scheduler = make_scheduler([HOURLY])
    scheduler.tick(NINE - 10)
    assert scheduler.tick(NINE - 0.3) == pytest.approx(0.3)


def test_an_interval_entry_runs_at_once_then_every_interval(
    make_scheduler, queue, redis_conn, key_prefix
):
    entry = CronEntry("tests.engine.jobs.add", interval=60, args=(1, 1), name="often")
    scheduler = make_scheduler([entry])
    scheduler.tick(NINE)
    assert len(cron_jobs(queue)) == 1
    for t in (NINE + 1, NINE + 59.5):
        scheduler.tick(t)
    assert len(cron_jobs(queue)) == 1
    scheduler.tick(NINE + 60)
    scheduler.tick(NINE + 120.5)
    assert len(cron_jobs(queue)) == 3
    assert record(redis_conn, key_prefix, entry)["occurrence"] == str(int(NINE + 120))


def test_job_options_come_from_the_entry(make_scheduler, make_queue, redis_conn, key_prefix):
    low = make_queue("low")
    entry = CronEntry(
        "tests.engine.jobs.echo",
        interval=60,
        queue="low",
        args=[1],
        kwargs={"x": 2},
        timeout=30,
        result_ttl=100,
        failure_ttl=200,
        ttl=50,
        description="the echo",
    )
    once(make_scheduler, [entry], NINE)
    (job,) = low.jobs
    assert (job.timeout, job.result_ttl, job.failure_ttl, job.ttl) == (30, 100, 200, 50)
    assert job.description == "the echo" and job.kwargs == {"x": 2}
    assert 0 < redis_conn.ttl(job.key) <= 50
    assert "low" in {q.name for q in low.all(redis_conn, prefix=key_prefix)}


def test_a_restarted_scheduler_does_not_fire_again(make_scheduler, queue):
    once(make_scheduler, [HOURLY], NINE - 5)
    once(make_scheduler, [HOURLY], NINE + 1)
    assert len(cron_jobs(queue)) == 1
    # A restart right after: the record says 09:00 is done.
    restarted = make_scheduler([HOURLY])
    restarted.tick(NINE + 2)
    restarted.tick(NINE + 30)
    assert len(cron_jobs(queue)) == 1


@pytest.mark.parametrize("missed, expected", [("run_once", 1), ("skip", 0)])
def test_occurrences_missed_while_down_follow_the_policy(
    make_scheduler, queue, redis_conn, key_prefix, missed, expected
):
    entry = CronEntry("tests.engine.jobs.add", cron="0 * * * *", args=(1, 2), missed=missed)
    once(make_scheduler, [entry], NINE - 3 * HOUR + 60)  # seen at 06:01, then every worker stops
    # Back at 09:20: 07:00, 08:00 and 09:00 were missed.
    once(make_scheduler, [entry], NINE + 20 * 60)
    fired = cron_jobs(queue)
    assert len(fired) == expected
    if fired:
        assert fired[0].meta["occurrence"] == NINE  # the latest, run once for all
    assert record(redis_conn, key_prefix, entry)["occurrence"] == str(int(NINE))
    # Either way the schedule goes on as usual.
    once(make_scheduler, [entry], NINE + HOUR + 1)
    assert len(cron_jobs(queue)) == expected + 1


def test_an_occurrence_a_little_late_is_not_missed(make_scheduler, queue):
    entry = CronEntry("tests.engine.jobs.add", cron="0 * * * *", args=(1, 2), missed="skip")
    once(make_scheduler, [entry], NINE - 600)
    once(make_scheduler, [entry], NINE + MISSED_AFTER - 1)  # a takeover took a while
    assert len(cron_jobs(queue)) == 1


def test_a_changed_schedule_starts_afresh(make_scheduler, queue, redis_conn, key_prefix):
    once(make_scheduler, [HOURLY], NINE - 600)
    changed = CronEntry("tests.engine.jobs.add", cron="30 * * * *", args=(1, 2), name="hourly")
    once(make_scheduler, [changed], NINE + 60)  # 09:00 of the old schedule is not fired now
    assert cron_jobs(queue) == []
    assert record(redis_conn, key_prefix, changed)["schedule"] == changed.signature
    once(make_scheduler, [changed], NINE + 1800)
    assert len(cron_jobs(queue)) == 1


def test_racing_schedulers_enqueue_each_occurrence_once(redis_conn, key_prefix, queue):
    """Schedulers that all believe they are active (the lock is only an optimisation)."""
    entry = CronEntry("tests.engine.jobs.add", cron="* * * * *", args=(1, 2), name="minutely")
    racers = [Scheduler(redis_conn, key_prefix, cron=[entry], name=f"s{i}") for i in range(6)]
    start = NINE - 30
    racers[0].run_entry(entry, start)  # the first look records the watermark
    barrier = threading.Barrier(len(racers))
    minutes = 20
    errors = []

    def race(scheduler):
        try:
            for minute in range(1, minutes + 1):
                barrier.wait()
                for offset in (0.1, 0.2, 0.7):  # several looks within each minute
                    scheduler.run_entry(entry, NINE + (minute - 1) * 60 + offset)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=race, args=(s,)) for s in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    fired = sorted(job.meta["occurrence"] for job in cron_jobs(queue))
    assert fired == [NINE + 60 * m for m in range(minutes)]


def test_the_compare_and_set_refuses_a_stale_watermark(redis_conn, key_prefix, queue):
    ks = keyspace(key_prefix)
    fields = ["func", "tests.engine.jobs.add"]
    args = (ks, "default", "e", "", "100", "sig", True, NINE)
    assert scripts.cron_fire(redis_conn, *args, "j1", None, fields) == 1
    assert scripts.cron_fire(redis_conn, *args, "j2", None, fields) == 0  # same read, too late
    assert queue.job_ids == ["j1"]
    assert not redis_conn.exists(ks.job("default", "j2"))
    assert (
        scripts.cron_fire(
            redis_conn, ks, "default", "e", "100", "160", "sig", False, NINE, "-", None, []
        )
        == 2
    )
    assert record(redis_conn, key_prefix, CronEntry("a.b", interval=1, name="e")) == {
        "occurrence": "160",
        "schedule": "sig",
        "last_job": "j1",
        "last_run": repr(NINE),
    }


def test_a_paused_entry_lets_occurrences_pass(make_scheduler, queue, redis_conn, key_prefix):
    once(make_scheduler, [HOURLY], NINE - 600)
    set_paused(redis_conn, HOURLY, True, key_prefix)
    for hour in range(3):
        once(make_scheduler, [HOURLY], NINE + hour * HOUR + 1)
    assert cron_jobs(queue) == []
    assert entry_state(redis_conn, HOURLY, key_prefix, now=NINE + 2 * HOUR + 5)["paused"]
    set_paused(redis_conn, HOURLY, False, key_prefix)
    once(make_scheduler, [HOURLY], NINE + 2 * HOUR + 5)  # nothing from the pause is run late
    assert cron_jobs(queue) == []
    once(make_scheduler, [HOURLY], NINE + 3 * HOUR + 1)
    assert len(cron_jobs(queue)) == 1


def test_skip_next(make_scheduler, queue, redis_conn, key_prefix):
    once(make_scheduler, [HOURLY], NINE - 600)
    assert skip_next(redis_conn, HOURLY, key_prefix, now=NINE - 500) == NINE
    assert entry_state(redis_conn, HOURLY, key_prefix, now=NINE - 500)["next_run"] == NINE + HOUR
    scheduler = make_scheduler([HOURLY])
    scheduler.tick(NINE + 1)
    assert cron_jobs(queue) == []
    scheduler.tick(NINE + HOUR + 1)
    assert [j.meta["occurrence"] for j in cron_jobs(queue)] == [NINE + HOUR]


def test_skip_next_of_an_interval_entry_not_seen_yet(make_scheduler, queue, redis_conn, key_prefix):
    entry = CronEntry("tests.engine.jobs.add", interval=60, args=(1, 1))
    assert entry_state(redis_conn, entry, key_prefix, now=NINE)["next_run"] == NINE
    assert skip_next(redis_conn, entry, key_prefix, now=NINE) == NINE
    once(make_scheduler, [entry], NINE + 1)
    assert cron_jobs(queue) == []
    once(make_scheduler, [entry], NINE + 60)
    assert len(cron_jobs(queue)) == 1


def test_run_now_leaves_the_schedule_alone(make_scheduler, queue, redis_conn, key_prefix):
    once(make_scheduler, [HOURLY], NINE - 600)
    job = run_now(HOURLY, queue)
    assert job.meta == {"cron": "hourly", "manual": True}
    state = entry_state(redis_conn, HOURLY, key_prefix, now=NINE - 500)
    assert state["last_job"] == job.id and state["last_status"] == "queued"
    assert state["next_run"] == NINE
    once(make_scheduler, [HOURLY], NINE + 1)
    assert len(cron_jobs(queue)) == 2


def test_a_broken_entry_is_recorded_and_not_retried_every_second(
    make_scheduler, queue, redis_conn, key_prefix
):
    broken = CronEntry(
        "tests.engine.jobs.echo", cron="0 * * * *", name="broken", args=[lambda: None]
    )  # cannot be pickled
    scheduler = make_scheduler([broken, HOURLY])
    scheduler.tick(NINE - 600)
    scheduler.tick(NINE + 1)
    assert [j.meta["cron"] for j in cron_jobs(queue)] == ["hourly"]  # the others still run
    state = entry_state(redis_conn, broken, key_prefix, now=NINE + 2)
    assert state["error"].startswith("SerializationError")
    assert record(redis_conn, key_prefix, broken)["occurrence"] == str(int(NINE))


def test_entry_state_shows_the_last_outcome(
    make_scheduler, queue, make_worker, redis_conn, key_prefix
):
    failing = CronEntry("tests.engine.jobs.fail", interval=60, name="failing")
    assert entry_state(redis_conn, failing, key_prefix)["last_run"] is None
    once(make_scheduler, [failing], time.time())
    make_worker(queue, scheduler=False).work(burst=True)
    state = entry_state(redis_conn, failing, key_prefix)
    assert state["last_status"] == "failed"
    assert state["last_run"] == pytest.approx(time.time(), abs=5)


def test_entry_names_must_be_unique(redis_conn, key_prefix):
    with pytest.raises(ValueError, match=r"repeated: tests\.engine\.jobs\.add"):
        Scheduler(
            redis_conn,
            key_prefix,
            cron=[
                CronEntry("tests.engine.jobs.add", interval=5),
                CronEntry("tests.engine.jobs.add", interval=9),
            ],
        )


# -- real time, real workers -------------------------------------------------------------------


def test_a_job_scheduled_a_second_ahead_runs_on_time(queue, spawn_worker, redis_conn, key_prefix):
    proc = spawn_worker()
    wait_until(lambda: scheduler_holder(redis_conn, key_prefix), message="no scheduler")
    time.sleep(0.3)  # the worker is idle, between two ticks
    before = time.time()
    job = queue.enqueue_in(1.0, jobs.add, 2, 3)
    due = before + 1.0  # enqueue_in reads the clock after this, so the job is due a bit later
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=10)
    job.refresh()
    late = job.enqueued_at.timestamp() - due
    assert 0 <= late < 1.0, late
    assert job.result == 5
    proc.terminate()
    proc.wait(10)


def test_another_worker_takes_over_when_the_active_one_is_killed(
    queue, spawn_worker, redis_conn, key_prefix
):
    first = spawn_worker(name="first", new_session=True)
    wait_until(lambda: scheduler_holder(redis_conn, key_prefix) == "first")
    second = spawn_worker(name="second")
    wait_until(lambda: redis_conn.sismember(keyspace(key_prefix).workers, "second"))
    time.sleep(1.2)
    assert scheduler_holder(redis_conn, key_prefix) == "first"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    job = queue.enqueue_in(0.5, jobs.add, 1, 1)
    wait_until(lambda: scheduler_holder(redis_conn, key_prefix) == "second", timeout=LOCK_TTL + 5)
    assert time.monotonic() - killed_at <= LOCK_TTL + 2
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=10)
    second.terminate()
    second.wait(10)
    assert scheduler_holder(redis_conn, key_prefix) is None  # released on a clean stop


# -- RQ's scheduler API (RQScheduler) --------------------------------------------------


def test_rq_scheduler_locks_one_queue_each(make_queue, redis_conn, key_prefix):
    from django_jobqueue.engine.scheduler import RQScheduler

    assert RQScheduler("one", redis_conn)._queue_names == {"one"}
    first = RQScheduler(make_queue("a"), redis_conn)
    assert first.keys.prefix == key_prefix  # taken from the Queue objects
    assert first.status == RQScheduler.Status.STOPPED
    assert first.acquire_locks() == {"a"}
    assert first.acquire_locks() == {"a"}  # renewed
    assert redis_conn.get(first.get_locking_key("a")) == first.name.encode()
    assert first.get_locking_key("a") == f"{key_prefix}{{a}}:scheduler-lock"
    assert RQScheduler.get_locking_key("a") == keyspace().scheduler_lock("a")
    second = RQScheduler(["a", "b"], redis_conn, prefix=key_prefix)
    assert second.acquire_locks() == {"b"}
    assert second.should_reacquire_locks is False  # tried a moment ago
    second.lock_acquisition_time = datetime(2000, 1, 1)
    assert second.should_reacquire_locks is True
    # A lock taken by another scheduler is left alone, and dropped.
    redis_conn.set(first.get_locking_key("a"), "other", ex=5)
    assert first.acquire_locks() == set()
    first.release_locks()
    assert redis_conn.get(first.get_locking_key("a")) == b"other"
    second.release_locks()
    assert redis_conn.get(second.get_locking_key("b")) is None
    assert redis_conn.get(second.get_locking_key("a")) == b"other"


def test_rq_scheduler_moves_due_jobs_of_held_queues_only(make_queue, redis_conn):
    from django_jobqueue.engine.scheduler import RQScheduler

    held, other = make_queue("held"), make_queue("other")
    jobs_ = []
    for queue in (held, other):
        jobs_.append(queue.enqueue_in(60, jobs.echo, queue.name))
        # Due now, without waiting.
        redis_conn.zadd(queue.scheduled_job_registry.key, {jobs_[-1].id: 1})
    scheduler = RQScheduler([held], redis_conn)
    assert scheduler.enqueue_scheduled_jobs() == 0  # holds no lock yet
    scheduler.acquire_locks()
    assert scheduler.enqueue_scheduled_jobs() == 1
    assert held.job_ids == [jobs_[0].id] and other.job_ids == []
    assert scheduler.status == RQScheduler.Status.STARTED


def test_rq_scheduler_record_heartbeat_and_death(make_queue, redis_conn, key_prefix):
    from django_jobqueue.engine import SchedulerNotFound
    from django_jobqueue.engine.scheduler import RQScheduler

    queue = make_queue("q")
    scheduler = RQScheduler([queue, "r"], redis_conn, name="s1")
    assert scheduler.acquire_locks() == {"q", "r"}
    assert queue.scheduler_pid is None  # not registered yet
    scheduler.register_birth()
    assert queue.scheduler_pid == os.getpid()
    assert 55 <= redis_conn.ttl(scheduler.key) <= 61
    fetched = RQScheduler.fetch("s1", redis_conn, prefix=key_prefix)
    assert (fetched.name, fetched.pid, fetched._queue_names) == ("s1", os.getpid(), {"q", "r"})
    assert fetched.created_at == scheduler.created_at
    assert fetched.last_heartbeat == scheduler.last_heartbeat
    # The heartbeat renews the locks, takes an expired one again, drops a taken one.
    redis_conn.delete(scheduler.get_locking_key("q"))
    redis_conn.set(scheduler.get_locking_key("r"), "other", ex=5)
    redis_conn.expire(scheduler.key, 1000)
    scheduler.heartbeat()
    assert scheduler.acquired_locks == {"q"}
    assert redis_conn.ttl(scheduler.get_locking_key("q")) == 61
    assert redis_conn.ttl(scheduler.key) == 61
    scheduler.stop()
    assert scheduler.status == RQScheduler.Status.STOPPED
    assert not redis_conn.exists(scheduler.key, scheduler.get_locking_key("q"))
    assert scheduler.register_death() is False
    with pytest.raises(SchedulerNotFound):
        RQScheduler.fetch("s1", redis_conn, prefix=key_prefix)


def test_rq_scheduler_runs_in_a_process_of_its_own(make_queue, redis_conn):
    from django_jobqueue.engine.scheduler import RQScheduler

    queue = make_queue("q")
    job = queue.enqueue_in(60, jobs.echo, 1)
    redis_conn.zadd(queue.scheduled_job_registry.key, {job.id: 1})
    scheduler = RQScheduler([queue], redis_conn, interval=0.1)
    process = scheduler.acquire_locks(auto_start=True) and scheduler._process
    try:
        wait_until(lambda: queue.job_ids == [job.id], timeout=10)
        wait_until(lambda: queue.scheduler_pid == process.pid, timeout=10)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.join(10)
    assert process.exitcode == 0
    assert not redis_conn.exists(scheduler.key, scheduler.get_locking_key("q"))


def test_scheduled_registry_lists_due_jobs(make_queue, redis_conn):
    registry = make_queue("q").scheduled_job_registry
    redis_conn.zadd(registry.key, {"foo": 1, "bar": time.time() + 10, "baz": time.time() + 30})
    assert registry.get_jobs_to_enqueue() == ["foo"]
    assert registry.get_jobs_to_enqueue(time.time() + 20) == ["foo", "bar"]
    assert registry.get_jobs_to_schedule(time.time() + 100, chunk_size=2) == ["foo", "bar"]


# -- data another program wrote ------------------------------------------------------------


def test_a_queue_name_that_is_not_utf8_is_passed_over(make_scheduler, make_queue, redis_conn):
    """The tick raised UnicodeDecodeError, stopping every due job of every queue."""
    low = make_queue("low")
    due = low.enqueue_at(NINE, jobs.add, 2, 2)
    redis_conn.sadd(low.keys.queues, b"\xff\xfe")
    make_scheduler().tick(NINE)
    assert due.get_status() == "queued"


@pytest.mark.parametrize("watermark", [b"\xff\xfe", b"yesterday"], ids=["not-utf8", "not-a-number"])
def test_an_entry_whose_watermark_was_written_badly_starts_afresh(
    make_scheduler, queue, redis_conn, key_prefix, watermark
):
    entry = CronEntry("tests.engine.jobs.add", interval=60, args=(1, 1), name="often")
    scheduler = make_scheduler([entry])
    scheduler.tick(NINE)
    assert len(cron_jobs(queue)) == 1
    key = keyspace(key_prefix).cron(entry.queue, entry.name)
    redis_conn.hset(key, mapping={"occurrence": watermark, "last_run": watermark})
    state = entry_state(redis_conn, entry, key_prefix, now=NINE + 1)  # the cron page's
    assert (state["next_run"], state["last_run"]) == (NINE + 1, None)
    scheduler.tick(NINE + 60)  # raised ValueError or UnicodeDecodeError on every tick
    assert len(cron_jobs(queue)) == 2  # run as a new interval entry is: at once
    assert record(redis_conn, key_prefix, entry)["occurrence"] == str(int(NINE + 60))
    scheduler.tick(NINE + 120.5)
    assert len(cron_jobs(queue)) == 3
