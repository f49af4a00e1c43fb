"""Which Redis client the engine talks to when none is passed."""

from __future__ import annotations

import inspect
import logging
import time
import weakref
from collections.abc import Iterable
from functools import cache
from typing import Any

import redis
from redis.cluster import ClusterPipeline, RedisCluster
from redis.connection import Connection, ConnectionPool, SSLConnection, UnixDomainSocketConnection
from redis.crc import key_slot
from redis.exceptions import ClusterDownError, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import JobQueueError

_default: redis.Redis | None = None

#: Errors meaning that Redis cannot answer for now, not that a command is wrong:
#: a lost connection or a timeout, and on Redis Cluster a slot whose master is
#: failing over (CLUSTERDOWN, TRYAGAIN, a slot no known node serves yet). A
#: command that met one of them did not run, so it may be sent again.
UNAVAILABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    SlotNotCoveredError,
    TryAgainError,
)


def resolve_connection(connection: Any = None) -> Any:
    """Return ``connection``, or a shared client for ``redis://127.0.0.1:6379/0``.

    The engine stores binary payloads, so clients that decode replies are refused
    with a message instead of failing later on a pickled value.
    """
    global _default, _vetted
    if connection is None:
        if _default is None:
            _default = redis.Redis()
        return _default
    if connection is _vetted():  # every job a worker loads passes here
        return connection
    kwargs = getattr(getattr(connection, "connection_pool", None), "connection_kwargs", {})
    if is_cluster(connection):  # a cluster client has no pool of its own
        kwargs = {"decode_responses": connection.get_encoder().decode_responses}
    if kwargs.get("decode_responses"):
        raise JobQueueError(
            "This Redis client has decode_responses=True; job payloads are binary. "
            "Pass a client made without decode_responses."
        )
    try:
        _vetted = weakref.ref(connection)
    except TypeError:  # an object that cannot be weakly referenced: just not cached
        pass
    return connection


#: Keywords redis-py adds to a pool's connection keywords that describe that
#: pool's own state in this process (some hold locks): never carried over.
RUNTIME_POOL_KWARGS = frozenset(
    {
        "maint_notifications_config",
        "maint_notifications_pool_handler",
        "event_dispatcher",
        "himport_registry",
        "orig_host_address",
        "orig_socket_timeout",
        "orig_socket_connect_timeout",
    }
)


def parse_connection(connection: Any) -> tuple[type, type, dict[str, Any]]:
    """``(client class, pool's connection class, pool keywords)``: what rebuilds ``connection``.

    RQ's ``rq.connections.parse_connection``: ``cls(connection_pool=
    ConnectionPool(connection_class=conn_class, **kwargs))`` connects as
    ``connection`` does, in another process too. The keywords are the pool's,
    without redis-py's sentinels for "the default" (a fresh pool applies its
    own) and without what describes the pool's own state.
    """
    pool = connection.connection_pool
    kwargs = {
        key: value
        for key, value in pool.connection_kwargs.items()
        if key not in RUNTIME_POOL_KWARGS and type(value) is not object
    }
    return type(connection), pool.connection_class, kwargs


def get_connection_kwargs(connection: Any) -> dict[str, Any]:
    """The keyword arguments ``redis.Redis(**kwargs)`` takes to connect as ``connection`` does.

    For a process that must open its own client (RQ's
    ``rq.connections.get_connection_kwargs``). Only the keywords
    ``redis.Redis`` takes are kept: a pool also holds some of its own.
    """
    pool = connection.connection_pool
    kwargs = dict(pool.connection_kwargs)
    if "path" in kwargs:  # a Unix socket's pool names it "path"
        kwargs["unix_socket_path"] = kwargs.pop("path")
    if issubclass(pool.connection_class, SSLConnection):
        kwargs["ssl"] = True
    allowed = keywords(redis.Redis)
    # redis-py marks some keywords it was not given (socket_keepalive_options)
    # with a bare object() it knows by identity: passed on, it is taken as a value.
    return {k: v for k, v in kwargs.items() if k in allowed and type(v) is not object}


def _nothing() -> None:
    return None


#: The last client resolve_connection accepted.
_vetted: Any = _nothing


#: is_cluster's answer per client class.
_cluster_classes: dict[type, bool] = {}


def is_cluster(client: Any) -> bool:
    """Whether ``client`` talks to a Redis Cluster (a ``RedisCluster`` or its pipeline).

    On a cluster every command and script must keep to one hash slot: the
    engine then takes jobs one queue at a time (see :meth:`.Worker.dequeue`).
    Asked on every enqueue; redis-py's cluster classes derive from a
    ``Protocol``, whose ``isinstance`` costs more than the rest of the
    question, so the answer is kept per class (it depends on nothing else).
    """
    kind = client.__class__  # as isinstance sees it (a mock with a spec, say)
    answer = _cluster_classes.get(kind)
    if answer is None:
        answer = _cluster_classes[kind] = isinstance(client, (RedisCluster, ClusterPipeline))
    return answer


def one_slot(client: Any, keys: Iterable[str]) -> bool:
    """Whether one script may touch all of ``keys``: always on plain Redis, and on
    a cluster when they hash to the same slot (queues whose names share a hash
    tag, say)."""
    return not is_cluster(client) or len({key_slot(k.encode()) for k in keys}) <= 1


logger = logging.getLogger("django_jobqueue.worker")

#: How many times a connection to Redis was found lost in this process; a
#: caller compares it before and after a call to learn that the call was retried.
outages = 0


def call_with_reconnect(
    func: Any, *args: Any, name: str = "Worker", give_up: Any = lambda: False
) -> Any:
    """Call ``func(*args)``; while Redis is unreachable, wait and try again.

    The wait doubles from 0.1 s up to 5 s. One warning is logged when the
    connection is lost and one when it is back, not one per attempt.
    ``give_up()`` returning True re-raises instead (a worker shutting down).
    """
    global outages
    delay = 0.1
    down = False
    while True:
        try:
            result = func(*args)
        except UNAVAILABLE as exc:
            if give_up():
                raise
            if not down:
                outages += 1
                down = True
                logger.warning("%s: lost connection to Redis (%s); retrying", name, exc)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if down:
            logger.warning("%s: connection to Redis is back", name)
        return result


# -- which keyword arguments a client takes ------------------------------------
#
# The Django layer builds clients from settings and checks CONNECTION_KWARGS
# against these before any client is made.


@cache
def keywords(cls: type) -> frozenset[str]:
    """The keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up its bases."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    names.discard("self")
    return frozenset(names)


def connection_class(*, unix: bool, ssl: bool) -> type:
    """The redis-py connection class that carries a queue's commands."""
    if unix:
        return UnixDomainSocketConnection
    return SSLConnection if ssl else Connection


#: Set by a queue's own options (HOST, PORT, DB, ... or the URL), never by CONNECTION_KWARGS.
OWN_KEYWORDS = frozenset(
    {"host", "port", "db", "username", "password", "path", "unix_socket_path", "url", "ssl"}
    | {"connection_pool"}
)


def accepted_kwargs(*, unix: bool, ssl: bool, cluster: bool) -> frozenset[str]:
    """Which CONNECTION_KWARGS keys a queue's client takes.

    Those of its connection class (a Unix socket takes no TCP keepalive, a
    plain connection no ``ssl_*``), plus those the client or its pool takes
    for itself (``max_connections``, ``single_connection_client``, ...), or
    RedisCluster's own; never a key that the queue's options set.
    """
    per_connection = keywords(Connection) | keywords(SSLConnection)
    per_connection |= keywords(UnixDomainSocketConnection)
    own = (keywords(redis.Redis) | keywords(ConnectionPool)) - per_connection
    own |= {"single_connection_client"}
    if cluster:
        from redis import cluster as cluster_module

        own |= keywords(RedisCluster)
        allowed = getattr(cluster_module, "REDIS_ALLOWED_KEYS", ())
        own |= set(allowed) - set(getattr(cluster_module, "KWARGS_DISABLED_KEYS", ()))
    return (own | keywords(connection_class(unix=unix, ssl=ssl))) - OWN_KEYWORDS
