"""Counts per queue, for dashboards and ``rqstats``, in one round trip per connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .keys import REGISTRIES
from .tally import BUCKET_FIELDS, DURATION_BUCKETS, bucket_label
from .utils import now
from .worker import all_workers

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
        for queue in group:
            pipe.llen(queue.key)
            pipe.zcard(queue.keys.priority(queue.name))
            for kind in REGISTRIES:
                key = queue.keys.registry(queue.name, kind)
                if kind in EXPIRING:
                    pipe.zcount(key, timestamp, "+inf")
                else:
                    pipe.zcard(key)
        replies = iter(pipe.execute())
        workers = all_workers(group[0].connection, group[0].keys.prefix)
        seen.update((id(group[0].connection), w.get("name", "")) for w in workers)
        for queue in group:
            row: dict[str, Any] = {"name": queue.name, "queued": next(replies) + next(replies)}
            for kind in REGISTRIES:
                row[kind] = next(replies)
            row["workers"] = sum(
                1 for w in workers if queue.name in (w.get("queues") or "").split(",")
            )
            rows[queue] = row
    return [rows[q] for q in queues], seen


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
        for index in indexes:
            pipe.hgetall(queues[index].keys.metrics(queues[index].name))
        for index, raw in zip(indexes, pipe.execute()):
            fields = {k.decode(): v.decode() for k, v in raw.items()}
            row = rows[index]
            for name in ("started", "finished", "failed"):
                row[f"jobs_{name}"] = int(fields.get(name, 0))
            # Buckets below the shortest job so far have no field yet.
            buckets, running = {}, 0
            for bound, field in zip((*DURATION_BUCKETS, float("inf")), BUCKET_FIELDS):
                running = max(running, int(fields.get(field, 0)))
                buckets[bucket_label(bound)] = running
            row["duration"] = {
                "buckets": buckets,
                "sum": float(fields.get("duration_sum", 0.0)),
                "count": int(fields.get("duration_count", 0)),
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
        for queue in group:
            for minute in span:
                pipe.hmget(queue.keys.stats(queue.name, minute), ["finished", "failed"])
        replies = iter(pipe.execute())
        for queue in group:
            rows = []
            for minute in span:
                finished, failed = next(replies)
                rows.append((minute, int(finished or 0), int(failed or 0)))
            series[queue] = rows
    return [series[q] for q in queues]


def suspend(connection: Any, keys: Any, seconds: int | None = None) -> None:
    """Make every worker on this connection stop taking jobs (until :func:`resume`)."""
    connection.set(keys.suspended, "1", ex=seconds or None)


def resume(connection: Any, keys: Any) -> None:
    connection.delete(keys.suspended)


def is_suspended(connection: Any, keys: Any) -> bool:
    return bool(connection.exists(keys.suspended))
