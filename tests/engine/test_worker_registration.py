"""engine.worker_registration: RQ's functions that list and forget workers."""

from __future__ import annotations

import pytest

from django_jobqueue.engine import Worker
from django_jobqueue.engine.keys import keyspace
from django_jobqueue.engine.worker_registration import (
    REDIS_WORKER_KEYS,
    clean_worker_registry,
    get_keys,
    register,
    unregister,
)


def test_register_lists_a_worker_and_unregister_forgets_it(make_queue, make_worker, redis_conn):
    foo, bar = make_queue("foo"), make_queue("bar")
    worker = make_worker([foo, bar])
    register(worker)
    assert redis_conn.sismember(worker.keys.workers, worker.name)
    assert redis_conn.hget(worker.key, "queues") == b"foo,bar"
    assert 0 < redis_conn.ttl(worker.key) <= worker.worker_ttl + 1
    assert Worker.count(queue=foo) == 1 and Worker.count(queue=bar) == 1
    unregister(worker)
    assert not redis_conn.sismember(worker.keys.workers, worker.name)
    assert not redis_conn.exists(worker.key)
    assert Worker.count(queue=foo) == 0


def test_register_and_unregister_on_a_pipeline(make_queue, make_worker, redis_conn):
    worker = make_worker([make_queue("foo")])
    with redis_conn.pipeline() as pipe:
        register(worker, pipeline=pipe)
        assert not redis_conn.exists(worker.key)  # queued, not sent
        pipe.execute()
    assert redis_conn.sismember(worker.keys.workers, worker.name)
    assert redis_conn.hget(worker.key, "name") == worker.name.encode()
    with redis_conn.pipeline() as pipe:
        unregister(worker, pipeline=pipe)
        assert redis_conn.exists(worker.key)
        pipe.execute()
    assert not redis_conn.exists(worker.key)


def test_get_keys_by_queue_and_for_all(make_queue, make_worker, redis_conn):
    foo, bar, baz = make_queue("foo"), make_queue("bar"), make_queue("baz")
    one, two, three = make_worker([foo, bar]), make_worker([foo]), make_worker([baz])
    assert get_keys(foo) == set()
    for worker in (one, two, three):
        register(worker)
    assert get_keys(foo) == {one.key, two.key}
    assert get_keys(bar) == {one.key}
    assert get_keys(connection=redis_conn, prefix=foo.keys.prefix) == {
        one.key,
        two.key,
        three.key,
    }
    with pytest.raises(ValueError, match="required"):
        get_keys()


def test_clean_worker_registry_forgets_dead_workers(make_queue, make_worker, redis_conn):
    queue = make_queue("foo")
    alive, dead = make_worker([queue]), make_worker([queue])
    register(alive)
    register(dead)
    assert clean_worker_registry(queue) == 0
    redis_conn.delete(dead.key)  # as when its heartbeats stopped and the hash expired
    assert clean_worker_registry(queue) == 1
    assert redis_conn.smembers(queue.keys.workers) == {alive.name.encode()}


def test_clean_worker_registry_removes_many_names_in_chunks(
    make_queue, make_worker, redis_conn, monkeypatch
):
    from django_jobqueue.engine import worker_registration

    queue = make_queue("foo")
    redis_conn.sadd(queue.keys.workers, *[f"gone-{i}" for i in range(5)])
    calls = []
    real_srem = redis_conn.srem
    monkeypatch.setattr(worker_registration, "MAX_KEYS", 2)
    monkeypatch.setattr(redis_conn, "srem", lambda *a: calls.append(a) or real_srem(*a))
    assert clean_worker_registry(queue) == 5
    assert [len(call) - 1 for call in calls] == [2, 2, 1]
    assert redis_conn.scard(queue.keys.workers) == 0


def test_the_workers_key_is_the_engines():
    assert REDIS_WORKER_KEYS == keyspace().workers
