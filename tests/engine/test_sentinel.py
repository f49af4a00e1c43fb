"""The engine behind Redis Sentinel: queues and workers keep working across a failover.

Each test starts its own master, replica and three sentinels (quorum 2,
``down-after-milliseconds`` 1000) on loopback ports, runs jobs through a worker
process that finds the master through the sentinels, then fails the master
over and shows that enqueueing and the same worker process carry on.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.sentinel import Sentinel

from django_jobqueue.engine import JobStatus, Queue
from tests.redis_rigs import RedisSentinelSetup

from . import jobs
from .conftest import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def sentinel_setup():
    with RedisSentinelSetup(
        replicas=1, sentinels=3, quorum=2, down_after=1000, failover_timeout=3000
    ) as setup:
        yield setup


def master_client(setup):
    """What an application holds: a client of the master the sentinels name."""
    sentinel = Sentinel(setup.sentinels, socket_timeout=1, socket_connect_timeout=1)
    return sentinel.master_for(setup.master_name, socket_timeout=2, socket_connect_timeout=1)


def _sentinel_worker(spawn_worker, setup, worker_class):
    sentinels = ",".join(f"{h}:{p}" for h, p in setup.sentinels)
    return spawn_worker(
        "default",
        worker_class,
        max_idle_time=120,
        new_session=True,
        extra=["--sentinels", sentinels, "--master-name", setup.master_name],
    )


def _stop(proc) -> str:
    """Warm-stop a worker process; returns its output."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
    output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert proc.returncode == 0, output
    return output


def _order(conn, key_prefix):
    return [x.decode() for x in conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)]


def _enqueue_retrying(queue, *args, timeout=15.0):
    """Enqueue, retrying the connection errors of a failover still in progress."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return queue.enqueue(*args)
        except RedisConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_worker_and_enqueue_survive_a_master_crash(sentinel_setup, spawn_worker, key_prefix):
    conn = master_client(sentinel_setup)
    queue = Queue("default", conn, prefix=key_prefix)
    before = [queue.enqueue(jobs.record_order, f"before{i}") for i in range(3)]
    proc = _sentinel_worker(spawn_worker, sentinel_setup, "Worker")
    wait_until(
        lambda: all(j.get_status() == JobStatus.FINISHED for j in before),
        timeout=30,
        message="the worker did not run the first jobs",
    )
    # Replication is asynchronous: make sure the replica has every write so far.
    assert conn.execute_command("WAIT", 1, 5000) == 1

    old = sentinel_setup.kill_master()
    new = sentinel_setup.wait_for_failover(old)
    assert new != old

    # The same client (and the same worker process) now talk to the new master.
    after = [queue.enqueue(jobs.record_order, f"after{i}") for i in range(3)]
    assert conn.connection_pool.get_master_address() == new
    wait_until(
        lambda: all(j.get_status() == JobStatus.FINISHED for j in after),
        timeout=30,
        message="the worker did not carry on after the failover",
    )
    assert proc.poll() is None, "the worker process died in the failover"
    assert _order(conn, key_prefix) == [f"before{i}" for i in range(3)] + [
        f"after{i}" for i in range(3)
    ]
    assert [j.id for j in queue.finished_job_registry.get_jobs()] == [j.id for j in before + after]

    output = _stop(proc)
    assert output.count("lost connection to Redis") == 1, output  # once per outage
    assert "connection to Redis is back" in output


def test_pool_and_enqueue_survive_a_switchover(sentinel_setup, spawn_worker, key_prefix):
    """SENTINEL FAILOVER demotes a live master: writes to it fail with READONLY."""
    conn = master_client(sentinel_setup)
    queue = Queue("default", conn, prefix=key_prefix)
    before = [queue.enqueue(jobs.record_order, f"before{i}") for i in range(4)]
    proc = _sentinel_worker(spawn_worker, sentinel_setup, "WorkerPool")
    wait_until(lambda: all(j.get_status() == JobStatus.FINISHED for j in before), timeout=30)
    assert conn.execute_command("WAIT", 1, 5000) == 1

    old = sentinel_setup.master_address()
    sentinel = Sentinel(sentinel_setup.sentinels, socket_timeout=2)
    sentinel.sentinels[0].execute_command("SENTINEL FAILOVER", sentinel_setup.master_name)
    new = sentinel_setup.wait_for_failover(old)

    # The old master is alive but a replica now; the client follows the sentinels.
    after = [_enqueue_retrying(queue, jobs.record_order, f"after{i}") for i in range(4)]
    wait_until(
        lambda: all(j.get_status() == JobStatus.FINISHED for j in after),
        timeout=30,
        message="the pool did not carry on after the switchover",
    )
    assert conn.connection_pool.get_master_address() == new
    assert proc.poll() is None
    assert sorted(_order(conn, key_prefix)) == sorted(
        [f"before{i}" for i in range(4)] + [f"after{i}" for i in range(4)]
    )
    _stop(proc)
