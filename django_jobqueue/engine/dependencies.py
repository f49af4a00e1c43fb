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

from .job import Dependency, split_depends_on
from .parents import ENDED, locate, register, satisfies
from .scripts import release_dependents

#: ``(parents, allow_failure, enqueue_at_front)`` from any form ``depends_on`` takes.
normalize = split_depends_on


__all__ = [
    "ENDED",
    "Dependency",
    "locate",
    "normalize",
    "register",
    "release_dependents",
    "satisfies",
]
