"""The worker pool: long-lived children, replaced when they die or have done enough."""

from __future__ import annotations

import os
import signal
import time

from django_jobqueue.engine import JobStatus, Queue, all_workers
from django_jobqueue.engine.worker.pool import WorkerPool, rss_bytes

from . import jobs
from .conftest import read_output_until, wait_until


def pool(queue, **kwargs):
    kwargs.setdefault("processes", 2)
    return WorkerPool([queue], **kwargs)


def test_a_burst_pool_drains_the_queue_with_every_outcome_recorded(queue):
    ok = [queue.enqueue(jobs.add, i, 1) for i in range(40)]
    bad = [queue.enqueue(jobs.fail, "no") for _ in range(5)]
    worker = pool(queue)
    assert worker.work(burst=True)
    assert all(j.get_status() == JobStatus.FINISHED for j in ok)
    assert [j.result for j in ok[:3]] == [1, 2, 3]
    assert all(j.get_status() == JobStatus.FAILED for j in bad)
    assert (worker.successful_job_count, worker.failed_job_count) == (40, 5)
    assert queue.started_job_registry.count == 0 and len(queue) == 0


def test_jobs_run_in_several_children_at_once(queue):
    for _ in range(6):
        queue.enqueue(jobs.sleep_for, 0.3)
    started = time.monotonic()
    pool(queue, processes=3).work(burst=True)
    # Six 0.3 s jobs on three children take about 0.6 s, not 1.8 s.
    assert time.monotonic() - started < 1.5


def test_a_child_that_dies_fails_only_its_job_and_is_replaced(queue):
    doomed = queue.enqueue(jobs.crash_kill)
    after = [queue.enqueue(jobs.add, 1, i) for i in range(5)]
    worker = pool(queue, processes=1)
    worker.work(burst=True)
    assert doomed.get_status() == JobStatus.FAILED
    assert "died unexpectedly (signal 9)" in doomed.exc_info
    assert all(j.get_status() == JobStatus.FINISHED for j in after)
    # The dead child was replaced by a second one, which ran the rest.
    assert worker._spawned == 2


def test_children_are_replaced_after_max_jobs_per_child(queue, spawn_worker):
    for _ in range(6):
        queue.enqueue(jobs.current_pid)
    proc = spawn_worker(
        worker_class="WorkerPool", extra=["--processes", "1", "--max-jobs-per-child", "2"]
    )
    try:
        wait_until(lambda: queue.finished_job_registry.count == 6, timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    pids = {j.result for j in queue.finished_job_registry.get_jobs()}
    assert len(pids) == 3 and proc.pid not in pids


def test_a_job_past_its_timeout_is_stopped_and_the_pool_goes_on(queue):
    slow = queue.enqueue(jobs.sleep_for, 30, job_timeout=1)
    nxt = queue.enqueue(jobs.add, 2, 2)
    started = time.monotonic()
    pool(queue, processes=1).work(burst=True)
    assert time.monotonic() - started < 10
    assert slow.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in slow.exc_info
    assert nxt.result == 4


def test_the_pool_registers_as_one_worker_with_its_children(
    queue, spawn_worker, redis_conn, key_prefix
):
    proc = spawn_worker(worker_class="WorkerPool")
    wait_until(
        lambda: any(w.get("execution") == "pool" for w in all_workers(redis_conn, key_prefix)),
        timeout=10,
    )
    workers = all_workers(redis_conn, key_prefix)
    assert len(workers) == 1
    wait_until(
        lambda: (
            len(
                (
                    redis_conn.hget(f"{key_prefix}worker:{workers[0]['name']}", "children") or b""
                ).split(b",")
            )
            == 2
        ),
        timeout=10,
    )
    children = (
        redis_conn.hget(f"{key_prefix}worker:{workers[0]['name']}", "children").decode().split(",")
    )
    assert all(c.startswith(workers[0]["name"] + ".") for c in children)
    job = queue.enqueue(jobs.add, 20, 22)
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=10)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert all_workers(redis_conn, key_prefix) == []


def test_sigterm_lets_running_jobs_finish(queue, spawn_worker, redis_conn, key_prefix):
    proc = spawn_worker(worker_class="WorkerPool")
    running = queue.enqueue(jobs.sleep_for, 1.5, "done")
    wait_until(lambda: running.get_status() == JobStatus.STARTED, timeout=10)
    waiting = [queue.enqueue(jobs.add, 1, 1) for _ in range(3)]
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert running.get_status() == JobStatus.FINISHED and running.result == "done"
    # Nothing is lost: jobs not run are still queued, none stuck in started.
    assert queue.started_job_registry.count == 0
    statuses = {j.get_status() for j in waiting}
    assert statuses <= {JobStatus.QUEUED, JobStatus.FINISHED}


def test_sigterm_twice_stops_the_running_job_without_losing_it(queue, spawn_worker):
    proc = spawn_worker(worker_class="WorkerPool")
    running = queue.enqueue(jobs.sleep_for, 30)
    wait_until(lambda: running.get_status() == JobStatus.STARTED, timeout=10)
    proc.send_signal(signal.SIGTERM)
    # A second signal within a second of the first one's handling counts as
    # the first: wait until the pool has handled it, not a guessed time.
    read_output_until(proc, "Warm shut down requested")
    time.sleep(1.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert running.get_status() == JobStatus.FAILED
    assert "shut down (cold)" in running.exc_info
    assert queue.started_job_registry.count == 0


def test_rss_bytes_reads_this_process():
    assert rss_bytes() > 1_000_000


def test_children_leave_when_the_pool_is_killed_outright(
    queue, spawn_worker, redis_conn, key_prefix
):
    proc = spawn_worker(worker_class="WorkerPool")
    wait_until(
        lambda: any(w.get("execution") == "pool" for w in all_workers(redis_conn, key_prefix)),
        timeout=10,
    )
    name = all_workers(redis_conn, key_prefix)[0]["name"]
    wait_until(lambda: redis_conn.hget(f"{key_prefix}worker:{name}", "children"), timeout=10)
    children = redis_conn.hget(f"{key_prefix}worker:{name}", "children").decode().split(",")
    wait_until(lambda: all(redis_conn.hget(f"{key_prefix}worker:{c}", "pid") for c in children))
    pids = [int(redis_conn.hget(f"{key_prefix}worker:{c}", "pid")) for c in children]
    proc.kill()
    proc.wait(10)

    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie waiting for a reaper has left too.
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] == "Z"

    wait_until(lambda: all(gone(pid) for pid in pids), timeout=10)


# -- RQ's finer controls --------------------------------------------------------------


def test_start_workers_check_and_stop_them(queue, redis_conn):
    from django_jobqueue.engine import send_shutdown_command

    workers = pool(queue)
    assert workers.status == WorkerPool.Status.IDLE
    workers.start_workers(burst=False)
    try:
        assert workers.status == WorkerPool.Status.STARTED
        assert len(workers.worker_dict) == 2
        name = next(iter(workers.worker_dict))
        wait_until(lambda: redis_conn.exists(queue.keys.worker(name)), timeout=10)
        assert send_shutdown_command(redis_conn, name, prefix=queue.keys.prefix)

        def one_left():
            workers.check_workers(respawn=False)
            return len(workers.worker_dict) == 1

        wait_until(one_left, timeout=10)
        workers.check_workers(respawn=True)  # a new child in its place
        assert len(workers.worker_dict) == 2 and name not in workers.worker_dict
        job = queue.enqueue(jobs.add, 2, 2)
        wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=10)
    finally:
        workers.stop_workers()
    assert workers.all_workers_have_stopped()
    assert workers.status == WorkerPool.Status.STOPPED


def test_start_runs_the_pool_and_reports_its_status(queue):
    queue.enqueue(jobs.add, 1, 1)
    workers = pool(queue, num_workers=2, worker_class="SimpleWorker")
    assert workers.start(burst=True)
    assert workers.status == WorkerPool.Status.STOPPED
    assert workers.all_workers_have_stopped()


def test_exception_handlers_none_stays_none_and_handlers_reach_the_children(queue):
    assert pool(queue, exception_handlers=None).exception_handlers is None
    job = queue.enqueue(jobs.fail)
    workers = pool(queue, processes=1, exception_handlers=[jobs.meta_handler])
    workers.start(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED and job.meta == {"handled": True}


def test_two_stop_signals_within_a_second_count_as_one(queue):
    job = queue.enqueue(jobs.sleep_for, 1, "done")
    workers = pool(queue)

    def two_signals():
        wait_until(lambda: job.get_status() == JobStatus.STARTED, timeout=10)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)  # the terminal's copy of the pool's, say

    import threading

    sender = threading.Thread(target=two_signals)
    sender.start()
    workers.start(burst=False)
    sender.join()
    assert job.get_status() == JobStatus.FINISHED and job.result == "done"


def test_run_worker_builds_a_worker_from_a_parsed_connection(queue, redis_conn, key_prefix):
    from django_jobqueue.engine.connections import parse_connection
    from django_jobqueue.engine.worker_pool import run_worker

    job = queue.enqueue(jobs.add, 20, 22)
    client_class, connection_class, pool_kwargs = parse_connection(redis_conn)
    assert client_class is type(redis_conn)
    assert "orig_host_address" not in pool_kwargs

    class Prefixed(Queue):
        def __init__(self, name, connection=None, **kwargs):
            kwargs.setdefault("prefix", key_prefix)
            super().__init__(name, connection=connection, **kwargs)

    assert run_worker(
        "w1",
        [queue.name],
        client_class,
        connection_class,
        pool_kwargs,
        queue_class=Prefixed,
        logging_level=None,
    )
    assert job.return_value(refresh=True) == 42
