"""Changing many jobs at once, in batches, without reading every id first.

Each batch is at most :data:`BATCH_SIZE` script calls sent in one round trip.
"All matching" walks a list from its head: jobs that were handled leave it, so
the next batch again starts at the head, past the ones that could not be.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError

from ..engine import scripts
from ..engine.dependencies import release_dependents
from ..engine.utils import as_str, now

#: Jobs changed per round trip.
BATCH_SIZE = 1000

#: What each bulk action may be applied to.
REQUEUEABLE_LISTS = ("failed", "canceled")


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


def apply_to_all(queue: Any, slug: str, action: str) -> tuple[int, int]:
    """Apply ``action`` ("requeue" or "delete") to every job of one list of ``queue``.

    Returns ``(changed, skipped)``.
    """
    if slug == "queued":
        if action != "delete":
            raise ValueError("Queued jobs can only be deleted.")
        return queue.empty(batch=BATCH_SIZE), 0
    if action == "requeue" and slug not in REQUEUEABLE_LISTS:
        raise ValueError(f"Jobs that are {slug} cannot be requeued.")
    registry = queue.registries[slug]
    operation = requeue if action == "requeue" else delete
    changed = skipped = 0
    offset = 0
    while True:
        ids = registry.get_job_ids(offset, offset + BATCH_SIZE - 1)
        if not ids:
            return changed, skipped
        done, not_done = operation(queue, ids)
        changed += done
        if operation is requeue:
            # Jobs that could not be requeued stay in the registry: step past them.
            # (Deleting removes every id, even one whose job had vanished.)
            skipped += not_done
            offset += not_done


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    chunk: list[str] = []
    for job_id in ids:
        chunk.append(job_id)
        if len(chunk) >= BATCH_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
