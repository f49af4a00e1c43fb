"""The engine's defaults under the names RQ gives them in ``rq.defaults``.

Only defaults the engine has a counterpart for are here, with the engine's
values (the same as RQ's). Key names and prefixes are not: the engine's keys
are its own (see :mod:`.keys`).
"""

from __future__ import annotations

from .callbacks import DEFAULT_CALLBACK_TIMEOUT as CALLBACK_TIMEOUT
from .cron_job_registry import DEFAULT_CRON_JOB_HISTORY_TTL
from .cron_scheduler_registry import DEFAULT_CRON_SCHEDULER_TTL
from .vocabulary import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, DEFAULT_WORKER_TTL

__all__ = [
    "CALLBACK_TIMEOUT",
    "DEFAULT_CRON_JOB_HISTORY_TTL",
    "DEFAULT_CRON_SCHEDULER_TTL",
    "DEFAULT_FAILURE_TTL",
    "DEFAULT_RESULT_TTL",
    "DEFAULT_WORKER_TTL",
]
