"""The live RQ-style cron schedulers (``rq.cron_scheduler_registry``).

One sorted set (``KeySpace.cron_schedulers``) holds the name of every running
:class:`~.cron_scheduler.CronScheduler`, scored by its last heartbeat. A
scheduler silent for :data:`DEFAULT_CRON_SCHEDULER_TTL` seconds is dead:
:func:`cleanup` drops it, and its description hash has expired by then too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import DuplicateSchedulerError, SchedulerNotFound
from .keys import keyspace
from .utils import as_str

if TYPE_CHECKING:
    from .cron_scheduler import CronScheduler

#: Seconds without a heartbeat after which a cron scheduler counts as dead.
DEFAULT_CRON_SCHEDULER_TTL = 120


def get_registry_key(prefix: str | None = None) -> str:
    """The key of the sorted set of cron scheduler names."""
    return keyspace(prefix).cron_schedulers


def register(cron_scheduler: CronScheduler, pipeline: Any = None) -> None:
    """Add ``cron_scheduler`` to the registry, scored now.

    Raises:
        DuplicateSchedulerError: a scheduler of that name is registered
            already. Through a ``pipeline`` the reply only comes when it
            executes, so then this cannot be told and is not raised.
    """
    connection = cron_scheduler.connection if pipeline is None else pipeline
    added = connection.zadd(
        cron_scheduler.keys.cron_schedulers, {cron_scheduler.name: time.time()}, nx=True
    )
    if pipeline is None and not added:
        raise DuplicateSchedulerError(
            f"A cron scheduler named {cron_scheduler.name!r} is registered already; "
            "give each running scheduler its own name."
        )


def unregister(cron_scheduler: CronScheduler, pipeline: Any = None) -> None:
    """Remove ``cron_scheduler`` from the registry.

    Raises:
        SchedulerNotFound: it was not registered (not raised through a ``pipeline``).
    """
    connection = cron_scheduler.connection if pipeline is None else pipeline
    removed = connection.zrem(cron_scheduler.keys.cron_schedulers, cron_scheduler.name)
    if pipeline is None and not removed:
        raise SchedulerNotFound(f"No cron scheduler named {cron_scheduler.name!r} is registered.")


def get_keys(connection: Any, prefix: str | None = None) -> list[str]:
    """The registered schedulers' names, the longest silent first."""
    return [as_str(name) for name in connection.zrange(get_registry_key(prefix), 0, -1)]


def cleanup(
    connection: Any, threshold: float = DEFAULT_CRON_SCHEDULER_TTL, prefix: str | None = None
) -> int:
    """Drop the schedulers silent for more than ``threshold`` seconds; returns how many."""
    return int(connection.zremrangebyscore(get_registry_key(prefix), 0, time.time() - threshold))


__all__ = [
    "DEFAULT_CRON_SCHEDULER_TTL",
    "cleanup",
    "get_keys",
    "get_registry_key",
    "register",
    "unregister",
]
