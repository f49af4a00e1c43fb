"""The dashboard's bulk actions, as calls of the engine's bulk operations.

Selected jobs: :func:`~django_jobqueue.engine.bulk.requeue_many` and
:func:`~django_jobqueue.engine.bulk.delete_many`. All the jobs of a registry:
the confirmation records which jobs it holds (:func:`select_all`), and the
action works through that record (see :mod:`django_jobqueue.engine.bulk`).
Everything goes :data:`BATCH_SIZE` jobs per round trip or script call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..engine import bulk

#: Jobs changed per round trip.
BATCH_SIZE = 1000

#: What each bulk action may be applied to.
REQUEUEABLE_LISTS = bulk.REQUEUEABLE


def requeue(queue: Any, ids: Iterable[str]) -> tuple[int, int]:
    """Requeue failed, stopped or canceled jobs; returns ``(requeued, skipped)``."""
    return bulk.requeue_many(queue, ids, batch=BATCH_SIZE)


def delete(queue: Any, ids: Iterable[str]) -> tuple[int, int]:
    """Delete jobs (and their ids everywhere); returns ``(deleted, already gone)``."""
    return bulk.delete_many(queue, ids, batch=BATCH_SIZE)


def select_all(queue: Any, slug: str) -> tuple[str, int]:
    """Record the jobs of one list of ``queue`` for an action on all of them.

    Returns ``(token, count)``; the token names what was recorded (see
    :func:`~django_jobqueue.engine.bulk.select`). The queue itself is not
    recorded (token ""): emptying it deletes what waits when it runs.
    """
    if slug == "queued":
        return "", queue.count
    selection = bulk.select(queue, slug)
    return selection.token, selection.count


def apply_to_all(queue: Any, slug: str, action: str, token: str) -> tuple[int, int]:
    """Apply ``action`` ("requeue" or "delete") to the jobs :func:`select_all` recorded.

    Each job that is still in the list is acted on once; one that left it
    since, or came back to it, is skipped. Returns ``(changed, skipped)``;
    raises :class:`~django_jobqueue.engine.bulk.SelectionExpired` when the
    recorded jobs are gone (an hour has passed, or they were acted on already).
    """
    if slug == "queued":
        if action != "delete":
            raise ValueError("Queued jobs can only be deleted.")
        return queue.empty(batch=BATCH_SIZE), 0
    if action == "requeue":
        if slug not in REQUEUEABLE_LISTS:
            raise ValueError(f"Jobs that are {slug} cannot be requeued.")
        return bulk.requeue(queue, slug, token, batch=BATCH_SIZE)
    return bulk.delete(queue, slug, token, batch=BATCH_SIZE)
