"""Jobs for test_unique.py that enqueue a duplicate of themselves while they run."""

from __future__ import annotations

from django_jobqueue.engine import Queue, get_current_job


def enqueue_myself(until: str, prefix: str, in_memory: bool = True, depth: int = 0):
    """Enqueue this job again under its key from inside its run, on an inline queue.

    Returns ``[whether that enqueue returned this running job, its status]``;
    the enqueued copy (depth 1) does not enqueue again.
    """
    if depth:
        return None
    me = get_current_job()
    queue = Queue(me.origin, me.connection, is_async=False, in_memory=in_memory, prefix=prefix)
    again = queue.enqueue(
        enqueue_myself,
        until,
        prefix,
        in_memory,
        1,
        unique_for=60,
        unique_key="myself",
        unique_until=until,
    )
    return [again.is_duplicate and again.id == me.id, str(again.get_status())]
