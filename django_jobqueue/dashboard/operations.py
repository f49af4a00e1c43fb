"""Changing many jobs at once, in batches, without reading every id first.

Selected jobs: each batch is at most :data:`BATCH_SIZE` script calls sent in
one round trip. All the jobs of a registry: the confirmation records which
jobs it holds (:func:`select_all`), and the action works through that record,
:data:`BATCH_SIZE` jobs per script call (see :mod:`django_jobqueue.engine.bulk`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError

from ..engine import bulk, scripts
from ..engine.dependencies import release_dependents
from ..engine.utils import as_str, now

#: Jobs changed per round trip.
BATCH_SIZE = 1000

#: What each bulk action may be applied to.
REQUEUEABLE_LISTS = bulk.REQUEUEABLE


def requeue(queue: Any, ids: Iterable[str]) -> tuple[int, int]:
    """Requeue failed, stopped or canceled jobs; returns ``(requeued, skipped)``."""
    done = skipped = 0
    for chunk in _chunks(ids):
        batch = scripts.Batch(queue.connection)
        timestamp = now()
        for job_id in chunk:
            scripts.requeue(batch, queue.keys, queue.name, job_id, timestamp)
        for reply in batch.execute():
            if isinstance(reply, ResponseError):
                skipped += 1
            else:
                done += 1
    return done, skipped


def delete(queue: Any, ids: Iterable[str]) -> tuple[int, int]:
    """Delete jobs (and their ids everywhere); returns ``(deleted, already gone)``.

    Children waiting on a deleted job are told, as :meth:`Job.delete` does.
    """
    done = gone = 0
    for chunk in _chunks(ids):
        batch = scripts.Batch(queue.connection)
        for job_id in chunk:
            scripts.delete(batch, queue.keys, queue.name, job_id)
        for job_id, reply in zip(chunk, batch.execute()):
            if isinstance(reply, ResponseError):
                raise reply
            if not reply:
                gone += 1
                continue
            done += 1
            dependents = json.loads(as_str(reply[1]) or "[]")
            if dependents:
                release_dependents(
                    queue.connection,
                    queue.keys,
                    queue.keys.job(queue.name, job_id),
                    dependents,
                    "deleted",
                )
    return done, gone


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


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    chunk: list[str] = []
    for job_id in ids:
        chunk.append(job_id)
        if len(chunk) >= BATCH_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
