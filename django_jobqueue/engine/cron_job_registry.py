"""The names of RQ-style cron jobs (``rq.cron_job_registry``), newest enqueue last.

One sorted set (``KeySpace.cron_job_names``) maps each
:class:`~.cron_scheduler.CronJob` name to the UNIX time it last enqueued a job,
so a monitor can list the cron jobs in use without asking every scheduler.
Names that have not enqueued for :data:`DEFAULT_CRON_JOB_HISTORY_TTL` seconds
age out, on the same clock as the job histories they point to.
"""

from __future__ import annotations

import time
from typing import Any

from .keys import keyspace
from .utils import as_str

#: Seconds a cron job's history (and its name here) outlives its last enqueue: a year.
DEFAULT_CRON_JOB_HISTORY_TTL = 365 * 24 * 3600
#: Job ids kept in one cron job's history, newest first.
DEFAULT_CRON_JOB_HISTORY_LIMIT = 1000


def get_registry_key(prefix: str | None = None) -> str:
    """The key of the sorted set of cron job names."""
    return keyspace(prefix).cron_job_names


def add(
    name: str,
    connection: Any,
    enqueue_timestamp: float | None = None,
    prefix: str | None = None,
) -> None:
    """Record that the cron job ``name`` enqueued a job (at ``enqueue_timestamp``, default now).

    Args:
        name: the cron job's name; names may be shared, so adding one again
            only moves its time.
        connection: a Redis client or a pipeline (then nothing is sent until
            the pipeline executes).
        enqueue_timestamp: UNIX time of the enqueue.
        prefix: the key prefix.
    """
    connection.zadd(get_registry_key(prefix), {name: enqueue_timestamp or time.time()})


def get_names(connection: Any, cleanup: bool = True, prefix: str | None = None) -> list[str]:
    """The recorded names, the one that enqueued longest ago first.

    Args:
        cleanup: drop stale names first (see :func:`remove_stale_entries`).
    """
    if cleanup:
        remove_stale_entries(connection, prefix=prefix)
    return [as_str(name) for name in connection.zrange(get_registry_key(prefix), 0, -1)]


def remove_stale_entries(
    connection: Any, threshold: float = DEFAULT_CRON_JOB_HISTORY_TTL, prefix: str | None = None
) -> int:
    """Drop the names that last enqueued more than ``threshold`` seconds ago; returns how many."""
    return int(connection.zremrangebyscore(get_registry_key(prefix), 0, time.time() - threshold))


__all__ = [
    "DEFAULT_CRON_JOB_HISTORY_LIMIT",
    "DEFAULT_CRON_JOB_HISTORY_TTL",
    "add",
    "get_names",
    "get_registry_key",
    "remove_stale_entries",
]
