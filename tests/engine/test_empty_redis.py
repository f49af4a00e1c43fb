"""A Redis that comes back empty: restarted without persistence, failed over to a
replica that lagged, or flushed.

What a process wrote once (the set of queue names, a worker's registration)
is gone while the process goes on. Every enqueue and every heartbeat writes
again what it relies on, so the next one of each restores it. "Emptied" here
means every key under the test's prefix deleted, which is what FLUSHDB does to
the engine's data without touching other tests' keys on a shared server.
"""

from __future__ import annotations

import time

from django_jobqueue.engine import Job, JobStatus, Queue, Retry, all_workers, stats
from django_jobqueue.engine.cron import CronEntry
from django_jobqueue.engine.live import pool_children
from django_jobqueue.engine.scheduler import Scheduler

from . import jobs
from .conftest import wait_until
from .test_tally import CountingClient

#: Deletes every key matching ARGV[1] and counts those left, in one atomic step.
EMPTY = """
local keys = redis.call('KEYS', ARGV[1])
for i = 1, #keys, 500 do
    redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys)))
end
return #redis.call('KEYS', ARGV[1])
"""


def empty(redis_conn, key_prefix) -> None:
    """What FLUSHDB does to our keys, checked before a live worker writes again."""
    assert redis_conn.eval(EMPTY, 0, key_prefix + "*") == 0


def listed(queue, redis_conn) -> set[str]:
    return {n.decode() for n in redis_conn.smembers(queue.keys.queues)}


def test_every_enqueue_lists_its_queue_in_its_one_round_trip(redis_conn, key_prefix):
    Queue("warm-up", connection=redis_conn, prefix=key_prefix).enqueue(jobs.add, 0, 0)
    client = CountingClient(redis_conn)  # (scripts loaded: no NOSCRIPT reply to count)
    queue = Queue("default", connection=client, prefix=key_prefix)
    first = queue.enqueue(jobs.add, 1, 2)
    assert client.round_trips == 1
    empty(redis_conn, key_prefix)
    job = queue.enqueue(jobs.add, 3, 4)
    assert client.round_trips == 2  # still one round trip: the script lists the queue
    assert listed(queue, redis_conn) == {"default"}
    assert Job.fetch(job.id, redis_conn, prefix=key_prefix).origin == "default"
    assert not redis_conn.exists(first.key)  # really gone

    empty(redis_conn, key_prefix)
    scheduled = queue.enqueue_in(3600, jobs.add, 7, 8)
    assert client.round_trips == 3
    assert listed(queue, redis_conn) == {"default"}
    assert Job.fetch(scheduled.id, redis_conn, prefix=key_prefix).is_scheduled

    # A batch lists its queue too (in its own script call).
    empty(redis_conn, key_prefix)
    (batched,) = Queue("default", connection=redis_conn, prefix=key_prefix).enqueue_many(
        [Queue.prepare_data(jobs.add, (5, 6))]
    )
    assert listed(queue, redis_conn) == {"default"}
    assert Job.fetch(batched.id, redis_conn, prefix=key_prefix).origin == "default"


def test_fetch_and_depends_on_by_id_find_jobs_enqueued_after_the_data_was_lost(
    make_queue, make_worker, redis_conn, key_prefix
):
    queue = make_queue("low")
    queue.enqueue(jobs.add, 1, 2)
    empty(redis_conn, key_prefix)
    parent = queue.enqueue(jobs.add, 1, 2)
    assert Job.fetch(parent.id, redis_conn, prefix=key_prefix).origin == "low"
    child = make_queue("default").enqueue(jobs.add, 3, 4, depends_on=parent.id)
    assert child.get_status() == JobStatus.DEFERRED
    make_worker(["low", "default"]).work(burst=True, logging_level=None)
    assert parent.get_status() == child.get_status() == JobStatus.FINISHED
    assert child.return_value() == 7


def test_a_job_scheduled_after_the_data_was_lost_runs(queue, make_worker, redis_conn, key_prefix):
    queue.enqueue(jobs.add, 1, 2)
    empty(redis_conn, key_prefix)
    job = queue.enqueue_in(0.2, jobs.add, 2, 3)
    began = time.monotonic()
    make_worker(queue).work(max_jobs=1, max_idle_time=5, logging_level=None)
    assert job.get_status() == JobStatus.FINISHED
    assert time.monotonic() - began < 4


def test_a_delayed_retry_lists_its_queue_again(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=2, interval=0.2))
    # The set of queue names alone is lost (a replica that had the job but not the set).
    redis_conn.delete(queue.keys.queues)
    make_worker(queue).work(max_jobs=2, max_idle_time=5, logging_level=None)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 2


def test_a_retry_of_a_job_enqueued_after_the_data_was_lost_runs(
    queue, make_worker, redis_conn, key_prefix
):
    queue.enqueue(jobs.add, 1, 2)
    empty(redis_conn, key_prefix)
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=2, interval=0.2))
    make_worker(queue).work(max_jobs=2, max_idle_time=5, logging_level=None)
    assert job.get_status() == JobStatus.FINISHED


def test_a_periodic_job_lists_its_queue_again(queue, redis_conn, key_prefix):
    entry = CronEntry("tests.engine.jobs.add", interval=1, args=(1, 2), queue="default")
    scheduler = Scheduler(redis_conn, key_prefix, cron=[entry])
    scheduler.tick(1_000.0)
    assert queue.count == 1
    empty(redis_conn, key_prefix)
    scheduler.tick(1_010.0)
    assert queue.count == 1
    assert listed(queue, redis_conn) == {"default"}


def _wait_for_registration(redis_conn, key_prefix, name):
    def registered():
        found = [w for w in all_workers(redis_conn, key_prefix) if w.get("name") == name]
        return found and "queues" in found[0] and "last_heartbeat" in found[0] and found[0]

    return wait_until(registered, timeout=10, message=f"worker {name} is not registered")


def test_a_worker_registers_again_with_its_next_heartbeat(
    spawn_worker, queue, redis_conn, key_prefix
):
    spawn_worker("default", name="w1", worker_ttl=3)
    before = _wait_for_registration(redis_conn, key_prefix, "w1")
    empty(redis_conn, key_prefix)
    after = _wait_for_registration(redis_conn, key_prefix, "w1")
    assert {k: after[k] for k in ("queues", "execution", "pid", "birth")} == {
        k: before[k] for k in ("queues", "execution", "pid", "birth")
    }
    assert stats.queue_stats([queue])[0]["workers"] == 1
    # And it still works.
    job = queue.enqueue(jobs.add, 2, 2)
    wait_until(lambda: job.get_status() == JobStatus.FINISHED)


def test_a_pool_and_its_children_register_again(spawn_worker, queue, redis_conn, key_prefix):
    spawn_worker("default", "WorkerPool", name="pool", worker_ttl=3, extra=("--processes", "1"))
    _wait_for_registration(redis_conn, key_prefix, "pool")
    wait_until(
        lambda: pool_children(redis_conn, all_workers(redis_conn, key_prefix), key_prefix).get(
            "pool"
        )
    )
    empty(redis_conn, key_prefix)
    pool = _wait_for_registration(redis_conn, key_prefix, "pool")
    assert pool["execution"] == "pool"
    (child,) = wait_until(
        lambda: pool_children(redis_conn, all_workers(redis_conn, key_prefix), key_prefix)["pool"]
    )
    assert child["execution"] == "pool-child" and child["pool"] == "pool"
    assert {w["name"] for w in all_workers(redis_conn, key_prefix)} == {"pool"}
    assert stats.queue_stats([queue])[0]["workers"] == 1


def test_on_a_cluster_enqueues_and_retries_list_their_queue_too(
    cluster_conn, key_prefix, make_worker
):
    queue = Queue("emails", connection=cluster_conn, prefix=key_prefix)
    queue.enqueue(jobs.add, 1, 2)
    queue.empty()
    cluster_conn.delete(queue.keys.queues)
    job = queue.enqueue(jobs.fail_until, 2, retry=Retry(max=2, interval=0.2))
    assert listed(queue, cluster_conn) == {"emails"}
    assert Job.fetch(job.id, cluster_conn, prefix=key_prefix).origin == "emails"
    cluster_conn.delete(queue.keys.queues)  # lost again: the retry lists it
    make_worker(queue, connection=cluster_conn).work(
        max_jobs=2, max_idle_time=5, logging_level=None
    )
    assert job.get_status() == JobStatus.FINISHED
