"""RQ's ``rq.connections`` import path: the helpers live in :mod:`.connection`."""

from .connection import get_connection_kwargs, parse_connection

__all__ = ["get_connection_kwargs", "parse_connection"]
