"""RQ's ``rq.connections`` names, for code written for RQ: see :mod:`.connection`."""

from __future__ import annotations

from .connection import get_connection_kwargs, parse_connection

__all__ = ["get_connection_kwargs", "parse_connection"]
