"""django-jobqueue: a Redis job queue that is part of your Django project.

Everything public is importable from here. Engine names (``Job``, ``Worker``,
``Retry``, ...) come from :mod:`django_jobqueue.engine`, which never imports
Django; the Django-aware names (``Queue``, ``job``, ``enqueue``, ``get_queue``,
``get_connection``, ``get_worker``, the ``PeriodicJob`` model) are loaded on
first use, so importing the engine alone stays Django-free.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_DJANGO_NAMES = {
    "Chain": ("chains", "Chain"),
    "Queue": ("queues", "DjangoQueue"),
    "job": ("decorators", "job"),
    "enqueue": ("queues", "enqueue"),
    "get_queue": ("queues", "get_queue"),
    "get_queues": ("queues", "get_queues"),
    "get_worker": ("workers", "get_worker"),
    "get_connection": ("connections", "get_connection"),
    "PeriodicJob": ("models", "PeriodicJob"),
}
_ENGINE_NAMES = (
    "AbandonedJobError",
    "Batch",
    "BatchCompleteError",
    "BatchProgress",
    "BatchStatus",
    "CanceledJobRegistry",
    "ChainResultLost",
    "ChainStopped",
    "CronEntry",
    "DeferredJobRegistry",
    "Dependency",
    "DeserializationError",
    "DuplicateJobError",
    "EnqueueError",
    "EnqueueOptions",
    "FailedJobRegistry",
    "FinishedJobRegistry",
    "Group",
    "Hooks",
    "InvalidJobOperation",
    "JSONSerializer",
    "Job",
    "JobQueueError",
    "JobStatus",
    "JobTimeoutException",
    "NoRepeatsLeft",
    "NoSuchBatchError",
    "NoSuchGroupError",
    "NoSuchJobError",
    "PayloadTooLarge",
    "PickleSerializer",
    "SignatureError",
    "SignedSerializer",
    "Scheduler",
    "Repeat",
    "Retry",
    "RetryLater",
    "ScheduledJobRegistry",
    "SerializationError",
    "SimpleWorker",
    "StartedJobRegistry",
    "Step",
    "Worker",
    "WorkerPool",
    "all_workers",
    "cancel_job",
    "get_current_job",
    "requeue_job",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
    "stop_job",
)

__all__ = sorted([*_DJANGO_NAMES, *_ENGINE_NAMES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _DJANGO_NAMES:
        module, attr = _DJANGO_NAMES[name]
        value = getattr(import_module(f"{__name__}.{module}"), attr)
    elif name in _ENGINE_NAMES:
        value = getattr(import_module(f"{__name__}.engine"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
