"""Data in Redis that this code did not write as it is: each bad item costs one
logged error, and everything else goes on.

A key of the wrong type (``SET`` on a queue list or a registry), a job hash
missing ``func`` or ``data``, a ``created_at`` that is not a number: with real
workers of each kind (in-process, forking, pool), a worker serves its other
queues, a burst run ends, the bad job is failed with the reason, and the
pages' and commands' counts still come back.
"""

from __future__ import annotations

import logging
import time

import pytest

from django_jobqueue.engine import JobStatus, Queue, all_workers, stats
from django_jobqueue.engine.corrupt import damage
from django_jobqueue.engine.live import running_jobs

from . import jobs
from .conftest import wait_until

WORKERS = ["SimpleWorker", "Worker", "WorkerPool"]


@pytest.fixture(autouse=True)
def _fresh_damage():
    """Each test starts with no key known to be bad in this process."""
    damage.bad.clear()
    yield
    damage.bad.clear()


def run_burst(spawn_worker, queues, worker_class):
    proc = spawn_worker(queues, worker_class, burst=True, extra=("--processes", "1"))
    try:
        output = proc.communicate(timeout=30)[0].decode()
    except Exception:
        proc.kill()
        raise AssertionError("the burst worker did not end") from None
    assert proc.returncode == 0, output
    assert "crashed" not in output, output
    return output


# -- keys of the wrong type --------------------------------------------------------


def _break(redis_conn, key):
    redis_conn.delete(key)
    redis_conn.set(key, "x")


@pytest.mark.parametrize("worker_class", WORKERS)
@pytest.mark.parametrize("which", ["queue", "priority", "started"])
def test_a_queue_with_a_key_of_the_wrong_type_is_passed_over(
    worker_class, which, make_queue, redis_conn, spawn_worker
):
    bad, good = make_queue("bad"), make_queue("default")
    stuck = bad.enqueue(jobs.add, 1, 1)
    key = {
        "queue": bad.key,
        "priority": bad.keys.priority("bad"),
        "started": bad.keys.registry("bad", "started"),
    }[which]
    _break(redis_conn, key)
    done = [good.enqueue(jobs.add, i, i) for i in range(3)]
    output = run_burst(spawn_worker, "bad,default", worker_class)
    assert all(job.get_status() == JobStatus.FINISHED for job in done)
    assert output.count(key) == 1, output  # one error, logged once
    assert redis_conn.get(key) == b"x"  # left for people to look at
    if which != "queue":  # its job is still where it was
        assert stuck.get_status() == JobStatus.QUEUED
    if which == "started":
        assert redis_conn.lrange(bad.key, 0, -1) == [stuck.id.encode()]


def test_an_in_process_worker_logs_a_bad_key_once_and_goes_on(
    make_queue, make_worker, redis_conn, caplog
):
    bad, good = make_queue("bad"), make_queue("default")
    _break(redis_conn, bad.key)
    for kind in ("finished", "failed", "scheduled", "deferred"):
        _break(redis_conn, bad.keys.registry("bad", kind))
    worker = make_worker(["bad", "default"])
    done = []
    with caplog.at_level(logging.ERROR, logger="django_jobqueue"):
        for i in range(3):
            done.append(good.enqueue(jobs.add, i, i))
            worker.work(burst=True, logging_level=None)
            worker.maintain()
    assert all(job.get_status() == JobStatus.FINISHED for job in done)
    assert sum(bad.key in r.getMessage() for r in caplog.records) == 1
    finished = bad.keys.registry("bad", "finished")
    assert sum(finished in r.getMessage() for r in caplog.records) == 1


def test_a_job_is_recorded_even_when_its_registries_are_of_the_wrong_type(
    queue, make_worker, redis_conn, caplog
):
    job = queue.enqueue(jobs.add, 2, 3)
    failing = queue.enqueue(jobs.fail)
    for kind in ("finished", "failed"):
        _break(redis_conn, queue.keys.registry("default", kind))
    with caplog.at_level(logging.ERROR, logger="django_jobqueue"):
        make_worker(queue).work(burst=True, logging_level=None)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 5
    assert failing.get_status() == JobStatus.FAILED
    assert sum("failed" in r.getMessage() and "holds" in r.getMessage() for r in caplog.records)


def test_counts_for_pages_and_commands_survive_keys_of_the_wrong_type(
    make_queue, redis_conn, key_prefix
):
    bad, good = make_queue("bad"), make_queue("default")
    good.enqueue(jobs.add, 1, 1)
    bad.enqueue(jobs.add, 1, 1)
    for key in (
        bad.key,
        bad.keys.priority("bad"),
        *(bad.keys.registry("bad", kind) for kind in ("started", "finished", "failed")),
        bad.keys.metrics("bad"),
        bad.keys.workers,
    ):
        _break(redis_conn, key)
    rows = stats.queue_stats([bad, good])
    assert rows[0]["queued"] == 0 and rows[1]["queued"] == 1
    metrics = stats.queue_metrics([bad, good])
    assert metrics["queues"][0]["jobs_finished"] == 0
    assert len(stats.throughput([bad, good], minutes=2)) == 2
    assert running_jobs(redis_conn, ["bad", "default"], key_prefix) == {}
    assert all_workers(redis_conn, key_prefix) == []
    assert bad.failed_job_registry.count == 0
    assert bad.failed_job_registry.get_job_ids() == []


def test_a_scheduler_passes_over_a_queue_with_a_bad_key(make_queue, make_worker, redis_conn):
    bad, good = make_queue("bad"), make_queue("default")
    bad_job = bad.enqueue_in(0.01, jobs.add, 1, 1)
    good_job = good.enqueue_in(0.01, jobs.add, 2, 2)
    _break(redis_conn, bad.key)  # the scheduled job has nowhere to go
    make_worker(["default"]).work(max_jobs=1, max_idle_time=5, logging_level=None)
    assert good_job.get_status() == JobStatus.FINISHED
    assert bad_job.get_status() == JobStatus.SCHEDULED  # still where it was


# -- job hashes this code did not write ------------------------------------------------


@pytest.mark.parametrize("worker_class", WORKERS)
@pytest.mark.parametrize(
    "damage_done",
    [("hdel", "func"), ("hdel", "data"), ("hset", "created_at"), ("hdel", "status")],
    ids=["no-func", "no-data", "bad-created_at", "no-status"],
)
def test_a_job_hash_that_cannot_be_run_is_failed_with_the_reason(
    worker_class, damage_done, queue, redis_conn, spawn_worker
):
    job = queue.enqueue(jobs.add, 1, 2)
    after = queue.enqueue(jobs.add, 3, 4)
    command, field = damage_done
    if command == "hdel":
        redis_conn.hdel(job.key, field)
    else:
        redis_conn.hset(job.key, field, "yesterday")
    run_burst(spawn_worker, "default", worker_class)
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert job.id in queue.failed_job_registry
    reason = redis_conn.hget(job.key, "exc_info").decode()
    assert {
        "func": "import",
        "data": "no stored call data",
        "created_at": "yesterday",
        "status": "no status",
    }[field] in reason
    assert after.get_status() == JobStatus.FINISHED  # the worker went on


@pytest.mark.parametrize("when", ["yesterday", "nan", "1e999", "99999999999999999999999", "-5"])
def test_an_in_process_worker_fails_an_unreadable_job_and_goes_on(
    when, queue, make_worker, redis_conn
):
    job = queue.enqueue(jobs.add, 1, 2)
    after = queue.enqueue(jobs.add, 3, 4)
    redis_conn.hset(job.key, "created_at", when)
    worker = make_worker(queue)
    worker.work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert after.get_status() == JobStatus.FINISHED


def test_the_abandoned_sweep_fails_an_unreadable_job(queue, make_worker, redis_conn):
    from django_jobqueue.engine import scripts

    job = queue.enqueue(jobs.add, 1, 2)
    scripts.dequeue(redis_conn, queue.keys, ["default"], 1.0, "ghost", 1)  # long dead
    redis_conn.hset(job.key, "created_at", "yesterday")
    make_worker(queue).maintain()
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert b"abandoned" in redis_conn.hget(job.key, "exc_info")


@pytest.mark.parametrize(
    "bad",
    [{"worker": b"gh\xffost"}, {"worker": b"gh\xffost", "created_at": "yesterday"}],
    ids=["worker-not-utf8", "and-created_at-not-a-number"],
)
def test_the_abandoned_sweep_fails_a_job_whose_worker_name_is_not_utf8(
    bad, queue, make_worker, redis_conn
):
    """The sweep raised UnicodeDecodeError, and so did every worker's run loop."""
    from django_jobqueue.engine import scripts

    job = queue.enqueue(jobs.add, 1, 2)
    scripts.dequeue(redis_conn, queue.keys, ["default"], 1.0, "ghost", 1)  # long dead
    redis_conn.hset(job.key, mapping=bad)
    after = queue.enqueue(jobs.add, 3, 4)
    make_worker(queue).work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert job.id not in queue.started_job_registry
    assert job.id in queue.failed_job_registry
    assert b"worker gh\\xffost stopped heart-beating" in redis_conn.hget(job.key, "exc_info")
    assert after.get_status() == JobStatus.FINISHED


@pytest.mark.parametrize("worker_class", WORKERS)
def test_a_worker_process_survives_a_dead_workers_job_with_a_name_not_utf8(
    worker_class, queue, redis_conn, spawn_worker
):
    from django_jobqueue.engine import scripts

    job = queue.enqueue(jobs.add, 1, 2)
    scripts.dequeue(redis_conn, queue.keys, ["default"], 1.0, "ghost", 1)  # long dead
    redis_conn.hset(job.key, "worker", b"\xff")
    after = queue.enqueue(jobs.add, 3, 4)
    run_burst(spawn_worker, "default", worker_class)
    assert after.get_status() == JobStatus.FINISHED
    assert redis_conn.hget(job.key, "status") == b"failed"


def test_the_abandoned_sweep_passes_over_a_status_that_is_not_text(queue, make_worker, redis_conn):
    from django_jobqueue.engine import scripts

    job = queue.enqueue(jobs.add, 1, 2)
    after = queue.enqueue(jobs.add, 3, 4)
    scripts.dequeue(redis_conn, queue.keys, ["default"], 1.0, "ghost", 1)  # long dead
    redis_conn.hset(job.key, "status", b"\xff")
    worker = make_worker(queue)
    worker.maintain()  # not "started": its entry is dropped, as for any other status
    assert job.id not in queue.started_job_registry
    worker.work(burst=True, logging_level=None)
    assert after.get_status() == JobStatus.FINISHED


def test_a_worker_fails_a_job_whose_function_name_is_not_utf8(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2)
    after = queue.enqueue(jobs.add, 3, 4)
    redis_conn.hset(job.key, "func", b"tests.\xff")
    make_worker(queue).work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert b"UnicodeDecodeError" in redis_conn.hget(job.key, "exc_info")
    assert after.get_status() == JobStatus.FINISHED


def test_a_pool_whose_children_die_at_once_backs_off_and_a_burst_ends(
    queue, redis_conn, key_prefix, monkeypatch
):
    from django_jobqueue.engine.worker import pool as pool_module

    spawned = []

    class Dying(pool_module.PoolChild):
        def work(self, *args, **kwargs):
            raise RuntimeError("dies before any job")

    monkeypatch.setattr(pool_module, "PoolChild", Dying)
    real_spawn = pool_module.WorkerPool._spawn

    def counting_spawn(self):
        spawned.append(1)
        real_spawn(self)

    monkeypatch.setattr(pool_module.WorkerPool, "_spawn", counting_spawn)
    queue.enqueue(jobs.add, 1, 1)
    pool = pool_module.WorkerPool(
        queue, connection=redis_conn, prefix=key_prefix, processes=1, scheduler=False
    )
    began = time.monotonic()
    pool.work(burst=True, logging_level=None)
    assert len(spawned) == pool_module.BURST_CRASHES
    # 0.1 + 0.2 + 0.4 + 0.8 s between them, not a tight loop.
    assert time.monotonic() - began >= 1.5
    assert Queue("default", connection=redis_conn, prefix=key_prefix).count == 1


def test_an_enqueue_onto_a_queue_key_of_the_wrong_type_leaves_nothing_behind(
    make_queue, redis_conn, key_prefix
):
    from redis.exceptions import ResponseError

    bad = make_queue("bad")
    _break(redis_conn, bad.key)
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        bad.enqueue(jobs.add, 1, 1, job_id="one")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        bad.enqueue_many([Queue.prepare_data(jobs.add, (1, 1), job_id="two")])
    assert not redis_conn.exists(bad.keys.job("bad", "one"), bad.keys.job("bad", "two"))


def test_a_read_only_replica_is_a_server_error_not_a_corrupt_key():
    """A master demoted by a failover answers writes with READONLY: that must reach
    the worker as an error it retries on, not mark the queue as holding bad data."""
    from redis.exceptions import ReadOnlyError, ResponseError

    from django_jobqueue.engine import scripts
    from tests.redis_rigs import RedisServer

    with RedisServer() as master, RedisServer() as replica:
        queue = Queue("default", master.client(), prefix="ro:")
        queue.enqueue(jobs.add, 1, 2)
        replica.client().replicaof(master.host, master.port)
        conn = replica.client()
        wait_until(lambda: conn.llen(queue.key) == 1, message="the replica never synced")
        with pytest.raises((ReadOnlyError, ResponseError), match="read only replica"):
            scripts.dequeue(conn, queue.keys, ["default"], 60.0, "w", 1)
        assert not damage.bad
        assert conn.llen(queue.key) == 1


@pytest.mark.parametrize("worker_class", WORKERS)
def test_a_worker_goes_on_after_a_command_or_announcement_that_is_not_utf8(
    worker_class, queue, redis_conn, spawn_worker
):
    """Each raised UnicodeDecodeError out of the worker's loop: the process died."""
    proc = spawn_worker("default", worker_class, name="listener", extra=("--processes", "1"))
    ks = queue.keys
    first = queue.enqueue(jobs.add, 1, 2)
    wait_until(lambda: first.get_status() == JobStatus.FINISHED, timeout=20)
    redis_conn.hset(ks.worker("listener"), "command", b"\xff\xfe")
    redis_conn.publish(ks.worker_channel("listener"), b"\xff\xfe")
    time.sleep(0.5)
    later = queue.enqueue(jobs.add, 3, 4)
    wait_until(lambda: later.get_status() == JobStatus.FINISHED, timeout=20)
    assert proc.poll() is None
    # Commands still work: a real shutdown stops it.
    redis_conn.hset(ks.worker("listener"), "command", "shutdown")
    redis_conn.publish(ks.worker_channel("listener"), "shutdown")
    assert proc.wait(timeout=20) == 0


def test_the_sweeps_pass_over_group_and_rate_limit_names_that_are_not_utf8(
    queue, make_worker, redis_conn, key_prefix
):
    """Group.all and rate_limit.sweep raised UnicodeDecodeError: a worker's sweep died."""
    from django_jobqueue.engine import Group, Queue, rate_limit

    group = Group.create(redis_conn, prefix=key_prefix)
    group.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2), job_id="member")])
    redis_conn.sadd(queue.keys.groups, b"\xff\xfe")
    redis_conn.sadd(queue.keys.queues, b"\xff\xfe")
    redis_conn.sadd(queue.keys.rate_limit_keys("default"), b"\xff\xfe")
    assert Group.all(redis_conn, prefix=key_prefix) == [group]
    assert not redis_conn.sismember(queue.keys.groups, b"\xff\xfe")  # no group's name: dropped
    assert rate_limit.sweep(redis_conn, "default", key_prefix) == 0
    worker = make_worker(queue)
    worker.run_maintenance_tasks()
    worker.work(burst=True, logging_level=None)
    assert queue.fetch_job("member").get_status() == JobStatus.FINISHED


@pytest.mark.parametrize("worker_class", WORKERS)
def test_a_job_whose_id_is_not_utf8_is_failed_as_it_is(
    worker_class, queue, redis_conn, spawn_worker
):
    """Taking it raised UnicodeDecodeError out of the worker: the process died."""
    good = queue.enqueue(jobs.add, 1, 2)
    bad_key = queue.keys.job_prefix("default").encode() + b"\xff"
    redis_conn.hset(bad_key, mapping=redis_conn.hgetall(good.key))  # a whole job, but that id
    redis_conn.rpush(queue.key, b"\xff")
    after = queue.enqueue(jobs.add, 3, 4)
    output = run_burst(spawn_worker, "default", worker_class)
    assert after.get_status() == JobStatus.FINISHED
    assert redis_conn.hget(bad_key, "status") == b"failed"
    assert b"not UTF-8" in redis_conn.hget(bad_key, "exc_info")
    assert 0 < redis_conn.ttl(bad_key) <= 365 * 24 * 3600
    started, failed = (queue.keys.registry("default", kind) for kind in ("started", "failed"))
    assert redis_conn.zscore(started, b"\xff") is None
    assert redis_conn.zscore(failed, b"\xff") is not None
    assert "its id is not UTF-8 text" in output


def test_names_and_parents_that_are_not_utf8_leave_enqueue_and_the_deferred_sweep_working(
    queue, make_worker, redis_conn, key_prefix
):
    """Each raised UnicodeDecodeError: an enqueue naming its parent by id, the
    deferred sweep (a worker's maintenance) and Queue.all."""
    from django_jobqueue.engine import Queue

    redis_conn.sadd(queue.keys.queues, b"\xff\xfe")
    parent = queue.enqueue(jobs.add, 1, 2)
    child = queue.enqueue(jobs.add, 3, 4, depends_on=parent.id)
    assert child.get_status() == JobStatus.DEFERRED
    redis_conn.sadd(queue.keys.pending("default", child.id), b"\xff\xfe")
    assert [q.name for q in Queue.all(redis_conn, prefix=key_prefix)] == ["default"]
    assert queue.deferred_job_registry.release_ready(older_than=-1) == 0  # reads the set
    make_worker(queue).work(burst=True, logging_level=None)
    assert parent.get_status() == JobStatus.FINISHED


#: JSON of other shapes, and bytes, where this code writes a list of job keys.
KEY_LIST_DAMAGE = [
    b'[{"a": 1}]',
    b"[[1]]",
    b"[null, 5, 1e999]",
    b'{"a": 1}',
    b'"text"',
    b"\xff",
    b"not json",
    b'["not-a-key", "other:job:key"]',
]


@pytest.mark.parametrize("outcome", ["add", "fail"])
@pytest.mark.parametrize("value", KEY_LIST_DAMAGE)
@pytest.mark.parametrize("field", ["dependents", "deps", "pending"])
def test_a_job_whose_lists_of_job_keys_were_written_badly_still_ends(
    field, value, outcome, queue, make_worker, redis_conn, caplog
):
    """Releasing the children of an ended job raised (TypeError, ValueError,
    UnicodeDecodeError) out of the worker that ran it."""
    job = queue.enqueue(jobs.add, 1, 2) if outcome == "add" else queue.enqueue(jobs.fail, "x")
    redis_conn.hset(job.key, field, value)
    after = queue.enqueue(jobs.add, 3, 4)
    make_worker(queue).work(burst=True, logging_level=None)
    expected = b"finished" if outcome == "add" else b"failed"
    assert redis_conn.hget(job.key, "status") == expected
    assert after.get_status() == JobStatus.FINISHED
    if field == "dependents":
        told = [r.message for r in caplog.records]
        assert any("'dependents' field holds more than job keys" in m for m in told)


@pytest.mark.parametrize("worker_class", ["Worker", "WorkerPool"])
def test_a_worker_process_ends_a_job_whose_dependents_were_written_badly(
    worker_class, queue, redis_conn, spawn_worker
):
    job = queue.enqueue(jobs.add, 1, 2)
    redis_conn.hset(job.key, "dependents", b'[{"a": 1}, 5]')
    after = queue.enqueue(jobs.add, 3, 4)
    run_burst(spawn_worker, "default", worker_class)
    assert redis_conn.hget(job.key, "status") == b"finished"
    assert after.get_status() == JobStatus.FINISHED


def test_the_deferred_sweep_and_a_bulk_delete_read_key_lists_written_badly(queue, redis_conn):
    from django_jobqueue.engine import bulk

    parent = queue.enqueue(jobs.add, 1, 2)
    child = queue.enqueue(jobs.add, 3, 4, depends_on=parent)
    redis_conn.hset(child.key, "pending", b'[{"a": 1}]')
    assert queue.deferred_job_registry.release_ready(older_than=-1) == 0
    redis_conn.hset(parent.key, "dependents", b"[null]")
    assert bulk.delete_many(queue, [parent.id]) == (1, 0)
    assert not redis_conn.exists(parent.key)


@pytest.mark.parametrize("outcome", ["add", "fail"])
@pytest.mark.parametrize("field", ["result_ttl", "failure_ttl", "ttl"])
def test_a_ttl_too_long_for_redis_is_bounded_when_the_job_ends(
    field, outcome, queue, make_worker, redis_conn
):
    """Redis refused the EXPIRE of the outcome script ('value is not an integer
    or out of range'): the error came out of the worker, which died."""
    job = queue.enqueue(jobs.add, 1, 2) if outcome == "add" else queue.enqueue(jobs.fail, "x")
    redis_conn.hset(job.key, field, "99999999999999999999999")
    after = queue.enqueue(jobs.add, 3, 4)
    make_worker(queue).work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == (b"finished" if outcome == "add" else b"failed")
    assert after.get_status() == JobStatus.FINISHED
    kept = redis_conn.ttl(job.key)
    assert kept == -1 or 0 < kept <= 100 * 365 * 24 * 3600


def test_a_negative_count_of_retries_left_means_none(queue, make_worker, redis_conn):
    """-1 counted down for ever: the job was retried each time it failed."""
    from django_jobqueue.engine import Retry

    job = queue.enqueue(jobs.fail, "x", retry=Retry(max=3))
    redis_conn.hset(job.key, "retries_left", "-1")
    make_worker(queue).work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert redis_conn.hget(job.key, "retries_left") == b"-1"  # no retry was counted


def test_a_count_of_retries_past_64_bits_means_none(queue, make_worker, redis_conn):
    """The fail script's HINCRBY refused it ('hash value is not an integer'):
    the error came out of the worker, which died."""
    from django_jobqueue.engine import Retry

    job = queue.enqueue(jobs.fail, "x", retry=Retry(max=3))
    redis_conn.hset(job.key, "retries_left", "99999999999999999999999")
    after = queue.enqueue(jobs.add, 3, 4)
    make_worker(queue).work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == b"failed"
    assert after.get_status() == JobStatus.FINISHED


def test_retry_max_is_bounded_by_what_redis_counts():
    from django_jobqueue.engine import Retry

    assert Retry(max=2**31 - 1).max == 2**31 - 1
    with pytest.raises(ValueError, match=r"from 1 to 2147483647"):
        Retry(max=2**63)


def test_a_count_of_repeats_past_what_lua_counts_down_means_none(queue, make_worker, redis_conn):
    """A float past 2**53 does not count down: the job repeated for ever."""
    from django_jobqueue.engine import Repeat

    job = queue.enqueue(jobs.add, 1, 2, repeat=Repeat(times=2))
    redis_conn.hset(job.key, "repeats_left", "99999999999999999999999")
    make_worker(queue).work(burst=True, logging_level=None)
    assert redis_conn.hget(job.key, "status") == b"finished"
    assert queue.count == 0


def test_repeat_times_is_bounded_like_retries():
    from django_jobqueue.engine import Repeat

    assert Repeat(times=2**31 - 1)
    with pytest.raises(ValueError, match=r"from 1 to 2147483647"):
        Repeat(times=2**31)
