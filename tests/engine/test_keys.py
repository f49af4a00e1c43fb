"""Key layout: every key under the prefix, every queue key in the queue's hash slot."""

from __future__ import annotations

import pytest

from django_jobqueue.engine import DEFAULT_PREFIX, Dependency, Job, KeySpace, Retry
from django_jobqueue.engine.keys import keyspace, validate_job_id, validate_queue_name

from . import jobs


def test_keyspace_names_every_key_under_its_prefix():
    ks = KeySpace("p:")
    assert ks.queues == "p:queues"
    assert ks.workers == "p:workers"
    assert ks.worker("w1") == "p:worker:w1"
    assert ks.tag("q1") == "p:{q1}"
    assert ks.queue("q1") == "p:{q1}:queue"
    assert ks.job_prefix("q1") == "p:{q1}:job:"
    assert ks.job("q1", "abc") == "p:{q1}:job:abc"
    assert ks.wake_channel("q1") == "p:{q1}:wake"
    assert ks.worker_channel("w") == "p:worker:w:wake"
    for kind in ("started", "finished", "failed", "deferred", "canceled", "scheduled"):
        assert ks.registry("q1", kind) == f"p:{{q1}}:{kind}"


def test_unknown_registry_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown registry"):
        KeySpace("p:").registry("q1", "bogus")


def test_prefix_with_braces_is_refused():
    with pytest.raises(ValueError, match="hash tags"):
        KeySpace("p{x}:")


def test_default_prefix():
    assert DEFAULT_PREFIX == "jobqueue:"
    assert keyspace().prefix == DEFAULT_PREFIX
    assert keyspace(None).queue("default") == "jobqueue:{default}:queue"


def test_split_job_key_round_trips():
    ks = KeySpace("p:")
    assert ks.split_job_key(ks.job("q1", "a:b.c")) == ("q1", "a:b.c")
    assert ks.split_job_key(ks.job("q1", "x").encode()) == ("q1", "x")
    with pytest.raises(ValueError):
        ks.split_job_key("other:{q1}:job:x")
    with pytest.raises(ValueError):
        ks.split_job_key("p:{q1}:queue")


@pytest.mark.parametrize("name", ["default", "high", "a.b-c_1", "q1", "app:emails", "x@y+z"])
def test_valid_queue_names(name):
    assert validate_queue_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "with space", "br{ace", "br}ace", None, 3, "high\n", "a/b", "tab\t", "50%", "a#b"],
)
def test_invalid_queue_names(name):
    with pytest.raises(ValueError, match="Invalid queue name"):
        validate_queue_name(name)


@pytest.mark.parametrize("job_id", ["", "has space", "x" * 201, "{tag}", "abc\n", "a/b", "\nabc"])
def test_invalid_job_ids(job_id):
    with pytest.raises(ValueError, match="Invalid job id"):
        validate_job_id(job_id)


@pytest.mark.parametrize("job_id", [None, 1234, b"abc"])
def test_a_job_id_that_is_not_a_string_is_a_type_error(job_id, queue):
    with pytest.raises(TypeError, match="A job id is a string"):
        validate_job_id(job_id)
    with pytest.raises(TypeError):
        queue.enqueue(jobs.add, 1, 2, job_id=job_id or 1)


def test_a_trailing_newline_is_refused_by_queues_enqueue_and_fetch(make_queue, redis_conn):
    # "$" matches before a final newline: such names once reached the worker pool.
    with pytest.raises(ValueError, match="Invalid queue name"):
        make_queue("default\n")
    queue = make_queue()
    with pytest.raises(ValueError, match="Invalid job id"):
        queue.enqueue(jobs.add, 1, 2, job_id="abc\n")
    assert queue.count == 0
    job = queue.enqueue(jobs.add, 1, 2, job_id="abc")
    with pytest.raises(ValueError, match="Invalid job id"):
        Job.fetch(job.id + "\n", connection=redis_conn, prefix=queue.keys.prefix)
    assert Job.fetch(job.id, connection=redis_conn, prefix=queue.keys.prefix).id == "abc"


def test_every_key_written_for_a_queue_carries_its_hash_tag(
    make_queue, make_worker, redis_conn, key_prefix, prefixed_keys
):
    q1 = make_queue("q1")
    # Jobs in every state: finished, failed, deferred, scheduled (retry), canceled, queued.
    finished = q1.enqueue(jobs.add, 1, 2, result_ttl=-1)
    failed = q1.enqueue(jobs.fail)
    deferred_parent = q1.enqueue(jobs.fail)
    deferred = q1.enqueue(jobs.add, 1, 1, depends_on=deferred_parent)
    scheduled = q1.enqueue(jobs.fail, retry=Retry(max=1, interval=3600))
    worker = make_worker([q1])
    worker.work(burst=True)
    canceled = q1.enqueue(jobs.add, 0, 0)
    canceled.cancel()
    q1.enqueue(jobs.add, 2, 2)
    q1.enqueue_call(jobs.add, args=(4, 4), priority=5)  # waits in the priority set
    child = q1.enqueue(jobs.add, 3, 3, depends_on=Dependency([finished.id]))

    assert finished.get_status() == "finished"
    assert failed.get_status() == "failed"
    assert deferred.get_status() == "deferred"
    assert scheduled.get_status() == "scheduled"
    assert canceled.get_status() == "canceled"
    assert child.get_status() == "queued"

    # A registered (running) worker writes its own keys as well.
    worker = make_worker([q1], name="layout-worker")
    worker.register_birth()
    try:
        keys = prefixed_keys()
    finally:
        worker.register_death()

    shared = {f"{key_prefix}queues", f"{key_prefix}workers", f"{key_prefix}worker:layout-worker"}
    assert shared <= set(keys)
    for kind in ("queue", "finished", "failed", "deferred", "canceled", "scheduled"):
        assert f"{key_prefix}{{q1}}:{kind}" in keys
    assert f"{key_prefix}{{q1}}:job:{finished.id}" in keys
    for key in keys:
        assert key.startswith(key_prefix), key
        if key not in shared:
            assert "{q1}" in key, key


def test_nothing_is_written_outside_the_prefix(
    make_queue, make_worker, redis_conn, redis_server, key_prefix
):
    q = make_queue("q1")
    q.enqueue(jobs.add, 1, 2)
    q.enqueue(jobs.fail)
    make_worker([q]).work(burst=True)
    keys = [k.decode() for k in redis_conn.keys("*")]
    assert keys
    if redis_server is not None:  # a private, flushed server: every key is ours
        assert all(k.startswith(key_prefix) for k in keys), keys
    else:  # a shared server: at least nothing of ours lands under the default prefix
        assert not [k for k in keys if k.startswith(DEFAULT_PREFIX + "{q1}")]


def test_worker_keys_are_removed_when_it_stops(make_queue, make_worker, key_prefix, prefixed_keys):
    q = make_queue("q1")
    q.enqueue(jobs.add, 1, 1, result_ttl=0)
    make_worker([q], name="w-gone").work(burst=True)
    keys = prefixed_keys()
    assert f"{key_prefix}worker:w-gone" not in keys
    assert all(k.startswith(key_prefix) for k in keys)
