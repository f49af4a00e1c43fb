"""The Workers page shows a pool as one row with its children nested under it (issue #5),
and each worker's current job as it is now, not as of its last heartbeat."""

from __future__ import annotations

import re

import pytest
import redis

from django_jobqueue.engine import SimpleWorker, scripts
from django_jobqueue.engine.utils import now
from django_jobqueue.engine.worker.pool import Child, PoolChild, WorkerPool
from django_jobqueue.queues import get_queue
from tests.django.tasks import hold
from tests.helpers import wait_until

from .conftest import ADMIN


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


def _row(html: str, name: str) -> str:
    """The ``<tr>`` of one worker or child on the Workers page."""
    match = re.search(rf'<tr id="worker-{re.escape(name)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def _parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[1])


def test_a_running_pool_shows_each_child_with_its_job(admin, jq, rqworker, key_prefix):
    proc = rqworker(
        "default",
        "--worker-class",
        "pool",
        "--processes",
        "2",
        "--name",
        "pool-t",
        "--worker-ttl",
        "6",  # children beat every second, also while a job runs
        "--without-scheduler",
    )
    release = f"{key_prefix}release"
    job = jq("default").enqueue(hold, release)

    def page_with_job():
        response = admin.get(ADMIN + "workers/")
        for pool in response.context["rows"]:  # none until the pool has started
            busy = [c for c in pool["children"] if c["current_job"] == job.id]
            # The job is shown from the moment it starts; its progress a moment later.
            if len(pool["children"]) == 2 and busy and busy[0]["progress"]:
                return response, pool
        return None

    response, pool = wait_until(page_with_job, timeout=30, interval=0.2)
    assert len(response.context["rows"]) == 1
    assert pool["name"] == "pool-t" and pool["pid"] == str(proc.pid)
    assert [c["name"] for c in pool["children"]] == ["pool-t.1", "pool-t.2"]
    for child in pool["children"]:
        assert _parent_pid(int(child["pid"])) == proc.pid
        assert child["birth"] is not None and child["last_heartbeat"] is not None
    assert pool["busy_children"] == 1
    html = response.content.decode()
    pool_row = _row(html, "pool-t")
    assert "pool of 2, 1 busy" in pool_row
    # Each child in its own row, right after the pool's, in order.
    assert (
        html.index(pool_row)
        < html.index(_row(html, "pool-t.1"))
        < html.index(_row(html, "pool-t.2"))
    )
    (busy,) = [c for c in pool["children"] if c["current_job"]]
    row = _row(html, busy["name"])
    assert 'class="jq-child"' in row and "child of pool-t:" in row
    assert f'href="{ADMIN}queues/default/jobs/{job.id}/"' in row
    assert f">{busy['pid']}<" in row
    assert "jq-status-busy" in row
    assert re.search(r'<progress [^>]*value="30"', row)
    assert "step 3 of 10" in row
    (idle,) = [c for c in pool["children"] if not c["current_job"]]
    assert "<progress" not in _row(html, idle["name"])

    jq("default").connection.set(release, "1")
    wait_until(lambda: job.get_status() == "finished", timeout=15)

    def counted():
        (pool,) = admin.get(ADMIN + "workers/").context["rows"]
        done = sum(int(c["successful"]) for c in pool["children"])
        return pool if done == 1 and not any(c["current_job"] for c in pool["children"]) else None

    pool = wait_until(counted, timeout=15, interval=0.2)
    assert pool["busy_children"] == 0


def _page_rows(admin) -> tuple[str, dict[str, dict]]:
    """The Workers page's HTML and every row on it (workers and children) by name."""
    response = admin.get(ADMIN + "workers/")
    assert response.status_code == 200
    rows = {}
    for row in response.context["rows"]:
        rows[row["name"]] = row
        rows.update((c["name"], c) for c in row["children"])
    return response.content.decode(), rows


@pytest.mark.parametrize("worker_class", ["pool", "simple"])
def test_a_job_shows_the_moment_it_starts_and_ends(admin, jq, rqworker, key_prefix, worker_class):
    """The page reads who runs what from the started registries, so a job shows
    as current (and its worker busy) at once, though the worker's registration
    will say so only at its next heartbeat, 30 s away at this worker_ttl."""
    extra = ["--processes", "2"] if worker_class == "pool" else []
    rqworker(
        "default",
        "--worker-class",
        worker_class,
        *extra,
        "--name",
        "w-now",
        "--worker-ttl",
        "3600",
        "--without-scheduler",
    )
    wanted = {"w-now", "w-now.1", "w-now.2"} if worker_class == "pool" else {"w-now"}
    wait_until(lambda: set(_page_rows(admin)[1]) == wanted, timeout=30, interval=0.2)
    queue = jq("default")
    release = f"{key_prefix}release"
    job = queue.enqueue(hold, release)
    wait_until(lambda: job.get_status() == "started", timeout=15)
    job.refresh()
    runner = job.worker_name
    assert runner in wanted - {"w-now"} if worker_class == "pool" else runner == "w-now"

    html, rows = _page_rows(admin)
    registration = queue.connection.hgetall(f"{key_prefix}worker:{runner}")
    # The heartbeat has not told anyone yet...
    assert registration[b"current_job"] == b"" and registration[b"state"] != b"busy"
    # ...but the page knows.
    assert rows[runner]["current_job"] == job.id and rows[runner]["current_queue"] == "default"
    assert rows[runner]["state"] == "busy"
    row = _row(html, runner)
    assert f'href="{ADMIN}queues/default/jobs/{job.id}/"' in row and "jq-status-busy" in row
    others = wanted - {runner, "w-now"}
    assert all(rows[name]["current_job"] is None for name in others)
    if worker_class == "pool":
        assert rows["w-now"]["state"] == "busy" and rows["w-now"]["busy_children"] == 1
        assert "pool of 2, 1 busy" in _row(html, "w-now")
    # The job's first progress report follows within its write throttle.
    progress = wait_until(lambda: _page_rows(admin)[1][runner]["progress"], timeout=5)
    assert (progress["text"], progress["note"]) == ("30% (3/10)", "step 3 of 10")

    queue.connection.set(release, "1")
    wait_until(lambda: job.get_status() == "finished", timeout=15)
    html, rows = _page_rows(admin)
    assert rows[runner]["current_job"] is None and rows[runner]["state"] != "busy"
    assert rows[runner]["progress"] is None
    assert f"/jobs/{job.id}/" not in html
    if worker_class == "pool":
        assert rows["w-now"]["state"] != "busy" and "pool of 2, 0 busy" in _row(html, "w-now")


def _registered_pool(queue, key_prefix, children=2):
    """A pool's registration, written by WorkerPool's and PoolChild's own code,
    listing ``children`` children that each registered too."""
    pool = WorkerPool(
        [queue], connection=queue.connection, prefix=key_prefix, name="p", scheduler=False
    )
    names = [f"p.{i}" for i in range(1, children + 1)]
    pool.children = {
        i: Child(pid=i, name=name, report=-1, pidfd=None) for i, name in enumerate(names)
    }
    pool.register_birth()
    for name in names:
        PoolChild(
            [queue],
            connection=queue.connection,
            prefix=key_prefix,
            name=name,
            report=-1,
            pool="p",
            scheduler=False,
        ).register_birth()
    return pool


def test_a_child_whose_registration_expired_is_left_out(admin, jq, key_prefix):
    queue = jq("default")
    pool = _registered_pool(queue, key_prefix)
    try:
        queue.connection.pexpire(f"{key_prefix}worker:p.2", 1)
        wait_until(lambda: not queue.connection.exists(f"{key_prefix}worker:p.2"))
        response = admin.get(ADMIN + "workers/")
        assert response.status_code == 200
        (row,) = response.context["rows"]
        assert [c["name"] for c in row["children"]] == ["p.1"]
        html = response.content.decode()
        assert "pool of 1, 0 busy" in _row(html, "p")
        assert 'id="worker-p.2"' not in html
        # Once the pool's own registration expires, its children go with it.
        queue.connection.delete(f"{key_prefix}worker:p")
        response = admin.get(ADMIN + "workers/")
        assert response.status_code == 200 and response.context["rows"] == []
        assert 'id="worker-p.1"' not in response.content.decode()
    finally:
        pool.register_death()


def test_round_trips_do_not_grow_with_workers_or_jobs(admin, jq, key_prefix, monkeypatch):
    """The children of every pool, who runs which job and the jobs' progress come
    in one pipeline each, however many children and running jobs there are."""
    queue = jq("default")
    trips = []
    real_command, real_pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def command(self, *args, **kwargs):
        trips.append(args[0])
        return real_command(self, *args, **kwargs)

    def pipeline(self, *args, **kwargs):
        trips.append("pipeline")
        return real_pipeline(self, *args, **kwargs)

    def count(children, running):
        pool = _registered_pool(queue, key_prefix, children)
        for i in range(1, running + 1):  # child p.i takes a job, as its loop would
            queue.enqueue(hold, "unused")
            assert scripts.dequeue(queue.connection, queue.keys, ["default"], now(), f"p.{i}", 60)
        try:
            monkeypatch.setattr(redis.Redis, "execute_command", command)
            monkeypatch.setattr(redis.client.Pipeline, "execute", pipeline)
            trips.clear()
            response = admin.get(ADMIN + "workers/")
            monkeypatch.undo()
            (row,) = response.context["rows"]
            assert len(row["children"]) == children
            assert [c["state"] for c in row["children"]] == ["busy"] * running + ["idle"] * (
                children - running
            )
            assert row["busy_children"] == running
            return list(trips)
        finally:
            monkeypatch.undo()
            pool.register_death()
            queue.connection.delete(queue.keys.registry("default", "started"))
            for i in range(1, children + 1):
                queue.connection.delete(f"{key_prefix}worker:p.{i}")

    # The set of workers, their registrations, the pools' children, the started
    # registries of the queues they serve; then, while jobs run, who runs each
    # and the jobs' progress.
    idle = ["SMEMBERS", "pipeline", "pipeline", "pipeline"]
    assert count(1, 0) == count(6, 0) == idle
    assert count(1, 1) == count(6, 6) == count(6, 2) == [*idle, "pipeline", "pipeline"]


def test_on_a_cluster_each_worker_shows_its_job(as_user, cluster_jq, key_prefix):
    """Queues on three masters: the started registries and jobs are read without a
    cross-slot command, and each worker shows the job it took."""
    admin = as_user("superuser")
    queues = [get_queue(name) for name in ("emails", "default", "low")]
    workers = [
        SimpleWorker([q], connection=cluster_jq, prefix=key_prefix, name=f"c-{q.name}")
        for q in queues
    ]
    taken = {}
    for worker, queue in zip(workers, queues):
        worker.register_birth()
        queue.enqueue(hold, "unused")
        reply = scripts.dequeue(cluster_jq, queue.keys, [queue.name], now(), worker.name, 60)
        taken[worker.name] = (queue.name, reply.id.decode())
    try:
        html, rows = _page_rows(admin)
    finally:
        for worker in workers:
            worker.register_death()
    assert {name: (r["current_queue"], r["current_job"]) for name, r in rows.items()} == taken
    assert all(r["state"] == "busy" for r in rows.values())
    for name, (queue, job_id) in taken.items():
        assert f'href="{ADMIN}queues/{queue}/jobs/{job_id}/"' in _row(html, name)
