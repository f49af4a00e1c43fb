"""The order a worker takes its queues in: strict priority, round robin, random (RQ's names)."""

from __future__ import annotations

import pytest

from django_jobqueue.engine import (
    DequeueStrategy,
    Queue,
    RandomWorker,
    RoundRobinWorker,
    SimpleWorker,
    WorkerPool,
)

from . import jobs


def _queues(redis_conn, key_prefix, names=("a", "b", "c"), each=2):
    queues = [Queue(n, connection=redis_conn, prefix=key_prefix) for n in names]
    for queue in queues:
        for i in range(each):
            queue.enqueue(jobs.add, i, 0, job_id=f"{queue.name}{i}")
    return queues


def _order(queues):
    """The ids in the order they ended, read from their end times."""
    done = [j for q in queues for j in q.finished_job_registry.get_jobs()]
    return [j.id for j in sorted(done, key=lambda j: j.ended_at)]


def test_by_default_the_first_queue_with_a_job_always_wins(redis_conn, key_prefix):
    queues = _queues(redis_conn, key_prefix)
    SimpleWorker(queues, connection=redis_conn, scheduler=False).work(burst=True)
    assert _order(queues) == ["a0", "a1", "b0", "b1", "c0", "c1"]


@pytest.mark.parametrize("how", ["keyword", "class"])
def test_round_robin_takes_the_queues_in_turn(redis_conn, key_prefix, how):
    queues = _queues(redis_conn, key_prefix)
    if how == "keyword":
        worker = SimpleWorker(queues, connection=redis_conn, scheduler=False)
        worker.work(burst=True, dequeue_strategy="round_robin")
    else:
        worker = RoundRobinWorker(queues, connection=redis_conn, execution="inline")
        worker.work(burst=True)
    assert _order(queues) == ["a0", "b0", "c0", "a1", "b1", "c1"]


def test_random_takes_every_job_in_an_order_that_varies(redis_conn, key_prefix):
    orders = set()
    for attempt in range(6):
        queues = _queues(redis_conn, f"{key_prefix}{attempt}:", each=3)
        RandomWorker(queues, connection=redis_conn, execution="inline", scheduler=False).work(
            burst=True
        )
        order = _order(queues)
        assert sorted(order) == sorted(f"{q}{i}" for q in "abc" for i in range(3))
        orders.add(tuple(order))
    assert len(orders) > 1  # six strict-priority runs would all be the same


def test_a_strategy_is_checked(redis_conn, key_prefix):
    queues = _queues(redis_conn, key_prefix, each=0)
    with pytest.raises(ValueError, match="'round_robin', 'random'"):
        SimpleWorker(queues, connection=redis_conn).work(burst=True, dequeue_strategy="fifo")
    pool = WorkerPool(queues, connection=redis_conn, num_workers=1)
    with pytest.raises(ValueError, match="needs a Worker or SimpleWorker"):
        pool.work(burst=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
