"""Requeue or delete every job a registry holds, as it was at one moment.

Acting on "everything in the failed registry" while workers run is a moving
target: a requeued job can fail again and come back before the walk ends. So
the work is split in two. :func:`select` records the registry's entries at
one moment in a *selection* (a sorted set beside the registry, kept for
:data:`SELECTION_TTL` seconds), which is what a person confirms. :func:`requeue`
and :func:`delete` then take ids off that selection, one batch per script call,
and act on each one that is still in the registry at that moment. Each recorded
job is acted on at most once, even when two requests act on the same selection:
a job that came back to the registry since is not in the selection any more,
and a job that entered it after the selection was made never was.

Jobs picked by id (a person ticked them) need no selection:
:func:`requeue_many` and :func:`delete_many` send one script call per job,
:data:`BATCH_SIZE` of them per round trip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from . import scripts
from .dependencies import release_dependents
from .errors import JobQueueError
from .utils import as_str, now

#: Seconds a selection is kept for the operation that confirms it.
SELECTION_TTL = 3600

#: Jobs changed per script call: short enough never to hold Redis up for long.
BATCH_SIZE = 1000

#: The registries whose jobs can be requeued.
REQUEUEABLE = ("failed", "canceled")

#: Registries whose scores are expiry times (entries at or below "now" are gone).
_EXPIRING = ("finished", "failed", "canceled")


class SelectionExpired(JobQueueError):
    """The selection is gone: it expired, or was used up."""


@dataclass(frozen=True)
class Selection:
    """The jobs a registry held at one moment: ``token`` names them, ``count`` says how many."""

    token: str
    count: int


def _key(queue: Any, kind: str, token: str) -> str:
    return queue.keys.selection(queue.name, kind, token)


def _live_min(kind: str) -> str:
    return repr(now()) if kind in _EXPIRING else ""


def select(queue: Any, kind: str, keep_for: int = SELECTION_TTL) -> Selection:
    """Record the jobs registry ``kind`` of ``queue`` holds now (expired entries left out)."""
    token = secrets.token_hex(16)
    count = scripts.bulk_select(
        queue.connection,
        queue.keys,
        queue.name,
        kind,
        _key(queue, kind, token),
        keep_for,
        _live_min(kind),
    )
    return Selection(token, count)


def remaining(queue: Any, kind: str, token: str) -> int:
    """How many ids of the selection are still to be acted on (0 once used up or expired)."""
    return int(queue.connection.zcard(_key(queue, kind, token)))


def requeue(queue: Any, kind: str, token: str, batch: int = BATCH_SIZE) -> tuple[int, int]:
    """Requeue the selected jobs still in registry ``kind``; returns ``(requeued, skipped)``.

    Skipped: jobs that left the registry since they were selected, or can no
    longer be requeued. Raises :class:`SelectionExpired` when nothing is left
    of the selection.
    """
    if kind not in REQUEUEABLE:
        raise ValueError(f"Jobs that are {kind} cannot be requeued; only failed and canceled ones.")
    return _run(queue, kind, token, "requeue", batch)


def delete(queue: Any, kind: str, token: str, batch: int = BATCH_SIZE) -> tuple[int, int]:
    """Delete the selected jobs still in registry ``kind``; returns ``(deleted, skipped)``.

    Children waiting on a deleted job are told, as :meth:`Job.delete` does.
    Raises :class:`SelectionExpired` when nothing is left of the selection.
    """
    return _run(queue, kind, token, "delete", batch)


def _run(queue: Any, kind: str, token: str, step: str, batch: int) -> tuple[int, int]:
    key = _key(queue, kind, token)
    if not queue.connection.exists(key):
        raise SelectionExpired(
            "This selection of jobs is gone: it expired or was already used. Select the jobs again."
        )
    done = skipped = 0
    while True:
        reply = scripts.bulk_step(
            queue.connection, queue.keys, queue.name, kind, key, step, batch, now(), _live_min(kind)
        )
        done += int(reply[0])
        skipped += int(reply[1])
        for job_id, dependents in zip(reply[3::2], reply[4::2]):
            release_dependents(
                queue.connection,
                queue.keys,
                queue.keys.job(queue.name, as_str(job_id)),
                dependents,
                "deleted",
            )
        if not int(reply[2]):
            return done, skipped


def requeue_many(queue: Any, ids: Iterable[str], batch: int = BATCH_SIZE) -> tuple[int, int]:
    """Requeue failed, stopped or canceled jobs of ``queue`` by id; returns ``(requeued, skipped)``.

    Skipped: jobs that are gone or can no longer be requeued (they are left
    as they are). Each batch of ``batch`` ids is one round trip.
    """
    done = skipped = 0
    for chunk in _chunks(ids, batch):
        calls = scripts.Batch(queue.connection)
        timestamp = now()
        for job_id in chunk:
            scripts.requeue(calls, queue.keys, queue.name, job_id, timestamp)
        for reply in calls.execute():
            if isinstance(reply, ResponseError):
                skipped += 1
            else:
                done += 1
    return done, skipped


def delete_many(queue: Any, ids: Iterable[str], batch: int = BATCH_SIZE) -> tuple[int, int]:
    """Delete jobs of ``queue`` by id, and their ids everywhere; returns ``(deleted, gone)``.

    Gone: jobs that were already deleted or expired.

    Children waiting on a deleted job are told, as :meth:`Job.delete` does.
    Each batch of ``batch`` ids is one round trip (and one more to tell the
    children, when a deleted job had any).
    """
    done = gone = 0
    for chunk in _chunks(ids, batch):
        calls = scripts.Batch(queue.connection)
        for job_id in chunk:
            scripts.delete(calls, queue.keys, queue.name, job_id)
        for job_id, reply in zip(chunk, calls.execute()):
            if isinstance(reply, ResponseError):
                raise reply
            if not reply:
                gone += 1
                continue
            done += 1
            dependents = reply[1]  # JSON as stored: release_dependents reads it
            if dependents:
                release_dependents(
                    queue.connection,
                    queue.keys,
                    queue.keys.job(queue.name, job_id),
                    dependents,
                    "deleted",
                )
    return done, gone


def _chunks(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for job_id in ids:
        chunk.append(job_id)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
