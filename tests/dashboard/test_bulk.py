"""Requeue all / delete all act once on each job the list held when the user confirmed.

The engine records a registry's jobs (``bulk.select``) and then acts on that
record; jobs that come back to the registry meanwhile (requeued, failed again)
or enter it afterwards are not touched.
"""

from __future__ import annotations

import re
import time

import pytest

from django_jobqueue.dashboard import operations
from django_jobqueue.engine import bulk, scripts
from tests.engine import jobs
from tests.helpers import wait_until

from .conftest import ADMIN, confirm


def _runs(conn, prefix: str, count: int) -> list[int]:
    """How many times each ``jobs.soak(i)`` ran, for i in range(count)."""
    return [int(conn.get(f"{prefix}soak:runs:{i}") or 0) for i in range(count)]


def _failing(q, count: int, start: int = 0, **options) -> list:
    """Enqueue ``jobs.soak(i)`` for i from ``start``, ``count`` of them, each failing always."""
    return [
        q.enqueue(jobs.soak, i, fail_always=True, job_id=f"j{i:04d}", **options)
        for i in range(start, start + count)
    ]


@pytest.fixture
def rerun_after_each_batch(monkeypatch, run_jobs):
    """Run the queue (in this process) after each batch: requeued jobs fail and come back."""
    real = scripts.bulk_step

    def step(*args, **kwargs):
        reply = real(*args, **kwargs)
        run_jobs()
        return reply

    monkeypatch.setattr(scripts, "bulk_step", step)


def test_jobs_coming_back_during_a_requeue_are_not_requeued_again(
    jq, run_jobs, redis_conn, key_prefix, rerun_after_each_batch
):
    q = jq("default")
    _failing(q, 5)
    _failing(q, 5, start=5, failure_ttl=-1)  # kept forever: their scores are all +inf
    run_jobs()
    selection = bulk.select(q, "failed")
    assert selection.count == 10
    # After the selection: one more failure, which must be left alone.
    (late,) = _failing(q, 1, start=10)
    run_jobs()
    assert bulk.requeue(q, "failed", selection.token, batch=3) == (10, 0)
    assert _runs(redis_conn, key_prefix, 11) == [2] * 10 + [1]
    assert q.failed_job_registry.count == 11 and q.count == 0
    assert late.get_status() == "failed"
    with pytest.raises(bulk.SelectionExpired, match="Select the jobs again"):
        bulk.requeue(q, "failed", selection.token)


def test_a_selected_job_requeued_elsewhere_and_back_is_acted_on_once(
    jq, run_jobs, redis_conn, key_prefix
):
    q = jq("default")
    selected = _failing(q, 4)
    run_jobs()
    selection = bulk.select(q, "failed")
    selected[1].requeue()  # someone else requeues it; it fails again before the batch
    run_jobs()
    selected[2].requeue()  # this one is waiting in the queue: no longer failed
    selected[3].delete()
    assert bulk.requeue(q, "failed", selection.token, batch=2) == (2, 2)
    assert [j.get_status() for j in selected[:3]] == ["queued", "queued", "queued"]
    assert not selected[3].connection.exists(selected[3].key)
    run_jobs()
    assert _runs(redis_conn, key_prefix, 3) == [2, 3, 2]


def test_delete_all_spares_jobs_that_arrive_meanwhile_and_tells_children(
    jq, run_jobs, redis_conn, rerun_after_each_batch, monkeypatch
):
    told = []
    real = bulk.release_dependents
    monkeypatch.setattr(
        bulk,
        "release_dependents",
        lambda conn, ks, parent, children, outcome: (
            told.append((parent, children, outcome)) or real(conn, ks, parent, children, outcome)
        ),
    )
    q = jq("default")
    parents = _failing(q, 6)
    run_jobs()
    child = q.enqueue(jobs.add, 1, 1, depends_on=parents[0])
    selection = bulk.select(q, "failed")
    (late,) = _failing(q, 1, start=6)
    run_jobs()
    assert bulk.delete(q, "failed", selection.token, batch=4) == (6, 0)
    assert not any(p.connection.exists(p.key) for p in parents)
    assert late.get_status() == "failed" and q.failed_job_registry.count == 1
    assert told == [(parents[0].key, f'["{child.key}"]'.encode(), "deleted")]


def test_a_selection_leaves_expired_entries_out_and_expires(jq, run_jobs, redis_conn):
    q = jq("default")
    _failing(q, 3)
    run_jobs()
    registry = q.failed_job_registry
    redis_conn.zadd(registry.key, {"j0000": time.time() - 5})  # expired, not cleaned yet
    selection = bulk.select(q, "failed", keep_for=60)
    assert selection.count == 2
    key = f"{registry.key}:selection:{selection.token}"
    assert 0 < redis_conn.ttl(key) <= 60
    assert bulk.remaining(q, "failed", selection.token) == 2
    redis_conn.delete(key)
    with pytest.raises(bulk.SelectionExpired):
        bulk.delete(q, "failed", selection.token)
    with pytest.raises(ValueError, match="cannot be requeued"):
        bulk.requeue(q, "finished", selection.token)
    with pytest.raises(ValueError, match="Invalid selection token"):
        bulk.delete(q, "failed", "../x")


def test_requeue_all_with_a_live_worker_requeues_each_confirmed_job_once(
    as_user, jq, run_jobs, redis_conn, key_prefix, rqworker, monkeypatch
):
    """The issue's case: a worker fails the requeued jobs again while the action runs."""
    admin = as_user("superuser")
    q = jq("default")
    count = 300
    _failing(q, count)
    run_jobs()
    monkeypatch.setattr(operations, "BATCH_SIZE", 20)
    progress = []
    real = scripts.bulk_step

    def slow_step(*args, **kwargs):
        reply = real(*args, **kwargs)
        time.sleep(0.05)  # give the worker time to fail some again before the last batch
        progress.append(sum(_runs(redis_conn, key_prefix, count)) - count)
        return reply

    monkeypatch.setattr(scripts, "bulk_step", slow_step)
    rqworker("default")
    path = ADMIN + "queues/default/failed/bulk/"
    page, fields = confirm(admin, path, action="requeue", all="1")
    confirmed = int(re.search(r"Requeue (\d+) failed jobs", page.content.decode()).group(1))
    assert confirmed == count
    response = admin.post(path, fields, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert f"Requeued {count} jobs." in messages
    assert progress[-2] > 0  # the worker ran requeued jobs while the action went on
    wait_until(
        lambda: q.failed_job_registry.count == count and q.count == 0,
        timeout=60,
        message="the worker did not fail every requeued job",
    )
    assert _runs(redis_conn, key_prefix, count) == [2] * count


def test_a_bulk_requeue_leaves_a_job_as_a_single_requeue_does(jq, run_jobs, redis_conn):
    """bulk.lua repeats requeue.lua's steps: the two must not drift apart."""
    q = jq("default")
    parent = q.enqueue(jobs.add, 1, 1)
    one, other = (
        q.enqueue_call(jobs.fail, job_id=name, priority=3, failure_ttl=600)
        for name in ("one", "other")
    )
    waiting = [
        q.enqueue(jobs.fail, job_id=name, depends_on=parent) for name in ("w-one", "w-other")
    ]
    run_jobs()
    redis_conn.hset(waiting[0].key, mapping={"status": "failed", "pending": f'["{parent.key}"]'})
    redis_conn.hset(waiting[1].key, mapping={"status": "failed", "pending": f'["{parent.key}"]'})
    selection = bulk.select(q, "failed")
    one.requeue()
    waiting[0].requeue()
    assert bulk.requeue(q, "failed", selection.token) == (2, 2)

    def state(job) -> dict:
        fields = redis_conn.hgetall(job.key)
        fields.pop(b"created_at")
        fields.pop(b"enqueued_at", None)  # a deferred job has none
        fields.pop(b"data")  # its signature binds the job's own id
        return {"fields": fields, "ttl": redis_conn.ttl(job.key)}

    assert state(one) == state(other)
    assert state(waiting[0]) == state(waiting[1])
    assert state(other)["fields"][b"status"] == b"queued"
    assert state(waiting[1])["fields"][b"status"] == b"deferred"
    assert redis_conn.zrange(q.keys.priority("default"), 0, -1) == [b"one", b"other"]
    assert set(q.deferred_job_registry.get_job_ids()) == {"w-one", "w-other"}
