"""running_jobs(): who runs which job now, read from the started registries; and
live_workers(), the records readers build from it."""

from __future__ import annotations

from django_jobqueue.engine import Queue, SimpleWorker, scripts
from django_jobqueue.engine.live import WorkerRecord, live_workers, running_jobs
from django_jobqueue.engine.progress import Progress
from django_jobqueue.engine.utils import now
from django_jobqueue.engine.worker.pool import Child, PoolChild, WorkerPool

from . import jobs

#: Queue names whose hash tags land on the three masters of the session's cluster.
SPREAD = ("emails", "default", "low")


def _take(queue: Queue, worker: str) -> str:
    """Mark ``queue``'s next job started by ``worker``, as that worker's loop would."""
    taken = scripts.dequeue(queue.connection, queue.keys, [queue.name], now(), worker, 60)
    assert taken is not None
    return taken.id.decode()


def test_each_worker_with_the_jobs_it_runs(make_queue, redis_conn, key_prefix):
    default, high, low = make_queue("default"), make_queue("high"), make_queue("low")
    finished = default.enqueue(jobs.add, 3, 4)
    SimpleWorker([default], connection=redis_conn, prefix=key_prefix, name="w1").work(
        burst=True, logging_level=None
    )
    assert finished.get_status() == "finished"  # its hash still names w1
    for queue in (default, default, high, low):
        queue.enqueue(jobs.add, 1, 2)
    first = _take(default, "w1")
    other = _take(high, "w2")
    # Two at once for one worker happens only around a lost reply, but is not hidden.
    second = _take(default, "w1")
    _take(low, "w3")

    assert running_jobs(redis_conn, ["default", "high", "default"], key_prefix) == {
        "w1": [("default", first), ("default", second)],
        "w2": [("high", other)],
    }
    # Only the queues asked about are read.
    assert running_jobs(redis_conn, ["high"], key_prefix) == {"w2": [("high", other)]}
    assert running_jobs(redis_conn, ["nothing-here"], key_prefix) == {}
    assert running_jobs(redis_conn, [], key_prefix) == {}


def test_an_entry_whose_job_ended_or_went_is_left_out(make_queue, redis_conn, key_prefix):
    queue = make_queue("default")
    queue.enqueue(jobs.add, 1, 2)
    job_id = _take(queue, "w1")
    started = queue.keys.registry("default", "started")
    # As if the job had ended, or been deleted, between the two reads.
    redis_conn.zadd(started, {"gone": now() + 60})
    assert running_jobs(redis_conn, ["default"], key_prefix) == {"w1": [("default", job_id)]}
    redis_conn.hset(queue.keys.job("default", job_id), "status", "finished")
    assert running_jobs(redis_conn, ["default"], key_prefix) == {}


def test_on_a_cluster_the_queues_of_every_master(cluster_conn, key_prefix):
    queues = [Queue(name, cluster_conn, prefix=key_prefix) for name in SPREAD]
    nodes = {cluster_conn.get_node_from_key(q.key).name for q in queues}
    assert len(nodes) == 3, "the queues should be spread over the three masters"
    expected: dict[str, list[tuple[str, str]]] = {}
    for i, queue in enumerate(queues):
        for _ in range(2):
            queue.enqueue(jobs.add, 1, 2)
            expected.setdefault(f"w{i % 2}", []).append((queue.name, _take(queue, f"w{i % 2}")))
    assert running_jobs(cluster_conn, SPREAD, key_prefix) == expected


def test_live_state_trusts_running_jobs_over_the_heartbeat():
    from django_jobqueue.engine.live import WorkerState, live_state

    assert live_state(WorkerState.IDLE, running=True) == WorkerState.BUSY
    # "busy" and "started" are as old as the last heartbeat: without a job, idle.
    assert live_state(WorkerState.BUSY, running=False) == WorkerState.IDLE
    assert live_state(WorkerState.STARTED, running=False) == WorkerState.IDLE
    assert live_state(WorkerState.SUSPENDED, running=False) == WorkerState.SUSPENDED


def _pool(queue: Queue, key_prefix: str) -> WorkerPool:
    """A pool "p" with children p.1 and p.2, registered by their own code."""
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
    return pool


def test_live_workers_are_records_with_children_jobs_and_progress(
    make_queue, redis_conn, key_prefix
):
    default, high = make_queue("default"), make_queue("high")
    pool = _pool(default, key_prefix)
    single = SimpleWorker([high], connection=redis_conn, prefix=key_prefix, name="s")
    single.register_birth()
    try:
        default.enqueue(jobs.add, 1, 2)
        job_id = _take(default, "p.2")
        job_key = default.keys.job("default", job_id)
        started = float(redis_conn.hget(job_key, "started_at"))
        report = Progress(done=3, total=10, note="step 3", updated=now(), started=started)
        redis_conn.hset(job_key, "progress", report.dumps())

        found = live_workers(redis_conn, key_prefix, progress=True)
        assert [w.name for w in found] == ["p", "s"]
        p, s = found
        assert isinstance(p, WorkerRecord) and p.is_pool and not s.is_pool
        assert [c.name for c in p.children] == ["p.1", "p.2"]
        idle, busy = p.children
        assert (busy.current_queue, busy.current_job, busy.state) == ("default", job_id, "busy")
        assert busy.progress is not None and busy.progress.note == "step 3"
        assert (idle.jobs, idle.progress, idle.state) == ((), None, "idle")
        assert p.state == "busy" and p.busy_children == 1 and p.current_job is None
        assert s.queues == ("high",) and s.state == "idle" and s.children == ()
        assert s.pid is not None and s.birth is not None and s.successful == 0

        # Without progress, none is read; serving filters the top-level workers.
        (only,) = live_workers(redis_conn, key_prefix, serving=["default"])
        assert only.name == "p" and only.children[1].progress is None
        assert live_workers(redis_conn, key_prefix, serving=["nothing"]) == []
        # Registrations only: no children, no jobs, the state as registered.
        bare = live_workers(redis_conn, key_prefix, detail=False)
        assert [(w.name, w.children, w.jobs) for w in bare] == [("p", (), ()), ("s", (), ())]
        assert bare[0].state == bare[0].registered_state
    finally:
        single.register_death()
        pool.register_death()
