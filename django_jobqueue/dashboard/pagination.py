"""Paging Redis lists and sorted sets with Django's Paginator.

:class:`JobRange` looks like a sequence to the Paginator: its length is a count
read once, and slicing it reads one range of ids (the engine's pages, see
:class:`~django_jobqueue.engine.registry.IdPages`) and fetches what the rows
show of those jobs (see :func:`row_loader`). Nothing outside the page is ever
read, and no large value inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine import scripts
from ..engine.corrupt import UnreadableJob, load_job
from ..engine.job import Job
from ..engine.registry import waiting_counts, waiting_pages
from ..engine.utils import as_shown


class JobRange:
    """``count`` ids, of which ``read_ids(start, stop)`` returns a slice.

    Slicing returns ``(job_id, Job or None)`` pairs: None for an id whose job
    hash is gone (deleted, or expired before its registry entry was cleaned),
    an :class:`~django_jobqueue.engine.corrupt.UnreadableJob` for one that
    something else than this code wrote (see :func:`row_loader`).
    """

    def __init__(
        self,
        count: int,
        read_ids: Callable[[int, int], list[str]],
        load: Callable[[list[str]], list[Row]],
    ):
        self.count_ = count
        self.read_ids = read_ids
        self.load = load

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index: Any) -> list[tuple[str, Row]]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("JobRange only supports plain slices.")
        start = max(index.start or 0, 0)
        stop = self.count_ if index.stop is None else min(index.stop, self.count_)
        if stop <= start:
            return []
        ids = self.read_ids(start, stop)
        return list(zip(ids, self.load(ids)))


#: What a page gets for one id: the job, None when it is gone, or its hash as
#: stored when a field of it cannot be read.
Row = Job | UnreadableJob | None


def _load(queue: Any, job_id: str, fields: dict) -> Job | UnreadableJob:
    return load_job(
        queue.job_class,
        job_id,
        fields,
        queue.connection,
        origin=queue.name,
        serializer=queue.serializer,
        prefix=queue.keys.prefix,
    )


def loader(queue: Any) -> Callable[[list[str]], list[Row]]:
    """Whole jobs (every field of their hash), for the job page."""

    def load(ids: list[str]) -> list[Row]:
        pipe = queue.connection.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(queue.keys.job(queue.name, job_id))
        return [
            _load(queue, job_id, fields) if fields else None
            for job_id, fields in zip(ids, pipe.execute())
        ]

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
    # Shown by the rows of jobs waiting for a slot (display.summary).
    "rl_key",
    "rl_concurrency",
)
#: Fields a row shows a piece of, read only up to this size in bytes: the call
#: (for a description), the result and the traceback. A larger one is left in
#: Redis and its size is shown instead.
ROW_LIMITS = {"data": 16 * 1024, "result": 16 * 1024, "exc_info": 64 * 1024}


#: What a row of the Deferred list shows besides: the parents the job waits for.
DEFERRED_FIELDS = ("deps", "pending", "allow_failure")


def row_loader(queue: Any, extra: tuple[str, ...] = ()) -> Callable[[list[str]], list[Row]]:
    """Jobs with only what a list row shows, in at most two round trips.

    ``extra`` names more small fields to read (:data:`DEFERRED_FIELDS`).

    The first reads the small fields and the sizes of the large ones
    (HSTRLEN); the second reads the large ones a row needs (the result of a
    finished job, the traceback of a failed one, the call when no description
    was given) and are at most :data:`ROW_LIMITS` long. Each job's ``omitted``
    attribute maps the fields left out to their sizes. None for a missing job,
    an :class:`~django_jobqueue.engine.corrupt.UnreadableJob` for one whose
    fields cannot be read.
    """
    conn = queue.connection
    names = (*ROW_FIELDS, *extra)

    def load(ids: list[str]) -> list[Row]:
        keys = [queue.keys.job(queue.name, job_id) for job_id in ids]
        pipe = conn.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(key, names)
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
            fields = {name.encode(): v for name, v in zip(names, values) if v is not None}
            status = as_shown(values[0])
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
        jobs: list[Row] = []
        for job_id, item in zip(ids, found):
            if item is None:
                jobs.append(None)
                continue
            fields, fetch, omitted = item
            if fetch:
                fields.update((name.encode(), v) for name, v in zip(fetch, next(extra)))
            job = _load(queue, job_id, fields)
            if isinstance(job, Job):
                job.omitted = omitted  # type: ignore[attr-defined]  # read by display.summary
            jobs.append(job)
        return jobs

    return load


def registry_range(
    queue: Any, registry: Any, desc: bool = True, extra: tuple[str, ...] = ()
) -> JobRange:
    """A registry, newest (highest score) first, or lowest score first with ``desc=False``."""
    pages = registry.pages(desc=desc)
    return JobRange(pages.count, pages.read, row_loader(queue, extra))


def queue_range(queue: Any) -> JobRange:
    """The waiting jobs of a queue, newest first: the reverse of the order workers take them."""
    pages = waiting_pages(queue)
    return JobRange(pages.count, pages.read, row_loader(queue))


# -- filtered and sorted lists --------------------------------------------------

#: The columns a list sorts by (the ``o`` of its URL), as the job hash fields.
SORTS = {
    "enqueued": "enqueued_at",
    "started": "started_at",
    "ended": "ended_at",
    "func": "func",
    "duration": "duration",
}
#: The times a list is filtered by (its ``time`` parameter).
TIME_FIELDS = {"enqueued": "enqueued_at", "started": "started_at", "ended": "ended_at"}
#: Ids one script call reads: each call holds Redis up for 5 to 25 ms (see
#: docs/dashboard.rst), and other clients' commands run between calls.
SLICE = 2000


@dataclass(frozen=True)
class JobFilter:
    """What a list is narrowed to and how it is sorted (see :func:`search_range`).

    ``func`` is a substring matched in any case; ``exception`` a substring
    matched in any case when typed in lower case, else as typed (smart case:
    lower-casing every traceback costs twice the time, see docs/dashboard.rst);
    ``since`` and ``until`` bound ``time_field`` (UNIX seconds, inclusive);
    ``sort`` is a key of :data:`SORTS` ("" keeps the list's own order).
    """

    func: str = ""
    status: str = ""
    exception: str = ""
    time_field: str = ""
    since: float | None = None
    until: float | None = None
    sort: str = ""
    desc: bool = True

    @property
    def narrows(self) -> bool:
        """Whether it leaves jobs out (a sort alone does not)."""
        return bool(
            self.func
            or self.status
            or self.exception
            or (self.time_field and (self.since is not None or self.until is not None))
        )

    @property
    def active(self) -> bool:
        """Whether the list needs a search: it is narrowed or sorted."""
        return self.narrows or bool(self.sort)

    def args(self, mode: str, keep: int) -> list[str]:
        """ARGV[9..17] of search.lua, with ARGV[1] ``mode``: see :func:`search_range`."""
        timed = self.time_field and (self.since is not None or self.until is not None)
        return [
            self.func.lower(),
            self.status,
            self.exception,
            TIME_FIELDS[self.time_field] if timed else "",
            "" if self.since is None or not timed else repr(self.since),
            "" if self.until is None or not timed else repr(self.until),
            SORTS[self.sort] if self.sort else "",
            str(keep),
            # The natural order has no direction: its list's own is kept.
            "desc" if self.desc and self.sort else "asc",
        ]


@dataclass(frozen=True)
class _Part:
    """One stretch of a list, in its order: ranks of a sorted set, or a Redis list.

    ``first`` is the stretch's first rank in the order read (highest score
    first, or a list's tail first, when ``rev``).
    """

    key: str
    kind: str  # "zset" or "list"
    size: int
    first: int = 0
    rev: bool = False

    def slice_args(self, offset: int, count: int) -> list[str]:
        """ARGV[2..7] of search.lua reading ``count`` ids from ``offset``."""
        return [self.kind, "", "", "rev" if self.rev else "", str(self.first + offset), str(count)]


def _registry_parts(queue: Any, registry: Any, desc: bool) -> list[_Part]:
    # Past entries of an expiring registry are gone jobs: left out, as its pages
    # do. They have the lowest scores: read from the top, the live ones come
    # first; from the bottom, after the past ones.
    size = registry.get_job_count(cleanup=False)
    if desc:
        return [_Part(registry.key, "zset", size, rev=True)]
    past = queue.connection.zcard(registry.key) - size if registry.expiring else 0
    return [_Part(registry.key, "zset", size, first=max(past, 0))]


def _queue_parts(queue: Any) -> list[_Part]:
    """The waiting jobs, newest first, as :func:`~..engine.registry.waiting_pages` reads them."""
    prio_key, list_key = queue.keys.priority(queue.name), queue.key
    negative, listed, positive = waiting_counts(queue)
    # From the highest score down, the priority set holds the negative
    # priorities' jobs (scores from 100 * PRIORITY_BAND up), then the positive ones'.
    return [
        _Part(prio_key, "zset", negative, rev=True),
        _Part(list_key, "list", listed, rev=True),
        _Part(prio_key, "zset", positive, first=negative, rev=True),
    ]


def list_parts(queue: Any, registry: Any, desc: bool = True) -> list[_Part]:
    """The stretches of one list of ``queue`` (None: the queue itself), in its order."""
    return _queue_parts(queue) if registry is None else _registry_parts(queue, registry, desc)


def _slices(parts: list[_Part]) -> list[tuple[_Part, int, int, int]]:
    """(part, offset in it, length, position in the whole list) of each :data:`SLICE`."""
    slices, position = [], 0
    for part in parts:
        for offset in range(0, part.size, SLICE):
            slices.append((part, offset, min(SLICE, part.size - offset), position + offset))
        position += part.size
    return slices


def _calls(
    queue: Any,
    slices: list[tuple[_Part, int, int, int]],
    mode: str,
    job_filter: JobFilter,
    keep: int | list[int],
    store: str | None = None,
):
    """One search.lua call per slice in ``mode``, sent in one round trip.

    ``keep`` (see :meth:`JobFilter.args`) is the same for every slice, or one per slice.
    """
    keeps = keep if isinstance(keep, list) else [keep] * len(slices)
    batch = scripts.Batch(queue.connection)
    for (part, offset, count, position), each in zip(slices, keeps):
        args = [mode, *part.slice_args(offset, count), str(position), *job_filter.args(mode, each)]
        scripts.search(batch, queue.keys, queue.name, part.key, args, store=store)
    replies = batch.execute()
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


def _matches(reply: list) -> list[tuple[bytes, str]]:
    """A page reply's (sort key, id) pairs."""
    return [
        (k.encode() if isinstance(k, str) else bytes(k), as_shown(i))
        for k, i in zip(reply[1::2], reply[2::2])
    ]


def search(
    queue: Any, parts: list[_Part], job_filter: JobFilter, keep: int, start: int = 0
) -> tuple[int, list[str]]:
    """How many jobs of ``parts`` match, and the ids of matches ``start`` to ``keep`` in order.

    Each slice's script call returns its count and its best ``keep`` matches
    by sort key; the keys are merged here (they compare as bytes, see
    search.lua), so a page costs one round trip whatever the list's length.
    A later page in the list's own order takes two: the counts of every
    slice, then the matches of the slices the page falls in, so that no
    slice sends back the matches of the pages before it.
    """
    slices = _slices(parts)
    if start > 0 and not job_filter.sort:
        return _search_window(queue, slices, job_filter, start, keep)
    replies = _calls(queue, slices, "page", job_filter, keep)
    count = 0
    best: list[tuple[bytes, str]] = []
    for reply in replies:
        count += int(reply[0])
        best += _matches(reply)
    # Positions, and so the natural order, never tie: the merge is exact.
    best.sort(key=lambda pair: pair[0], reverse=job_filter.desc and bool(job_filter.sort))
    return count, [job_id for _key, job_id in best[start:keep]]


def _search_window(
    queue: Any,
    slices: list[tuple[_Part, int, int, int]],
    job_filter: JobFilter,
    start: int,
    stop: int,
) -> tuple[int, list[str]]:
    """:func:`search` of matches ``start`` to ``stop`` in the list's own order."""
    counts = [int(reply[0]) for reply in _calls(queue, slices, "page", job_filter, 0)]
    # The slices the window falls in: how many of their first matches to read,
    # and how many of those come before the window.
    wanted, keeps, skips, before = [], [], [], 0
    for piece, found in zip(slices, counts):
        if found and before < stop and before + found > start:
            wanted.append(piece)
            keeps.append(min(stop - before, found))
            skips.append(max(start - before, 0))
        before += found
    ids: list[str] = []
    for reply, skip in zip(_calls(queue, wanted, "page", job_filter, keeps), skips):
        ids += [job_id for _key, job_id in sorted(_matches(reply))[skip:]]
    return sum(counts), ids


def store_matches(
    queue: Any, parts: list[_Part], job_filter: JobFilter, selection: str, keep_for: int
) -> int:
    """Add the ids of the jobs of ``parts`` that match to sorted set ``selection``."""
    replies = _calls(queue, _slices(parts), "store", job_filter, keep_for, selection)
    return sum(int(reply[0]) for reply in replies)


def dependents_of(queue: Any, parts: list[_Part], job_filter: JobFilter) -> dict[str, str]:
    """The ``dependents`` JSON of each matching job of ``parts`` that has dependents."""
    replies = _calls(queue, _slices(parts), "dependents", job_filter, 0)
    found: dict[str, str] = {}
    for reply in replies:
        found.update((as_shown(i), as_shown(d)) for i, d in zip(reply[1::2], reply[2::2]))
    return found


class SearchRange:
    """A filtered or sorted list for the Paginator: the matches, found by :func:`search`.

    ``start`` and ``keep`` are where the page asked for begins and ends: the
    count and those ids come with it; another slice (the Paginator moved to
    the last page) costs one more search.
    """

    def __init__(
        self,
        queue: Any,
        parts: list[_Part],
        job_filter: JobFilter,
        keep: int,
        extra: tuple[str, ...] = (),
        start: int = 0,
    ):
        self.queue, self.parts, self.filter = queue, parts, job_filter
        self.start = min(max(start, 0), max(keep, 0))
        self.count_, self.ids = search(queue, parts, job_filter, max(keep, 0), self.start)
        self.load = row_loader(queue, extra)

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index: Any) -> list[tuple[str, Row]]:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("SearchRange only supports plain slices.")
        start = max(index.start or 0, 0)
        stop = self.count_ if index.stop is None else min(index.stop, self.count_)
        if stop <= start:
            return []
        held = self.start + len(self.ids)
        if start < self.start or (stop > held and held < self.count_):
            self.start = start
            self.count_, self.ids = search(self.queue, self.parts, self.filter, stop, start)
        ids = self.ids[start - self.start : stop - self.start]
        return list(zip(ids, self.load(ids)))
