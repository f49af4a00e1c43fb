"""Who is working now: live workers, the children of pools and the jobs they run.

Read-only: nothing here changes Redis (save dropping a worker whose
registration expired from the set of workers). The dashboard, ``rqstats`` and
the metrics read workers through :func:`live_workers`, which returns
:class:`WorkerRecord` objects, never through a running worker. The functions
it is built from (:func:`all_workers`, :func:`pool_children`,
:func:`running_jobs`) stay public for callers that need one piece.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import corrupt
from .connection import resolve_connection
from .corrupt import damage
from .keys import keyspace
from .progress import Progress, fetch_progress
from .utils import as_shown, float_or_none, text_members
from .vocabulary import WorkerState


def all_workers(connection: Any = None, prefix: str | None = None) -> list[dict[str, Any]]:
    """Every live worker's registration, as a dict of its fields."""
    connection = resolve_connection(connection)
    ks = keyspace(prefix)
    members = damage.guard(ks.workers, connection.smembers, ks.workers, default=set())
    names, junk = text_members(members)  # junk: not a name, dropped below
    names.sort()
    pipe = connection.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(ks.worker(name))
    workers = []
    stale = []
    replies = corrupt.execute(pipe, [ks.worker(name) for name in names], default={})
    for name, fields in zip(names, replies):
        if fields:
            # as_shown: a field another program wrote as bytes that are not
            # UTF-8 is shown escaped, not an error on every page that counts workers.
            workers.append({as_shown(k): as_shown(v) for k, v in fields.items()})
        else:
            stale.append(name)
    if stale or junk:  # their hash expired: they died without unregistering
        connection.srem(ks.workers, *stale, *junk)
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
            found[pool].append({as_shown(k): as_shown(v) for k, v in fields.items()})
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
    started = [(name, as_shown(job_id)) for name, ids in zip(names, replies) for job_id in ids]
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
        if worker and as_shown(status) == "started":
            found.setdefault(as_shown(worker) or "", []).append((name, job_id))
    return found


@dataclass(frozen=True)
class WorkerRecord:
    """One live worker, or one child of a pool, as :func:`live_workers` reads it."""

    name: str
    hostname: str
    #: None when the registration holds no number.
    pid: int | None
    #: The queues it serves, in the order it takes from them.
    queues: tuple[str, ...]
    #: How it runs jobs, as registered: "fork", "thread", "pool", "pool-child", ...
    execution: str
    #: The state its registration gives, as of its last heartbeat.
    registered_state: str
    #: Its state now (see :func:`live_state`): a pool is busy while a child is.
    state: str
    #: UNIX times; None when not registered.
    birth: float | None
    last_heartbeat: float | None
    #: Jobs it finished and failed, as of its last heartbeat.
    successful: int
    failed: int
    #: The processes a pool runs (None for other workers).
    processes: int | None
    #: ``(queue, job id)`` of the jobs it runs now; the first is its current job.
    jobs: tuple[tuple[str, str], ...] = ()
    #: The progress its current job reported (read only when asked for).
    progress: Progress | None = None
    #: A pool's live children, in the order the pool lists them.
    children: tuple[WorkerRecord, ...] = ()

    @property
    def is_pool(self) -> bool:
        return self.execution == "pool"

    @property
    def current_queue(self) -> str | None:
        return self.jobs[0][0] if self.jobs else None

    @property
    def current_job(self) -> str | None:
        return self.jobs[0][1] if self.jobs else None

    @property
    def busy_children(self) -> int:
        return sum(1 for child in self.children if child.jobs)


def live_workers(
    connection: Any = None,
    prefix: str | None = None,
    *,
    serving: Iterable[str] | None = None,
    detail: bool = True,
    progress: bool = False,
) -> list[WorkerRecord]:
    """Every live worker on one connection, a pool with its children, sorted by name.

    Round trips, however many workers and jobs there are: the set of workers
    and their registrations (two). With ``detail``, also the pools' children
    (one, when there is a pool), the started registries of the queues they
    serve (one) and who runs each started job (one, when a job runs): that,
    not the registration (as old as the last heartbeat), gives each record's
    ``jobs`` and ``state``. With ``progress`` too, the progress of each
    current job (one, when a job runs).

    Args:
        serving: only the workers serving one of these queues (a pool's
            children always come with it).
        detail: False reads registrations only: no children, no ``jobs``, and
            ``state`` is the registered one.
        progress: read the progress of each current job (needs ``detail``).

    Returns:
        :class:`WorkerRecord` objects, pools with their ``children``.
    """
    connection = resolve_connection(connection)
    registrations = all_workers(connection, prefix)
    if serving is not None:
        wanted = set(serving)
        registrations = [r for r in registrations if wanted.intersection(_queues(r))]
    if not detail:
        return [_record(r, (), None, ()) for r in registrations]
    children = pool_children(connection, registrations, prefix)
    listed = [*registrations, *(c for pool in children.values() for c in pool)]
    jobs = running_jobs(connection, [q for r in listed for q in _queues(r)], prefix)
    found: dict[str, Progress | None] = {}
    if progress:
        ks = keyspace(prefix)
        names = [name for name in (r.get("name", "") for r in listed) if name in jobs]
        keys = [ks.job(*jobs[name][0]) for name in names]
        found = dict(zip(names, fetch_progress(connection, keys)))

    def record(fields: dict[str, Any], kids: tuple[WorkerRecord, ...] = ()) -> WorkerRecord:
        name = fields.get("name", "")
        return _record(fields, tuple(jobs.get(name, ())), found.get(name), kids)

    return [
        record(r, tuple(record(c) for c in children.get(r.get("name", ""), [])))
        for r in registrations
    ]


def _record(
    fields: dict[str, Any],
    jobs: tuple[tuple[str, str], ...],
    progress: Progress | None,
    children: tuple[WorkerRecord, ...],
) -> WorkerRecord:
    registered = fields.get("state", "")
    execution = fields.get("execution", "")
    return WorkerRecord(
        name=fields.get("name", ""),
        hostname=fields.get("hostname", ""),
        pid=_int(fields.get("pid")),
        queues=_queues(fields),
        execution=execution,
        registered_state=registered,
        state=(
            WorkerState.BUSY  # a pool is busy while a child is
            if any(child.jobs for child in children)
            else live_state(registered, bool(jobs))
        ),
        birth=float_or_none(fields.get("birth")),
        last_heartbeat=float_or_none(fields.get("last_heartbeat")),
        successful=_int(fields.get("successful")) or 0,
        failed=_int(fields.get("failed")) or 0,
        processes=_int(fields.get("processes")) if execution == "pool" else None,
        jobs=jobs,
        progress=progress,
        children=children,
    )


def _queues(fields: dict[str, Any]) -> tuple[str, ...]:
    return tuple(q for q in (fields.get("queues") or "").split(",") if q)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = [
    "WorkerRecord",
    "WorkerState",
    "all_workers",
    "live_state",
    "live_workers",
    "pool_children",
    "running_jobs",
]
