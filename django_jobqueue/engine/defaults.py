"""The engine's defaults under RQ's names (``rq.defaults``).

Each is defined where it is used; this module only gathers them. The values
are ours where they differ from RQ's: a worker looks at a running job and
does its housekeeping every second, not every 30 s and 10 min.
"""

from __future__ import annotations

from .callbacks import DEFAULT_CALLBACK_TIMEOUT
from .vocabulary import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, DEFAULT_WORKER_TTL
from .worker.base import MAINTENANCE_INTERVAL, STOP_POLL_INTERVAL

#: Seconds a callback may run unless its :class:`~.callbacks.Callback` says otherwise.
CALLBACK_TIMEOUT = DEFAULT_CALLBACK_TIMEOUT

#: A worker's ``job_monitoring_interval`` unless given.
DEFAULT_JOB_MONITORING_INTERVAL = STOP_POLL_INTERVAL

#: Seconds between a worker's housekeeping rounds.
DEFAULT_MAINTENANCE_TASK_INTERVAL = MAINTENANCE_INTERVAL

__all__ = [
    "CALLBACK_TIMEOUT",
    "DEFAULT_FAILURE_TTL",
    "DEFAULT_JOB_MONITORING_INTERVAL",
    "DEFAULT_MAINTENANCE_TASK_INTERVAL",
    "DEFAULT_RESULT_TTL",
    "DEFAULT_WORKER_TTL",
]
