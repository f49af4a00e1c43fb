"""The Django layer on a real Redis Cluster: ``"CLUSTER": True`` queues, commands, workers.

``cluster_jq`` (tests/conftest.py) configures the queues ``emails``, ``default``
and ``low`` on the session's six-node cluster, each on a different master.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from redis.cluster import RedisCluster

from django_jobqueue import Batch, Chain, Step, enqueue, get_connection, get_queue, get_worker
from django_jobqueue.conf import get_settings
from django_jobqueue.engine import JobStatus

from . import tasks

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)

QUEUES = ("emails", "default", "low")


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _log(conn, key_prefix):
    return [v.decode() for v in conn.lrange(key_prefix + "log", 0, -1)]


def test_cluster_setting_builds_one_cluster_client(cluster_jq, redis_cluster):
    client = get_connection("default")
    assert isinstance(client, RedisCluster)
    assert all(get_connection(name) is client for name in QUEUES)
    assert get_queue("low").connection is client
    config = get_settings().queue("default").connection
    assert config.cluster
    assert config.describe() == f"cluster via {redis_cluster.url}"
    nodes = {client.get_node_from_key(get_queue(name).key).name for name in QUEUES}
    assert len(nodes) == 3


@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_enqueue_and_rqworker(cluster_jq, key_prefix, worker_class):
    emails, low = get_queue("emails"), get_queue("low")
    first = low.enqueue(tasks.record, "low")
    second = enqueue(tasks.record, "default", depends_on=first)
    third = emails.enqueue(tasks.record, "emails", depends_on=[first, second])
    emails.enqueue(tasks.record, "emails-first")
    failing = low.enqueue(tasks.fail)
    run("rqworker", *QUEUES, "--burst", "--worker-class", worker_class)
    assert _log(cluster_jq, key_prefix) == ["emails-first", "low", "default", "emails"]
    assert third.get_status() == JobStatus.FINISHED
    assert failing.get_status() == JobStatus.FAILED


def test_get_worker_serves_the_cluster_queues(cluster_jq, key_prefix):
    for name in reversed(QUEUES):
        get_queue(name).enqueue(tasks.record, name)
    worker = get_worker(*QUEUES, worker_class="simple")
    assert worker._one_script is False  # three slots: one dequeue script per queue
    worker.work(burst=True, logging_level=None)
    assert _log(cluster_jq, key_prefix) == list(QUEUES)


def test_job_decorator_and_delay(cluster_jq):
    from django_jobqueue import job

    add = job("low")(tasks.add_again)
    queued = add.delay(2, 3)
    assert queued.origin == "low"
    get_worker("low", worker_class="simple").work(burst=True, logging_level=None)
    assert queued.return_value(refresh=True) == 5


def test_rqstats(cluster_jq):
    get_queue("emails").enqueue(tasks.add, 1, 1)
    get_queue("low").enqueue_in(3600, tasks.add, 2, 2)
    get_queue("default").enqueue(tasks.fail)
    get_worker("default", worker_class="simple").work(burst=True, logging_level=None)
    rows = {row["name"]: row for row in json.loads(run("rqstats", "--json"))["queues"]}
    assert (rows["emails"]["queued"], rows["low"]["scheduled"], rows["default"]["failed"]) == (
        1,
        1,
        1,
    )
    table = run("rqstats")
    assert "emails" in table and "low" in table


def test_rqstats_batches_chains_and_unique_keys(cluster_jq):
    """Each read goes to the nodes that hold the keys: a SCAN walks every master."""
    with Batch.create(get_queue("low"), name="b1") as batch:
        batch.enqueue(tasks.add, 1, 1)
    Chain(Step(tasks.start_list, "a"), Step(tasks.append_to, "b")).enqueue("emails")
    for queue in QUEUES:
        get_queue(queue).enqueue(tasks.add, 1, 1, unique_for=60)
    found = json.loads(run("rqstats", "--json", "--unique"))
    assert [(b["id"], b["queue"], b["pending"]) for b in found["batches"]["listed"]] == [
        ("b1", "low", 1)
    ]
    assert [(r["queue"], r["waiting"]) for r in found["chains"]] == [
        ("emails", 1),
        ("default", 0),
        ("low", 0),
    ]
    assert [(r["queue"], r["held"]) for r in found["unique"]] == [(q, 1) for q in QUEUES]


def test_rqempty_rqsuspend_rqresume(cluster_jq, key_prefix):
    low = get_queue("low")
    for i in range(3):
        low.enqueue(tasks.add, i, i)
    run("rqempty", "low", "--noinput")
    assert low.count == 0
    run("rqsuspend")
    assert cluster_jq.exists(key_prefix + "suspended")
    run("rqresume")
    assert not cluster_jq.exists(key_prefix + "suspended")


def test_a_worker_does_not_mix_cluster_and_plain_queues(cluster_jq, settings, redis_url):
    settings.JOBQUEUE_QUEUES = {**settings.JOBQUEUE_QUEUES, "plain": {"URL": redis_url}}
    with pytest.raises(ImproperlyConfigured, match="plain"):
        get_worker("default", "plain")
