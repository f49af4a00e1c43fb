"""RQ's ``rq.suspension``: stop every worker on a Redis from taking jobs, and let them go on.

A suspended worker finishes the job it runs and then waits, still
heartbeating, until :func:`resume` (or the ``ttl`` runs out). The flag is one
key per key prefix (see :mod:`.stats`, where ``rqsuspend`` and the
dashboard set it too).
"""

from __future__ import annotations

from typing import Any

from . import stats
from .connection import resolve_connection
from .keys import keyspace


def suspend(connection: Any = None, ttl: int | None = None, prefix: str | None = None) -> None:
    """Suspend the workers (for ``ttl`` seconds; None: until :func:`resume`)."""
    stats.suspend(resolve_connection(connection), keyspace(prefix), ttl)


def resume(connection: Any = None, prefix: str | None = None) -> None:
    stats.resume(resolve_connection(connection), keyspace(prefix))


def is_suspended(connection: Any = None, worker: Any = None, prefix: str | None = None) -> bool:
    """Whether workers are suspended; ``worker`` (RQ's argument) gives the prefix, if any."""
    if worker is not None and prefix is None:
        prefix = worker.keys.prefix
    return stats.is_suspended(resolve_connection(connection), keyspace(prefix))
