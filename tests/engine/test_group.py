"""Groups: jobs tracked under one name, across queues (engine/group.py)."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import (
    DuplicateJobError,
    Group,
    InvalidJobOperation,
    Job,
    NoSuchGroupError,
    Queue,
    scripts,
)

from . import jobs


@pytest.fixture
def group(redis_conn, key_prefix):
    return Group.create(redis_conn, prefix=key_prefix)


def _calls(*ids):
    return [Queue.prepare_data(jobs.add, (1, 2), job_id=job_id) for job_id in ids]


def test_enqueue_many_makes_the_jobs_members(group, queue):
    made = group.enqueue_many(queue, _calls("a", "b"))
    assert [job.id for job in group.get_jobs()] == ["a", "b"] == [job.id for job in made]
    assert queue.job_ids == ["a", "b"]
    stored = Job.fetch("a", queue.connection, origin=queue.name, prefix=queue.keys.prefix)
    assert stored.group_id == group.name
    assert repr(Group.create(name="foo")) == "Group(id=foo)"


def test_fetch_and_all_find_a_group_with_jobs(group, queue, redis_conn, key_prefix):
    group.enqueue_many(queue, _calls("a"))
    Group.create(redis_conn, "never-used", prefix=key_prefix)
    assert Group.fetch(group.name, redis_conn, prefix=key_prefix) == group
    assert Group.all(redis_conn, prefix=key_prefix) == [group]
    with pytest.raises(NoSuchGroupError):
        Group.fetch("never-used", redis_conn, prefix=key_prefix)


def test_a_group_spans_queues_each_keeping_its_members_in_its_slot(group, make_queue):
    low, high = make_queue("low"), make_queue("high")
    group.enqueue_many(low, _calls("a"))
    group.enqueue_many(high, _calls("b"))
    assert sorted((job.origin, job.id) for job in group.get_jobs()) == [("high", "b"), ("low", "a")]
    assert group.queue_names() == ["high", "low"]
    assert "{low}" in group.key_for("low")


def test_a_deleted_job_leaves_its_group_at_once(group, queue, redis_conn, key_prefix):
    a, b = group.enqueue_many(queue, _calls("a", "b"))
    a.delete()
    assert redis_conn.smembers(group.key_for(queue.name)) == {b"b"}
    b.delete()
    with pytest.raises(NoSuchGroupError):
        Group.fetch(group.name, redis_conn, prefix=key_prefix)
    assert Group.all(redis_conn, prefix=key_prefix) == []
    assert not redis_conn.sismember(queue.keys.groups, group.name)


def test_cleanup_forgets_members_whose_job_expired(group, queue, redis_conn):
    a, _ = group.enqueue_many(queue, _calls("a", "b"))
    redis_conn.delete(a.key)  # what an expired result TTL does
    assert [job.id for job in group.get_jobs()] == ["b"]
    assert redis_conn.smembers(group.key_for(queue.name)) == {b"b"}


def test_expired_members_are_forgotten_after_a_worker_ran_them(
    group, queue, make_worker, redis_conn, key_prefix
):
    group.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2), result_ttl=0)])
    make_worker([queue]).work(burst=True)
    Group.clean_registries(redis_conn, prefix=key_prefix)
    assert Group.all(redis_conn, prefix=key_prefix) == []


def test_a_refused_job_is_not_made_a_member_and_the_others_are(group, queue):
    queue.enqueue(jobs.add, 0, 0, job_id="taken")
    with pytest.raises(DuplicateJobError):
        group.enqueue_many(
            queue, [*_calls("fresh"), Queue.prepare_data(jobs.add, job_id="taken", unique=True)]
        )
    assert [job.id for job in group.get_jobs()] == ["fresh"]
    assert sorted(queue.job_ids) == ["fresh", "taken"]


def test_a_call_waiting_on_parents_is_refused_before_anything_is_stored(group, queue):
    parent = queue.enqueue(jobs.add, 0, 0)
    calls = [*_calls("a"), Queue.prepare_data(jobs.add, (1, 2), depends_on=parent)]
    with pytest.raises(InvalidJobOperation, match="depends on jobs"):
        group.enqueue_many(queue, calls)
    assert queue.job_ids == [parent.id] and group.get_jobs() == []


def test_with_a_pipeline_the_jobs_are_stored_when_the_caller_executes_it(group, queue):
    pipe = queue.connection.pipeline()
    group.enqueue_many(queue, _calls("a"), pipeline=pipe)
    assert queue.job_ids == []
    pipe.execute()
    assert queue.job_ids == ["a"] and [job.id for job in group.get_jobs()] == ["a"]


def test_delete_job_takes_a_job_out_and_leaves_it_queued(group, queue):
    group.enqueue_many(queue, _calls("a", "b"))
    group.delete_job("a")
    assert [job.id for job in group.get_jobs()] == ["b"]
    assert queue.job_ids == ["a", "b"]
    assert queue.fetch_job("a").group_id is None


def test_group_join_adds_only_jobs_whose_hash_names_the_group(queue, redis_conn):
    queue.enqueue(jobs.add, 0, 0, job_id="outsider")
    assert scripts.group_join(redis_conn, queue.keys, queue.name, "g", ["outsider", "gone"]) == 0
    assert not redis_conn.exists(queue.keys.group(queue.name, "g"))


def test_group_clean_reports_the_members_left(group, queue, redis_conn):
    a, _ = group.enqueue_many(queue, _calls("a", "b"))
    redis_conn.delete(a.key)
    assert scripts.group_clean(redis_conn, queue.keys, queue.name, group.name) == 1


def test_on_redis_cluster_a_group_spans_queues_on_different_masters(cluster_conn, key_prefix):
    emails, low = (Queue(name, cluster_conn, prefix=key_prefix) for name in ("emails", "low"))
    group = Group.create(cluster_conn, prefix=key_prefix)
    group.enqueue_many(emails, _calls("a"))
    group.enqueue_many(low, _calls("b"))
    assert sorted(job.id for job in group.get_jobs()) == ["a", "b"]
    emails.fetch_job("a").delete()
    assert [
        job.id for job in Group.fetch(group.name, cluster_conn, prefix=key_prefix).get_jobs()
    ] == ["b"]


def test_an_in_memory_queue_cannot_hold_a_group(group, make_queue):
    inline = make_queue("inline", is_async=False, in_memory=True)
    with pytest.raises(InvalidJobOperation, match="in memory"):
        group.enqueue_many(inline, _calls("a"))


def test_a_group_takes_the_key_prefix_of_its_queues(redis_conn, queue):
    with pytest.raises(ValueError, match="create the group with prefix="):
        Group.create(redis_conn).enqueue_many(queue, _calls("a"))
    assert queue.job_ids == []


def test_get_key_names_the_set_of_members_on_a_queue(group, queue, redis_conn, key_prefix):
    group.enqueue_many(queue, _calls("a"))
    key = Group.get_key(group.name, queue.name, prefix=key_prefix)
    assert key == group.key == group.key_for(queue.name)
    assert redis_conn.smembers(key) == {b"a"}


def test_the_maintenance_lock_lets_one_caller_in_per_window(redis_conn, key_prefix):
    ks = Group.create(redis_conn, prefix=key_prefix).keys
    assert Group.acquire_maintenance_lock(redis_conn, 30, prefix=key_prefix)
    assert not Group.acquire_maintenance_lock(redis_conn, 30, prefix=key_prefix)
    assert redis_conn.ttl(ks.group_cleaning) == 30
    redis_conn.delete(ks.group_cleaning)
    assert Group.acquire_maintenance_lock(redis_conn, 0, prefix=key_prefix)
    assert redis_conn.pttl(ks.group_cleaning) in (-2, 0, 1)  # one millisecond: maybe gone already
    assert Group.REDIS_GROUP_CLEANING_KEY == Group.create(redis_conn).keys.group_cleaning
    assert Group.REDIS_GROUP_KEY == Group.create(redis_conn).keys.groups


@pytest.mark.parametrize("interval, ttl", [(30, 29), (30.0, 29), (0, 1), (1, 1)])
def test_a_worker_sweeps_the_groups_under_a_lock_shorter_than_its_interval(
    make_worker, queue, redis_conn, key_prefix, interval, ttl
):
    worker = make_worker([queue], maintenance_interval=interval)
    worker.clean_group_registries()
    assert redis_conn.ttl(Group.create(redis_conn, prefix=key_prefix).keys.group_cleaning) == ttl


def test_a_worker_forgets_empty_groups_once_per_window(
    group, queue, make_worker, redis_conn, key_prefix
):
    def emptied():
        made = Group.create(redis_conn, prefix=key_prefix)
        (job,) = made.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2))])
        redis_conn.delete(job.key)  # expired, its member left behind
        return made

    worker = make_worker([queue], maintenance_interval=30)
    first = emptied()
    worker.clean_group_registries()
    assert not redis_conn.sismember(first.keys.groups, first.name)
    assert not redis_conn.exists(first.key_for(queue.name))
    second = emptied()
    worker.clean_group_registries()  # the lock is still held
    assert redis_conn.sismember(second.keys.groups, second.name)
    redis_conn.delete(second.keys.group_cleaning)
    worker.clean_group_registries()
    assert not redis_conn.sismember(second.keys.groups, second.name)


def test_a_maintenance_round_forgets_expired_members_and_empty_groups(
    queue, make_worker, redis_conn, key_prefix
):
    emptied = Group.create(redis_conn, prefix=key_prefix)
    emptied.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2), result_ttl=0)])
    kept = Group.create(redis_conn, prefix=key_prefix)
    kept.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2), result_ttl=0), *_calls("k")])
    worker = make_worker([queue])
    worker.work(burst=True, max_jobs=2)  # "k" stays queued
    redis_conn.delete(kept.keys.group_cleaning)
    worker.run_maintenance_tasks()
    assert redis_conn.smembers(kept.key_for(queue.name)) == {b"k"}
    with pytest.raises(NoSuchGroupError):
        Group.fetch(emptied.name, redis_conn, prefix=key_prefix)
    assert redis_conn.smembers(kept.keys.groups) == {kept.name.encode()}


def test_a_workers_own_rounds_sweep_the_groups_at_most_every_sweep_interval(
    queue, make_worker, redis_conn, key_prefix, monkeypatch
):
    emptied = Group.create(redis_conn, prefix=key_prefix)
    (job,) = emptied.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2))])
    redis_conn.delete(job.key)
    worker = make_worker([queue], maintenance_interval=1)
    worker.clean_registries()  # the 30-second sweep is not due yet
    assert redis_conn.sismember(emptied.keys.groups, emptied.name)
    later = time.monotonic() + 3600
    monkeypatch.setattr(time, "monotonic", lambda: later)
    worker.clean_registries()
    assert not redis_conn.sismember(emptied.keys.groups, emptied.name)
    assert redis_conn.ttl(emptied.keys.group_cleaning) == 29  # not the 1 s of the interval
