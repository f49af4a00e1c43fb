"""Paging Redis lists and sorted sets with Django's Paginator.

:class:`JobRange` looks like a sequence to the Paginator: its length is a count
read once, and slicing it reads one range of ids (the engine's pages, see
:class:`~django_jobqueue.engine.registry.IdPages`) and fetches what the rows
show of those jobs (see :func:`row_loader`). Nothing outside the page is ever
read, and no large value inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine.job import Job
from ..engine.registry import waiting_pages
from ..engine.utils import as_str


class JobRange:
    """``count`` ids, of which ``read_ids(start, stop)`` returns a slice.

    Slicing returns ``(job_id, Job or None)`` pairs: None for an id whose job
    hash is gone (deleted, or expired before its registry entry was cleaned).
    """

    def __init__(
        self,
        count: int,
        read_ids: Callable[[int, int], list[str]],
        load: Callable[[list[str]], list[Job | None]],
    ):
        self.count_ = count
        self.read_ids = read_ids
        self.load = load

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index: Any) -> list[tuple[str, Job | None]]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("JobRange only supports plain slices.")
        start = max(index.start or 0, 0)
        stop = self.count_ if index.stop is None else min(index.stop, self.count_)
        if stop <= start:
            return []
        ids = self.read_ids(start, stop)
        return list(zip(ids, self.load(ids)))


def loader(queue: Any) -> Callable[[list[str]], list[Job | None]]:
    """Whole jobs (every field of their hash), for the job page."""

    def load(ids: list[str]) -> list[Job | None]:
        return queue.job_class.fetch_many(
            ids, queue.connection, queue.serializer, origin=queue.name, prefix=queue.keys.prefix
        )

    return load


#: The hash fields a list row shows, always read (all small).
ROW_FIELDS = (
    "status",
    "func",
    "desc",
    "created_at",
    "enqueued_at",
    "started_at",
    "ended_at",
    "progress",
    "worker",
    "priority",
)
#: Fields a row shows a piece of, read only up to this size in bytes: the call
#: (for a description), the result and the traceback. A larger one is left in
#: Redis and its size is shown instead.
ROW_LIMITS = {"data": 16 * 1024, "result": 16 * 1024, "exc_info": 64 * 1024}


def row_loader(queue: Any) -> Callable[[list[str]], list[Job | None]]:
    """Jobs with only what a list row shows, in at most two round trips.

    The first reads the small fields and the sizes of the large ones
    (HSTRLEN); the second reads the large ones a row needs (the result of a
    finished job, the traceback of a failed one, the call when no description
    was given) and are at most :data:`ROW_LIMITS` long. Each job's ``omitted``
    attribute maps the fields left out to their sizes. None for a missing job.
    """
    conn = queue.connection

    def load(ids: list[str]) -> list[Job | None]:
        keys = [queue.keys.job(queue.name, job_id) for job_id in ids]
        pipe = conn.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, ROW_FIELDS)
            for name in ROW_LIMITS:
                pipe.hstrlen(key, name)
        replies = pipe.execute()
        step = 1 + len(ROW_LIMITS)
        found: list[tuple[dict[bytes, Any], list[str], dict[str, int]] | None] = []
        pipe = conn.pipeline(transaction=False)
        for index, key in enumerate(keys):
            values, *sizes = replies[index * step : (index + 1) * step]
            if values[0] is None:  # no status: the hash is gone
                found.append(None)
                continue
            fields = {name.encode(): v for name, v in zip(ROW_FIELDS, values) if v is not None}
            status = as_str(values[0])
            wanted = {"result"} if status == "finished" else set()
            if status in ("failed", "stopped"):
                wanted.add("exc_info")
            if b"desc" not in fields:
                wanted.add("data")
            fetch, omitted = [], {}
            for name, size in zip(ROW_LIMITS, sizes):
                if name in wanted and size:
                    if size <= ROW_LIMITS[name]:
                        fetch.append(name)
                    else:
                        omitted[name] = size
            if fetch:
                pipe.hmget(key, fetch)
            found.append((fields, fetch, omitted))
        extra = iter(pipe.execute() if len(pipe) else [])
        jobs: list[Job | None] = []
        for job_id, item in zip(ids, found):
            if item is None:
                jobs.append(None)
                continue
            fields, fetch, omitted = item
            if fetch:
                fields.update((name.encode(), v) for name, v in zip(fetch, next(extra)))
            job = queue.job_class.from_hash(
                job_id,
                fields,
                conn,
                origin=queue.name,
                serializer=queue.serializer,
                prefix=queue.keys.prefix,
            )
            job.omitted = omitted
            jobs.append(job)
        return jobs

    return load


def registry_range(queue: Any, registry: Any, desc: bool = True) -> JobRange:
    """A registry, newest (highest score) first, or lowest score first with ``desc=False``."""
    pages = registry.pages(desc=desc)
    return JobRange(pages.count, pages.read, row_loader(queue))


def queue_range(queue: Any) -> JobRange:
    """The waiting jobs of a queue, newest first: the reverse of the order workers take them."""
    pages = waiting_pages(queue)
    return JobRange(pages.count, pages.read, row_loader(queue))
