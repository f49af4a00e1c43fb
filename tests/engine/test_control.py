"""RQ's worker commands (shutdown, kill-horse, stop-job), with real worker subprocesses."""

from __future__ import annotations

import logging
import time

import pytest

from django_jobqueue.engine import (
    InvalidJobOperation,
    JobStatus,
    NoSuchJobError,
    Retry,
    Worker,
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
)
from django_jobqueue.engine.command import send_shutdown_command as from_rq_path

from . import jobs
from .conftest import wait_until


def _registered(redis_conn, queue, name):
    wait_until(lambda: redis_conn.exists(queue.keys.worker(name)), message="never registered")


def test_an_idle_worker_shuts_down_at_once(queue, spawn_worker, redis_conn, key_prefix):
    proc = spawn_worker("default", "Worker", name="idle")
    _registered(redis_conn, queue, "idle")
    time.sleep(0.3)  # subscribed
    began = time.monotonic()
    assert send_shutdown_command(redis_conn, "idle", prefix=key_prefix)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - began < 1.0  # woken by the announcement, not the 1 s poll
    assert from_rq_path is send_shutdown_command


@pytest.mark.parametrize("worker_class", ["Worker", "WorkerPool"])
def test_a_busy_worker_finishes_its_job_first(
    worker_class, queue, spawn_worker, redis_conn, key_prefix
):
    proc = spawn_worker("default", worker_class, name="busy")
    job = queue.enqueue(jobs.sleep_for, 1.5, "done")
    wait_until(lambda: job.get_status() == JobStatus.STARTED, message="never started")
    assert send_shutdown_command(redis_conn, "busy", prefix=key_prefix)
    assert proc.wait(timeout=15) == 0
    assert job.get_status() == JobStatus.FINISHED


def test_kill_horse_fails_the_job_and_the_worker_goes_on(
    queue, spawn_worker, redis_conn, key_prefix
):
    proc = spawn_worker("default", "Worker", name="horse")
    job = queue.enqueue(jobs.sleep_for, 60, retry=Retry(max=1, interval=3600))
    wait_until(lambda: job.get_status() == JobStatus.STARTED, message="never started")
    assert send_kill_horse_command(redis_conn, "horse", prefix=key_prefix)
    wait_until(lambda: job.get_status() == JobStatus.SCHEDULED, timeout=10, message="not killed")
    job.refresh()
    assert "died unexpectedly (signal 9)" in job.exc_info  # a failure: its retry is used
    after = queue.enqueue(jobs.add, 1, 2)
    wait_until(lambda: after.get_status() == JobStatus.FINISHED, message="the worker stopped")
    assert proc.poll() is None
    assert redis_conn.hget(queue.keys.worker("horse"), "command") is None


def test_kill_horse_is_ignored_without_a_horse(make_worker, queue, caplog):
    worker = make_worker([queue], name="simple")
    worker.register_birth()
    send_kill_horse_command(queue.connection, "simple", prefix=queue.keys.prefix)
    with caplog.at_level(logging.INFO, "django_jobqueue"):
        worker.obey_commands()
    assert "no work-horse to kill" in caplog.text and not worker.stopping
    worker.register_death()


def test_stop_job_command_by_id(queue, spawn_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.sleep_for, 60)
    with pytest.raises(InvalidJobOperation):
        send_stop_job_command(redis_conn, job.id, prefix=key_prefix)
    with pytest.raises(NoSuchJobError):
        send_stop_job_command(redis_conn, "nope", prefix=key_prefix)
    spawn_worker("default", "Worker", name="stopper")
    wait_until(lambda: job.get_status() == JobStatus.STARTED, message="never started")
    # A stop-job for another job is left alone; the worker stays busy.
    assert send_command(redis_conn, "stopper", "stop-job", job_id="other", prefix=key_prefix)
    time.sleep(1.5)
    assert job.get_status() == JobStatus.STARTED
    assert send_stop_job_command(redis_conn, job.id, prefix=key_prefix) == "stopping"
    wait_until(lambda: job.get_status() == JobStatus.STOPPED, timeout=10, message="not stopped")


def test_commands_need_a_live_worker_and_a_known_name(redis_conn, key_prefix):
    assert not send_shutdown_command(redis_conn, "ghost", prefix=key_prefix)
    assert not redis_conn.exists(f"{key_prefix}worker:ghost")  # no orphan registration
    with pytest.raises(ValueError, match="Unknown command"):
        send_command(redis_conn, "ghost", "explode", prefix=key_prefix)
    assert Worker  # the RQ name the commands go with


def test_connection_kwargs_rebuild_the_client(redis_conn):
    import pickle

    import redis

    from django_jobqueue.engine import get_connection_kwargs

    kwargs = get_connection_kwargs(redis_conn)
    assert redis.Redis(**kwargs).ping()
    kwargs["db"] = 99  # a copy
    assert get_connection_kwargs(redis_conn)["db"] != 99
    # In another process (here: pickled, as multiprocessing may send them), the
    # markers redis-py leaves for keywords not given would be taken as values.
    pool = redis_conn.connection_pool.connection_kwargs
    direct = redis.Redis(host=pool["host"], port=pool["port"], socket_keepalive=True)
    assert redis.Redis(**pickle.loads(pickle.dumps(get_connection_kwargs(direct)))).ping()


def test_parse_connection_rebuilds_the_client(redis_conn):
    import redis

    from django_jobqueue.engine.connections import parse_connection

    cls, connection_class, kwargs = parse_connection(redis_conn)
    assert (cls, connection_class) == (type(redis_conn), redis.Connection)
    rebuilt = cls(connection_pool=redis.ConnectionPool(connection_class=connection_class, **kwargs))
    assert rebuilt.ping()
    assert parse_connection(redis.Redis(ssl=True))[1] is redis.SSLConnection
    pool = redis.ConnectionPool(
        connection_class=redis.UnixDomainSocketConnection, path="/tmp/redis.sock"
    )
    assert parse_connection(redis.Redis(connection_pool=pool))[1:] == (
        redis.UnixDomainSocketConnection,
        {"path": "/tmp/redis.sock"},
    )
