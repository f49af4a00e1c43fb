"""Who is working now: live workers, the children of pools and the jobs they run.

Read-only: nothing here changes Redis (save dropping a worker whose
registration expired from the set of workers). The dashboard, ``rqstats`` and
the metrics read workers through this module, never through a running worker.
"""

from __future__ import annotations

from typing import Any

from . import corrupt
from .connection import resolve_connection
from .corrupt import damage
from .keys import keyspace
from .utils import as_str
from .vocabulary import WorkerState


def all_workers(connection: Any = None, prefix: str | None = None) -> list[dict[str, Any]]:
    """Every live worker's registration, as a dict of its fields."""
    connection = resolve_connection(connection)
    ks = keyspace(prefix)
    members = damage.guard(ks.workers, connection.smembers, ks.workers, default=set())
    names = sorted(as_str(n) for n in members)
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(ks.worker(name))
    workers = []
    stale = []
    replies = corrupt.execute(pipe, [ks.worker(name) for name in names], default={})
    for name, fields in zip(names, replies):
        if fields:
            workers.append({as_str(k): as_str(v) for k, v in fields.items()})
        else:
            stale.append(name)
    if stale:  # their hash expired: they died without unregistering
        connection.srem(ks.workers, *stale)
    return workers


def pool_children(
    connection: Any, workers: list[dict[str, Any]], prefix: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The registrations of the children of each pool among ``workers``, by pool name.

    Children stay out of the set of workers (a pool counts as one worker), so
    they are found through their pool's ``children`` field; one pipeline reads
    them all. A child whose hash is gone (it exited or died since its pool's
    last heartbeat) is left out.

    Args:
        workers: registrations as :func:`all_workers` returns them; those
            that are not pools are ignored.

    Returns:
        ``{pool name: [child fields, ...]}`` in the order the pool lists them,
        with an entry (maybe empty) for every pool.
    """
    ks = keyspace(prefix)
    wanted = [
        (w.get("name", ""), child)
        for w in workers
        if w.get("execution") == "pool"
        for child in (w.get("children") or "").split(",")
        if child
    ]
    found: dict[str, list[dict[str, Any]]] = {
        w.get("name", ""): [] for w in workers if w.get("execution") == "pool"
    }
    if not wanted:
        return found
    pipe = resolve_connection(connection).pipeline(transaction=False)
    for _pool, child in wanted:
        pipe.hgetall(ks.worker(child))
    replies = corrupt.execute(pipe, [ks.worker(child) for _pool, child in wanted], default={})
    for (pool, _child), fields in zip(wanted, replies):
        if fields:
            found[pool].append({as_str(k): as_str(v) for k, v in fields.items()})
    return found


def live_state(registered: str, running: bool) -> str:
    """A worker's state now, for pages and commands that show it.

    Busy while it runs a job (see :func:`running_jobs`). Otherwise the state
    its registration gives, except that "busy" and "started" are only as new
    as its last heartbeat: a worker not running a job now is idle.
    """
    if running:
        return WorkerState.BUSY
    if registered in (WorkerState.BUSY, WorkerState.STARTED):
        return WorkerState.IDLE
    return registered


def running_jobs(
    connection: Any, queue_names: Any, prefix: str | None = None
) -> dict[str, list[tuple[str, str]]]:
    """The jobs each worker (or pool child) is running now, by worker name.

    A worker's registration names its current job only as of its last
    heartbeat, up to 30 seconds old; the started registries and the ``worker``
    field of their jobs change in the same script that takes or ends a job, so
    they are exact. One pipeline reads the started registry of every queue,
    one more the ``worker`` and ``status`` of every job found there (none when
    no job is running). Each command touches one key, so on Redis Cluster the
    client's pipeline sends each to its node.

    Args:
        queue_names: the queues to look at; a worker running a job of a queue
            left out is not found running it (pass every queue the workers
            of interest serve).

    Returns:
        ``{worker name: [(queue, job id), ...]}``, only for workers running a
        job, in the order of ``queue_names`` then of starting. A job whose
        worker died stays in its registry until it is found abandoned: it is
        listed under that name, which is no longer among the live workers.
    """
    ks = keyspace(prefix)
    names = list(dict.fromkeys(queue_names))
    if not names:
        return {}
    connection = resolve_connection(connection)
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.zrange(ks.registry(name, "started"), 0, -1)
    replies = corrupt.execute(pipe, [ks.registry(name, "started") for name in names], default=[])
    started = [(name, as_str(job_id)) for name, ids in zip(names, replies) for job_id in ids]
    if not started:
        return {}
    pipe = connection.pipeline(transaction=False)
    for name, job_id in started:
        pipe.hmget(ks.job(name, job_id), ["worker", "status"])
    found: dict[str, list[tuple[str, str]]] = {}
    replies = corrupt.execute(
        pipe, [ks.job(name, job_id) for name, job_id in started], default=[None, None]
    )
    for (name, job_id), (worker, status) in zip(started, replies):
        # The job may have ended between the two reads.
        if worker and as_str(status) == "started":
            found.setdefault(as_str(worker), []).append((name, job_id))
    return found


__all__ = ["WorkerState", "all_workers", "live_state", "pool_children", "running_jobs"]
