"""Redis going away under a worker: dropped connections, a restarted server, lost releases."""

from __future__ import annotations

import json
import time

import redis

from django_jobqueue.engine import JobStatus, SimpleWorker
from django_jobqueue.engine.dependencies import release_dependents

from . import jobs
from .conftest import wait_until


def _kill_clients(redis_conn):
    """CLIENT KILL every other normal connection (the workers' and the test's queue's)."""
    return redis_conn.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")


def test_a_worker_rides_out_killed_connections(make_queue, redis_conn, spawn_worker):
    queue = make_queue()
    proc = spawn_worker(worker_class="SimpleWorker")
    first = [queue.enqueue(jobs.add, i, 0) for i in range(5)]
    wait_until(lambda: all(j.get_status() == JobStatus.FINISHED for j in first))
    assert _kill_clients(redis_conn) >= 1
    time.sleep(0.3)
    assert _kill_clients(redis_conn) >= 0  # twice: the pub/sub connection reconnected too
    later = [queue.enqueue(jobs.add, i, 100) for i in range(5)]
    wait_until(lambda: all(j.get_status() == JobStatus.FINISHED for j in later), timeout=15)
    assert [j.result for j in later] == [100, 101, 102, 103, 104]
    proc.terminate()
    output = proc.communicate(timeout=15)[0].decode()
    assert proc.returncode == 0, output
    # No job ended in two places.
    assert queue.started_job_registry.count == 0
    assert queue.finished_job_registry.count == 10


def test_a_worker_survives_a_redis_restart_and_logs_it_once(
    redis_server, key_prefix, spawn_worker, make_queue
):
    if redis_server is None:
        return  # a shared REDIS_URL cannot be restarted by the tests
    queue = make_queue()
    proc = spawn_worker(worker_class="SimpleWorker")
    job = queue.enqueue(jobs.add, 1, 1)
    wait_until(lambda: job.get_status() == JobStatus.FINISHED)
    redis_server.stop()
    time.sleep(2)  # several reconnection attempts fail meanwhile
    redis_server.restart()
    fresh = make_queue(connection=redis.Redis.from_url(redis_server.url))
    after = fresh.enqueue(jobs.add, 2, 2)
    wait_until(lambda: after.get_status() == JobStatus.FINISHED, timeout=20)
    proc.terminate()
    output = proc.communicate(timeout=15)[0].decode()
    assert output.count("lost connection to Redis") == 1, output
    assert output.count("connection to Redis is back") == 1, output


def test_enqueue_fails_fast_when_redis_is_unreachable(key_prefix):
    from django_jobqueue.engine import Queue

    dead = Queue(
        "default", connection=redis.Redis(port=1, socket_connect_timeout=1), prefix=key_prefix
    )
    started = time.monotonic()
    try:
        dead.enqueue(jobs.add, 1, 2)
    except redis.exceptions.ConnectionError as exc:
        assert "Connection refused" in str(exc) or "connecting" in str(exc)
    else:
        raise AssertionError("enqueue to a closed port did not raise")
    assert time.monotonic() - started < 5


def test_a_lost_release_is_made_good_by_the_deferred_sweep(make_queue, redis_conn):
    queue = make_queue()
    parent = queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    # The parent finishes, but the process dies before telling its child.
    import django_jobqueue.engine.outcome as outcome

    original = outcome.release_dependents
    outcome.release_dependents = lambda *args, **kwargs: 0
    try:
        SimpleWorker([queue]).work(burst=True)
    finally:
        outcome.release_dependents = original
    assert parent.get_status() == JobStatus.FINISHED
    assert child.get_status() == JobStatus.DEFERRED
    assert queue.deferred_job_registry.release_ready(older_than=60) == 0  # too young
    assert queue.deferred_job_registry.release_ready(older_than=0) == 1
    assert child.get_status() == JobStatus.QUEUED
    assert json.loads(redis_conn.hget(parent.key, "dependents")) == [child.key]
    assert release_dependents(redis_conn, queue.keys, parent.key, [child.key], "finished") == 0
