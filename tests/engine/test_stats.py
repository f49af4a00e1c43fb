"""Per-queue counts (``queue_stats``) and per-minute throughput counters (``throughput``)."""

from __future__ import annotations

import time

from django_jobqueue.engine import scripts
from django_jobqueue.engine.stats import queue_stats, throughput

from . import jobs


def _started(redis_conn, ks, queue, job_id, worker="w1"):
    redis_conn.hset(ks.job(queue, job_id), mapping={"status": "started", "worker": worker})
    redis_conn.zadd(ks.registry(queue, "started"), {job_id: time.time() + 60})


def test_recording_outcomes_writes_no_counters(redis_conn, queue, prefixed_keys):
    """The scripts leave counting to the worker's tally (see test_tally.py)."""
    ks, name = queue.keys, queue.name
    t = 1_700_000_000.0
    for job_id in ("a", "b"):
        _started(redis_conn, ks, name, job_id)
    scripts.finish(redis_conn, ks, name, "a", t, 100, b"r", "w1")
    scripts.fail(redis_conn, ks, name, "b", t, 100, "tb", "w1", retry_in=0)
    assert not redis_conn.exists(ks.stats(name, int(t // 60)))
    assert not [k for k in prefixed_keys() if ":stats:" in k or k.endswith(":metrics")]


def test_throughput_reads_the_last_hour_oldest_first(make_queue, redis_conn):
    high, low = make_queue("high"), make_queue("low")
    t = 1_700_000_000.0
    last = int(t // 60)
    redis_conn.hset(high.keys.stats("high", last), mapping={"finished": 5, "failed": 2})
    redis_conn.hset(high.keys.stats("high", last - 59), mapping={"finished": 1})
    redis_conn.hset(high.keys.stats("high", last - 60), mapping={"finished": 99})  # too old
    redis_conn.hset(low.keys.stats("low", last - 1), mapping={"failed": 3})
    series_high, series_low = throughput([high, low], timestamp=t)
    assert len(series_high) == len(series_low) == 60
    assert series_high[0] == (last - 59, 1, 0)
    assert series_high[-1] == (last, 5, 2)
    assert series_low[-2] == (last - 1, 0, 3)
    assert sum(f for _, f, _ in series_high) == 6
    assert throughput([high], minutes=5, timestamp=t)[0][-1] == (last, 5, 2)


def test_a_worker_feeds_the_counters(queue, make_worker):
    queue.enqueue(jobs.add, 1, 2)
    queue.enqueue(jobs.add, 2, 3)
    queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    (series,) = throughput([queue])
    assert sum(f for _, f, _ in series) == 2
    assert sum(x for _, _, x in series) == 1


def test_queue_stats_counts_each_list(queue, make_worker):
    queue.enqueue(jobs.add, 1, 2)
    queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    queue.enqueue(jobs.add, 1, 2)
    (row,) = queue_stats([queue])
    assert row["name"] == "default"
    assert (row["queued"], row["finished"], row["failed"], row["workers"]) == (1, 1, 1, 0)
