"""What docs/workers.rst ("Worker API (RQ's names)") promises and no other test shows."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from django_jobqueue.engine import (
    Dependency,
    JobStatus,
    NoSuchJobError,
    SimpleWorker,
    Worker,
    WorkerPool,
    cancel_job,
    get_current_job,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
)
from django_jobqueue.engine.queue import Queue

from . import jobs
from .conftest import wait_until


def cancel_self_then_fail():
    get_current_job().cancel()
    raise ValueError("failed after its cancel")


def cancel_self_releasing_dependents():
    get_current_job().cancel(enqueue_dependents=True)
    return "done"


# -- the read model ---------------------------------------------------------------


def test_a_pool_is_one_worker_and_its_children_are_not_listed(
    queue, spawn_worker, redis_conn, key_prefix
):
    spawn_worker("default", "WorkerPool", name="pool")
    wait_until(
        lambda: redis_conn.hget(queue.keys.worker("pool"), "children"), message="no children"
    )
    assert [w.name for w in Worker.all(redis_conn, prefix=key_prefix)] == ["pool"]
    assert Worker.count(queue=queue) == 1
    assert redis_conn.exists(queue.keys.worker("pool.1"))  # registered, but not listed


def test_a_worker_read_back_shows_its_host_pid_and_aware_birth(
    queue, make_worker, redis_conn, key_prefix
):
    worker = make_worker(queue, name="w")
    worker.register_birth()
    found = Worker.find_by_key(worker.key, redis_conn, prefix=key_prefix)
    assert (found.hostname, found.pid) == (worker.hostname, worker.pid)
    assert found.birth_date.tzinfo is not None
    assert found.get_current_job_id() is None and found.get_current_job() is None


def test_a_worker_without_queues_is_refused_when_it_starts(redis_conn):
    worker = Worker([], connection=redis_conn)  # built, as RQ allows
    with pytest.raises(ValueError, match="at least one queue"):
        worker.work(burst=True)


class MarkedQueue(Queue):
    pass


def test_queue_class_builds_the_named_queues(queue, make_worker):
    worker = make_worker(["default", "low"], queue_class=MarkedQueue)
    assert [type(q) for q in worker.queues] == [MarkedQueue, MarkedQueue]


# -- job control ------------------------------------------------------------------


def test_cancel_job_of_an_unknown_id(redis_conn, key_prefix):
    with pytest.raises(NoSuchJobError):
        cancel_job("nope", redis_conn, prefix=key_prefix)


def test_enqueue_dependents_still_waits_for_the_other_parents(queue, make_worker):
    job = queue.enqueue_at(time.time() + 3600, jobs.add, 1, 1)
    other = queue.enqueue_at(time.time() + 3600, jobs.add, 2, 2)
    child = queue.enqueue(jobs.add, 3, 3, depends_on=[job, other])
    job.cancel(enqueue_dependents=True)
    assert child.get_status() == JobStatus.DEFERRED
    other.cancel(enqueue_dependents=True)
    assert child.get_status() == JobStatus.QUEUED


def test_a_plain_cancel_releases_dependents_that_allow_failure(queue):
    job = queue.enqueue_at(time.time() + 3600, jobs.add, 1, 1)
    tolerant = queue.enqueue(jobs.add, 2, 2, depends_on=Dependency([job], allow_failure=True))
    strict = queue.enqueue(jobs.add, 3, 3, depends_on=job)
    job.cancel()
    assert tolerant.get_status() == JobStatus.QUEUED
    assert strict.get_status() == JobStatus.DEFERRED


def test_a_running_job_canceled_with_enqueue_dependents_releases_them_at_once(queue, make_worker):
    job = queue.enqueue(cancel_self_releasing_dependents)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=job)
    make_worker(queue).work(burst=True)
    assert job.get_status() == JobStatus.CANCELED and job.result == "done"
    assert child.get_status() == JobStatus.FINISHED


def test_a_running_job_canceled_then_failing_stays_canceled(queue, make_worker):
    job = queue.enqueue(cancel_self_then_fail)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=job)
    make_worker(queue).work(burst=True)
    assert job.get_status() == JobStatus.CANCELED
    assert job.id in queue.canceled_job_registry and job.id not in queue.failed_job_registry
    assert child.get_status() == JobStatus.DEFERRED


# -- worker commands ----------------------------------------------------------------


def test_an_idle_pool_shuts_down_within_about_a_second(queue, spawn_worker, redis_conn, key_prefix):
    proc = spawn_worker("default", "WorkerPool", name="idlepool")
    wait_until(
        lambda: redis_conn.hget(queue.keys.worker("idlepool"), "children"), message="no children"
    )
    began = time.monotonic()
    assert send_shutdown_command(redis_conn, "idlepool", prefix=key_prefix)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - began < 2.5  # read within a second; idle children leave at once


@pytest.mark.parametrize("cls", [SimpleWorker, WorkerPool])
def test_kill_horse_is_ignored_without_a_work_horse(cls, queue, make_worker, caplog):
    worker = make_worker(queue, cls=cls, name="nohorse")
    worker.register_birth()
    worker.current_job = queue.enqueue(jobs.add, 1, 2)  # busy, but in-process
    send_kill_horse_command(queue.connection, "nohorse", prefix=queue.keys.prefix)
    with caplog.at_level(logging.INFO, "django_jobqueue"):
        worker.obey_commands()
    assert "no work-horse to kill" in caplog.text and not worker.stopping
    worker.register_death()


@pytest.mark.parametrize("command", ["kill-horse", "stop-job"])
def test_a_busy_worker_reads_commands_every_job_monitoring_interval(
    command, queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(jobs.sleep_for, 30)
    worker = make_worker(queue, cls=Worker, name="quick", job_monitoring_interval=0.1)
    seen = {}

    def send_when_started():
        wait_until(lambda: job.get_status() == JobStatus.STARTED, message="never started")
        seen["sent"] = time.monotonic()
        if command == "kill-horse":
            send_kill_horse_command(redis_conn, "quick", prefix=key_prefix)
        else:
            send_stop_job_command(redis_conn, job.id, prefix=key_prefix)
        wait_until(lambda: job.get_status() != JobStatus.STARTED, message="not acted on")
        seen["ended"] = time.monotonic()

    sender = threading.Thread(target=send_when_started)
    sender.start()
    worker.work(burst=True)
    sender.join()
    assert seen["ended"] - seen["sent"] < 0.6  # the first look comes 1 s in by default
    ended = JobStatus.FAILED if command == "kill-horse" else JobStatus.STOPPED
    assert job.get_status() == ended


def test_an_idle_simple_worker_shuts_down_at_once(queue, spawn_worker, redis_conn, key_prefix):
    proc = spawn_worker("default", "SimpleWorker", name="idle")
    wait_until(lambda: redis_conn.exists(queue.keys.worker("idle")), message="never registered")
    time.sleep(0.3)  # subscribed
    began = time.monotonic()
    assert send_shutdown_command(redis_conn, "idle", prefix=key_prefix)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - began < 1.0


# -- exception handlers -------------------------------------------------------------


@pytest.mark.parametrize("cls", [SimpleWorker, Worker])
def test_a_timeout_reaches_the_handlers(cls, queue, make_worker, redis_conn, key_prefix):
    key = f"{key_prefix}calls"
    queue.enqueue(jobs.sleep_for, 10, job_timeout=1)

    def handler(job, exc_type, exc_value, tb):
        redis_conn.rpush(key, exc_type.__name__)

    make_worker(queue, cls=cls, exception_handlers=handler).work(burst=True)
    assert [v.decode() for v in redis_conn.lrange(key, 0, -1)] == ["JobTimeoutException"]
