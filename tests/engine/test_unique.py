"""Unique jobs by content: ``unique_for``, ``unique_key``, ``unique_until`` (see unique.py)."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest

from django_jobqueue.engine import (
    DuplicateJobError,
    EnqueueError,
    Queue,
    RateLimit,
    Retry,
    SerializationError,
    job,
)
from django_jobqueue.engine.perform import perform_job
from django_jobqueue.engine.unique import content_key, holder

from . import jobs, unique_jobs
from .conftest import wait_until


def take(queue, worker="w"):
    """Take the next job as a worker would (it is then started, by ``worker``)."""
    taken, _ = Queue.dequeue_any([queue], None, worker_name=worker)
    return taken


def lock_key(queue, key):
    return queue.keys.unique(queue.name, key)


# -- duplicates ---------------------------------------------------------------


def test_a_duplicate_within_the_window_returns_the_job_that_holds_the_key(queue, redis_conn):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=600)
    again = queue.enqueue(jobs.add, 1, 2, unique_for=600)
    assert first.is_duplicate is False
    assert again.is_duplicate is True
    assert again.id == first.id
    assert again.get_status(refresh=False) == "queued"
    assert again.args == (1, 2)
    assert queue.job_ids == [first.id]
    # The lock: the holder's id, expiring with the window.
    key = lock_key(queue, first.unique_key)
    assert redis_conn.get(key) == first.id.encode()
    assert 590 < redis_conn.ttl(key) <= 600
    # Other arguments, another function or no unique_for: other jobs.
    assert queue.enqueue(jobs.add, 1, 3, unique_for=600).id != first.id
    assert queue.enqueue(jobs.multiply, 1, 2, unique_for=600).id != first.id
    assert queue.enqueue(jobs.add, 1, 2).id != first.id
    assert queue.count == 4


def test_the_window_takes_a_timedelta_and_the_job_records_its_key(queue, redis_conn):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=timedelta(minutes=5))
    stored = queue.fetch_job(first.id)
    assert (stored.unique_key, stored.unique_until, stored.unique_for) == (
        first.unique_key,
        "start",
        300,
    )
    assert stored.unique_key.startswith("tests.engine.jobs.add:")
    assert stored.holds_unique_key()
    plain = queue.enqueue(jobs.add, 1, 2)
    assert b"unique_key" not in redis_conn.hgetall(plain.key)
    assert plain.unique_key is None and not plain.holds_unique_key()


def test_keyword_order_and_dict_or_set_order_do_not_count():
    key = content_key("f", None, (1,), {"a": 1, "b": {"x": 1, "y": {3, 2}}})
    assert key == content_key("f", None, (1,), {"b": {"y": {2, 3}, "x": 1}, "a": 1})
    assert key == content_key("f", None, [1], {"b": {"y": {2, 3}, "x": 1}, "a": 1})
    assert key != content_key("f", None, (), {"a": 1, "b": {"x": 1, "y": {3, 2}}, "c": 1})
    assert content_key("f", None, (1,), {}) != content_key("f", None, (1.0,), {})
    assert content_key("f", None, (1,), {}) != content_key("f", None, (True,), {})
    assert content_key("f", None, (1,), {}) != content_key("f", None, (), {"x": 1})
    assert content_key("f", None, (1,), {}) != content_key("g", None, (1,), {})


def test_the_key_is_the_same_in_another_process(queue):
    import subprocess
    import sys

    here = queue.create_job(jobs.echo, ["a", {"k": {"s", "t", "u"}}], unique_for=5).unique_key
    code = (
        "from django_jobqueue.engine.unique import content_key;"
        "print(content_key('tests.engine.jobs.echo', None, ('a', {'k': {'u', 't', 's'}}), {}))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert there.stdout.strip() == here


def test_the_key_is_per_queue(make_queue):
    low, high = make_queue("low"), make_queue("high")
    assert (
        low.enqueue(jobs.add, 1, 2, unique_for=60).id
        != high.enqueue(jobs.add, 1, 2, unique_for=60).id
    )


def test_an_explicit_key_spans_functions_and_arguments(queue):
    first = queue.enqueue(jobs.add, 1, 2, unique_key="report:42", unique_for=60)
    assert first.unique_key == "report:42"
    again = queue.enqueue(jobs.echo, "other", unique_key="report:42", unique_for=60)
    assert again.is_duplicate and again.id == first.id and again.func_name == first.func_name
    assert holder(queue, "report:42").id == first.id
    assert holder(queue, "report:43") is None


def test_the_window_runs_out(queue, redis_conn):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=1)
    assert queue.enqueue(jobs.add, 1, 2, unique_for=1).is_duplicate
    time.sleep(1.1)
    assert redis_conn.get(lock_key(queue, first.unique_key)) is None
    second = queue.enqueue(jobs.add, 1, 2, unique_for=1)
    assert not second.is_duplicate and second.id != first.id
    assert not first.holds_unique_key() and second.holds_unique_key()


def test_scheduled_and_deferred_jobs_hold_the_key(queue):
    later = queue.enqueue_in(timedelta(hours=1), jobs.add, 1, 2, unique_for=60)
    assert later.get_status() == "scheduled"
    assert queue.enqueue(jobs.add, 1, 2, unique_for=60).id == later.id
    parent = queue.enqueue(jobs.add, 0, 0)
    child = queue.enqueue(jobs.add, 5, 5, depends_on=parent, unique_for=60)
    assert child.get_status() == "deferred"
    assert queue.enqueue(jobs.add, 5, 5, unique_for=60).id == child.id


def test_producers_racing_enqueue_one_job(make_queue):
    from concurrent.futures import ThreadPoolExecutor

    queues = [make_queue() for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda q: q.enqueue(jobs.add, 7, 7, unique_for=60), queues))
    assert len({j.id for j in made}) == 1
    assert sorted(j.is_duplicate for j in made) == [False] + [True] * 7
    assert queues[0].count == 1


def test_a_bound_method_counts_its_object():
    assert content_key("f", "a", (1,), {}) != content_key("f", "b", (1,), {})


# -- unique_until ---------------------------------------------------------------


def test_until_start_frees_the_key_when_the_job_starts(queue):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=600)
    assert take(queue).id == first.id
    assert first.get_status() == "started"
    second = queue.enqueue(jobs.add, 1, 2, unique_for=600)
    assert not second.is_duplicate and second.id != first.id
    assert queue.enqueue(jobs.add, 1, 2, unique_for=600).id == second.id


@pytest.mark.parametrize(
    ("func", "args", "status"), [(jobs.add, (1, 2), "finished"), (jobs.fail, ("x",), "failed")]
)
def test_until_finish_holds_through_the_run_and_frees_after_it(queue, func, args, status):
    first = queue.enqueue(func, *args, unique_for=600, unique_until="finish")
    taken = take(queue)
    assert taken.get_status() == "started"
    during = queue.enqueue(func, *args, unique_for=600, unique_until="finish")
    assert during.is_duplicate and during.id == first.id
    assert during.get_status(refresh=False) == "started"
    assert perform_job(taken, "w") == status
    after = queue.enqueue(func, *args, unique_for=600, unique_until="finish")
    assert not after.is_duplicate and after.id != first.id


def test_until_finish_keeps_the_key_while_a_retry_waits(queue):
    first = queue.enqueue(
        jobs.fail, "x", unique_for=600, unique_until="finish", retry=Retry(max=1, interval=60)
    )
    assert perform_job(take(queue), "w") == "scheduled"
    assert (
        queue.enqueue(
            jobs.fail, "x", unique_for=600, unique_until="finish", retry=Retry(max=1, interval=60)
        ).id
        == first.id
    )


def test_until_start_holds_the_key_again_while_its_retry_waits(queue):
    first = queue.enqueue(jobs.fail, "x", unique_for=600, retry=Retry(max=1, interval=60))
    assert perform_job(take(queue), "w") == "scheduled"
    assert queue.enqueue(jobs.fail, "x", unique_for=600, retry=Retry(max=1, interval=60)).id == (
        first.id
    )


def test_the_holders_own_unique_until_counts(queue):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=600, unique_until="finish")
    take(queue)
    assert queue.enqueue(jobs.add, 1, 2, unique_for=600, unique_until="start").id == first.id


def test_a_real_worker_frees_a_finish_key_when_the_job_ends(queue, make_worker):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=600, unique_until="finish")
    assert make_worker(queue).work(burst=True)
    assert first.get_status() == "finished"
    assert not queue.enqueue(jobs.add, 1, 2, unique_for=600, unique_until="finish").is_duplicate


@pytest.mark.parametrize("how", ["cancel", "delete"])
def test_canceling_or_deleting_the_holder_frees_the_key(queue, how):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=600, unique_until="finish")
    getattr(first, how)()
    assert not queue.enqueue(jobs.add, 1, 2, unique_for=600, unique_until="finish").is_duplicate


def test_a_holder_whose_hash_expired_frees_the_key(queue, redis_conn):
    first = queue.enqueue(jobs.add, 1, 2, unique_for=600, ttl=1)
    time.sleep(1.1)
    assert not redis_conn.exists(first.key)
    assert not queue.enqueue(jobs.add, 1, 2, unique_for=600, ttl=1).is_duplicate


# -- a worker killed with SIGKILL ---------------------------------------------


@pytest.mark.parametrize("retry", [False, True])
def test_a_finish_key_of_a_killed_worker_is_freed_when_its_job_is_recovered(
    retry, queue, spawn_worker, make_worker, redis_conn
):
    options = {"unique_for": 600, "unique_until": "finish"}
    if retry:
        options["retry"] = Retry(max=1)
    proc = spawn_worker("default", "Worker", worker_ttl=2, new_session=True)
    first = queue.enqueue(jobs.sleep_for, 60, **options)
    wait_until(lambda: first.get_status() == "started", message="the job never started")
    os.killpg(proc.pid, signal.SIGKILL)  # the worker and its work-horse
    proc.wait(timeout=10)
    # Dead but not yet found out: the job still counts as running.
    assert queue.enqueue(jobs.sleep_for, 60, **options).id == first.id
    deadline = redis_conn.zscore(queue.started_job_registry.key, first.id)
    time.sleep(max(deadline - time.time(), 0) + 0.1)
    make_worker(queue).maintain()  # another worker's sweep finds the job abandoned
    if not retry:
        assert first.get_status() == "failed"
        again = queue.enqueue(jobs.sleep_for, 60, **options)
        assert not again.is_duplicate and again.id != first.id
    else:
        # Requeued for its retry, it waits to run again: it still holds its key,
        # until that run ends.
        assert first.get_status() == "queued"
        assert queue.enqueue(jobs.sleep_for, 60, **options).id == first.id
        taken = take(queue)
        assert taken.id == first.id
        taken.cancel()
        assert not queue.enqueue(jobs.sleep_for, 60, **options).is_duplicate


# -- entry points ---------------------------------------------------------------


def test_enqueue_many_enqueues_unique_calls_one_by_one(queue):
    made = queue.enqueue_many(
        [
            Queue.prepare_data(jobs.add, (1, 2), unique_for=60),
            Queue.prepare_data(jobs.add, (3, 4)),
            Queue.prepare_data(jobs.add, (1, 2), unique_for=60),
        ]
    )
    assert [j.is_duplicate for j in made] == [False, False, True]
    assert made[2].id == made[0].id
    assert queue.count == 2


def test_the_job_decorator_passes_the_options(queues_under_test_prefix):
    task = job("default", unique_for=60, unique_until="finish")(jobs.add)
    first = task.delay(1, 2)
    assert first.unique_until == "finish"
    assert task.delay(1, 2).id == first.id
    assert task.delay(2, 2).id != first.id


def test_a_pipeline_is_refused(queue, redis_conn):
    with pytest.raises(EnqueueError, match="unique_for"):
        queue.enqueue(jobs.add, 1, 2, unique_for=60, pipeline=redis_conn.pipeline())


def test_the_option_names_reach_the_function_through_kwargs(queue):
    plain = queue.enqueue(jobs.echo, kwargs={"unique_for": 5, "unique_key": "k"})
    assert plain.kwargs == {"unique_for": 5, "unique_key": "k"} and plain.unique_key is None


def test_a_group_refuses_unique_jobs(queue, redis_conn):
    from django_jobqueue.engine import Group

    group = Group.create(redis_conn, prefix=queue.keys.prefix)
    with pytest.raises(EnqueueError, match="Group"):
        group.enqueue_many(queue, [Queue.prepare_data(jobs.add, (1, 2), unique_for=60)])
    assert queue.count == 0


def test_a_chosen_id_still_works(queue):
    first = queue.enqueue(jobs.add, 1, 2, job_id="mine", unique_for=60)
    assert first.id == "mine"
    assert queue.enqueue(jobs.add, 1, 2, job_id="other", unique_for=60).id == "mine"
    # unique=True still refuses an id in use, whatever the call.
    with pytest.raises(DuplicateJobError):
        queue.enqueue(jobs.add, 3, 4, job_id="mine", unique=True, unique_for=60)
    assert queue.count == 1


# -- inline queues --------------------------------------------------------------


@pytest.mark.parametrize("in_memory", [True, False])
def test_inline_queues_take_the_key_around_the_run(in_memory, make_queue, key_prefix):
    queue = make_queue(is_async=False, in_memory=in_memory)
    first = queue.enqueue(jobs.add, 1, 2, unique_for=60, unique_until="finish")
    # Run at once, it has ended: the next enqueue runs the call again.
    second = queue.enqueue(jobs.add, 1, 2, unique_for=60, unique_until="finish")
    assert first.get_status() == second.get_status() == "finished"
    assert not second.is_duplicate and second.id != first.id
    # During the run, a "finish" key is held: the running job comes back...
    during = enqueue_myself(queue, "finish", key_prefix, in_memory)
    assert during.return_value() == [True, "started"]
    # ...and a "start" key is free, so the copy runs, there and then.
    during = enqueue_myself(queue, "start", key_prefix, in_memory)
    assert during.return_value() == [False, "finished"]


def enqueue_myself(queue, until, *args):
    return queue.enqueue(
        unique_jobs.enqueue_myself,
        until,
        *args,
        unique_for=60,
        unique_key="myself",
        unique_until=until,
    )


def test_an_inline_job_waiting_for_its_parents_holds_the_key(make_queue):
    queue = make_queue(is_async=False, in_memory=True)
    parent = queue.enqueue(jobs.fail, "x")
    child = queue.enqueue(jobs.add, 1, 2, depends_on=parent, unique_for=60)
    assert child.get_status() == "deferred"
    again = queue.enqueue(jobs.add, 1, 2, unique_for=60)
    assert again.is_duplicate and again.id == child.id
    assert child.is_duplicate is False  # the holder's own object is left alone
    assert child.holds_unique_key() and holder(queue, child.unique_key).id == child.id


# -- mistakes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"unique_for": 0}, "from 1 to"),
        ({"unique_for": timedelta(days=400)}, "a year"),
        ({"unique_for": -5}, "unique_for=-5"),
        ({"unique_for": "soon"}, "unique_for='soon'"),
        ({"unique_for": 60, "unique_until": "end"}, "'start'.*'finish'"),
        ({"unique_key": "k"}, "unique_key= needs unique_for="),
        ({"unique_until": "finish"}, "unique_until= needs unique_for="),
        ({"unique_for": 60, "unique_key": "has space"}, "Invalid unique_key"),
        ({"unique_for": 60, "rate_limit": RateLimit("r", 1)}, "rate_limit"),
    ],
)
def test_mistakes_are_refused_with_a_message(queue, options, message):
    with pytest.raises(ValueError, match=message):
        queue.enqueue(jobs.add, 1, 2, **options)
    assert queue.count == 0


def test_arguments_that_cannot_be_serialized_are_refused(queue):
    with pytest.raises(SerializationError):
        queue.enqueue(jobs.echo, lambda: 1, unique_for=60)
    with pytest.raises(ValueError, match="unique_key="):
        content_key("f", None, (lambda: 1,), {})


# -- Redis Cluster ------------------------------------------------------------------


def test_unique_jobs_on_a_cluster(cluster_conn, key_prefix):
    queue = Queue("emails", cluster_conn, prefix=key_prefix)
    first = queue.enqueue(jobs.add, 1, 2, unique_for=60, unique_until="finish")
    assert queue.enqueue(jobs.add, 1, 2, unique_for=60, unique_until="finish").id == first.id
    assert holder(queue, first.unique_key).id == first.id
    taken = take(queue)
    assert perform_job(taken, "w") == "finished"
    assert not queue.enqueue(jobs.add, 1, 2, unique_for=60, unique_until="finish").is_duplicate
