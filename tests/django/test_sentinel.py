"""A queue configured with SENTINELS and MASTER_NAME keeps working across a failover.

Real processes: a master, a replica and three sentinels on loopback ports
(``RedisSentinelSetup``); the master is SIGKILLed mid-test.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from redis.sentinel import SentinelConnectionPool

from django_jobqueue import enqueue, get_connection, get_queue, get_worker
from django_jobqueue.engine import JobStatus
from tests.redis_rigs import RedisSentinelSetup

from . import tasks

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sentinel_setup():
    with RedisSentinelSetup() as setup:
        yield setup


def test_sentinel_queue_across_a_failover(settings, sentinel_setup, key_prefix):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "SENTINELS": sentinel_setup.sentinels,
            "MASTER_NAME": sentinel_setup.master_name,
            "SENTINEL_KWARGS": {"socket_timeout": 1, "socket_connect_timeout": 1},
            "CONNECTION_KWARGS": {"socket_timeout": 2, "socket_connect_timeout": 1},
        }
    }
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    conn = get_connection()
    assert isinstance(conn.connection_pool, SentinelConnectionPool)
    worker = get_worker(worker_class="simple")

    before = enqueue(tasks.record, "before")
    worker.work(burst=True, logging_level=None)
    assert before.get_status() == JobStatus.FINISHED
    assert conn.execute_command("WAIT", 1, 5000) == 1  # the replica has it all

    old = sentinel_setup.kill_master()
    new = sentinel_setup.wait_for_failover(old)

    # The cached client, the queue and the worker built before it all carry on.
    after = enqueue(tasks.record, "after")
    assert conn.connection_pool.get_master_address() == new
    worker.work(burst=True, logging_level=None)
    assert after.get_status() == JobStatus.FINISHED
    assert [v.decode() for v in conn.lrange(key_prefix + "log", 0, -1)] == ["before", "after"]
    assert get_queue("default").finished_job_registry.count == 2
    out = StringIO()
    call_command("rqstats", "--json", stdout=out)
    assert json.loads(out.getvalue())["queues"][0]["finished"] == 2
