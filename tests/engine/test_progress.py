"""Job progress: reporting from inside a job, the throttle, reading it back, the ETA."""

from __future__ import annotations

import logging
import math
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry as RedisRetry

from django_jobqueue.engine import Queue, Retry, SimpleWorker, get_current_job, progress
from django_jobqueue.engine.job import Job
from django_jobqueue.engine.progress import NOTE_LIMIT, Progress
from django_jobqueue.engine.scripts import load

from .conftest import wait_until

# -- job functions (workers import them from here by name) ---------------------------------


def report_many(count, total=None):
    """Reports ``count`` times as fast as it can; returns how long that took."""
    job = get_current_job()
    began = time.monotonic()
    for i in range(1, count + 1):
        job.set_progress(i, total, f"item {i}")
    return time.monotonic() - began


def report_then_wait(gate_key):
    """Reports 3 of 10, waits for the test to set ``gate_key``, then reports twice quickly."""
    job = get_current_job()
    job.set_progress(3, 10, "three of ten")
    deadline = time.monotonic() + 30
    while not job.connection.exists(gate_key) and time.monotonic() < deadline:
        time.sleep(0.01)
    job.set_progress(9, 10, "nine")
    job.set_progress(10, 10, "all done")  # within 100 ms of the one before: kept, then flushed


def report_then_fail(done):
    get_current_job().set_progress(done, 10, "before failing")
    raise ValueError("failed on purpose")


# -- helpers -----------------------------------------------------------------------------------


class CountingRedis(redis.Redis):
    """A client on the test server that counts progress writes (set_field.lua calls)."""

    def __init__(self, pool):
        super().__init__(connection_pool=pool)
        self.progress_writes = 0
        #: The throttle's clock at each write.
        self.written_at: list[float] = []

    def execute_command(self, *args, **options):
        reply = super().execute_command(*args, **options)  # a NOSCRIPT reply is not counted
        if args[:2] == ("EVALSHA", load("set_field").sha) and args[4] == progress.FIELD:
            self.progress_writes += 1
            self.written_at.append(progress.clock())
        return reply


@pytest.fixture
def counting(redis_conn):
    return CountingRedis(redis_conn.connection_pool)


@pytest.fixture
def frozen_clock(monkeypatch):
    """The throttle's clock, moved only by the test: ``frozen_clock.now += 0.05``."""

    class Clock:
        now = 1000.0

        def __call__(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(progress, "clock", clock)
    return clock


def _output(proc):
    out, _ = proc.communicate(timeout=10)
    return out.decode(errors="replace") if out else ""


def _stored(redis_conn, job):
    return Progress.loads(redis_conn.hget(job.key, "progress"), job._started_at)


def _started(queue, job, at=1000.0):
    """Mark ``job`` started as a worker's dequeue would (status, started_at)."""
    queue.connection.hset(job.key, mapping={"status": "started", "started_at": repr(at)})
    job.refresh()
    return job


# -- reports and their checks ------------------------------------------------------------------


def test_report_keeps_the_values_and_the_time(monkeypatch):
    monkeypatch.setattr(progress, "now", lambda: 1234.5)
    report = Progress.report(40, 100, "copying", started=1200.0)
    assert (report.done, report.total, report.note) == (40, 100, "copying")
    assert report.updated == 1234.5 and report.started == 1200.0
    assert report.updated_at.timestamp() == 1234.5
    assert report.started_at.timestamp() == 1200.0


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((-1, 10), ValueError, "done as a finite number, 0 or more, not -1"),
        ((1, -10), ValueError, "total as a finite number, 0 or more, not -10"),
        ((math.nan, 10), ValueError, "not nan"),
        ((1, math.inf), ValueError, "not inf"),
        (("3", 10), TypeError, "done as a number, not str"),
        ((True, 10), TypeError, "done as a number, not bool"),
        ((1, "10"), TypeError, "total as a number, not str"),
        ((1, 10, 42), TypeError, "note=...\\) takes a string, not int"),
    ],
)
def test_report_refuses_bad_arguments_with_a_hint(args, error, message):
    with pytest.raises(error, match=message):
        Progress.report(*args)


def test_report_accepts_unknown_total_zero_total_and_overshoot():
    assert Progress.report(5).total is None
    assert Progress.report(0, 0).percent == 100  # nothing to do is all done
    assert Progress.report(12, 10).percent == 100  # the total was an estimate
    assert Progress.report(2.5, 10, None).note == ""


def test_long_notes_are_cut():
    note = Progress.report(1, 2, "x" * 1000).note
    assert len(note) <= NOTE_LIMIT
    assert note.startswith("xxx")


def test_percent_is_rounded_down():
    assert Progress.report(999, 1000).percent == 99
    assert Progress.report(1, 3).percent == 33
    assert Progress.report(1000, 1000).percent == 100
    assert Progress.report(7).percent is None
    assert Progress.report(7).fraction is None


def test_describe():
    assert Progress.report(420, 1000).describe() == "42% (420/1000)"
    assert Progress.report(420).describe() == "420 done"
    assert Progress.report(1.5, 3).describe() == "50% (1.5/3)"


# -- ETA -------------------------------------------------------------------------------------


def _at(done, total, updated=1010.0, started=1000.0):
    return Progress(done, total, "", updated, started)


def test_eta_extrapolates_the_rate_since_the_start():
    # 25 of 100 in 10 s: 40 s in all, so 30 s after this report.
    assert _at(25, 100).eta_timestamp == pytest.approx(1040.0)
    assert _at(25, 100).eta.timestamp() == pytest.approx(1040.0)
    # The rate, not the time since the last report: the same 25 % after 20 s.
    assert _at(25, 100, updated=1020.0).eta_timestamp == pytest.approx(1080.0)


@pytest.mark.parametrize(
    "report",
    [
        _at(25, None),  # no total
        _at(0, 100),  # nothing done yet: no rate
        _at(100, 100),  # done
        _at(120, 100),  # past the (estimated) total
        _at(25, 100, updated=1000.0),  # no time elapsed
        Progress(25, 100, "", 1010.0, None),  # never started
    ],
)
def test_no_eta_when_it_cannot_be_computed(report):
    assert report.eta_timestamp is None
    assert report.eta is None


# -- storage ---------------------------------------------------------------------------------


def test_stored_form_round_trips_and_bad_data_reads_as_none():
    report = Progress(3, 10, "n", 1010.25, 1000.5)
    assert Progress.loads(report.dumps(), 1000.5) == report
    assert Progress.loads(Progress(3, None, "", 1.0, None).dumps(), None).total is None
    for raw in (None, b"", b"not json", b"[]", b'{"done": -1, "at": 1}', b'{"done": "x", "at": 1}'):
        assert Progress.loads(raw, 1000.5) is None


def test_a_report_of_another_attempt_is_dropped():
    report = Progress(3, 10, "", 1010.0, 1000.0)
    assert Progress.loads(report.dumps(), 2000.0) is None
    assert Progress.loads(report.dumps(), None) is None


# -- the throttle -----------------------------------------------------------------------------


def test_many_reports_in_100_ms_make_one_write_and_the_last_is_flushed(
    make_queue, counting, redis_conn, frozen_clock
):
    queue = make_queue("default", connection=counting)
    job = _started(queue, queue.enqueue(report_many, 0))
    for i in range(1, 1001):
        job.set_progress(i, 1000)
    assert counting.progress_writes == 1
    assert _stored(redis_conn, job).done == 1  # the first call wrote at once
    assert job.progress.done == 1000  # the rest is kept in memory
    job._progress_writer.flush()
    assert counting.progress_writes == 2
    assert _stored(redis_conn, job).done == 1000
    job._progress_writer.flush()  # nothing new: nothing written
    assert counting.progress_writes == 2


def test_one_write_per_100_ms_of_reporting(make_queue, counting, redis_conn, frozen_clock):
    queue = make_queue("default", connection=counting)
    job = _started(queue, queue.enqueue(report_many, 0))
    # 1000 reports, 10 ms apart: 10 s of work.
    for i in range(1000):
        job.set_progress(i, 1000)
        frozen_clock.now += 0.01
    gaps = [b - a for a, b in zip(counting.written_at, counting.written_at[1:])]
    assert min(gaps) >= progress.THROTTLE - 1e-9
    assert max(gaps) <= progress.THROTTLE + 0.011  # the first report after 100 ms writes
    assert 90 <= counting.progress_writes <= 101
    assert job._progress_writer.writes == counting.progress_writes
    # A report after a quiet spell is written at once.
    frozen_clock.now += 1
    before = counting.progress_writes
    job.set_progress(1000, 1000, "last")
    assert counting.progress_writes == before + 1
    assert _stored(redis_conn, job).note == "last"


def test_worker_writes_few_times_and_flushes_the_last_report(make_queue, counting, redis_conn):
    queue = make_queue("default", connection=counting)
    job = queue.enqueue(report_many, 20_000, 20_000)
    SimpleWorker([queue], connection=counting, prefix=queue.keys.prefix).work(burst=True)
    job.refresh()
    elapsed = job.result
    assert job.get_status() == "finished"
    # At most one write per started 100 ms of reporting, plus the flush at the end.
    assert counting.progress_writes <= math.ceil(elapsed / progress.THROTTLE) + 2
    assert counting.progress_writes < 100
    assert (job.progress.done, job.progress.total, job.progress.note) == (
        20_000,
        20_000,
        "item 20000",
    )
    assert job.progress.percent == 100 and job.progress.eta is None
    assert job.progress.started == job._started_at


def test_a_failing_job_keeps_its_last_report(queue, redis_conn):
    job = queue.enqueue(report_then_fail, 4)
    SimpleWorker([queue]).work(burst=True)
    assert job.get_status() == "failed"
    report = job.get_progress()
    assert (report.done, report.total, report.note) == (4, 10, "before failing")


def test_a_job_waiting_for_its_retry_shows_no_progress(queue, redis_conn):
    job = queue.enqueue(report_then_fail, 6, retry=Retry(max=1, interval=0))
    worker = SimpleWorker([queue])
    worker.work(burst=True, max_jobs=1)
    assert job.get_status() == "queued"
    assert redis_conn.hget(job.key, "progress") is not None  # the field is left alone...
    assert job.get_progress() is None  # ...but it belongs to the first attempt
    fetched = Job.fetch(job.id, redis_conn, origin="default", prefix=queue.keys.prefix)
    assert fetched.progress is None


def test_reports_never_bring_back_a_deleted_job(queue, redis_conn, frozen_clock):
    job = _started(queue, queue.enqueue(report_many, 0))
    job.delete()
    job.set_progress(1, 2)
    frozen_clock.now += 1
    job.set_progress(2, 2)
    assert not redis_conn.exists(job.key)
    assert job._progress_writer.gone


def test_an_unreachable_redis_does_not_fail_the_job(queue, caplog, frozen_clock):
    job = _started(queue, queue.enqueue(report_many, 0))
    job.connection = redis.Redis(
        port=1, socket_connect_timeout=0.2, retry=RedisRetry(NoBackoff(), 0)
    )
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.worker"):
        job.set_progress(1, 2)
        job.set_progress(2, 2)  # waits RETRY_AFTER before the next try
        frozen_clock.now += progress.THROTTLE
        job.set_progress(2, 2, "still down")
    assert job._progress_writer.writes == 0
    assert job._progress_writer.pending.note == "still down"
    warnings = [r for r in caplog.records if "progress could not be written" in r.getMessage()]
    assert len(warnings) == 1  # said once, not for every report


# -- reading --------------------------------------------------------------------------------


def test_job_without_reports_has_no_progress(queue):
    job = queue.enqueue(report_many, 0)
    assert job.progress is None
    assert job.get_progress() is None
    SimpleWorker([queue]).work(burst=True)
    assert job.get_progress() is None


def test_in_memory_queue_keeps_progress_in_the_job(redis_conn, key_prefix):
    queue = Queue("inline", is_async=False, in_memory=True, prefix=key_prefix)
    job = queue.enqueue(report_many, 3, 3)
    assert job.get_status() == "finished"
    assert (job.progress.done, job.progress.total, job.progress.note) == (3, 3, "item 3")
    assert job.get_progress() is job.progress
    assert redis_conn.keys(f"{key_prefix}*") == []


def test_synchronous_queue_on_redis_stores_progress(make_queue, redis_conn):
    queue = make_queue("sync", is_async=False)
    job = queue.enqueue(report_many, 5, 10)
    assert job.get_status() == "finished"
    assert _stored(redis_conn, job).done == 5
    assert job.get_progress().percent == 50


@pytest.mark.parametrize("worker_class", ["Worker", "WorkerPool"])
def test_progress_is_visible_while_a_job_runs_in_a_worker_process(
    worker_class, queue, spawn_worker, redis_conn, key_prefix
):
    gate = f"{key_prefix}gate"
    job = queue.enqueue(report_then_wait, gate)
    proc = spawn_worker("default", worker_class, burst=True)
    report = wait_until(job.get_progress, timeout=20, message="no progress while the job ran")
    assert job.get_status() == "started"
    assert (report.done, report.total, report.note, report.percent) == (3, 10, "three of ten", 30)
    assert report.started == pytest.approx(job.started_at.timestamp())
    assert report.eta is not None and report.eta >= report.updated_at
    redis_conn.set(gate, 1)
    assert proc.wait(timeout=30) == 0, _output(proc)
    assert job.get_status() == "finished"
    final = job.get_progress()
    assert (final.done, final.note, final.percent) == (10, "all done", 100)
