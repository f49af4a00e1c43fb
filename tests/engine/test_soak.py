"""The soak test: many jobs, failures, retries, killed children and workers, a dropped
connection; then the ledger must balance.

Marked slow; it runs in CI with the rest of the suite.
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from django_jobqueue.engine import Dependency, JobStatus, Retry, all_workers

from . import jobs
from .conftest import wait_until

N = int(os.environ.get("JOBQUEUE_SOAK_JOBS", "20000"))


@pytest.mark.slow
def test_soak(make_queue, redis_conn, key_prefix, spawn_worker):
    rng = random.Random(20261126)
    queue = make_queue("soak")
    fail_always = {i for i in range(N) if rng.random() < 0.02}
    fail_first = {i for i in range(N) if rng.random() < 0.05}
    parents: dict[int, list[int]] = {}
    calls = []
    for i in range(N):
        if i % 50 == 49:  # one job in fifty waits for two earlier ones
            parents[i] = [i - 1, i - 17]
        else:
            calls.append(
                queue.prepare_data(
                    jobs.soak,
                    args=(i,),
                    kwargs={"fail_always": i in fail_always, "fail_first": i in fail_first},
                    job_id=f"soak-{i}",
                    retry=Retry(max=2),
                )
            )
    queue.enqueue_many(calls)
    for i, ps in parents.items():
        queue.enqueue_call(
            jobs.soak,
            args=(i,),
            job_id=f"soak-{i}",
            retry=Retry(max=2),
            kwargs={"fail_always": i in fail_always, "fail_first": i in fail_first},
            depends_on=Dependency([f"soak-{p}" for p in ps]),
        )

    def spawn():
        # CRITICAL: nobody reads the workers' output pipe during the run, and a
        # full pipe would block their logging.
        return spawn_worker(
            "soak",
            "WorkerPool",
            worker_ttl=3,
            new_session=True,
            extra=["--processes", "2", "--logging-level", "CRITICAL"],
        )

    workers = [spawn(), spawn()]
    killed_children = killed_pools = dropped = 0
    deadline = time.monotonic() + 600

    def ended():
        return (
            queue.finished_job_registry.count
            + queue.failed_job_registry.count
            + queue.deferred_job_registry.count
        )

    # Trouble comes early and on a schedule (then at random), so every kind
    # happens even when the jobs run fast.
    plan = ["child", "pool", "drop", "child", "child", "pool", "child"]
    while ended() < N or len(queue) or queue.started_job_registry.count:
        assert time.monotonic() < deadline, "the soak did not settle in 10 minutes"
        time.sleep(0.3)
        event = plan.pop(0) if plan else rng.choice(["child", "none", "none", "none"])
        pools = [w for w in all_workers(redis_conn, key_prefix) if w.get("execution") == "pool"]
        if event == "child" and pools:
            children = [c for p in pools for c in (p.get("children") or "").split(",") if c]
            pid = children and redis_conn.hget(f"{key_prefix}worker:{rng.choice(children)}", "pid")
            if pid:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    killed_children += 1
                except ProcessLookupError:
                    pass
        elif event == "pool":
            victim = workers.pop(0)
            os.killpg(victim.pid, signal.SIGKILL)  # the pool and its children at once
            victim.wait(10)
            killed_pools += 1
            workers.append(spawn())
        elif event == "drop":
            redis_conn.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            dropped += 1
    # A release lost with a killed process (parent recorded, child not yet told)
    # is made good by the workers' deferred sweep, every 30 s; run it now instead
    # of waiting for it, and let the workers run what it released.
    swept = queue.deferred_job_registry.release_ready(older_than=0)
    wait_until(lambda: not len(queue) and not queue.started_job_registry.count, timeout=60)
    for w in workers:
        w.send_signal(signal.SIGTERM)
        w.wait(30)

    # The ledger.
    jobs_by_i = dict(
        enumerate(
            queue.job_class.fetch_many(
                [f"soak-{i}" for i in range(N)], redis_conn, origin="soak", prefix=key_prefix
            )
        )
    )
    statuses = {i: j.get_status(refresh=False) for i, j in jobs_by_i.items()}
    assert all(j is not None for j in jobs_by_i.values()), "a job was lost"
    counts = {s: list(statuses.values()).count(s) for s in set(statuses.values())}
    assert set(counts) <= {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.DEFERRED}, counts
    assert len(queue) == 0 and queue.started_job_registry.count == 0
    assert queue.scheduled_job_registry.count == 0
    finished = [i for i, s in statuses.items() if s == JobStatus.FINISHED]
    assert all(jobs_by_i[i].result == i for i in finished)
    # Each job is in exactly one registry.
    registries = {
        name: set(queue.registries[name].get_job_ids())
        for name in ("finished", "failed", "deferred", "started", "scheduled")
    }
    for i, status in statuses.items():
        holders = [name for name, ids in registries.items() if f"soak-{i}" in ids]
        assert holders == [status.value], (i, status, holders)
    # Jobs that always fail never finish; the others only fail if killed too often.
    assert not fail_always & set(finished)
    # No run of a child began before a run of each parent had succeeded, in the
    # order Redis saw (the jobs' own times are each worker's clock when it sent
    # its script: a script sent just before a parent ended may run just after,
    # so those may be out of order by the time a script waits to be sent).
    order = [entry.decode() for entry in redis_conn.lrange(f"{key_prefix}soak:order", 0, -1)]
    first = {}
    for position, entry in enumerate(order):
        first.setdefault(entry, position)
    for i in finished:
        for p in parents.get(i, []):
            assert statuses[p] == JobStatus.FINISHED
            assert first[f"began:{i}"] > first[f"done:{p}"], (i, p)
    for i, status in statuses.items():
        if status == JobStatus.DEFERRED:
            assert any(statuses[p] != JobStatus.FINISHED for p in parents[i]), i
    assert killed_children >= 1 and killed_pools == 2 and dropped == 1
    runs = [int(redis_conn.get(f"{key_prefix}soak:runs:{i}") or 0) for i in range(N)]
    assert all(r >= 1 for i, r in enumerate(runs) if statuses[i] == JobStatus.FINISHED)
    print(
        f"\nsoak: {N} jobs; finished {counts.get(JobStatus.FINISHED, 0)}, failed "
        f"{counts.get(JobStatus.FAILED, 0)}, deferred behind failed parents "
        f"{counts.get(JobStatus.DEFERRED, 0)}; runs {sum(runs)} (at-least-once: "
        f"{sum(r - 1 for r in runs if r > 1)} extra); killed {killed_children} children "
        f"and {killed_pools} whole pools; {dropped} connection drop; {swept} lost releases "
        "made good by the deferred sweep"
    )
