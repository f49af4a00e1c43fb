"""Workers for configured queues: ``get_worker`` and the worker class settings.

``get_worker`` takes django-rq's and RQ's worker keywords (``exception_handlers``,
``default_worker_ttl``, ``job_monitoring_interval``, ...), and the worker it
returns RQ's ``work()`` arguments (``with_scheduler=``), so django-rq code that
starts workers by hand keeps working; see :func:`accept_rq_work_arguments`.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import get_settings
from .engine import SimpleWorker, Worker
from .engine.execution import EXECUTIONS
from .engine.scheduler import Scheduler
from .engine.utils import import_attribute
from .engine.worker.pool import WorkerPool
from .jobs import get_job_class
from .queues import connection_of, get_queue

#: The worker kinds ``rqworker --worker-class`` and JOBQUEUE_WORKER['CLASS'] name.
WORKER_CLASSES: dict[str, Any] = {"pool": WorkerPool, "fork": Worker, "simple": SimpleWorker}
POOL_OPTIONS = ("processes", "max_jobs_per_child", "max_memory_per_child")
#: RQ's worker keywords whose None means "the worker's default" (``rqworker``
#: passes None for an option not given).
TUNING_OPTIONS = (
    "maintenance_interval",
    "job_monitoring_interval",
    "disable_default_exception_handler",
    "log_job_description",
)


def get_exception_handlers(handlers: Any = None) -> list[Any]:
    """The exception handlers a worker calls, as callables.

    ``handlers`` is a callable, a dotted path, or a list of them; None reads
    django-rq's ``RQ_EXCEPTION_HANDLERS`` setting (a list of dotted paths).

    Raises:
        ImproperlyConfigured: a dotted path does not import, or names
            something that cannot be called.
    """
    where = "exception_handlers"
    if handlers is None:
        handlers = getattr(settings, "RQ_EXCEPTION_HANDLERS", None) or []
        where = "RQ_EXCEPTION_HANDLERS"
    if callable(handlers) or isinstance(handlers, str):
        handlers = [handlers]
    found = []
    for handler in handlers:
        if isinstance(handler, str):
            try:
                handler = import_attribute(handler)
            except (ImportError, ValueError) as exc:
                raise ImproperlyConfigured(
                    f"{where}: cannot import the exception handler {handler!r} ({exc})."
                ) from None
        if not callable(handler):
            raise ImproperlyConfigured(
                f"{where}: an exception handler must be callable, not {handler!r}."
            )
        found.append(handler)
    return found


def accept_rq_work_arguments(worker: Any) -> Any:
    """Let ``worker.work()`` take RQ's ``with_scheduler=``; returns ``worker``.

    ``with_scheduler=False`` runs the worker without its scheduler, ``True``
    with one (built here if it had none); unset, the worker keeps what
    ``get_worker`` gave it (``JOBQUEUE_WORKER['SCHEDULER']``, on by default).
    Bound on the instance, so the worker's class stays the one asked for.
    """
    work = worker.work

    @functools.wraps(work)
    def rq_work(*args: Any, with_scheduler: Any = None, **kwargs: Any) -> Any:
        if with_scheduler is False:
            worker.scheduler = None
        elif with_scheduler and worker.scheduler is None:
            worker.scheduler = _scheduler(worker.queue_names, worker.connection, worker.name)
        return work(*args, **kwargs)

    worker.work = rq_work
    return worker


def get_worker_class(worker_class: Any = None) -> type:
    """The worker class for a name, dotted path or class; unset: the settings'.

    ``JOBQUEUE_WORKER['CLASS']`` decides (``"pool"`` by default), else django-rq's
    ``RQ['WORKER_CLASS']``. Names are ``"pool"``, ``"fork"`` and ``"simple"``.
    """
    worker_class = worker_class or get_settings().worker["CLASS"]
    if isinstance(worker_class, str):
        if worker_class in WORKER_CLASSES:
            return WORKER_CLASSES[worker_class]
        return import_attribute(worker_class)
    return worker_class


def get_worker(
    *queue_names: str,
    worker_class: Any = None,
    job_class: Any = None,
    queue_class: Any = None,
    serializer: Any = None,
    **kwargs: Any,
) -> Any:
    """A worker for the named configured queues (``default`` when none is named).

    ``worker_class`` is ``"pool"``, ``"fork"``, ``"simple"``, a dotted path or
    a class; unset, ``JOBQUEUE_WORKER['CLASS']`` decides (``"pool"`` by default).
    Pool options (``processes``, ``max_jobs_per_child``, ``max_memory_per_child``)
    default to ``JOBQUEUE_WORKER`` and are ignored by the other kinds.

    ``job_class``, ``queue_class`` (classes or dotted paths) and ``serializer``
    are django-rq's: the queues are built with them, and jobs loaded as
    ``job_class``; ``serializer`` is the worker's (each queue keeps its own).

    ``scheduler`` runs the scheduler in the worker, with the ``JOBQUEUE_CRON``
    entries whose queues share this worker's Redis; unset (None),
    ``JOBQUEUE_WORKER['SCHEDULER']`` decides (True by default).

    ``exception_handlers`` are callables or dotted paths (see
    :func:`get_exception_handlers`); unset, django-rq's ``RQ_EXCEPTION_HANDLERS``
    setting gives them. ``default_worker_ttl`` is RQ's older name for
    ``worker_ttl``. Other keywords go to the worker class: RQ's
    ``job_monitoring_interval``, ``maintenance_interval``,
    ``disable_default_exception_handler`` and ``log_job_description`` (None
    for each: the worker's default).
    """
    names = list(queue_names) or ["default"]
    queues = [get_queue(name, queue_class=queue_class) for name in names]
    if job_class is not None:
        job_class = get_job_class(job_class)
        for queue in queues:
            queue.job_class = job_class
    # A worker takes jobs through one Redis connection: queues on another Redis (or
    # database) would never be served. Only client tuning (CONNECTION_KWARGS) may differ.
    elsewhere = [name for name in names if connection_of(name) != connection_of(names[0])]
    if elsewhere:
        raise ImproperlyConfigured(
            f"Queue(s) {', '.join(elsewhere)} use another Redis connection than {names[0]!r}; "
            "a worker serves queues of one connection only: run one worker per connection."
        )
    defaults = get_settings().worker
    worker_class = worker_class or defaults["CLASS"]
    if isinstance(worker_class, str) and worker_class in EXECUTIONS:
        kwargs.setdefault("execution", worker_class)
        worker_class = Worker
    worker_class = get_worker_class(worker_class)
    if kwargs.get("default_worker_ttl") is None:
        kwargs.pop("default_worker_ttl", None)
    elif kwargs.get("worker_ttl") is None:  # RQ's older name, in place of the setting's
        kwargs["worker_ttl"] = kwargs.pop("default_worker_ttl")
    if kwargs.get("worker_ttl") is None:
        kwargs["worker_ttl"] = defaults["WORKER_TTL"]
    for option in TUNING_OPTIONS:
        if kwargs.get(option) is None:
            kwargs.pop(option, None)
    handlers = get_exception_handlers(kwargs.pop("exception_handlers", None))
    if handlers:  # a worker class of one's own may not take the keyword
        kwargs["exception_handlers"] = handlers
    if isinstance(worker_class, type) and issubclass(worker_class, WorkerPool):
        for option in POOL_OPTIONS:
            if kwargs.get(option) is None:
                kwargs[option] = defaults[option.upper()]
    else:
        for option in POOL_OPTIONS:
            kwargs.pop(option, None)
    if serializer is not None:
        kwargs["serializer"] = serializer
    if kwargs.get("scheduler") is None:
        kwargs["scheduler"] = defaults["SCHEDULER"]
    if kwargs["scheduler"] is True:
        kwargs["name"] = kwargs.get("name") or uuid.uuid4().hex
        kwargs["scheduler"] = _scheduler(names, queues[0].connection, kwargs["name"])
    worker = worker_class(
        queues, connection=queues[0].connection, prefix=get_settings().key_prefix, **kwargs
    )
    worker.job_class = job_class or queues[0].job_class
    return accept_rq_work_arguments(worker)


def _scheduler(names: list[str], connection: Any, name: str) -> Scheduler:
    """A scheduler with the cron entries of ``names``, shown under the worker's ``name``.

    Its fixed entries are ``JOBQUEUE_CRON``'s; the ``PeriodicJob`` rows come
    from a source it reads every ``CRON_RELOAD_INTERVAL`` seconds (None: none).
    """
    from .cron import entries_for
    from .schedules import database_source

    # Built here so that cron jobs get their queue's settings (serializer,
    # timeouts); it is shown under the worker's name.
    jq = get_settings()
    reload = jq.worker["CRON_RELOAD_INTERVAL"]
    return Scheduler(
        connection,
        jq.key_prefix,
        cron=entries_for(list(names)),
        name=name,
        queue_factory=get_queue,
        source=None if reload is None else database_source(list(names)),
        reload_interval=reload or 0,
    )
