"""rqstats lists each worker pool with its children under it (issue #5), and each
worker's current job as it is now, not as of its last heartbeat."""

from __future__ import annotations

import json
import signal
from io import StringIO

import pytest
from django.core.management import call_command

from django_jobqueue import get_queue
from django_jobqueue.engine.worker.pool import Child, PoolChild, WorkerPool

from .conftest import wait_until
from .tasks import hold

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = StringIO()
    call_command("rqstats", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _section(out: str, title: str) -> list[str]:
    lines = out.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


def test_a_running_pool_and_its_children(jq, manage_py, key_prefix):
    proc = manage_py(
        "rqworker",
        "default",
        "high",
        "--worker-class",
        "pool",
        "--processes",
        "2",
        "--name",
        "pool-s",
        "--worker-ttl",
        "6",  # children beat every second, also while a job runs
        "--without-scheduler",
    )
    release = f"{key_prefix}release"
    job = get_queue("default").enqueue(hold, release)

    def pool_running_the_job():
        for worker in json.loads(run("--json"))["workers"]:
            jobs = [c["current_job"] for c in worker["children"]]
            if len(jobs) == 2 and job.id in jobs:
                return worker
        return None

    pool = wait_until(pool_running_the_job)
    assert (pool["name"], pool["pid"], pool["execution"]) == ("pool-s", proc.pid, "pool")
    assert pool["processes"] == 2 and pool["queues"] == ["default", "high"]
    assert [c["name"] for c in pool["children"]] == ["pool-s.1", "pool-s.2"]
    pids = {c["pid"] for c in pool["children"]}
    assert len(pids) == 2 and proc.pid not in pids
    (busy,) = [c for c in pool["children"] if c["current_job"]]
    assert (busy["current_job"], busy["current_queue"], busy["execution"]) == (
        job.id,
        "default",
        "pool-child",
    )
    assert busy["last_heartbeat"] and busy["birth"] and busy["successful"] == 0
    assert "children" not in busy

    out = run()
    header, *rows = _section(out, "Workers:")
    assert header.split() == [
        "name",
        "state",
        "pid",
        "host",
        "queues",
        "current",
        "job",
        "ok",
        "failed",
        "heartbeat",
    ]
    assert rows[0].startswith("  pool-s ")
    assert "(pool of 2, 1 busy)" in rows[0] and f" {proc.pid} " in rows[0]
    children = {row.split()[0]: row for row in rows[1:]}
    assert list(children) == ["pool-s.1", "pool-s.2"]
    assert all(row.startswith("    pool-s.") for row in rows[1:])  # indented under the pool
    assert f"{job.id} (default)" in children[busy["name"]]
    assert f" {busy['pid']} " in children[busy["name"]]
    # The job is also among the running jobs, as before.
    assert any(job.id in line for line in _section(out, "Running jobs:"))

    get_queue("default").connection.set(release, "1")
    wait_until(lambda: job.get_status() == "finished")
    wait_until(
        lambda: (
            [
                sum(c["successful"] for c in w["children"])
                for w in json.loads(run("--json"))["workers"]
            ]
            == [1]
        )
    )
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert json.loads(run("--json"))["workers"] == []
    assert "Workers:" not in run()


def _by_name(workers: list[dict]) -> dict[str, dict]:
    """Every worker and pool child of ``rqstats --json`` by name."""
    found = {}
    for worker in workers:
        found[worker["name"]] = worker
        found.update((c["name"], c) for c in worker["children"])
    return found


@pytest.mark.parametrize("worker_class", ["pool", "simple"])
def test_a_job_shows_the_moment_it_starts_and_ends(jq, manage_py, key_prefix, worker_class):
    """rqstats reads who runs what from the started registries: a job shows as
    current (its worker busy) at once, though the worker's registration will
    say so only at its next heartbeat, 30 s away at this worker_ttl."""
    extra = ["--processes", "2"] if worker_class == "pool" else []
    manage_py(
        "rqworker",
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
    wait_until(lambda: set(_by_name(json.loads(run("--json"))["workers"])) == wanted)
    queue = get_queue("default")
    release = f"{key_prefix}release"
    job = queue.enqueue(hold, release)
    wait_until(lambda: job.get_status() == "started")
    job.refresh()
    runner = job.worker_name
    assert runner in wanted - {"w-now"} if worker_class == "pool" else runner == "w-now"

    workers = _by_name(json.loads(run("--json"))["workers"])
    registration = queue.connection.hgetall(f"{key_prefix}worker:{runner}")
    # The heartbeat has not told anyone yet...
    assert registration[b"current_job"] == b"" and registration[b"state"] != b"busy"
    # ...but rqstats knows.
    assert (workers[runner]["current_job"], workers[runner]["current_queue"]) == (
        job.id,
        "default",
    )
    assert workers[runner]["state"] == "busy"
    assert all(workers[name]["current_job"] is None for name in wanted - {runner, "w-now"})
    lines = {line.split()[0]: line for line in _section(run(), "Workers:")[1:]}
    assert f"{job.id} (default)" in lines[runner] and " busy " in lines[runner]
    if worker_class == "pool":
        assert workers["w-now"]["state"] == "busy"
        assert "busy (pool of 2, 1 busy)" in lines["w-now"]

    queue.connection.set(release, "1")
    wait_until(lambda: job.get_status() == "finished")
    workers = _by_name(json.loads(run("--json"))["workers"])
    assert workers[runner]["current_job"] is None and workers[runner]["state"] != "busy"
    assert job.id not in "".join(_section(run(), "Workers:"))
    if worker_class == "pool":
        assert workers["w-now"]["state"] != "busy"


def test_an_expired_child_is_left_out_and_other_queues_see_no_pool(jq, key_prefix):
    queue = get_queue("default")
    pool = WorkerPool(
        [queue], connection=queue.connection, prefix=key_prefix, name="p", scheduler=False
    )
    pool.children = {1: Child(1, "p.1", -1, None), 2: Child(2, "p.2", -1, None)}
    pool.register_birth()
    for name in ("p.1", "p.2"):
        PoolChild(
            [queue],
            connection=queue.connection,
            prefix=key_prefix,
            name=name,
            report=-1,
            pool="p",
            scheduler=False,
        ).register_birth()
    try:
        queue.connection.pexpire(f"{key_prefix}worker:p.2", 1)
        wait_until(lambda: not queue.connection.exists(f"{key_prefix}worker:p.2"))
        (worker,) = json.loads(run("--json"))["workers"]
        assert [c["name"] for c in worker["children"]] == ["p.1"]
        rows = _section(run(), "Workers:")[1:]
        assert [row.split()[0] for row in rows] == ["p", "p.1"]
        assert "(pool of 1, 0 busy)" in rows[0]
        # Only workers serving the queues asked about are listed.
        assert json.loads(run("--json", "high"))["workers"] == []
        assert [w["name"] for w in json.loads(run("--json", "high", "default"))["workers"]] == ["p"]
    finally:
        pool.register_death()
