"""The ``jobqueue`` command: RQ's ``rq`` command line, on this engine.

``jobqueue worker -u redis://... high low`` takes the place of ``rq worker
...``: the same subcommands (worker, worker-pool, info, empty, requeue,
suspend, resume, enqueue, cron) with RQ's options. It needs click, the
``[cli]`` extra: ``pip install django-jobqueue[cli]``. ``main`` is the click
group, for ``python -m django_jobqueue.engine.cli`` and click's test runner.
"""

try:
    import click  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "The jobqueue command line needs click: pip install 'django-jobqueue[cli]'."
    ) from exc

from .cli import empty, enqueue, info, main, requeue, resume, suspend
from .cli_cron import cron
from .workers import worker, worker_pool

__all__ = [
    "cron",
    "empty",
    "enqueue",
    "info",
    "main",
    "requeue",
    "resume",
    "suspend",
    "worker",
    "worker_pool",
]
