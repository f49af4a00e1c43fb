"""The dashboard's bulk actions, as calls of the engine's bulk operations.

Selected jobs: :func:`~django_jobqueue.engine.bulk.requeue_many` and
:func:`~django_jobqueue.engine.bulk.delete_many`. All the jobs of a registry:
the confirmation records which jobs it holds (:func:`select_all`), and the
action works through that record (see :mod:`django_jobqueue.engine.bulk`).
All the jobs of a filtered list: :func:`select_matching` records only those
the filters match. Everything goes :data:`BATCH_SIZE` jobs per round trip or
script call.

Deleting a job whose dependents wait for it leaves them deferred for good
(unless they allow failures): :func:`stranded_by_ids` and
:func:`stranded_by_all` count them for the confirmation to warn.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

from ..engine import bulk
from ..engine.utils import as_shown, json_strings
from .pagination import JobFilter, dependents_of, list_parts, search, store_matches

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


def select_matching(queue: Any, slug: str, job_filter: JobFilter) -> tuple[str, int]:
    """Record the jobs of one list of ``queue`` that ``job_filter`` matches, as
    :func:`select_all` records them all; returns ``(token, count)``.

    The queue itself is not recorded (token ""): the filter is applied again
    when the action runs (:func:`apply_to_all`), to what waits then.
    """
    if slug == "queued":
        count, _ids = search(queue, list_parts(queue, None), job_filter, 0)
        return "", count
    registry = queue.registries[slug]
    token = secrets.token_hex(16)
    key = queue.keys.selection(queue.name, slug, token)
    count = store_matches(queue, list_parts(queue, registry), job_filter, key, bulk.SELECTION_TTL)
    return token, count


def apply_to_all(
    queue: Any, slug: str, action: str, token: str, job_filter: JobFilter | None = None
) -> tuple[int, int]:
    """Apply ``action`` ("requeue" or "delete") to the jobs :func:`select_all` recorded.

    Each job that is still in the list is acted on once; one that left it
    since, or came back to it, is skipped. Returns ``(changed, skipped)``;
    raises :class:`~django_jobqueue.engine.bulk.SelectionExpired` when the
    recorded jobs are gone (an hour has passed, or they were acted on already).
    """
    if slug == "queued":
        if action != "delete":
            raise ValueError("Queued jobs can only be deleted.")
        if job_filter is not None and job_filter.narrows:
            parts = list_parts(queue, None)
            _count, ids = search(queue, parts, job_filter, sum(p.size for p in parts))
            return delete(queue, ids)
        return queue.empty(batch=BATCH_SIZE), 0
    if action == "requeue":
        if slug not in REQUEUEABLE_LISTS:
            raise ValueError(f"Jobs that are {slug} cannot be requeued.")
        return bulk.requeue(queue, slug, token, batch=BATCH_SIZE)
    return bulk.delete(queue, slug, token, batch=BATCH_SIZE)


def stranded_by_ids(queue: Any, ids: list[str]) -> int:
    """How many jobs would wait forever once the jobs ``ids`` of ``queue`` are deleted."""
    keys = [queue.keys.job(queue.name, job_id) for job_id in ids]
    pipe = queue.connection.pipeline(transaction=False)
    for key in keys:
        pipe.hget(key, "dependents")
    found = {key: as_shown(d) for key, d in zip(keys, pipe.execute()) if d and as_shown(d) != "[]"}
    leaving = set(keys)
    return _stranded(queue, found, lambda children: [c in leaving for c in children])


def stranded_by_all(queue: Any, slug: str, token: str, job_filter: JobFilter | None = None) -> int:
    """How many jobs would wait forever once all the jobs of a list (those
    ``job_filter`` matches, as recorded under ``token``) are deleted.

    One search.lua walk of the list finds the jobs that have dependents; a
    dependent that is deleted too (it is in the selection) is not counted.
    """
    registry = None if slug == "queued" else queue.registries[slug]
    parts = list_parts(queue, registry)
    found = {
        queue.keys.job(queue.name, job_id): dependents
        for job_id, dependents in dependents_of(queue, parts, job_filter or JobFilter()).items()
    }
    if not found:
        return 0
    if not token:  # the queue: its dependents wait in the deferred registry, never in it
        return _stranded(queue, found, lambda children: [False] * len(children))
    selection = queue.keys.selection(queue.name, slug, token)
    prefix = queue.keys.job_prefix(queue.name)

    def leaving(children: list[str]) -> list[bool]:
        pipe = queue.connection.pipeline(transaction=False)
        for child in children:
            pipe.zscore(selection, child.removeprefix(prefix))
        return [
            child.startswith(prefix) and score is not None
            for child, score in zip(children, pipe.execute())
        ]

    return _stranded(queue, found, leaving)


def _stranded(
    queue: Any, dependents: dict[str, str], leaving: Callable[[list[str]], list[bool]]
) -> int:
    """How many of the children listed in ``dependents`` (parent key: JSON list of
    child keys) still wait for one of those parents and do not allow failures:
    deleting the parent never releases them (see release.lua). ``leaving``
    says which children are deleted too."""
    waits_on: dict[str, set[str]] = {}
    for parent, text in dependents.items():
        for child in json_strings(text):
            waits_on.setdefault(child, set()).add(parent)
    children = sorted(waits_on)
    stranded = 0
    for start in range(0, len(children), BATCH_SIZE):
        chunk = children[start : start + BATCH_SIZE]
        pipe = queue.connection.pipeline(transaction=False)
        for child in chunk:
            pipe.hmget(child, "status", "allow_failure", "pending")
        gone = leaving(chunk)
        for child, (status, allow, pending), deleted in zip(chunk, pipe.execute(), gone):
            if deleted or as_shown(status) != "deferred" or as_shown(allow) == "1":
                continue
            if set(json_strings(pending)) & waits_on[child]:
                stranded += 1
    return stranded
