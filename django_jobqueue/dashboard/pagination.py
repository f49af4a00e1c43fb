"""Paging Redis lists and sorted sets with Django's Paginator.

:class:`JobRange` looks like a sequence to the Paginator: its length is a count
read once, and slicing it reads one range of ids (LRANGE or ZRANGE) and fetches
those jobs in one pipeline. Nothing outside the page is ever read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine.job import Job
from ..engine.queue import PRIORITY_BAND
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
    def load(ids: list[str]) -> list[Job | None]:
        return queue.job_class.fetch_many(
            ids, queue.connection, queue.serializer, origin=queue.name, prefix=queue.keys.prefix
        )

    return load


def registry_range(queue: Any, registry: Any, desc: bool = True) -> JobRange:
    """A registry, newest (highest score) first, or lowest score first with ``desc=False``."""
    return JobRange(
        registry.count,
        lambda start, stop: registry.get_job_ids(start, stop - 1, desc=desc),
        loader(queue),
    )


def queue_range(queue: Any) -> JobRange:
    """The waiting jobs of a queue, newest first: the reverse of the order workers take them.

    Workers take positive priorities (priority set, low scores), then the list
    from its head, then negative priorities; so newest first reads negative
    priorities from the highest score, then the list from its tail, then the
    positive priorities, each with a range read.
    """
    conn, prio_key = queue.connection, queue.keys.priority(queue.name)
    pipe = conn.pipeline(transaction=False)
    pipe.zcount(prio_key, 100 * PRIORITY_BAND, "+inf")
    pipe.llen(queue.key)
    pipe.zcount(prio_key, "-inf", f"({100 * PRIORITY_BAND}")
    negative, listed, positive = pipe.execute()

    def read(start: int, stop: int) -> list[str]:
        ids: list[str] = []
        # Each segment is (size, reader(offset, count)) in newest-first order.
        segments = (
            (
                negative,
                lambda off, n: conn.zrange(
                    prio_key,
                    "+inf",
                    100 * PRIORITY_BAND,
                    desc=True,
                    byscore=True,
                    offset=off,
                    num=n,
                ),
            ),
            (listed, lambda off, n: list(reversed(conn.lrange(queue.key, -(off + n), -(off + 1))))),
            (
                positive,
                lambda off, n: conn.zrange(
                    prio_key,
                    f"({100 * PRIORITY_BAND}",
                    "-inf",
                    desc=True,
                    byscore=True,
                    offset=off,
                    num=n,
                ),
            ),
        )
        base = 0
        for size, reader in segments:
            lo, hi = max(start - base, 0), min(stop - base, size)
            if hi > lo:
                ids += [as_str(i) for i in reader(lo, hi - lo)]
            base += size
        return ids

    return JobRange(negative + listed + positive, read, loader(queue))
