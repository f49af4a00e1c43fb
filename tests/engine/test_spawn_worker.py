"""SpawnWorker: each job in a new Python process, started for it, never forked."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import pytest
from redis.sentinel import Sentinel

from django_jobqueue.engine import SpawnWorker, payloads, stop_job
from django_jobqueue.engine.execution import SpawnExecution
from django_jobqueue.engine.execution.spawn import CHILD_PROGRAM
from django_jobqueue.engine.vocabulary import JobStatus

from . import jobs, spawn_jobs
from .conftest import wait_until


def test_a_job_runs_in_a_new_process_of_its_own(queue, make_worker):
    job = queue.enqueue(spawn_jobs.pid_and_group)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    seen = job.return_value(refresh=True)
    assert seen["pid"] != os.getpid() and seen["parent"] == os.getpid()
    # Its own process group: a Ctrl-C meant for the worker does not reach it.
    assert seen["group"] == seen["pid"]


def test_the_child_is_not_a_fork_so_the_workers_globals_are_not_in_it(
    queue, make_worker, monkeypatch
):
    monkeypatch.setattr(spawn_jobs, "MARK", "set in the worker")
    job = queue.enqueue(spawn_jobs.read_mark)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    assert job.return_value(refresh=True) == "unset"


def test_results_and_exceptions_are_recorded(queue, make_worker):
    ok = queue.enqueue(jobs.add, 2, 3)
    bad = queue.enqueue(jobs.fail, "nope")
    worker = make_worker([queue], cls=SpawnWorker)
    worker.work(burst=True)
    assert ok.get_status(refresh=True) == JobStatus.FINISHED and ok.return_value() == 5
    assert bad.get_status(refresh=True) == JobStatus.FAILED
    assert "ValueError: nope" in bad.exc_info
    assert bad.id in queue.failed_job_registry
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 1)


def test_the_job_can_use_its_own_connection(queue, make_worker):
    job = queue.enqueue(spawn_jobs.save_meta_and_return, "hello")
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    job.refresh()
    assert job.return_value() == "hello" and job.meta["seen"] == "hello"


def test_a_timeout_kills_the_child_without_sigalrm(queue, make_worker):
    # The job ignores SIGALRM; the worker kills it at its timeout, no grace.
    job = queue.enqueue(spawn_jobs.sleep_without_alarm, 30, job_timeout=1)
    after = queue.enqueue(jobs.add, 1, 1)
    began = time.monotonic()
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    assert time.monotonic() - began < 10
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "JobTimeoutException" in job.exc_info and "killed" in job.exc_info
    assert after.get_status(refresh=True) == JobStatus.FINISHED


@pytest.mark.parametrize(
    "func, args, how",
    [(spawn_jobs.die_by_exit, (3,), "exit code 3"), (spawn_jobs.die_by_sigkill, (), "signal 9")],
)
def test_a_child_that_dies_fails_the_job_and_the_worker_goes_on(
    queue, make_worker, func, args, how
):
    dead = queue.enqueue(func, *args)
    after = queue.enqueue(jobs.add, 1, 2)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    assert dead.get_status(refresh=True) == JobStatus.FAILED
    assert "died unexpectedly" in dead.exc_info and how in dead.exc_info
    assert after.return_value(refresh=True) == 3


def test_callbacks_run(queue, make_worker, redis_conn, key_prefix):
    ok = queue.enqueue(jobs.add, 1, 2, on_success=jobs.on_success_callback)
    bad = queue.enqueue(jobs.fail, "x", on_failure=jobs.on_failure_callback)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    calls = redis_conn.lrange(jobs.trace_key(key_prefix, "callbacks"), 0, -1)
    assert calls == [f"success:{ok.id}:3".encode(), f"failure:{bad.id}:ValueError:x".encode()]


def test_exception_handlers_run_in_the_child(queue, make_worker):
    job = queue.enqueue(jobs.fail)
    make_worker([queue], cls=SpawnWorker, exception_handlers=[spawn_jobs.mark_job]).work(burst=True)
    job.refresh()
    assert job.meta["handled"] == "ValueError" and job.meta["handled_in"] != os.getpid()


@pytest.mark.parametrize(
    "handler, error",
    [(lambda job, *exc_info: True, (AttributeError, Exception)), ("main", ValueError)],
)
def test_a_handler_the_child_cannot_import_is_refused_before_any_job_is_taken(
    queue, make_worker, handler, error
):
    if handler == "main":

        def handler(job, *exc_info):
            return True

        handler.__module__ = "__main__"
    queue.enqueue(jobs.add, 1, 2)
    worker = make_worker([queue], cls=SpawnWorker, exception_handlers=[handler])
    with pytest.raises(error):
        worker.work(burst=True)
    assert queue.count == 1
    assert not worker.connection.exists(worker.key)  # never registered


def test_signed_payloads_are_checked_in_the_child_with_the_workers_keys(queue, make_worker):
    payloads.configure([b"spawn-test-key"])
    job = queue.enqueue(jobs.add, 20, 22)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    assert job.return_value(refresh=True) == 42


def test_an_initializer_runs_in_each_child_before_its_job(queue, make_worker):
    job = queue.enqueue(spawn_jobs.read_mark)
    execution = SpawnExecution(initializer="tests.engine.spawn_jobs.set_mark")
    make_worker([queue], cls=SpawnWorker, execution=execution).work(burst=True)
    assert job.return_value(refresh=True) == "set by the initializer"


def test_a_child_that_cannot_load_its_job_fails_it_with_the_reason(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 2)
    after = queue.enqueue(jobs.add, 2, 2)
    execution = SpawnExecution(initializer=spawn_jobs.broken_initializer)
    make_worker([queue], cls=SpawnWorker, execution=execution).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert "could not load it" in job.exc_info
    assert "this initializer cannot start" in job.exc_info
    assert after.get_status(refresh=True) == JobStatus.FAILED  # same initializer: same fate


def test_a_stop_request_kills_the_child(queue, make_worker):
    job = queue.enqueue(jobs.sleep_for, 30)
    worker = make_worker([queue], cls=SpawnWorker, job_monitoring_interval=0.1)

    def stop_when_started():
        wait_until(lambda: job.get_status(refresh=True) == JobStatus.STARTED)
        time.sleep(0.5)
        stop_job(job)

    thread = threading.Thread(target=stop_when_started)
    thread.start()
    worker.work(burst=True)
    thread.join()
    assert job.get_status(refresh=True) == JobStatus.STOPPED


def test_a_spawn_worker_process_runs_jobs(queue, spawn_worker):
    job = queue.enqueue(spawn_jobs.pid_and_group)
    bad = queue.enqueue(spawn_jobs.die_by_exit, 1)
    proc = spawn_worker("default", "SpawnWorker", burst=True)
    output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, output
    assert job.return_value(refresh=True)["parent"] == proc.pid
    assert bad.get_status(refresh=True) == JobStatus.FAILED


def test_the_engine_alone_sets_no_initializer():
    assert SpawnExecution().initializer is None


def test_only_the_import_path_and_two_descriptors_travel_on_the_command_line(queue, make_worker):
    job = queue.enqueue(spawn_jobs.command_line)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    argv = job.return_value(refresh=True)
    assert argv[:3] == [sys.executable, "-c", CHILD_PROGRAM]
    assert json.loads(argv[3]) == sys.path and argv[4].isdigit() and argv[5].isdigit()
    assert len(argv) == 6  # the connection (and its password) comes through a pipe


def test_a_timeout_is_a_kill_so_the_on_failure_callback_does_not_run(
    queue, make_worker, redis_conn, key_prefix
):
    job = queue.enqueue(jobs.sleep_for, 30, job_timeout=1, on_failure=jobs.on_failure_callback)
    make_worker([queue], cls=SpawnWorker).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert redis_conn.lrange(jobs.trace_key(key_prefix, "callbacks"), 0, -1) == []


def test_a_sentinel_client_is_refused_when_the_worker_starts(queue, make_worker):
    client = Sentinel([("127.0.0.1", 1)]).master_for("mymaster")
    worker = make_worker([queue], cls=SpawnWorker, connection=client)
    with pytest.raises(ValueError, match="Sentinel"):
        worker.work(burst=True)


def test_the_child_rebuilds_unix_socket_and_tls_connections():
    import redis

    from django_jobqueue.engine.execution.spawn import child_connection_kwargs

    unix = redis.Redis(unix_socket_path="/tmp/redis.sock", db=5, password="secret")
    before = dict(unix.connection_pool.connection_kwargs)
    rebuilt = redis.Redis(**child_connection_kwargs(unix))
    assert rebuilt.connection_pool.connection_class is redis.UnixDomainSocketConnection
    kwargs = rebuilt.connection_pool.connection_kwargs
    assert (kwargs["path"], kwargs["db"], kwargs["password"]) == ("/tmp/redis.sock", 5, "secret")
    assert unix.connection_pool.connection_kwargs == before  # the worker's is left alone

    tls = redis.Redis.from_url("rediss://localhost:6380/5?ssl_cert_reqs=none")
    rebuilt = redis.Redis(**child_connection_kwargs(tls))
    assert rebuilt.connection_pool.connection_class is redis.SSLConnection
    kwargs = rebuilt.connection_pool.connection_kwargs
    assert (kwargs["port"], kwargs["db"], kwargs["ssl_cert_reqs"]) == (6380, 5, "none")
