"""The worker's in-memory tally, its flushes to Redis, and the worker's log lines."""

from __future__ import annotations

import logging

import pytest
import redis
from redis.sentinel import Sentinel

from django_jobqueue.engine import Retry, Worker
from django_jobqueue.engine.keys import STATS_TTL
from django_jobqueue.engine.stats import throughput
from django_jobqueue.engine.tally import (
    BUCKET_FIELDS,
    DURATION_BUCKETS,
    MinuteReport,
    Tally,
    describe_redis,
)
from django_jobqueue.engine.worker.pool import WorkerPool

from . import jobs


class FakeClock:
    """Seconds that only move when told to (or by ``step`` on every reading)."""

    def __init__(self, start: float = 1_700_000_000.0, step: float = 0.0):
        self.value, self.step = start, step

    def __call__(self) -> float:
        value = self.value
        self.value += self.step
        return value


class CountingClient:
    """Wraps a client and counts the round trips made through it."""

    def __init__(self, client):
        self.client = client
        self.round_trips = 0

    def pipeline(self, *args, **kwargs):
        pipe = self.client.pipeline(*args, **kwargs)
        execute = pipe.execute

        def counted(*a, **kw):
            self.round_trips += 1
            return execute(*a, **kw)

        pipe.execute = counted
        return pipe

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if callable(attr):

            def counted(*a, **kw):
                self.round_trips += 1
                return attr(*a, **kw)

            return counted
        return attr


def metrics(redis_conn, queue) -> dict[str, str]:
    return {
        k.decode(): v.decode()
        for k, v in redis_conn.hgetall(queue.keys.metrics(queue.name)).items()
    }


def test_a_flush_is_one_round_trip_with_every_count(redis_conn, queue, make_queue):
    client = CountingClient(redis_conn)
    wall = FakeClock()
    minute = int(wall.value // 60)
    tally = Tally(client, queue.keys, clock=FakeClock(), wall_clock=wall)
    for seconds in (0.001, 0.02, 0.02, 7.0, 1000.0):
        tally.started("default")
        tally.ended("default", "finished", seconds)
    tally.started("default")
    tally.ended("default", "queued", 0.3)  # a failed attempt that is retried
    tally.ended("low", "failed")  # an abandoned job failed on behalf of its worker
    tally.started("default")
    tally.ended("default", None, 0.1)  # not ours to record: counts as neither
    assert client.round_trips == 0
    assert tally.flush()
    assert client.round_trips == 1
    m = metrics(redis_conn, queue)
    assert (m["started"], m["finished"], m["failed"]) == ("7", "5", "1")
    assert m["duration_count"] == m["le:+Inf"] == "7"
    assert float(m["duration_sum"]) == pytest.approx(1007.441)
    assert m["le:0.005"] == "1" and m["le:0.025"] == "3" and m["le:0.1"] == "4"
    assert m["le:0.25"] == "4" and m["le:0.5"] == "5" and m["le:10.0"] == "6"
    assert m["le:300.0"] == "6"
    counts = [int(m.get(f, 0)) for f in BUCKET_FIELDS]
    assert counts == sorted(counts)  # cumulative, as Prometheus wants them
    stats = queue.keys.stats("default", minute)
    assert redis_conn.hgetall(stats) == {b"finished": b"5", b"failed": b"1"}
    assert STATS_TTL - 5 < redis_conn.ttl(stats) <= STATS_TTL
    low = make_queue("low")
    assert metrics(redis_conn, low) == {"failed": "1"}
    # Nothing new: no round trip at all.
    assert tally.flush() and client.round_trips == 1
    # Counts add up across flushes.
    tally.started("default")
    tally.ended("default", "finished", 0.001)
    tally.flush()
    assert metrics(redis_conn, queue)["finished"] == "6"
    assert metrics(redis_conn, queue)["le:0.005"] == "2"


def test_flushes_wait_for_their_interval(redis_conn, queue):
    clock = FakeClock(0.0)
    client = CountingClient(redis_conn)
    tally = Tally(client, queue.keys, clock=clock, interval=1.0)
    tally.started("default")
    tally.flush_if_due()
    assert client.round_trips == 0
    clock.value = 1.0
    tally.flush_if_due()
    assert client.round_trips == 1
    tally.started("default")
    clock.value = 1.5
    tally.flush_if_due()
    assert client.round_trips == 1
    clock.value = 2.0
    tally.flush_if_due()
    assert client.round_trips == 2
    assert metrics(redis_conn, queue)["started"] == "2"


def test_counts_wait_out_a_redis_outage(redis_conn, queue, caplog):
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2)
    tally = Tally(unreachable, queue.keys)
    tally.started("default")
    tally.ended("default", "finished", 0.01)
    with caplog.at_level(logging.WARNING, "django_jobqueue.worker"):
        assert not tally.flush()
    assert "Could not write job counts to Redis" in caplog.text
    assert tally.pending
    tally.connection = redis_conn
    assert tally.flush()
    assert metrics(redis_conn, queue)["finished"] == "1"


def test_minutes_are_those_the_jobs_ended_in(redis_conn, queue):
    wall = FakeClock(1_700_000_000.0)
    tally = Tally(redis_conn, queue.keys, wall_clock=wall)
    minute = int(wall.value // 60)
    tally.ended("default", "finished", 0.01)
    wall.value += 60
    tally.ended("default", "failed", 0.01)
    tally.flush()
    (series,) = throughput([queue], minutes=2, timestamp=wall.value)
    assert series == [(minute, 1, 0), (minute + 1, 0, 1)]


def test_buckets_span_5ms_to_5min():
    assert DURATION_BUCKETS[0] == 0.005 and DURATION_BUCKETS[-1] == 300.0
    assert BUCKET_FIELDS[-1] == "le:+Inf" and len(BUCKET_FIELDS) == len(DURATION_BUCKETS) + 1


def _run_mixed(queue, n_ok=6, n_bad=2):
    for i in range(n_ok):
        queue.enqueue(jobs.add, i, 1)
    for _ in range(n_bad):
        queue.enqueue(jobs.fail)


@pytest.mark.parametrize("cls", ["SimpleWorker", "Worker"])
def test_a_real_worker_flushes_its_counts(cls, redis_conn, queue, make_worker):
    import django_jobqueue.engine as engine

    _run_mixed(queue)
    queue.enqueue(jobs.fail, retry=Retry(max=1))  # fails twice: two failed attempts
    worker = make_worker([queue], cls=getattr(engine, cls))
    worker.work(burst=True, logging_level=None)
    m = metrics(redis_conn, queue)
    assert (m["started"], m["finished"], m["failed"]) == ("10", "6", "4")
    assert m["duration_count"] == m["le:+Inf"] == "10"
    assert float(m["duration_sum"]) > 0
    (series,) = throughput([queue])
    assert sum(f for _, f, _ in series) == 6
    assert sum(x for _, _, x in series) == 4
    assert not worker.tally.pending


def test_a_pool_process_flushes_every_childs_counts(redis_conn, queue, spawn_worker):
    _run_mixed(queue, n_ok=30, n_bad=4)
    proc = spawn_worker(worker_class="WorkerPool", burst=True, extra=["--processes", "2"])
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output.decode()
    m = metrics(redis_conn, queue)
    assert (m["started"], m["finished"], m["failed"]) == ("34", "30", "4")
    assert m["le:+Inf"] == "34"
    (series,) = throughput([queue])
    assert sum(f for _, f, _ in series) == 30 and sum(x for _, _, x in series) == 4
    text = output.decode()
    assert "pool of 2 in-process children" in text and "scheduler on" in text


def test_a_pool_counts_the_job_of_a_dead_child(redis_conn, queue):
    queue.enqueue(jobs.crash_kill)
    queue.enqueue(jobs.add, 1, 1)
    WorkerPool([queue], processes=1).work(burst=True, logging_level=None)
    m = metrics(redis_conn, queue)
    # The dead child's "started" died with it; its parent records the failure.
    assert (m["finished"], m["failed"]) == ("1", "1")


def test_abandoned_jobs_count_as_failed(redis_conn, queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    ghost = make_worker([queue], name="ghost")
    ghost.dequeue()
    redis_conn.zadd(queue.keys.registry("default", "started"), {job.id: 1})  # long overdue
    worker = make_worker([queue])
    worker.maintain()
    worker.tally.flush()
    assert metrics(redis_conn, queue) == {"failed": "1"}


def test_the_worker_logs_where_and_how_it_runs(queue, make_worker, caplog):
    worker = make_worker([queue, "low"], cls=Worker, scheduler=False)
    with caplog.at_level(logging.INFO, "django_jobqueue.worker"):
        worker.work(burst=True, logging_level=None)
    (line,) = [r.getMessage() for r in caplog.records if "priority order" in r.getMessage()]
    assert "queues in priority order: default, low" in line
    assert "fork (a child per job)" in line and "scheduler off" in line
    assert describe_redis(queue.connection) in line


def test_describe_redis_never_shows_credentials():
    plain = redis.Redis(host="db.example", port=6380, db=3, username="u", password="sekrit")
    assert describe_redis(plain) == "redis://db.example:6380/3"
    tls = redis.Redis(host="db.example", ssl=True, password="sekrit")
    assert describe_redis(tls) == "rediss://db.example:6379/0"
    unix = redis.Redis(unix_socket_path="/run/redis.sock", db=2, password="sekrit")
    assert describe_redis(unix) == "unix:///run/redis.sock?db=2"
    sentinel = Sentinel([("s1", 26379), ("s2", 26380)], password="sekrit").master_for(
        "mymaster", password="sekrit"
    )
    assert describe_redis(sentinel) == "sentinel master 'mymaster' via s1:26379, s2:26380, db 0"
    assert all("sekrit" not in describe_redis(c) for c in (plain, tls, unix, sentinel))


def test_describe_redis_names_a_cluster(cluster_conn):
    text = describe_redis(cluster_conn)
    host, port = text.removeprefix("Redis Cluster via ").split(":")
    assert (host, int(port)) in {(n.host, n.port) for n in cluster_conn.get_nodes()}


def test_the_minute_line_counts_jobs_and_rate(caplog):
    clock = FakeClock(0.0)
    report = MinuteReport("w1", clock=clock, interval=60.0)
    with caplog.at_level(logging.INFO, "django_jobqueue.worker"):
        clock.value = 30.0
        report.tick(50, 1)
        assert not caplog.records  # not a minute yet
        clock.value = 60.0
        report.tick(120, 2)
        clock.value = 120.0
        report.tick(150, 5)
    first, second = (r.getMessage() for r in caplog.records)
    assert first == (
        "Worker w1: 120 jobs done, 2 failed in the last 60s (2.00 jobs/s); "
        "120 done, 2 failed since start"
    )
    assert second.startswith("Worker w1: 30 jobs done, 3 failed in the last 60s (0.50 jobs/s)")


def test_a_worker_logs_its_minute_line(queue, make_worker, caplog):
    _run_mixed(queue, n_ok=3, n_bad=1)
    worker = make_worker([queue], scheduler=False)
    clock = FakeClock(0.0)
    worker.report = MinuteReport(worker.name, clock=clock, interval=60.0)
    clock.step = 61.0  # every look at the clock is a minute later
    with caplog.at_level(logging.INFO, "django_jobqueue.worker"):
        worker.work(burst=True, logging_level=None)
    lines = [r.getMessage() for r in caplog.records if "in the last" in r.getMessage()]
    assert lines and lines[-1].endswith("4 done, 1 failed since start")


def test_a_pool_logs_the_whole_pools_minute_line(queue, caplog):
    _run_mixed(queue, n_ok=10, n_bad=2)
    pool = WorkerPool([queue], processes=2, scheduler=False)
    clock = FakeClock(0.0, step=61.0)
    pool.report = MinuteReport(pool.name, clock=clock, interval=60.0)
    with caplog.at_level(logging.INFO, "django_jobqueue.worker"):
        pool.work(burst=True, logging_level=None)
    lines = [r.getMessage() for r in caplog.records if "in the last" in r.getMessage()]
    assert lines[-1].endswith("12 done, 2 failed since start")
    assert all(pool.name + ":" in line for line in lines)  # the parent's, not a child's


def test_a_forking_worker_flushes_while_a_long_job_runs(redis_conn, queue, spawn_worker):
    from .conftest import wait_until

    queue.enqueue(jobs.add, 1, 1)
    queue.enqueue(jobs.sleep_for, 3)
    proc = spawn_worker(worker_class="Worker", burst=True)
    wait_until(lambda: metrics(redis_conn, queue).get("finished") == "1", timeout=10)
    assert queue.started_job_registry.count == 1  # the long job is still running
    proc.communicate(timeout=20)
    assert metrics(redis_conn, queue)["finished"] == "2"
