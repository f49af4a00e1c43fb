"""``duration``: a run's length, kept in the job's hash when the run ends.

The dashboard sorts by it, one field per job instead of two times
(docs/dashboard.rst). It must always equal the ended_at minus started_at
stored beside it, which is what the dashboard shows, or the sort would
disagree with the column it sorts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from django_jobqueue.engine import JobStatus, Repeat, Retry, SimpleWorker, Worker, scripts
from django_jobqueue.engine.job_lifecycle import record_job_failure
from django_jobqueue.engine.utils import now

from . import jobs

SCRIPTS = Path(__file__).resolve().parents[2] / "django_jobqueue" / "engine" / "scripts"


def _stored(redis_conn, job) -> float | None:
    """The stored duration, checked against the stored times; None when it has none."""
    started, ended, duration = redis_conn.hmget(job.key, ["started_at", "ended_at", "duration"])
    if started is None or ended is None:
        assert not duration, duration  # never ran, or its times were dropped: none
        return None
    assert float(duration) == pytest.approx(max(float(ended) - float(started), 0), abs=2e-6)
    return float(duration)


@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker])
def test_a_finished_run_keeps_its_duration(queue, redis_conn, worker_class):
    job = queue.enqueue(jobs.sleep_for, 0.2)
    worker_class([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert 0.2 <= _stored(redis_conn, job) < 5


def test_a_failed_run_and_each_attempt_keep_theirs(queue, redis_conn):
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=1))
    SimpleWorker([queue]).work(burst=True, max_jobs=1)
    assert job.get_status() == JobStatus.QUEUED  # to be retried: the last run's duration
    first = _stored(redis_conn, job)
    assert first is not None
    SimpleWorker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert _stored(redis_conn, job) is not None

    failed = queue.enqueue(jobs.fail)
    SimpleWorker([queue]).work(burst=True)
    assert failed.get_status() == JobStatus.FAILED
    assert _stored(redis_conn, failed) is not None
    failed.requeue()  # its times go, and the duration with them
    assert redis_conn.hmget(failed.key, ["started_at", "ended_at", "duration"]) == [None] * 3


def test_a_run_that_starts_again_has_no_duration_until_it_ends(queue, redis_conn):
    from django_jobqueue.dashboard.display import duration

    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=1))
    SimpleWorker([queue]).work(burst=True, max_jobs=1)
    assert _stored(redis_conn, job) is not None
    assert duration(queue.fetch_job(job.id)) == pytest.approx(_stored(redis_conn, job), abs=1e-5)
    scripts.dequeue(redis_conn, queue.keys, [queue.name], now(), "w2", 3600)
    # Its last run's end now comes before its new start: neither the stored
    # duration (the sort) nor the dashboard's column gives one.
    assert redis_conn.hget(job.key, "duration") is None
    assert duration(queue.fetch_job(job.id)) is None


def test_a_repeated_run_keeps_its_duration(queue, redis_conn):
    job = queue.enqueue(jobs.sleep_for, 0.05, repeat=Repeat(times=1, interval=60))
    SimpleWorker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.SCHEDULED  # its next run waits
    assert _stored(redis_conn, job) >= 0.05


def test_cancel_and_a_failure_recorded_by_hand(queue, redis_conn):
    waiting = queue.enqueue(jobs.add, 1, 1)
    waiting.cancel()  # never ran: no duration
    assert redis_conn.hget(waiting.key, "duration") == b""
    assert _stored(redis_conn, waiting) is None

    running = queue.enqueue(jobs.add, 2, 2)
    scripts.dequeue(redis_conn, queue.keys, [queue.name], now() - 3, "w1", 3600)
    running.cancel()  # canceled while it ran: about three seconds so far
    assert 3 <= _stored(redis_conn, running) < 10

    never = queue.enqueue(jobs.add, 3, 3)
    record_job_failure(never, "ValueError: x")
    assert redis_conn.hget(never.key, "duration") == b""

    ran = queue.enqueue(jobs.add, 4, 4)
    scripts.dequeue(redis_conn, queue.keys, [queue.name], now() - 2, "w1", 3600)
    record_job_failure(ran, "ValueError: y")
    assert 2 <= _stored(redis_conn, ran) < 10


def test_every_script_that_ends_a_run_stores_the_duration():
    """A new script that sets ended_at must store the duration with it."""
    for path in sorted(SCRIPTS.glob("*.lua")):
        for call in re.findall(r"redis\.call\('HSET'[^)]*'ended_at'[^)]*\)", path.read_text()):
            assert "'duration'" in call, (path.name, call)
