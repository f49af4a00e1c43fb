"""The engine on a real Redis Cluster: every code path, no CROSSSLOT error.

The session's cluster (``redis_cluster`` in tests/conftest.py) has three
masters with one replica each. The queues used here are spread over the three
masters; a worker serving several of them takes jobs one queue at a time, in
priority order, since no single script may touch keys of several slots.
"""

from __future__ import annotations

import threading
import time

import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from django_jobqueue.engine import (
    Job,
    JobStatus,
    Queue,
    Result,
    Retry,
    SimpleWorker,
    Worker,
    all_workers,
    stats,
    stop_job,
)
from django_jobqueue.engine.connection import is_cluster, one_slot
from django_jobqueue.engine.keys import keyspace
from django_jobqueue.engine.scheduler import Scheduler

from . import jobs
from .conftest import wait_until

#: Queue names whose hash tags land on the three different masters (slots
#: 3728, 5718 and 15214 of 0-5460, 5461-10922, 10923-16383).
SPREAD = ("emails", "default", "low")


def _slot_sharing(name: str) -> str:
    """Another queue name in the same cluster slot as ``name``."""
    slot = key_slot(name.encode())
    return next(f"q{i}" for i in range(10**6) if key_slot(f"q{i}".encode()) == slot)


@pytest.fixture
def cq(cluster_conn, key_prefix):
    """``cq(name)``: a Queue on the cluster under the test's prefix."""

    def make(name: str = "default", **kwargs) -> Queue:
        return Queue(name, cluster_conn, prefix=key_prefix, **kwargs)

    return make


@pytest.fixture
def spread(cq, cluster_conn):
    """Three queues, each on its own master."""
    queues = [cq(name) for name in SPREAD]
    nodes = {cluster_conn.get_node_from_key(q.key).name for q in queues}
    assert len(nodes) == 3, "the queues should be spread over the three masters"
    return queues


def _order(conn, key_prefix):
    return [x.decode() for x in conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)]


def _worker(queues, cls=SimpleWorker, **kwargs):
    return cls(queues, connection=queues[0].connection, prefix=queues[0].keys.prefix, **kwargs)


def test_cluster_clients_are_detected(cluster_conn, redis_conn):
    assert is_cluster(cluster_conn)
    assert is_cluster(cluster_conn.pipeline())
    assert not is_cluster(redis_conn)
    assert not is_cluster(redis_conn.pipeline())
    ks = keyspace("p:")
    assert one_slot(redis_conn, [ks.tag(n) for n in SPREAD])
    assert not one_slot(cluster_conn, [ks.tag(n) for n in SPREAD])
    assert one_slot(cluster_conn, [ks.tag("default"), ks.tag(_slot_sharing("default"))])


# -- enqueueing ---------------------------------------------------------------------------


def test_enqueue_and_fetch(spread):
    for queue in spread:
        job = queue.enqueue(jobs.add, 1, 2, job_id=f"fixed-{queue.name}")
        assert job.get_status() == JobStatus.QUEUED
        assert queue.job_ids == [job.id]
        assert Job.fetch(job.id, queue.connection, prefix=queue.keys.prefix).origin == queue.name
        assert queue.fetch_job(job.id).args == (1, 2)
    assert sorted(
        q.name for q in Queue.all(spread[0].connection, prefix=spread[0].keys.prefix)
    ) == sorted(SPREAD)


def test_enqueue_many_with_and_without_dependencies(spread, cluster_conn, key_prefix):
    first, second, third = spread
    parent = first.enqueue(jobs.record_order, "parent")
    made = second.enqueue_many(
        [
            Queue.prepare_data(jobs.record_order, ["plain-1"]),
            Queue.prepare_data(jobs.record_order, ["child"], depends_on=parent),
            Queue.prepare_data(jobs.record_order, ["plain-2"], priority=5),
            Queue.prepare_data(jobs.record_order, ["by-id"], depends_on=[parent.id]),
        ]
    )
    assert [j.get_status() for j in made] == ["queued", "deferred", "queued", "deferred"]
    assert second.count == 2
    _worker([first, second, third]).work(burst=True, logging_level=None)
    assert _order(cluster_conn, key_prefix) == ["parent", "plain-2", "plain-1", "child", "by-id"]


def test_cross_queue_chain_over_three_masters(spread, cluster_conn, key_prefix):
    first, second, third = spread
    a = third.enqueue(jobs.record_order, "a")
    b = first.enqueue(jobs.record_order, "b", depends_on=a)
    c = second.enqueue(jobs.record_order, "c", depends_on=[a, b.id])
    d = third.enqueue(jobs.record_order, "d", depends_on=c)
    assert [j.get_status() for j in (a, b, c, d)] == ["queued", "deferred", "deferred", "deferred"]
    assert a.dependent_ids == [b.id, c.id]
    _worker(spread).work(burst=True, logging_level=None)
    assert _order(cluster_conn, key_prefix) == ["a", "b", "c", "d"]
    assert all(j.get_status() == JobStatus.FINISHED for j in (a, b, c, d))


def test_dependent_of_a_finished_parent_is_queued_at_once(spread):
    first, second, _ = spread
    parent = first.enqueue(jobs.add, 1, 1)
    _worker([first]).work(burst=True, logging_level=None)
    child = second.enqueue(jobs.add, 2, 2, depends_on=parent)
    assert child.get_status() == JobStatus.QUEUED


def test_scheduled_jobs_and_enqueue_due(spread):
    first, second, _ = spread
    due = first.enqueue_in(0.05, jobs.add, 1, 1)
    later = second.enqueue_in(3600, jobs.add, 2, 2)
    assert due.get_status() == later.get_status() == JobStatus.SCHEDULED
    time.sleep(0.1)
    assert first.scheduled_job_registry.enqueue_due() == 1
    assert second.scheduled_job_registry.enqueue_due() == 0
    assert due.get_status() == JobStatus.QUEUED
    assert later.id in second.scheduled_job_registry


def test_scheduler_moves_due_jobs_of_every_queue(spread):
    jobs_due = [q.enqueue_in(0.05, jobs.add, i, i) for i, q in enumerate(spread)]
    time.sleep(0.1)
    scheduler = Scheduler(spread[0].connection, spread[0].keys.prefix)
    try:
        scheduler.tick()
    finally:
        scheduler.release()
    assert [j.get_status() for j in jobs_due] == ["queued"] * 3


# -- workers ------------------------------------------------------------------------------


def test_strict_priority_over_queues_on_different_masters(spread, cluster_conn, key_prefix):
    first, second, third = spread
    for i in range(2):
        third.enqueue(jobs.record_order, f"third{i}")
        second.enqueue(jobs.record_order, f"second{i}")
        first.enqueue(jobs.record_order, f"first{i}")
    worker = _worker(spread)
    assert worker._one_script is False
    worker.work(burst=True, logging_level=None)
    assert _order(cluster_conn, key_prefix) == [
        "first0",
        "first1",
        "second0",
        "second1",
        "third0",
        "third1",
    ]
    assert worker.successful_job_count == 6


def test_job_enqueued_by_a_job_on_a_higher_queue_runs_next(spread, cluster_conn, key_prefix):
    first, second, _ = spread
    second.enqueue(jobs.record_then_enqueue, "second0", first.name, "first-new")
    second.enqueue(jobs.record_order, "second1")
    _worker(spread).work(burst=True, logging_level=None)
    assert _order(cluster_conn, key_prefix) == ["second0", "first-new", "second1"]


@pytest.mark.parametrize("names", [("default",), ("default", "slot-mate")])
def test_take_next_when_the_queues_share_a_slot(names, cq, cluster_conn, key_prefix):
    names = [_slot_sharing("default") if n == "slot-mate" else n for n in names]
    queues = [cq(n) for n in names]
    for i in range(3):
        queues[-1].enqueue(jobs.record_order, f"{i}")
    worker = _worker(queues)
    assert worker._one_script is True
    taken = []
    original = worker._prefetched

    def spy():
        job = original()
        taken.append(job is not None)
        return job

    worker._prefetched = spy
    worker.work(burst=True, logging_level=None)
    assert _order(cluster_conn, key_prefix) == ["0", "1", "2"]
    assert taken.count(True) == 2  # the 2nd and 3rd jobs came back with an outcome


def test_failures_retries_and_failed_registry(spread, cluster_conn, key_prefix):
    first, second, _ = spread
    failing = first.enqueue(jobs.fail, "nope")
    retried = second.enqueue(jobs.fail_until, 2, retry=Retry(max=2))
    later = second.enqueue(jobs.fail_and_count, retry=Retry(max=1, interval=3600))
    _worker(spread).work(burst=True, logging_level=None)
    assert failing.get_status() == JobStatus.FAILED
    assert "nope" in failing.exc_info
    assert failing.id in first.failed_job_registry
    assert retried.get_status() == JobStatus.FINISHED
    assert retried.result == 2
    assert later.get_status() == JobStatus.SCHEDULED
    assert later.id in second.scheduled_job_registry
    assert [j.id for j in first.failed_job_registry.get_jobs()] == [failing.id]


def test_returned_retries_on_the_cluster(spread, key_prefix):
    first, second, _ = spread
    again = first.enqueue(jobs.return_retry_until, 2)
    spent = second.enqueue(jobs.return_retry, max=1)
    _worker(spread).work(burst=True, logging_level=None)
    assert (again.get_status(), again.result) == (JobStatus.FINISHED, 2)
    assert spent.get_status() == JobStatus.FAILED
    assert spent.latest_result().type == Result.Type.MAX_RETRIES_EXCEEDED


def test_concurrency_limits_on_the_cluster(spread, key_prefix):
    # Each queue's limit lives in its queue's slot: the same key on three masters.
    one = {"concurrency_key": "tenant:7", "concurrency_limit": 1}
    made = {
        q.name: [q.enqueue(jobs.fail, **one), *(q.enqueue(jobs.add, i, i, **one) for i in (1, 2))]
        for q in spread
    }
    for group in made.values():
        assert [j.get_status() for j in group] == ["queued", "rate_limited", "rate_limited"]
    assert [(r["queue"], r["queued"], r["waiting"]) for r in stats.limit_stats(spread)] == [
        (q.name, 1, 2) for q in spread
    ]
    _worker(spread).work(burst=True)  # each failure frees the slot in fail.lua
    for group in made.values():
        assert [j.get_status() for j in group] == ["failed", "finished", "finished"]
    assert stats.limit_stats(spread) == []


def test_forking_worker_on_the_cluster(spread, cluster_conn, key_prefix):
    first, second, third = spread
    for queue in (third, second, first):
        queue.enqueue(jobs.record_order, queue.name)
    crash = second.enqueue(jobs.crash_kill)
    _worker(spread, cls=Worker).work(burst=True, logging_level=None)
    assert _order(cluster_conn, key_prefix) == list(SPREAD)
    assert crash.get_status() == JobStatus.FAILED


def test_registration_heartbeat_and_stats(spread, key_prefix):
    first, _second, third = spread
    first.enqueue(jobs.add, 1, 1)
    third.enqueue(jobs.add, 1, 1, depends_on=first.enqueue(jobs.add, 2, 2))
    worker = _worker(spread, name="cluster-worker")
    worker.register_birth()
    worker.current_job = Job.fetch(first.job_ids[0], first.connection, prefix=key_prefix)
    worker.heartbeat()  # touches the worker's hash and the job's started registry
    worker.current_job = None
    assert [w["name"] for w in all_workers(first.connection, key_prefix)] == ["cluster-worker"]
    rows = stats.queue_stats(spread)
    assert [(r["name"], r["queued"], r["deferred"], r["workers"]) for r in rows] == [
        ("emails", 2, 0, 1),
        ("default", 0, 0, 1),
        ("low", 0, 1, 1),
    ]
    worker.register_death()
    assert all_workers(first.connection, key_prefix) == []
    assert len(stats.throughput(spread, minutes=5)) == 3
    stats.suspend(first.connection, first.keys)
    assert stats.is_suspended(first.connection, first.keys)
    stats.resume(first.connection, first.keys)


def test_job_operations(spread, key_prefix):
    first, second, third = spread
    parent = first.enqueue(jobs.add, 1, 1)
    child = third.enqueue(jobs.add, 2, 2, depends_on=parent)
    other = second.enqueue(jobs.add, 3, 3)
    scheduled = second.enqueue_in(3600, jobs.add, 4, 4)

    other.cancel()
    assert other.get_status() == JobStatus.CANCELED
    assert other.id in second.canceled_job_registry
    other.requeue()
    assert other.get_status() == JobStatus.QUEUED
    scheduled.cancel()
    assert scheduled.get_status() == JobStatus.CANCELED

    parent.delete()  # the child hears about it (on another master) and stays deferred
    assert first.fetch_job(parent.id) is None
    assert child.get_status() == JobStatus.DEFERRED
    child.cancel()
    assert child.get_status() == JobStatus.CANCELED

    failed = third.enqueue(jobs.fail)
    _worker([third]).work(burst=True, logging_level=None)
    assert failed.get_status() == JobStatus.FAILED
    third.failed_job_registry.requeue(failed.id)
    assert failed.get_status() == JobStatus.QUEUED

    meta = first.enqueue(jobs.add, 5, 5, meta={"a": 1})
    meta.meta["b"] = 2
    meta.save_meta()
    assert Job.fetch(meta.id, first.connection, prefix=key_prefix).get_meta() == {"a": 1, "b": 2}

    assert first.empty() == 1
    assert first.count == 0
    for registry in third.registries.values():
        registry.cleanup()
        registry.get_jobs()


def test_stop_job_and_abandoned_jobs(spread, key_prefix):
    first = spread[0]
    job = first.enqueue(jobs.sleep_for, 60)
    worker = _worker(spread, worker_ttl=60, name="stopper")
    worker.register_birth()
    taken = worker.dequeue()
    assert taken.id == job.id
    assert stop_job(job) == "stopping"  # request_stop.lua on the worker's hash
    assert worker.stop_requested(taken)
    worker.register_death()
    # The worker is gone: the job is recorded as stopped at once.
    assert stop_job(job) == "stopped"
    assert job.get_status() == JobStatus.STOPPED

    abandoned = spread[1].enqueue(jobs.add, 1, 1)
    assert _worker(spread, worker_ttl=1).dequeue().id == abandoned.id
    registry = spread[1].started_job_registry
    # Its heartbeat deadline (worker_ttl, 1 s) passes: cleanup fails it.
    wait_until(lambda: registry.cleanup(timestamp=time.time() + 60), timeout=5, interval=0.1)
    assert abandoned.get_status() == JobStatus.FAILED
    assert "AbandonedJobError" in abandoned.exc_info


def test_idle_worker_is_woken_by_pubsub(spread):
    worker = _worker(spread)
    worker._subscribe()
    try:
        time.sleep(0.1)
        spread[2].enqueue(jobs.add, 1, 1)
        deadline = time.monotonic() + 5
        message = None
        while message is None and time.monotonic() < deadline:
            message = worker._pubsub.get_message(timeout=0.5)
        assert message is not None and message["type"] == "message"
        assert message["channel"] == spread[2].keys.wake_channel(spread[2].name).encode()
    finally:
        worker._unsubscribe()


def test_idle_worker_picks_up_a_job_on_another_master(spread):
    worker = _worker(spread)
    errors = []

    def run():
        try:
            worker.work(max_jobs=1, max_idle_time=15, logging_level=None)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)
        job = spread[2].enqueue(jobs.add, 1, 2)
        wait_until(lambda: job.get_status() == JobStatus.FINISHED, timeout=5, interval=0.01)
    finally:
        worker.request_stop()
        thread.join(timeout=10)
    assert errors == []
    assert job.result == 3


@pytest.mark.parametrize("worker_class", ["WorkerPool", "Worker"])
def test_worker_process_on_the_cluster(
    worker_class, spread, cluster_conn, key_prefix, redis_cluster, spawn_worker
):
    for i in range(6):
        spread[i % 3].enqueue(jobs.record_order, f"job{i}")
    crash = spread[1].enqueue(jobs.crash_kill)
    proc = spawn_worker(
        ",".join(SPREAD), worker_class, burst=True, extra=["--url", redis_cluster.url, "--cluster"]
    )
    output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode == 0, output
    assert "CROSSSLOT" not in output and "Traceback" not in output, output
    assert sorted(_order(cluster_conn, key_prefix)) == [f"job{i}" for i in range(6)]
    assert crash.get_status() == JobStatus.FAILED
    assert all_workers(cluster_conn, key_prefix) == []


def test_queue_delete(spread, key_prefix):
    first = spread[0]
    first.enqueue(jobs.add, 1, 1)
    failed = first.enqueue(jobs.fail)
    _worker([first]).work(burst=True, logging_level=None)
    first.delete()
    assert not failed.connection.exists(failed.key)
    assert first.name not in [q.name for q in Queue.all(first.connection, prefix=key_prefix)]


def test_the_cluster_has_three_masters(cluster_conn):
    assert isinstance(cluster_conn, RedisCluster)
    assert len(cluster_conn.get_primaries()) == 3


@pytest.mark.slow
def test_worker_and_enqueue_survive_a_cluster_failover(spawn_worker, key_prefix):
    """A master of the cluster is SIGKILLed; its replica takes over its slots."""
    import os
    import signal

    import redis

    from tests.redis_rigs import RedisClusterSetup

    with RedisClusterSetup(masters=3, replicas=1, node_timeout=1000) as cluster:
        conn = cluster.client()
        queues = [Queue(name, conn, prefix=key_prefix) for name in SPREAD]
        victim = cluster.master_of(queues[2].key)
        seed = next(n for n in cluster.nodes if n is not victim)
        before = [q.enqueue(jobs.record_order, f"before-{q.name}") for q in queues]
        proc = spawn_worker(
            ",".join(SPREAD),
            "Worker",
            max_idle_time=120,
            new_session=True,
            extra=["--url", seed.url, "--cluster"],
        )
        wait_until(
            lambda: all(j.get_status() == JobStatus.FINISHED for j in before),
            timeout=30,
            message="the worker did not run the first jobs",
        )
        direct = redis.Redis(port=victim.port)
        assert direct.execute_command("WAIT", 1, 5000) == 1  # its replica has every write
        direct.close()

        victim.kill()
        cluster.wait_for_failover(victim)

        after = [_enqueue_retrying(q, jobs.record_order, f"after-{q.name}") for q in queues]
        wait_until(
            lambda: (
                proc.poll() is not None or all(j.get_status() == JobStatus.FINISHED for j in after)
            ),
            timeout=30,
        )
        if proc.poll() is not None:
            pytest.fail(
                "the worker process died in the failover:\n"
                + proc.communicate(timeout=10)[0].decode(errors="replace")
            )
        assert all(j.get_status() == JobStatus.FINISHED for j in after)
        assert sorted(_order(conn, key_prefix)) == sorted(
            [f"before-{n}" for n in SPREAD] + [f"after-{n}" for n in SPREAD]
        )
        os.kill(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
        assert proc.returncode == 0, output
        conn.close()


def _enqueue_retrying(queue, *args, timeout=20.0):
    """Enqueue, retrying while the cluster is still failing over."""
    from redis.exceptions import RedisError

    deadline = time.monotonic() + timeout
    while True:
        try:
            return queue.enqueue(*args)
        except RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# -- chains -----------------------------------------------------------------------


def test_chain_over_three_masters(spread, cq, cluster_conn, key_prefix):
    from django_jobqueue.engine import Chain, Step

    first, second, third = spread
    sharing = cq(_slot_sharing(first.name))  # another queue in the first one's slot
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_to, "b", queue=second),
        Step(jobs.append_to, "c", queue=third),
        Step(jobs.append_to, "d", queue=sharing),
    ).enqueue(first)
    assert [j.get_status() for j in chain.jobs] == ["queued", "deferred", "deferred", "deferred"]
    _worker([*spread, sharing], cls=Worker).work(burst=True, logging_level=None)
    assert chain.result == ["a", "b", "c", "d"]
    assert Chain.fetch(chain.jobs[2].id, cluster_conn, prefix=key_prefix).result == chain.result

    broken = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.fail, queue=second),
        Step(jobs.record_previous, queue=third),
        Step(jobs.record_previous, queue=sharing),
    ).enqueue(first)
    _worker([*spread, sharing]).work(burst=True, logging_level=None)
    assert broken.get_statuses() == ["finished", "failed", "canceled", "canceled"]
    assert broken.failed_step == broken.jobs[1]
    assert _order(cluster_conn, key_prefix) == []
