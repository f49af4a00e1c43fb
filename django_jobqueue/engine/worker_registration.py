"""RQ's ``rq.worker_registration``: listing workers, and forgetting dead ones.

A worker is registered by its registration hash (``keys.worker(name)``),
which each heartbeat writes and which expires when the heartbeats stop, and
by its name in the set of workers (``keys.workers``). The queues it serves
are a field of the hash; there is no set of workers per queue, so
:func:`get_keys` of a queue reads the registrations. Workers register and
unregister themselves; these functions are for code that manages workers
by hand, as RQ's are.
"""

from __future__ import annotations

from typing import Any

from .connection import resolve_connection
from .keys import keyspace
from .live import all_workers
from .utils import as_str, now

#: The key of the set of workers' names (under the default prefix).
REDIS_WORKER_KEYS = keyspace().workers
#: The most names one SREM removes (a huge set is cleaned in several commands).
MAX_KEYS = 1000


def register(worker: Any, pipeline: Any = None) -> None:
    """Write ``worker``'s registration and list it, as its heartbeat does.

    With ``pipeline``, the commands are queued on it (the caller executes it).
    """
    if pipeline is None:
        worker.heartbeat()
        return
    fields = {**worker.registration(), **worker.beat_fields(), "last_heartbeat": repr(now())}
    pipeline.hset(worker.key, mapping=fields)
    pipeline.expire(worker.key, int(worker.worker_ttl) + 1)
    if worker.listed:
        pipeline.sadd(worker.keys.workers, worker.name)


def unregister(worker: Any, pipeline: Any = None) -> None:
    """Remove ``worker``'s registration and its name from the set of workers, together.

    With ``pipeline``, the commands are queued on it (the caller executes it).
    """
    client = pipeline if pipeline is not None else worker.connection.pipeline()
    client.srem(worker.keys.workers, worker.name)
    client.delete(worker.key)
    if pipeline is None:
        client.execute()


def get_keys(queue: Any = None, connection: Any = None, prefix: str | None = None) -> set[str]:
    """The registration keys of the live workers, or of those serving ``queue``.

    Raises:
        ValueError: neither ``queue`` nor ``connection`` was given.
    """
    if queue is None and connection is None:
        raise ValueError('"queue" or "connection" argument is required')
    if queue is not None:
        connection, prefix = queue.connection, queue.keys.prefix
    ks = keyspace(prefix)
    keys = set()
    for fields in all_workers(connection, prefix):
        if queue is None or queue.name in (fields.get("queues") or "").split(","):
            keys.add(ks.worker(fields.get("name", "")))
    return keys


def clean_worker_registry(queue: Any) -> int:
    """Drop the names of workers whose registration expired (they died); returns how many.

    One EXISTS of all the registrations answers the usual case, where all
    are alive; only otherwise is each looked at. The set of workers is
    shared by all queues, so ``queue`` only names the connection and prefix.
    """
    connection = resolve_connection(queue.connection)
    ks = queue.keys
    names = sorted(as_str(n) for n in connection.smembers(ks.workers))
    keys = [ks.worker(name) for name in names]
    if not keys or connection.exists(*keys) == len(keys):
        return 0
    pipe = connection.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    gone = [name for name, alive in zip(names, pipe.execute()) if not alive]
    for start in range(0, len(gone), MAX_KEYS):
        connection.srem(ks.workers, *gone[start : start + MAX_KEYS])
    return len(gone)


__all__ = [
    "MAX_KEYS",
    "REDIS_WORKER_KEYS",
    "clean_worker_registry",
    "get_keys",
    "register",
    "unregister",
]
