"""The engine's defaults under RQ's names (``rq.defaults``).

Each is defined where it is used; this module only gathers them.
"""

from __future__ import annotations

from .callbacks import DEFAULT_CALLBACK_TIMEOUT
from .vocabulary import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, DEFAULT_WORKER_TTL

#: Seconds a callback may run unless its :class:`~.callbacks.Callback` says otherwise.
CALLBACK_TIMEOUT = DEFAULT_CALLBACK_TIMEOUT

__all__ = ["CALLBACK_TIMEOUT", "DEFAULT_FAILURE_TTL", "DEFAULT_RESULT_TTL", "DEFAULT_WORKER_TTL"]
