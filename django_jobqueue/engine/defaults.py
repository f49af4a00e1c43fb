"""RQ's ``rq.defaults`` names, for code written for RQ, bound to this engine's values.

Each is the value this engine uses (some differ from RQ's: a worker here
does its housekeeping every second, and looks at a running job every
second). RQ's ``RQ_KEY_PREFIX`` has no counterpart: keys here are built by
:mod:`.keys` under a prefix each queue is given (``"jobqueue:"`` by default).
"""

from __future__ import annotations

from .callbacks import DEFAULT_CALLBACK_TIMEOUT
from .cron_job_registry import DEFAULT_CRON_JOB_HISTORY_TTL
from .cron_scheduler_registry import DEFAULT_CRON_SCHEDULER_TTL
from .results import UNSERIALIZABLE_RETURN_VALUE_PAYLOAD
from .scheduler import FALLBACK_PERIOD
from .vocabulary import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, DEFAULT_WORKER_TTL
from .worker.base import MAINTENANCE_INTERVAL, STOP_POLL_INTERVAL

#: Seconds a callback may run unless its Callback says otherwise.
CALLBACK_TIMEOUT = DEFAULT_CALLBACK_TIMEOUT
#: Seconds between two looks of a worker at the job it runs (stop requests, commands).
DEFAULT_JOB_MONITORING_INTERVAL = STOP_POLL_INTERVAL
#: Seconds between two housekeeping rounds of a worker.
DEFAULT_MAINTENANCE_TASK_INTERVAL = MAINTENANCE_INTERVAL
#: Seconds after which an RQScheduler tries again for the queue locks it lacks.
DEFAULT_SCHEDULER_FALLBACK_PERIOD = FALLBACK_PERIOD

__all__ = [
    "CALLBACK_TIMEOUT",
    "DEFAULT_CRON_JOB_HISTORY_TTL",
    "DEFAULT_CRON_SCHEDULER_TTL",
    "DEFAULT_FAILURE_TTL",
    "DEFAULT_JOB_MONITORING_INTERVAL",
    "DEFAULT_MAINTENANCE_TASK_INTERVAL",
    "DEFAULT_RESULT_TTL",
    "DEFAULT_SCHEDULER_FALLBACK_PERIOD",
    "DEFAULT_WORKER_TTL",
    "UNSERIALIZABLE_RETURN_VALUE_PAYLOAD",
]
