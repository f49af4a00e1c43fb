"""Which Redis client the engine talks to when none is passed."""

from __future__ import annotations

from typing import Any

import redis

from .errors import JobQueueError

_default: redis.Redis | None = None


def resolve_connection(connection: Any = None) -> Any:
    """Return ``connection``, or a shared client for ``redis://127.0.0.1:6379/0``.

    The engine stores binary payloads, so clients that decode replies are refused
    with a message instead of failing later on a pickled value.
    """
    global _default
    if connection is None:
        if _default is None:
            _default = redis.Redis()
        return _default
    kwargs = getattr(getattr(connection, "connection_pool", None), "connection_kwargs", {})
    if kwargs.get("decode_responses"):
        raise JobQueueError(
            "This Redis client has decode_responses=True; job payloads are binary. "
            "Pass a client made without decode_responses."
        )
    return connection
