"""Counts per queue, for dashboards and ``rqstats``, in one round trip per connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .corrupt import execute
from .keys import REGISTRIES
from .live import live_workers
from .tally import BUCKET_FIELDS, DURATION_BUCKETS, bucket_label
from .utils import as_shown, now

#: Registries whose entries expire (their score is the expiry time).
EXPIRING = {"finished", "failed", "canceled"}


def queue_stats(queues: Sequence[Any]) -> list[dict[str, Any]]:
    """One dict per queue: name, queued, one count per registry, and workers."""
    return _queue_stats(queues)[0]


def _queue_stats(queues: Sequence[Any]) -> tuple[list[dict[str, Any]], set[tuple[int, str]]]:
    """:func:`queue_stats`, and every live worker as (connection group, name)."""
    seen: set[tuple[int, str]] = set()
    by_connection: dict[int, list[Any]] = {}
    for queue in queues:
        by_connection.setdefault(id(queue.connection), []).append(queue)
    rows: dict[Any, dict[str, Any]] = {}
    timestamp = f"({now()!r}"
    for group in by_connection.values():
        pipe = group[0].connection.pipeline(transaction=False)
        keys = []
        for queue in group:
            pipe.llen(queue.key)
            pipe.zcard(queue.keys.priority(queue.name))
            keys += [queue.key, queue.keys.priority(queue.name)]
            for kind in REGISTRIES:
                key = queue.keys.registry(queue.name, kind)
                keys.append(key)
                if kind in EXPIRING:
                    pipe.zcount(key, timestamp, "+inf")
                else:
                    pipe.zcard(key)
        # A key of the wrong type counts 0 (and is logged once), not a failed page.
        replies = iter(execute(pipe, keys, default=0))
        # Registrations are enough to count workers: two round trips.
        workers = live_workers(group[0].connection, group[0].keys.prefix, detail=False)
        seen.update((id(group[0].connection), w.name) for w in workers)
        for queue in group:
            row: dict[str, Any] = {"name": queue.name, "queued": next(replies) + next(replies)}
            for kind in REGISTRIES:
                row[kind] = next(replies)
            row["workers"] = sum(1 for w in workers if queue.name in w.queues)
            rows[queue] = row
    return [rows[q] for q in queues], seen


def limit_stats(queues: Sequence[Any]) -> list[dict[str, Any]]:
    """The concurrency limits in use on ``queues`` (see :mod:`.rate_limit`), one dict each.

    ``queue``, ``key``, ``limit`` (the concurrency last recorded), ``running``
    and ``queued`` (the jobs holding a slot, by status) and ``waiting`` (the
    jobs waiting for one). Ordered by queue, then key. Three round trips per
    connection, however many limits: a limit's holders are at most its
    concurrency, so reading their statuses stays bounded. ``waiting`` counts
    the ids in the limit's waiting set; one whose job expired while waiting is
    counted until it is passed over.
    """
    by_connection: dict[int, list[Any]] = {}
    for queue in queues:
        by_connection.setdefault(id(queue.connection), []).append(queue)
    found: dict[Any, list[dict[str, Any]]] = {}
    for group in by_connection.values():
        connection = group[0].connection
        pipe = connection.pipeline(transaction=False)
        keys = [queue.keys.rate_limit_keys(queue.name) for queue in group]
        for key in keys:
            pipe.smembers(key)
        names = execute(pipe, keys, default=set())
        limits = [
            (queue, as_shown(name), queue.keys.rate_limit(queue.name, as_shown(name)))
            for queue, members in zip(group, names)
            for name in sorted(members)
        ]
        pipe, keys = connection.pipeline(transaction=False), []
        for _, _, config in limits:
            pipe.hget(config, "concurrency")
            pipe.zrange(f"{config}:allowed", 0, -1)
            pipe.zcard(f"{config}:waiting")
            keys += [config, f"{config}:allowed", f"{config}:waiting"]
        replies = iter(execute(pipe, keys, default=None))
        read = [(next(replies), next(replies) or [], next(replies) or 0) for _ in limits]
        pipe, keys = connection.pipeline(transaction=False), []
        for (queue, _, _), (_, holders, _) in zip(limits, read):
            for job_id in holders:
                keys.append(queue.keys.job(queue.name, as_shown(job_id)))
                pipe.hget(keys[-1], "status")
        statuses = iter(execute(pipe, keys, default=None) if keys else [])
        for (queue, name, _), (limit, holders, waiting) in zip(limits, read):
            held = [as_shown(next(statuses)) for _ in holders]
            found.setdefault(queue, []).append(
                {
                    "queue": queue.name,
                    "key": name,
                    "limit": _number(limit, int),
                    "running": held.count("started"),
                    "queued": held.count("queued"),
                    "waiting": int(waiting),
                }
            )
    return [row for queue in queues for row in found.get(queue, [])]


def queue_metrics(queues: Sequence[Any]) -> dict[str, Any]:
    """Everything the metrics endpoints show, read from Redis in one go.

    Returns ``{"queues": [...], "workers": n}``: per queue, the counts of
    :func:`queue_stats` plus ``jobs_started``, ``jobs_finished`` and
    ``jobs_failed`` (cumulative, from workers' tallies, see :mod:`.tally`)
    and ``duration`` (``buckets``: upper bound label -> cumulative count,
    ``sum`` in seconds, ``count``); and the number of live workers (a pool
    counts as one).
    """
    rows, workers = _queue_stats(queues)
    by_connection: dict[int, list[int]] = {}
    for index, queue in enumerate(queues):
        by_connection.setdefault(id(queue.connection), []).append(index)
    for indexes in by_connection.values():
        pipe = queues[indexes[0]].connection.pipeline(transaction=False)
        keys = [queues[index].keys.metrics(queues[index].name) for index in indexes]
        for key in keys:
            pipe.hgetall(key)
        for index, raw in zip(indexes, execute(pipe, keys, default={})):
            fields = {as_shown(k): as_shown(v) for k, v in raw.items()}
            row = rows[index]
            for name in ("started", "finished", "failed"):
                row[f"jobs_{name}"] = _number(fields.get(name), int)
            # Buckets below the shortest job so far have no field yet.
            buckets, running = {}, 0
            for bound, field in zip((*DURATION_BUCKETS, float("inf")), BUCKET_FIELDS):
                running = max(running, _number(fields.get(field), int))
                buckets[bucket_label(bound)] = running
            row["duration"] = {
                "buckets": buckets,
                "sum": _number(fields.get("duration_sum"), float),
                "count": _number(fields.get("duration_count"), int),
            }
    return {"queues": rows, "workers": len(workers)}


def throughput(
    queues: Sequence[Any], minutes: int = 60, timestamp: float | None = None
) -> list[list[tuple[int, int, int]]]:
    """Jobs finished and failed per minute over the last ``minutes`` minutes.

    Returns, for each queue, ``minutes`` tuples ``(minute, finished, failed)``
    oldest first, where ``minute`` is the UNIX time // 60 and the current
    minute comes last. Workers add to the counters about once a second (see
    :mod:`.tally`) and they are kept for two hours; one pipeline per
    connection reads them.
    """
    last = int((now() if timestamp is None else timestamp) // 60)
    span = range(last - minutes + 1, last + 1)
    by_connection: dict[int, list[Any]] = {}
    for queue in queues:
        by_connection.setdefault(id(queue.connection), []).append(queue)
    series: dict[Any, list[tuple[int, int, int]]] = {}
    for group in by_connection.values():
        pipe = group[0].connection.pipeline(transaction=False)
        keys = [queue.keys.stats(queue.name, minute) for queue in group for minute in span]
        for key in keys:
            pipe.hmget(key, ["finished", "failed"])
        replies = iter(execute(pipe, keys, default=[None, None]))
        for queue in group:
            rows = []
            for minute in span:
                finished, failed = next(replies)
                rows.append((minute, _number(finished, int), _number(failed, int)))
            series[queue] = rows
    return [series[q] for q in queues]


def _number(value: Any, kind: Any) -> Any:
    """A counter as stored, or 0 when missing or not a number (written by something else)."""
    try:
        return kind(float(value)) if value is not None else kind(0)
    except ValueError:
        return kind(0)


def suspend(connection: Any, keys: Any, seconds: int | None = None) -> None:
    """Make every worker on this connection stop taking jobs (until :func:`resume`)."""
    connection.set(keys.suspended, "1", ex=seconds or None)


def resume(connection: Any, keys: Any) -> None:
    connection.delete(keys.suspended)


def is_suspended(connection: Any, keys: Any) -> bool:
    return bool(connection.exists(keys.suspended))
