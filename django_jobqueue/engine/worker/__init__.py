"""The worker family: one base, one loop, and the kinds built on it.

- :mod:`.base`: :class:`BaseWorker` - queues, registration and heartbeat,
  stop signals (warm, then cold), waiting for Redis, the scheduler's tick,
  and ``work()``, the one loop, which calls ``turn()`` until it says stop.
- :mod:`.single`: :class:`Worker` - a turn takes one job (strict priority)
  and runs it with an :class:`~..execution.Execution`: ``fork`` (the
  default), ``spawn`` (:class:`SpawnWorker`) or ``inline`` (:class:`SimpleWorker`).
- :mod:`.pool`: :class:`WorkerPool` - a turn watches long-lived children,
  each a :class:`Worker` running jobs in-process, and replaces the dead.
- :mod:`.control`: :func:`stop_job`, asking a worker to abort a job, and
  RQ's ``send_*_command`` functions (shutdown, kill-horse, stop-job).
- :mod:`.lookup`: ``Worker.all()``, ``find_by_key()``, ``refresh()``...: workers
  read back from their registrations, RQ's way.

Workers write their registration; who is working is read by :mod:`..live`.
"""

from .base import DEFAULT_WORKER_TTL, BaseWorker
from .control import (
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
    stop_job,
)
from .pool import WorkerPool, run_worker
from .single import (
    HerokuWorker,
    RandomWorker,
    RoundRobinWorker,
    SimpleWorker,
    SpawnWorker,
    Worker,
    log_outcome,
)

__all__ = [
    "DEFAULT_WORKER_TTL",
    "BaseWorker",
    "HerokuWorker",
    "RandomWorker",
    "RoundRobinWorker",
    "SimpleWorker",
    "SpawnWorker",
    "Worker",
    "WorkerPool",
    "log_outcome",
    "run_worker",
    "send_command",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
    "stop_job",
]
