"""Finding a job's parents and announcing a child to them (see :mod:`.dependencies`).

Apart from :mod:`.dependencies` so that :class:`~.job.Job` can use it too
(``register_dependency``) without an import cycle: parents come as job
objects or ids, and a job is told from an id by not being a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from . import scripts
from .errors import NoSuchJobError
from .keys import KeySpace
from .utils import as_shown, now, text_members
from .vocabulary import JobStatus

#: Parent statuses after which a child no longer waits.
ENDED = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})


def satisfies(status: str | None, allow_failure: bool) -> bool:
    """Whether a parent with ``status`` (None: gone) no longer holds its child back."""
    return status in (JobStatus.FINISHED, None) or (allow_failure and status in ENDED)


def locate(connection: Any, ks: KeySpace, parents: Sequence[Any]) -> list[tuple[str, str | None]]:
    """Return ``(job key, status)`` for each parent job or id, in one or two round trips.

    A parent given as a :class:`Job` that was stored but is gone now
    (deleted, or expired with its result) has status None, which counts as
    met, as in RQ: a parent whose result was kept for 0 seconds has finished.

    Raises:
        NoSuchJobError: an id that no queue holds, or a Job never stored.
            RQ takes those as met too; here they are refused, since a typo in
            an id would otherwise run the child at once.
    """
    candidates: list[list[str]] = []
    queues: list[str] | None = None
    for parent in parents:
        if not isinstance(parent, str):  # a Job (Dependency takes jobs and ids only)
            candidates.append([parent.key])
        else:
            if queues is None:
                queues = sorted(text_members(connection.smembers(ks.queues))[0])
            candidates.append([ks.job(q, parent) for q in queues])
    pipe = connection.pipeline(transaction=False)
    for keys in candidates:
        for key in keys:
            pipe.hget(key, "status")
    replies = iter(pipe.execute())
    found = []
    for parent, keys in zip(parents, candidates):
        hits = [(key, as_shown(status)) for key, status in zip(keys, replies) if status is not None]
        if hits:
            found.append(hits[0])
        elif not isinstance(parent, str) and parent.stored:
            found.append((parent.key, None))  # it was stored once: gone since
        else:
            job_id = parent if isinstance(parent, str) else parent.id
            raise NoSuchJobError(
                f"depends_on names job {job_id!r}, which no queue holds: check the id."
            )
    return found


def register(
    connection: Any, ks: KeySpace, child_key: str, pending: Iterable[str], allow_failure: bool
) -> None:
    """Announce a freshly written deferred child to the parents it waits for."""
    pending = list(pending)
    batch = scripts.Batch(connection)
    for parent_key in pending:
        scripts.add_dependent(batch, ks, parent_key, child_key)
    ended = [
        (parent_key, as_shown(status))
        for parent_key, status in zip(pending, batch.execute())
        if status is None or as_shown(status) in ENDED
    ]
    # Parents that ended (or vanished) while the child was being written.
    for parent_key, status in ended:
        outcome = status if status in ENDED else "deleted"
        scripts.release(connection, ks, child_key, parent_key, outcome, now())


__all__ = ["ENDED", "locate", "register", "satisfies"]
