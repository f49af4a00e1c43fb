"""Parent/child links between jobs, possibly across queues.

A child is written first (deferred, with the parents it still waits for in its
``pending`` field), then announced to each parent with ``add_dependent``, which
returns the parent's status in the same atomic step. So either the parent sees
the child when it ends and releases it, or the child's enqueuer sees the parent
already ended and releases it; ``release`` is idempotent, so both is harmless.
Each step touches one queue's keys only, which keeps cross-queue chains legal on
Redis Cluster.
"""

from __future__ import annotations

from typing import Any

from . import scripts
from .job import Dependency, Job, split_depends_on
from .parents import ENDED, locate, register, satisfies
from .scripts import release_dependents
from .utils import now

#: ``(parents, allow_failure, enqueue_at_front)`` from any form ``depends_on`` takes.
normalize = split_depends_on


def release_children(
    job: Job, status: Any, exclude_job_id: str | None = None
) -> dict[str, list[str]]:
    """Tell ``job``'s dependents that it ended with ``status``; returns those queued, by queue.

    Each still waits for its other parents, and a status other than
    ``finished`` releases only those that allow a failed parent; a status
    that is no end (``queued``, ...) releases none. For
    :meth:`Queue.enqueue_dependents`; workers release dependents themselves.
    """
    if status not in ENDED:
        return {}
    children = [
        key
        for key in job.dependent_keys()
        if exclude_job_id is None or job.keys.split_job_key(key)[1] != exclude_job_id
    ]
    batch = scripts.Batch(job.connection)
    timestamp = now()
    for child_key in children:
        scripts.release(batch, job.keys, child_key, job.key, str(status), timestamp)
    queued: dict[str, list[str]] = {}
    for child_key, entered in zip(children, batch.execute()):
        if entered == 1:
            queue, child_id = job.keys.split_job_key(child_key)
            queued.setdefault(queue, []).append(child_id)
    return queued


__all__ = [
    "ENDED",
    "Dependency",
    "locate",
    "normalize",
    "register",
    "release_children",
    "release_dependents",
    "satisfies",
]
