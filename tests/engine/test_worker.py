"""Workers: running jobs in both worker classes, priorities, bad jobs, timeouts, retries,
registration, waking up without polling, logging, and real worker processes."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time

import pytest

from django_jobqueue.engine import (
    Dependency,
    JobStatus,
    Retry,
    SimpleWorker,
    Worker,
    all_workers,
)

from . import jobs
from .conftest import wait_until

BOTH = pytest.mark.parametrize(
    "worker_class", [SimpleWorker, Worker], ids=["SimpleWorker", "Worker"]
)


def _order(redis_conn, key_prefix):
    return [x.decode() for x in redis_conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)]


# -- construction -------------------------------------------------------------------


def test_worker_needs_a_queue_to_work(redis_conn, key_prefix):
    worker = Worker([], connection=redis_conn, prefix=key_prefix)  # RQ allows building one
    assert worker.queues == [] and worker.queue_names() == []
    with pytest.raises(ValueError, match="at least one queue"):
        worker.work(burst=True)
    assert not redis_conn.exists(worker.key)


def test_worker_from_queue_names(redis_conn, key_prefix):
    worker = SimpleWorker(["high", "low"], connection=redis_conn, prefix=key_prefix, name="w")
    assert worker.queue_names == ["high", "low"]
    assert [q.keys.prefix for q in worker.queues] == [key_prefix, key_prefix]
    assert worker.name == "w"
    assert worker.key == f"{key_prefix}worker:w"
    assert repr(worker) == "SimpleWorker('w', queues=['high', 'low'])"


def test_worker_takes_connection_and_prefix_from_its_queues(make_queue, redis_conn, key_prefix):
    worker = Worker([make_queue("high"), "low"])
    assert worker.connection is redis_conn
    assert worker.keys.prefix == key_prefix
    assert worker.queues[1].keys.prefix == key_prefix
    assert worker.execution.name == "fork"
    assert SimpleWorker([make_queue("a")]).execution.name == "inline"


def test_unknown_execution_is_refused(make_queue):
    with pytest.raises(ValueError, match="Unknown execution"):
        Worker([make_queue()], execution="threads")


# -- running jobs -------------------------------------------------------------------


@BOTH
def test_worker_runs_jobs_and_records_results(worker_class, queue, make_worker):
    a = queue.enqueue(jobs.add, 1, 2)
    b = queue.enqueue("tests.engine.jobs.count_words_at_url", "http://example.org/a b")
    c = queue.enqueue(jobs.Calculator(100).add, 1)
    d = queue.enqueue(jobs.return_none)
    worker = make_worker([queue], cls=worker_class)
    assert worker.work(burst=True) is True
    assert (a.result, b.result, c.result) == (3, 5, 101)
    assert d.is_finished and d.result is None
    assert worker.successful_job_count == 4
    assert worker.failed_job_count == 0
    assert queue.finished_job_registry.count == 4
    assert queue.started_job_registry.count == 0
    assert queue.is_empty()
    for job in (a, b, c, d):
        job.refresh()
        assert job.worker_name == worker.name


@BOTH
def test_worker_counts_failures(worker_class, queue, make_worker):
    queue.enqueue(jobs.fail)
    queue.enqueue(jobs.add, 1, 1)
    queue.enqueue(jobs.fail, "again")
    worker = make_worker([queue], cls=worker_class)
    worker.work(burst=True)
    assert worker.successful_job_count == 1
    assert worker.failed_job_count == 2
    assert queue.failed_job_registry.count == 2


def test_burst_worker_on_empty_queues_returns_false(queue, make_worker):
    assert make_worker([queue]).work(burst=True) is False


def test_max_jobs(queue, make_worker):
    first = queue.enqueue(jobs.add, 1, 1)
    second = queue.enqueue(jobs.add, 2, 2)
    worker = make_worker([queue])
    worker.work(burst=True, max_jobs=1)
    assert first.is_finished
    assert second.is_queued
    assert worker.successful_job_count == 1


@BOTH
def test_meta_written_from_inside_the_job(worker_class, queue, make_worker):
    job = queue.enqueue(jobs.write_meta, "step", "done")
    make_worker([queue], cls=worker_class).work(burst=True)
    assert job.get_meta() == {"step": "done"}


@BOTH
def test_callbacks(worker_class, queue, make_worker, redis_conn, key_prefix):
    ok = queue.enqueue(
        jobs.add, 1, 2, on_success=jobs.on_success_callback, on_failure=jobs.on_failure_callback
    )
    bad = queue.enqueue(
        jobs.fail, "nope", on_success=jobs.on_success_callback, on_failure=jobs.on_failure_callback
    )
    make_worker([queue], cls=worker_class).work(burst=True)
    calls = [c.decode() for c in redis_conn.lrange(jobs.trace_key(key_prefix, "callbacks"), 0, -1)]
    assert calls == [f"success:{ok.id}:3", f"failure:{bad.id}:ValueError:nope"]


# -- strict priority ------------------------------------------------------------------


def test_strict_priority_between_queues(make_queue, make_worker, redis_conn, key_prefix):
    high, low = make_queue("high"), make_queue("low")
    for i in range(3):
        low.enqueue(jobs.record_order, f"low{i}")
        high.enqueue(jobs.record_order, f"high{i}")
    high.enqueue(jobs.record_order, "high3")
    worker = make_worker([high, low])
    worker.work(burst=True)
    assert _order(redis_conn, key_prefix) == [
        "high0",
        "high1",
        "high2",
        "high3",
        "low0",
        "low1",
        "low2",
    ]


def test_high_job_enqueued_while_low_jobs_remain_runs_next(
    make_queue, make_worker, redis_conn, key_prefix
):
    high, low = make_queue("high"), make_queue("low")
    low.enqueue(jobs.record_then_enqueue, "low0", "high", "high-new")
    low.enqueue(jobs.record_order, "low1")
    low.enqueue(jobs.record_order, "low2")
    make_worker([high, low]).work(burst=True)
    assert _order(redis_conn, key_prefix) == ["low0", "high-new", "low1", "low2"]


@pytest.mark.parametrize("order", [["high", "low"], ["low", "high"]])
def test_queue_order_given_to_the_worker_decides(
    make_queue, make_worker, redis_conn, key_prefix, order
):
    queues = {name: make_queue(name) for name in ("high", "low")}
    for name in ("low", "high"):
        queues[name].enqueue(jobs.record_order, name)
    make_worker([queues[n] for n in order]).work(burst=True)
    assert _order(redis_conn, key_prefix) == order


# -- bad jobs do not kill the worker -------------------------------------------------


@BOTH
@pytest.mark.parametrize("path", ["tests.engine.jobs.does_not_exist", "no_such_module.func"])
def test_function_that_cannot_be_imported(worker_class, path, queue, make_worker, redis_conn):
    # Enqueue refuses such a path; a worker still meets one when the code it
    # names was removed or renamed after the job was enqueued (payloads unsigned here).
    bad = queue.enqueue(jobs.add, 1, 0)
    redis_conn.hset(bad.key, "func", path)
    good = queue.enqueue(jobs.add, 2, 3)
    worker = make_worker([queue], cls=worker_class)
    worker.work(burst=True)
    assert bad.get_status() == JobStatus.FAILED
    assert bad.id in queue.failed_job_registry
    assert "ImportAttributeError" in bad.exc_info  # an ImportError, naming the path
    assert path.rsplit(".", 1)[0] in bad.exc_info
    assert good.result == 5
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 1)


@BOTH
def test_corrupt_job_data(worker_class, queue, make_worker, redis_conn, key_prefix):
    bad = queue.enqueue(jobs.add, 1, 1)
    good = queue.enqueue(jobs.add, 2, 3)
    redis_conn.hset(queue.keys.job(queue.name, bad.id), "data", b"\x80\x05garbage not a pickle")
    worker = make_worker([queue], cls=worker_class)
    worker.work(burst=True)
    assert bad.get_status() == JobStatus.FAILED
    assert bad.id in queue.failed_job_registry
    assert "DeserializationError" in bad.exc_info
    assert f"Could not read the stored call of job {bad.id}" in bad.exc_info
    assert good.result == 5
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 1)


@BOTH
def test_unpicklable_return_value(worker_class, queue, make_worker):
    bad = queue.enqueue(jobs.return_unpicklable)
    good = queue.enqueue(jobs.add, 2, 3)
    worker = make_worker([queue], cls=worker_class)
    worker.work(burst=True)
    assert bad.is_failed
    assert "The job returned a value the serializer cannot store" in bad.exc_info
    assert good.result == 5
    assert worker.failed_job_count == 1


@pytest.mark.parametrize(
    "func, args, how",
    [
        (jobs.crash_kill, (), "signal 9"),
        (jobs.crash_exit, (1,), "exit code 1"),
        (jobs.crash_exit, (0,), "exit code 0"),
        (jobs.crash_exit, (3,), "exit code 3"),
    ],
    ids=["SIGKILL", "os._exit(1)", "os._exit(0)", "os._exit(3)"],
)
def test_crashing_job_fails_only_itself_under_the_forking_worker(
    func, args, how, queue, make_worker
):
    crash = queue.enqueue(func, *args)
    good = queue.enqueue(jobs.add, 2, 3)
    worker = make_worker([queue], cls=Worker)
    worker.work(burst=True)
    assert crash.get_status() == JobStatus.FAILED
    assert crash.id in queue.failed_job_registry
    assert crash.id not in queue.started_job_registry
    assert "died unexpectedly" in crash.exc_info
    assert how in crash.exc_info
    assert good.result == 5
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 1)


# -- timeouts -----------------------------------------------------------------------


@BOTH
def test_job_timeout_is_enforced(worker_class, queue, make_worker):
    slow = queue.enqueue(jobs.sleep_for, 10, job_timeout=1)
    good = queue.enqueue(jobs.add, 2, 3)
    worker = make_worker([queue], cls=worker_class)
    started = time.monotonic()
    worker.work(burst=True)
    assert time.monotonic() - started < 6
    assert slow.get_status() == JobStatus.FAILED
    assert slow.id in queue.failed_job_registry
    assert "JobTimeoutException" in slow.exc_info
    assert "exceeded its timeout of 1 seconds" in slow.exc_info
    assert good.result == 5
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 1)


@BOTH
def test_default_timeout_of_the_queue_is_enforced(worker_class, make_queue, make_worker):
    q = make_queue("default", default_timeout=1)
    slow = q.enqueue(jobs.sleep_for, 10)
    make_worker([q], cls=worker_class).work(burst=True)
    assert slow.is_failed
    assert "JobTimeoutException" in slow.exc_info


def test_job_within_its_timeout_is_not_interrupted(queue, make_worker):
    job = queue.enqueue(jobs.sleep_for, 0.2, "ok", job_timeout=5)
    make_worker([queue]).work(burst=True)
    assert job.result == "ok"
    # The alarm was disarmed: nothing fires later in this process.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# -- retries ------------------------------------------------------------------------


@BOTH
def test_retry_runs_the_job_max_plus_one_times(
    worker_class, queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(jobs.fail_and_count, retry=Retry(max=2))
    assert job.retries_left == 2
    worker = make_worker([queue], cls=worker_class)
    worker.work(burst=True)
    assert int(redis_conn.get(jobs.trace_key(key_prefix, f"attempts:{job.id}"))) == 3
    assert job.get_status() == JobStatus.FAILED
    assert job.id in queue.failed_job_registry
    job.refresh()
    assert job.retries_left == 0
    assert worker.failed_job_count == 3


def test_retry_succeeding_on_a_later_attempt(queue, make_worker):
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=3))
    make_worker([queue]).work(burst=True)
    assert job.result == 2
    job.refresh()
    assert job.retries_left == 2
    assert queue.failed_job_registry.count == 0


def test_retry_enqueue_at_front_puts_the_job_back_ahead_of_the_queue(queue, make_worker):
    job = queue.enqueue(jobs.fail, retry=Retry(max=1, enqueue_at_front=True))
    behind = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert queue.get_job_ids() == [job.id, behind.id]
    make_worker([queue]).work(burst=True)
    plain = queue.enqueue(jobs.fail, retry=Retry(max=1))
    other = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert queue.get_job_ids() == [other.id, plain.id]  # RQ's default: the end of the queue


def test_retry_with_interval_goes_to_the_scheduled_registry(
    queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(jobs.fail_and_count, retry=Retry(max=2, interval=[30, 60]))
    make_worker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.SCHEDULED
    registry = queue.scheduled_job_registry
    assert registry.get_job_ids() == [job.id]
    due = redis_conn.zscore(registry.key, job.id)
    assert abs(due - (time.time() + 30)) < 5
    assert registry.enqueue_due(timestamp=time.time() + 31) == 1
    make_worker([queue]).work(burst=True)
    # The second retry waits for the second interval.
    assert job.get_status() == JobStatus.SCHEDULED
    due = redis_conn.zscore(registry.key, job.id)
    assert abs(due - (time.time() + 60)) < 5
    assert registry.enqueue_due(timestamp=time.time() + 61) == 1
    make_worker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert int(redis_conn.get(jobs.trace_key(key_prefix, f"attempts:{job.id}"))) == 3


def test_due_retry_is_requeued_by_the_workers_maintenance(
    queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=1, interval=1))
    worker = make_worker([queue])
    started = time.monotonic()
    worker.work(max_jobs=2, max_idle_time=5)
    assert time.monotonic() - started < 5
    assert job.get_status() == JobStatus.FINISHED
    assert job.result == 2
    assert worker.failed_job_count == 1
    assert worker.successful_job_count == 1


# -- inline queues (is_async=False) -----------------------------------------------------


def test_inline_queue_runs_the_job_in_the_caller(make_queue, redis_conn):
    q = make_queue("low", is_async=False)
    job = q.enqueue(jobs.add, 3, 4)
    assert job.get_status() == JobStatus.FINISHED
    assert job.is_finished
    assert job.result == 7
    assert job.return_value() == 7
    assert q.is_empty()
    assert job.id in q.finished_job_registry
    assert job.id not in q.started_job_registry
    assert 490 <= redis_conn.ttl(job.key) <= 500
    fetched = q.fetch_job(job.id)
    assert fetched.result == 7
    assert fetched.started_at is not None and fetched.ended_at is not None


def test_inline_queue_failure(make_queue):
    q = make_queue("low", is_async=False)
    job = q.enqueue(jobs.fail, "inline failure")
    assert job.is_failed
    assert job.result is None
    assert "ValueError: inline failure" in job.exc_info
    assert job.id in q.failed_job_registry


def test_inline_queue_runs_current_job_and_meta(make_queue):
    q = make_queue("low", is_async=False)
    job = q.enqueue(jobs.write_meta, "k", "v")
    assert job.result == job.id
    assert job.get_meta() == {"k": "v"}


def test_inline_queue_with_dependencies(make_queue):
    q = make_queue("low", is_async=False)
    parent = q.enqueue(jobs.add, 1, 1)
    child = q.enqueue(jobs.add, 2, 2, depends_on=parent)
    assert child.result == 4
    failed = q.enqueue(jobs.fail)
    stuck = q.enqueue(jobs.add, 3, 3, depends_on=failed)
    assert stuck.get_status() == JobStatus.DEFERRED
    assert stuck.result is None
    lenient = q.enqueue(jobs.add, 3, 3, depends_on=Dependency([failed], allow_failure=True))
    assert lenient.result == 6


# -- registration --------------------------------------------------------------------


def _run_in_thread(worker, **kwargs):
    errors = []

    def target():
        try:
            worker.work(**kwargs)
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def test_worker_registers_while_running_and_unregisters_at_the_end(
    queue, make_worker, redis_conn, key_prefix
):
    worker = make_worker([queue], name="registered-worker")
    assert all_workers(redis_conn, key_prefix) == []
    thread, errors = _run_in_thread(worker, max_idle_time=10)
    try:
        found = wait_until(lambda: all_workers(redis_conn, key_prefix))
        (info,) = found
        assert info["name"] == "registered-worker"
        assert info["queues"] == "default"
        assert info["pid"] == str(os.getpid())
        assert info["version"] == "0.1.0"
        assert redis_conn.sismember(f"{key_prefix}workers", "registered-worker")
        assert 0 < redis_conn.ttl(f"{key_prefix}worker:registered-worker") <= 421
    finally:
        worker.request_stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert errors == []
    assert all_workers(redis_conn, key_prefix) == []
    assert not redis_conn.exists(f"{key_prefix}worker:registered-worker")
    assert not redis_conn.sismember(f"{key_prefix}workers", "registered-worker")


def test_burst_worker_unregisters(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 1)
    worker = make_worker([queue])
    worker.work(burst=True)
    assert job.is_finished
    assert all_workers(redis_conn, key_prefix) == []
    assert redis_conn.scard(f"{key_prefix}workers") == 0


def test_all_workers_drops_workers_whose_registration_expired(redis_conn, key_prefix):
    redis_conn.sadd(f"{key_prefix}workers", "ghost")
    assert all_workers(redis_conn, key_prefix) == []
    assert redis_conn.scard(f"{key_prefix}workers") == 0


# -- waiting without polling -----------------------------------------------------------


def test_idle_worker_picks_up_a_new_job_at_once(queue, make_worker):
    worker = make_worker([queue])
    thread, errors = _run_in_thread(worker, max_jobs=1, max_idle_time=15)
    try:
        time.sleep(0.3)  # the worker is idle, waiting
        assert thread.is_alive()
        enqueued = time.monotonic()
        job = queue.enqueue(jobs.add, 1, 2)
        wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=5, interval=0.005)
        elapsed = time.monotonic() - enqueued
    finally:
        worker.request_stop()
        thread.join(timeout=10)
    assert errors == []
    assert elapsed < 0.5, f"the idle worker took {elapsed:.3f} s to pick the job up"
    assert job.result == 3
    assert not thread.is_alive()


def test_idle_worker_wakes_for_a_released_dependent(queue, make_queue, make_worker):
    other = make_queue("other")
    parent = other.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    worker = make_worker([queue])
    thread, errors = _run_in_thread(worker, max_jobs=1, max_idle_time=15)
    try:
        time.sleep(0.3)
        make_worker([other]).work(burst=True)
        released = time.monotonic()
        wait_until(lambda: child.get_status() == JobStatus.FINISHED, timeout=5, interval=0.005)
        elapsed = time.monotonic() - released
    finally:
        worker.request_stop()
        thread.join(timeout=10)
    assert errors == []
    assert elapsed < 0.5
    assert child.result == 4


def test_max_idle_time(queue, make_worker):
    worker = make_worker([queue])
    started = time.monotonic()
    assert worker.work(max_idle_time=0.3) is False
    assert 0.25 <= time.monotonic() - started < 3


# -- logging ------------------------------------------------------------------------------


def test_worker_log_lines(make_queue, make_worker, caplog):
    caplog.set_level(logging.DEBUG, logger="django_jobqueue.worker")
    high, low = make_queue("high"), make_queue("low")
    ok = high.enqueue(jobs.add, 1, 2)
    worker = make_worker([high, low], name="logging-worker")
    worker.work(burst=True)
    records = [r for r in caplog.records if r.name == "django_jobqueue.worker"]
    messages = [r.getMessage() for r in records]
    assert f"Worker logging-worker started with PID {os.getpid()}, version 0.1.0" in messages
    assert "*** Listening on high, low..." in messages
    what = f"high: tests.engine.jobs.add(1, 2) ({ok.id})"
    (line,) = [r for r in records if ok.id in r.getMessage() and r.levelno >= logging.INFO]
    assert re.fullmatch(re.escape(what) + r" OK in \d+\.\d{3} s", line.getMessage())
    assert line.levelno == logging.INFO
    assert messages.index(f"{what} started") < messages.index(f"{what}: result kept 500 s")


def test_worker_log_lines_on_failure(queue, make_worker, caplog):
    caplog.set_level(logging.INFO, logger="django_jobqueue.worker")
    bad = queue.enqueue(jobs.fail, "logged failure")
    make_worker([queue]).work(burst=True)
    (line,) = [r for r in caplog.records if bad.id in r.getMessage()]
    assert line.levelno == logging.ERROR
    assert ", moved to the failed jobs\nTraceback (most recent call last)" in line.getMessage()
    assert line.getMessage().endswith("ValueError: logged failure")


def test_worker_log_lines_for_other_result_ttls(queue, make_worker, caplog):
    caplog.set_level(logging.DEBUG, logger="django_jobqueue.worker")
    queue.enqueue(jobs.add, 1, 1, result_ttl=0)
    queue.enqueue(jobs.add, 1, 1, result_ttl=-1)
    queue.enqueue(jobs.add, 1, 1, result_ttl=60)
    make_worker([queue]).work(burst=True)
    details = [
        r.getMessage().rsplit(": ", 1)[1] for r in caplog.records if ": result " in r.getMessage()
    ]
    assert details == ["result discarded", "result never expires", "result kept 60 s"]


# -- real worker processes --------------------------------------------------------------


def _output(proc):
    try:
        out, _ = proc.communicate(timeout=10)
    except Exception:  # pragma: no cover - diagnostics only
        return ""
    return out.decode(errors="replace") if out else ""


@pytest.mark.parametrize("worker_class", ["SimpleWorker", "Worker"])
def test_sigterm_during_a_job_is_a_warm_shutdown(worker_class, queue, spawn_worker):
    running = queue.enqueue(jobs.sleep_for, 1.0, "finished anyway")
    waiting = queue.enqueue(jobs.add, 1, 1)
    proc = spawn_worker("default", worker_class, max_idle_time=30)
    wait_until(
        lambda: running.get_status() == JobStatus.STARTED or proc.poll() is not None, timeout=20
    )
    assert proc.poll() is None, _output(proc)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=20)
    except Exception:
        pytest.fail("the worker did not exit after SIGTERM")
    out = _output(proc)
    assert code == 0, out
    assert running.get_status() == JobStatus.FINISHED, out
    assert running.result == "finished anyway"
    # Warm shutdown: no new job was taken.
    assert waiting.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [waiting.id]
    assert all_workers(queue.connection, queue.keys.prefix) == []


@pytest.mark.parametrize("worker_class", ["SimpleWorker", "Worker"])
def test_sigkilled_worker_leaves_an_abandoned_job(worker_class, queue, spawn_worker, redis_conn):
    job = queue.enqueue(jobs.sleep_for, 30)
    # Its own session, so that the forking worker's work-horse dies with it.
    proc = spawn_worker("default", worker_class, worker_ttl=1, max_idle_time=60, new_session=True)
    wait_until(lambda: job.get_status() == JobStatus.STARTED or proc.poll() is not None, timeout=20)
    assert proc.poll() is None, _output(proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    killed_at = time.time()
    assert job.get_status() == JobStatus.STARTED
    assert job.id in queue.started_job_registry
    registry = queue.started_job_registry

    # Once the dead worker's heartbeat deadline (worker_ttl) has passed, cleanup fails the job.
    def cleaned():
        return registry.cleanup(timestamp=time.time() + 10**6)

    wait_until(cleaned, timeout=10, interval=0.1)
    assert time.time() - killed_at < 5
    assert job.get_status() == JobStatus.FAILED
    assert job.id in queue.failed_job_registry
    assert job.id not in registry
    assert "AbandonedJobError" in job.exc_info


def test_a_worker_restarted_under_a_killed_ones_name_does_not_hide_its_job(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    killed = make_worker([queue], name="w", worker_ttl=1)
    killed.register_birth()
    assert killed.dequeue().id == job.id  # taken, then never recorded: "killed"
    again = make_worker([queue], name="w", worker_ttl=1)
    again.register_birth()
    again.heartbeat()
    time.sleep(1.2)
    again.heartbeat()  # the new "w" is alive; the job's own deadline has passed
    assert queue.started_job_registry.cleanup() == 1
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "AbandonedJobError" in job.exc_info


def test_worker_subprocess_runs_jobs(make_queue, spawn_worker, redis_conn, key_prefix):
    high, low = make_queue("high"), make_queue("low")
    for i in range(2):
        low.enqueue(jobs.record_order, f"low{i}")
        high.enqueue(jobs.record_order, f"high{i}")
    crash = low.enqueue(jobs.crash_kill)
    last = low.enqueue(jobs.record_order, "last")
    proc = spawn_worker("high,low", "Worker", burst=True)
    assert proc.wait(timeout=30) == 0, _output(proc)
    assert _order(redis_conn, key_prefix) == ["high0", "high1", "low0", "low1", "last"]
    assert crash.is_failed
    assert "died unexpectedly" in crash.exc_info
    assert last.is_finished


def test_worker_default_result_ttl_applies_to_jobs_without_one(queue, redis_conn, key_prefix):
    default = queue.enqueue(jobs.add, 1, 2)
    explicit = queue.enqueue(jobs.add, 1, 2, result_ttl=30)
    SimpleWorker([queue], worker_ttl=60, default_result_ttl=60).work(burst=True)
    assert 55 <= redis_conn.ttl(default.key) <= 60
    assert 25 <= redis_conn.ttl(explicit.key) <= 30


def test_explicit_args_form_refuses_other_keywords(queue):
    with pytest.raises(TypeError, match="args="):
        queue.enqueue(jobs.add, args=(1,), b=2)


def test_work_restores_the_signal_handlers_it_replaced(queue):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        SimpleWorker([queue]).work(burst=True)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_an_in_process_worker_leaves_no_thread_nor_signal_handler_behind(queue, make_worker):
    import threading

    before = signal.getsignal(signal.SIGUSR1)
    queue.enqueue(jobs.add, 1, 2)
    worker = make_worker([queue])
    worker.work(burst=True)
    assert signal.getsignal(signal.SIGUSR1) is before
    assert not [t for t in threading.enumerate() if t.name == f"heartbeat-{worker.name}"]


# -- RQ's tuning keywords ---------------------------------------------------------


def test_maintenance_interval_spaces_registry_cleaning(queue, make_worker, redis_conn):
    worker = make_worker(queue, maintenance_interval=3600, job_monitoring_interval=0.25)
    assert worker.last_cleaned_at is None and worker.stop_poll_interval == 0.25
    worker.maintain_if_due()
    first = worker.last_cleaned_at
    assert first is not None
    worker._next_maintenance = 0.0  # suspension is still followed every second
    redis_conn.set(queue.keys.suspended, 1)
    worker.maintain_if_due()
    assert worker.last_cleaned_at == first and worker.state == "suspended"
