"""Redis clients built from the settings, one per distinct connection config.

Queues whose connection options are equal share one client (and so one
connection pool), however many queues a project configures.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from .conf import ConnectionConfig, get_settings
from .engine.connection import OWN_KEYWORDS, accepted_kwargs, connection_class, keywords

_clients: dict[Any, Any] = {}
_lock = threading.Lock()


def _cache_key(config: ConnectionConfig) -> Any:
    """The config itself, or its repr when CONNECTION_KWARGS/SENTINEL_KWARGS hold lists or dicts."""
    try:
        hash(config)
    except TypeError:
        return repr(config)
    return config


def get_connection(name: str = "default") -> Any:
    """The Redis client of queue ``name`` (shared with queues configured alike)."""
    config = get_settings().queue(name).connection
    key = _cache_key(config)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = build_client(config)
    return client


#: Set unless CONNECTION_KWARGS (or the URL) says otherwise. Without a connect
#: timeout, a Redis behind a dropped route holds an enqueue, and so the web
#: request making it, for the system's TCP connect timeout: minutes on Linux.
#: Keepalive lets the OS notice a peer that vanished from an idle connection.
#: No read timeout: what a command may take is the caller's to decide.
CLIENT_DEFAULTS: dict[str, Any] = {"socket_connect_timeout": 5, "socket_keepalive": True}


def _connection_class_of(config: ConnectionConfig) -> type:
    if config.url:
        scheme = urlsplit(config.url).scheme
        return connection_class(unix=scheme == "unix", ssl=scheme == "rediss")
    return connection_class(unix=bool(config.unix_socket_path), ssl=config.ssl)


def build_client(config: ConnectionConfig) -> Any:
    """A redis-py client for ``config``: ``Redis``, a Sentinel-managed master, or ``RedisCluster``.

    USERNAME and PASSWORD (Redis ACL) and SSL reach every kind; a URL carries
    its own (``rediss://user:password@host``).
    """
    # Only the defaults its connection class takes: a Unix socket refuses socket_keepalive.
    accepted = keywords(_connection_class_of(config))
    defaults = {k: v for k, v in CLIENT_DEFAULTS.items() if k in accepted}
    kwargs: dict[str, Any] = {**defaults, **dict(config.kwargs)}
    if config.ssl and not (config.url or config.unix_socket_path):
        kwargs["ssl"] = True
        if config.ssl_cert_reqs is not None:
            kwargs["ssl_cert_reqs"] = config.ssl_cert_reqs
    if config.cluster:
        # Connects at once, to learn the cluster's nodes and slots from this one.
        if config.url:
            return RedisCluster.from_url(config.url, **kwargs)
        return RedisCluster(
            host=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            **kwargs,
        )
    if config.sentinels:
        if not config.master_name:  # manage.py check reports it as E010
            raise ValueError("SENTINELS needs MASTER_NAME: the name the sentinels know it by.")
        if config.password is not None:
            kwargs.setdefault("password", config.password)
        if config.username is not None:
            kwargs.setdefault("username", config.username)
        sentinel = Sentinel(
            list(config.sentinels),
            sentinel_kwargs={**CLIENT_DEFAULTS, **dict(config.sentinel_kwargs)},
            **kwargs,
        )
        return sentinel.master_for(config.master_name, db=config.db)
    if config.url:
        return redis.Redis.from_url(config.url, **kwargs)
    if config.unix_socket_path:
        return redis.Redis(
            unix_socket_path=config.unix_socket_path,
            db=config.db,
            username=config.username,
            password=config.password,
            **kwargs,
        )
    return redis.Redis(
        host=config.host,
        port=config.port,
        db=config.db,
        username=config.username,
        password=config.password,
        **kwargs,
    )


def clear() -> None:
    """Forget every client (settings changed); open connections are closed."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:
            pass


__all__ = [
    "CLIENT_DEFAULTS",
    "OWN_KEYWORDS",
    "accepted_kwargs",
    "build_client",
    "clear",
    "connection_class",
    "get_connection",
    "keywords",
]
