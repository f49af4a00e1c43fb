"""Dependencies: chains, fan-out, fan-in, diamonds, cross-queue links and failures."""

from __future__ import annotations

import pytest

from django_jobqueue.engine import Dependency, Job, JobStatus, NoSuchJobError

from . import jobs


def _order(redis_conn, key_prefix):
    return [x.decode() for x in redis_conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)]


@pytest.mark.parametrize("form", ["job", "id", "list-of-jobs", "list-of-ids", "dependency"])
def test_depends_on_accepts_every_form(queue, make_worker, form):
    parent = queue.enqueue(jobs.add, 1, 1)
    depends_on = {
        "job": parent,
        "id": parent.id,
        "list-of-jobs": [parent],
        "list-of-ids": [parent.id],
        "dependency": Dependency(jobs=[parent]),
    }[form]
    child = queue.enqueue(jobs.add, 2, 2, depends_on=depends_on)
    assert child.get_status() == JobStatus.DEFERRED
    assert child.dependency_ids == [parent.id]
    assert parent.dependent_ids == [child.id]
    assert queue.job_ids == [parent.id]
    make_worker([queue]).work(burst=True)
    assert parent.result == 2
    assert child.result == 4


def test_dependency_validation():
    with pytest.raises(ValueError):
        Dependency(jobs=[])
    with pytest.raises(ValueError):  # as in RQ
        Dependency(jobs=[42])
    dep = Dependency("some-id", allow_failure=True)
    assert dep.jobs == ["some-id"]
    assert dep.allow_failure is True


def test_linear_chain(queue, make_worker, redis_conn, key_prefix):
    a = queue.enqueue(jobs.record_order, "a")
    b = queue.enqueue(jobs.record_order, "b", depends_on=a)
    c = queue.enqueue(jobs.record_order, "c", depends_on=b)
    d = queue.enqueue(jobs.record_order, "d", depends_on=c)
    assert [j.get_status() for j in (a, b, c, d)] == ["queued", "deferred", "deferred", "deferred"]
    make_worker([queue]).work(burst=True)
    assert _order(redis_conn, key_prefix) == ["a", "b", "c", "d"]
    assert all(j.is_finished for j in (a, b, c, d))


def test_dependency_and_dependent_ids_walk_the_chain(queue, redis_conn, key_prefix):
    a = queue.enqueue(jobs.add, 1, 1)
    b = queue.enqueue(jobs.add, 2, 2, depends_on=a)
    c = queue.enqueue(jobs.add, 3, 3, depends_on=b)

    def fetch(job_id):
        return Job.fetch(job_id, connection=redis_conn, prefix=key_prefix)

    # Backwards from the last child...
    walked = [c.id]
    job = fetch(c.id)
    while job.dependency_ids:
        (parent_id,) = job.dependency_ids
        walked.append(parent_id)
        job = fetch(parent_id)
    assert walked == [c.id, b.id, a.id]
    # ... and forwards from the first parent.
    walked = [a.id]
    job = fetch(a.id)
    while job.dependent_ids:
        (child_id,) = job.dependent_ids
        walked.append(child_id)
        job = fetch(child_id)
    assert walked == [a.id, b.id, c.id]
    assert [j.id for j in fetch(b.id).fetch_dependencies()] == [a.id]
    assert [j.id for j in fetch(b.id).fetch_dependents()] == [c.id]


def test_fan_out(queue, make_worker, redis_conn, key_prefix):
    parent = queue.enqueue(jobs.record_order, "parent")
    children = [queue.enqueue(jobs.record_order, f"child{i}", depends_on=parent) for i in range(3)]
    assert sorted(parent.dependent_ids) == sorted(c.id for c in children)
    make_worker([queue]).work(burst=True)
    order = _order(redis_conn, key_prefix)
    assert order[0] == "parent"
    assert sorted(order[1:]) == ["child0", "child1", "child2"]
    assert all(c.is_finished for c in children)


def test_fan_in(queue, make_worker, redis_conn, key_prefix):
    parents = [queue.enqueue(jobs.record_order, f"p{i}") for i in range(3)]
    child = queue.enqueue(jobs.record_order, "child", depends_on=parents)
    assert child.dependency_ids == [p.id for p in parents]
    worker = make_worker([queue])
    # After two of three parents the child still waits.
    worker.execute(worker.dequeue())
    worker.execute(worker.dequeue())
    assert child.is_deferred
    worker.work(burst=True)
    assert child.is_finished
    assert _order(redis_conn, key_prefix) == ["p0", "p1", "p2", "child"]


def test_diamond(queue, make_worker, redis_conn, key_prefix):
    top = queue.enqueue(jobs.record_order, "top")
    left = queue.enqueue(jobs.record_order, "left", depends_on=top)
    right = queue.enqueue(jobs.record_order, "right", depends_on=top)
    bottom = queue.enqueue(jobs.record_order, "bottom", depends_on=[left, right])
    make_worker([queue]).work(burst=True)
    order = _order(redis_conn, key_prefix)
    assert order[0] == "top"
    assert sorted(order[1:3]) == ["left", "right"]
    assert order[3] == "bottom"
    assert bottom.is_finished


@pytest.mark.parametrize("by", ["job", "id"])
def test_cross_queue_chain(make_queue, make_worker, redis_conn, key_prefix, by):
    qa, qb = make_queue("qa"), make_queue("qb")
    parent = qa.enqueue(jobs.record_order, "parent")
    child = qb.enqueue(jobs.record_order, "child", depends_on=parent if by == "job" else parent.id)
    assert child.origin == "qb"
    assert child.is_deferred
    assert qb.deferred_job_registry.get_job_ids() == [child.id]
    assert parent.dependent_ids == [child.id]
    # A worker on qb alone has nothing to do yet.
    make_worker([qb]).work(burst=True)
    assert child.is_deferred
    make_worker([qa]).work(burst=True)
    assert parent.is_finished
    assert child.is_queued
    assert qb.job_ids == [child.id]
    make_worker([qb]).work(burst=True)
    assert child.is_finished
    assert _order(redis_conn, key_prefix) == ["parent", "child"]


def test_parent_failure_keeps_the_child_deferred(queue, make_worker, redis_conn, key_prefix):
    parent = queue.enqueue(jobs.record_order_and_fail, "parent")
    child = queue.enqueue(jobs.record_order, "child", depends_on=parent)
    grandchild = queue.enqueue(jobs.record_order, "grandchild", depends_on=child)
    worker = make_worker([queue])
    worker.work(burst=True)
    assert parent.is_failed
    assert child.is_deferred
    assert grandchild.is_deferred
    assert child.id in queue.deferred_job_registry
    assert _order(redis_conn, key_prefix) == ["parent"]
    assert worker.failed_job_count == 1
    assert worker.successful_job_count == 0


def test_allow_failure_runs_the_child_after_the_parent_fails(
    queue, make_worker, redis_conn, key_prefix
):
    parent = queue.enqueue(jobs.record_order_and_fail, "parent")
    child = queue.enqueue(
        jobs.record_order, "child", depends_on=Dependency(jobs=[parent], allow_failure=True)
    )
    make_worker([queue]).work(burst=True)
    assert parent.is_failed
    assert child.is_finished
    assert _order(redis_conn, key_prefix) == ["parent", "child"]


def test_allow_failure_false_is_the_default(queue, make_worker):
    parent = queue.enqueue(jobs.fail)
    child = queue.enqueue(jobs.add, 1, 1, depends_on=Dependency(jobs=[parent], allow_failure=False))
    make_worker([queue]).work(burst=True)
    assert child.is_deferred


def test_requeued_parent_that_succeeds_releases_its_dependents(queue, make_worker):
    parent = queue.enqueue(jobs.fail_until, 2)
    child = queue.enqueue(jobs.add, 1, 2, depends_on=parent)
    make_worker([queue]).work(burst=True)
    assert parent.is_failed
    assert child.is_deferred
    queue.failed_job_registry.requeue(parent)
    make_worker([queue]).work(burst=True)
    assert parent.is_finished
    assert child.is_finished
    assert child.result == 3


def test_depends_on_unknown_id_raises_and_writes_nothing(queue, prefixed_keys):
    before = prefixed_keys()
    with pytest.raises(NoSuchJobError, match="no-such-parent"):
        queue.enqueue(jobs.add, 1, 1, depends_on="no-such-parent")
    assert prefixed_keys() == before == []


def test_depends_on_unknown_id_among_known_ones_writes_nothing(queue, prefixed_keys, redis_conn):
    parent = queue.enqueue(jobs.add, 1, 1)
    before = prefixed_keys()
    snapshot = {k: redis_conn.dump(k) for k in before}
    with pytest.raises(NoSuchJobError):
        queue.enqueue(jobs.add, 1, 1, depends_on=[parent, "no-such-parent"])
    assert prefixed_keys() == before
    assert {k: redis_conn.dump(k) for k in before} == snapshot
    assert parent.dependent_ids == []


def test_depends_on_a_job_never_stored_raises(queue, prefixed_keys):
    ghost = Job.create(jobs.add, (1, 1), connection=queue.connection, prefix=queue.keys.prefix)
    with pytest.raises(NoSuchJobError):
        queue.enqueue(jobs.add, 1, 1, depends_on=ghost)
    assert prefixed_keys() == []


def test_a_parent_gone_since_counts_as_met(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1, result_ttl=0)
    make_worker([queue]).work(burst=True)
    assert not parent.is_finished  # finished, result not kept: gone
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    assert child.get_status() == JobStatus.QUEUED
    assert child.dependency_ids == [parent.id]


def test_a_list_of_dependency_objects_merges_parents_and_flags(queue, make_worker):
    a, b = queue.enqueue(jobs.fail), queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(
        jobs.add, 2, 2, depends_on=[Dependency([a], allow_failure=True), Dependency(b)]
    )
    assert child.get_status() == JobStatus.DEFERRED
    assert sorted(child.dependency_ids) == sorted([a.id, b.id])
    make_worker([queue]).work(burst=True)
    assert a.is_failed
    assert child.is_finished


def test_child_of_an_already_finished_parent_is_queued_at_once(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True)
    assert parent.is_finished
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    assert child.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [child.id]
    assert child.id not in queue.deferred_job_registry
    make_worker([queue]).work(burst=True)
    assert child.result == 4


def test_child_of_an_already_failed_parent_with_allow_failure_is_queued(queue, make_worker):
    parent = queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=Dependency(parent, allow_failure=True))
    assert child.is_queued
    strict = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    assert strict.is_deferred


def test_child_of_a_parent_whose_result_was_not_kept(queue, make_worker):
    # result_ttl=0 deletes the parent when it finishes: it can no longer be named.
    parent = queue.enqueue(jobs.add, 1, 1, result_ttl=0)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    make_worker([queue]).work(burst=True)
    assert child.is_finished


def test_dependency_enqueue_at_front(queue, make_worker, redis_conn, key_prefix):
    parent = queue.enqueue(jobs.record_order, "parent")
    child = queue.enqueue(
        jobs.record_order, "child", depends_on=Dependency(parent, enqueue_at_front=True)
    )
    middle = queue.enqueue(jobs.record_order, "middle")
    worker = make_worker([queue])
    worker.execute(worker.dequeue())
    # Released when the parent finished, the child went to the front of the queue.
    assert queue.job_ids == [child.id, middle.id]
    worker.work(burst=True)
    assert _order(redis_conn, key_prefix) == ["parent", "child", "middle"]


def test_dependencies_on_inline_queue(make_queue, redis_conn, key_prefix):
    inline = make_queue("default", is_async=False)
    parent = inline.enqueue(jobs.add, 1, 2)
    assert parent.is_finished
    child = inline.enqueue(jobs.add, 3, 4, depends_on=parent)
    assert child.is_finished
    assert child.result == 7

    failed = inline.enqueue(jobs.fail)
    assert failed.is_failed
    stuck = inline.enqueue(jobs.add, 5, 6, depends_on=failed)
    assert stuck.is_deferred
    assert stuck.result is None
    assert stuck.id in inline.deferred_job_registry

    lenient = inline.enqueue(jobs.add, 5, 6, depends_on=Dependency(failed, allow_failure=True))
    assert lenient.is_finished
    assert lenient.result == 11


# -- what Job.create records of depends_on, and reading parents back ----------


def test_create_records_the_parents_and_allow_failure(queue, redis_conn, key_prefix):
    parent = queue.enqueue(jobs.add, 1, 1)
    job = Job.create(
        jobs.add,
        args=(2, 2),
        depends_on=Dependency([parent, "other-id"], allow_failure=True),
        connection=redis_conn,
        prefix=key_prefix,
    )
    assert job.dependency_ids == [parent.id, "other-id"] and job.allow_dependency_failures
    assert Dependency(parent).dependencies == [parent]  # RQ's name for .jobs
    job.save()
    fetched = Job.fetch(job.id, connection=redis_conn, prefix=key_prefix)
    assert fetched.allow_dependency_failures
    (many,) = Job.fetch_many([job.id], redis_conn, origin=fetched.origin, prefix=key_prefix)
    assert many.allow_dependency_failures
    plain = Job.create(jobs.add, args=(1, 1), depends_on=parent, connection=redis_conn)
    assert plain.dependency_ids == [parent.id] and not plain.allow_dependency_failures
    with pytest.raises(ValueError):
        Job.create(jobs.add, args=(1, 1), depends_on=[parent, 12345], connection=redis_conn)


def test_dependency_and_fetch_dependencies_leave_out_parents_gone(queue, redis_conn, key_prefix):
    a, b = queue.enqueue(jobs.add, 1, 1), queue.enqueue(jobs.add, 2, 2)
    child = queue.enqueue(jobs.add, 3, 3, depends_on=[a, b])
    assert child.dependency == a
    assert child.fetch_dependencies() == [a, b]
    a.delete()
    assert child.fetch_dependencies() == [b] and child.dependency is None  # the first is gone
    unsaved = Job.create(
        jobs.add, args=(1, 1), depends_on=[b.id], connection=redis_conn, prefix=key_prefix
    )
    assert unsaved.fetch_dependencies() == [b]  # by id, before any enqueue
    assert Job.create(jobs.add, args=(1, 1), connection=redis_conn).dependency is None


def test_fetch_dependencies_can_watch_the_parents(queue, redis_conn):
    import redis

    parent = queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    with redis_conn.pipeline() as pipe:
        assert child.fetch_dependencies(watch=True, pipeline=pipe) == [parent]
        parent.meta["changed"] = True
        parent.save_meta()  # the parent changes meanwhile
        pipe.multi()
        pipe.set("anything", 1)
        with pytest.raises(redis.WatchError):
            pipe.execute()


# -- cancel and delete: RQ's keywords --------------------------------------------


def test_cancel_can_take_a_child_off_its_parents(queue):
    parent = queue.enqueue(jobs.add, 1, 1, job_id="parent")
    first = queue.enqueue(jobs.add, 2, 2, depends_on=parent, job_id="first")
    second = queue.enqueue(jobs.add, 3, 3, depends_on=parent, job_id="second")
    assert set(parent.dependent_ids) == {first.id, second.id}
    queue.job_handle(first.id).cancel(remove_from_dependencies=True)  # a handle: deps read
    assert parent.dependent_ids == [second.id]
    second.cancel()
    assert parent.dependent_ids == [second.id]
    second.requeue()
    queue.job_handle(second.id).cancel(remove_from_dependencies=True)
    assert parent.dependent_ids == []


def test_cancel_and_delete_on_a_callers_pipeline(queue, redis_conn):
    job, other = queue.enqueue(jobs.add, 1, 1), queue.enqueue(jobs.add, 2, 2)
    with redis_conn.pipeline() as pipe:
        job.cancel(pipeline=pipe)
        other.delete(pipeline=pipe)
        assert queue.job_ids == [job.id, other.id]  # nothing before the caller executes
        pipe.execute()
    assert job.get_status() == JobStatus.CANCELED and job.id in queue.canceled_job_registry
    assert queue.job_ids == [] and not redis_conn.exists(other.key)


def test_a_pipeline_is_refused_where_dependents_must_be_told(queue, redis_conn):
    parent = queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    with redis_conn.pipeline() as pipe:
        with pytest.raises(ValueError, match="without pipeline="):
            parent.cancel(pipeline=pipe)
        with pytest.raises(ValueError, match="without pipeline="):
            parent.delete(pipeline=pipe)
        with pytest.raises(ValueError, match="without pipeline="):
            child.cancel(pipeline=pipe, enqueue_dependents=True)
    assert parent.get_status() == JobStatus.QUEUED and child.get_status() == JobStatus.DEFERRED


def test_delete_can_delete_the_dependents_first(queue, redis_conn):
    parent = queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    kept = queue.enqueue(jobs.add, 3, 3, depends_on=parent)
    kept_too = queue.enqueue(jobs.add, 4, 4, depends_on=parent)
    parent.delete(delete_dependents=True)
    assert not any(redis_conn.exists(j.key) for j in (parent, child, kept, kept_too))
    assert queue.deferred_job_registry.count == 0 and queue.job_ids == []
    lone = queue.enqueue(jobs.add, 5, 5)
    other = queue.enqueue(jobs.add, 6, 6, depends_on=lone)
    lone.delete()  # without: the child stays, deferred
    assert other.get_status() == JobStatus.DEFERRED


def test_register_dependency_finds_and_tells_the_parents(
    queue, make_worker, redis_conn, key_prefix
):
    done = queue.enqueue(jobs.add, 2, 2)
    make_worker([queue]).work(burst=True)
    parent = queue.enqueue(jobs.add, 1, 1)
    child = Job.create(
        jobs.add,
        args=(3, 3),
        depends_on=[parent, done.id],
        connection=redis_conn,
        prefix=key_prefix,
    )
    child.register_dependency()
    assert child.dependency_ids == [parent.id, done.id]
    assert parent.dependent_ids == [child.id] and done.dependent_ids == []  # done: not waited for
    assert not child.dependencies_are_met()
    child.save()
    fetched = Job.fetch(child.id, connection=redis_conn, prefix=key_prefix)
    assert fetched.fetch_dependencies() == [parent, done]

    later = Job.create(
        jobs.add, args=(4, 4), depends_on=parent, connection=redis_conn, prefix=key_prefix
    )
    with redis_conn.pipeline() as pipe:
        later.register_dependency(pipe)
        assert parent.dependent_ids == [child.id]
        pipe.execute()
    assert set(parent.dependent_ids) == {child.id, later.id}
    alone = Job.create(jobs.add, args=(1, 1), connection=redis_conn, prefix=key_prefix)
    alone.register_dependency()
    assert alone.dependencies_are_met() and alone.fetch_dependencies() == []


def test_enqueue_dependents_releases_them_by_the_parents_status(
    make_queue, make_worker, redis_conn
):
    queue, other = make_queue("default"), make_queue("other")
    parent = queue.enqueue(jobs.add, 1, 1)
    child = other.enqueue(jobs.add, 2, 2, depends_on=parent)
    lenient = queue.enqueue(jobs.add, 3, 3, depends_on=Dependency(parent, allow_failure=True))
    assert queue.enqueue_dependents(parent) == {}  # not ended: nothing to release
    parent.set_status(JobStatus.STOPPED)  # in memory only
    assert queue.enqueue_dependents(parent, refresh_job_status=False) == {"default": [lenient.id]}
    assert queue.enqueue_dependents(parent) == {}  # told already
    assert child.get_status() == JobStatus.DEFERRED
    parent.set_status(JobStatus.FINISHED)
    assert queue.enqueue_dependents(parent, exclude_job_id=child.id, refresh_job_status=False) == {}
    assert queue.enqueue_dependents(parent, refresh_job_status=False) == {"other": [child.id]}
    assert child.get_status() == JobStatus.QUEUED and other.job_ids == [child.id]


def test_rqs_private_dependency_ids_set_the_parents(queue, redis_conn, key_prefix):
    parents = [queue.enqueue(jobs.add, i, i) for i in range(2)]
    job = Job.create(jobs.add, args=(1, 1), connection=redis_conn, prefix=key_prefix)
    assert job._dependency_ids == []
    job._dependency_ids = [p.id for p in parents]
    job.register_dependency()
    assert job.dependency_ids == [p.id for p in parents] and not job.dependencies_are_met()
    with pytest.raises(ValueError):
        job._dependency_ids = [42]
