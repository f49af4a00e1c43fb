"""Queues, workers and enqueueing, configured from Django settings."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from .conf import get_settings
from .connections import get_connection
from .engine import Job, JobStatus, Queue, SimpleWorker, Worker
from .engine.execution import EXECUTIONS
from .engine.queue import placement
from .engine.scheduler import Scheduler
from .engine.utils import import_attribute
from .engine.worker.pool import WorkerPool

_UNSET: Any = object()

logger = logging.getLogger("django_jobqueue.queue")


class DjangoQueue(Queue):
    """A queue that takes what it is not given from ``JOBQUEUE_QUEUES``.

    ``Queue("low")`` therefore uses the configured connection, timeouts,
    serializer, key prefix and ``ASYNC`` flag of queue ``low``; anything passed
    explicitly wins.
    """

    def __init__(
        self,
        name: str = "default",
        connection: Any = None,
        is_async: Any = _UNSET,
        default_timeout: Any = None,
        serializer: Any = None,
        prefix: str | None = None,
        default_result_ttl: int | None = None,
        in_memory: bool | None = None,
        **kwargs: Any,
    ):
        if settings.configured:
            jq = get_settings()
            config = jq.queues.get(name)
            if config is None and connection is None:
                jq.queue(name)  # raises, listing the configured queues
            if config is not None:
                connection = connection or get_connection(name)
                if is_async is _UNSET:
                    is_async = jq.queue_is_async(name)
                default_timeout = _first(default_timeout, config.default_timeout)
                default_result_ttl = _first(default_result_ttl, config.default_result_ttl)
                serializer = _first(serializer, config.serializer)
            prefix = _first(prefix, jq.key_prefix)
        is_async = True if is_async is _UNSET else is_async
        super().__init__(
            name,
            connection,
            is_async,
            default_timeout,
            serializer,
            prefix,
            default_result_ttl=default_result_ttl,
            in_memory=not is_async if in_memory is None else in_memory,
            **kwargs,
        )

    def enqueue_job(
        self, job: Job, at_front: bool | None = None, depends_on: Any = None, at: Any = None
    ) -> Job:
        """Store the job now, or when the surrounding transaction commits.

        Inside ``transaction.atomic()`` (and with ``JOBQUEUE_COMMIT_MODE =
        "on_commit"``, the default) the job is built and checked at once and its
        final id returned, with status ``pending_commit``; it reaches Redis only
        if the transaction commits, so a worker never sees rows that were rolled
        back or not yet written. Inline queues (``ASYNC = False``) run at once,
        also a job given ``at``.

        ``at`` follows ``USE_TZ``: with it on, a naive datetime is refused (its
        moment is ambiguous); with it off, a naive datetime is local time in
        ``TIME_ZONE``, like ``timezone.now()`` then returns.
        """
        at_front, depends_on, at = placement(job, at_front, depends_on, at)
        at = _aware(at)
        if not (
            self.is_async
            and settings.configured
            and get_settings().commit_mode == "on_commit"
            and transaction.get_connection().in_atomic_block
        ):
            return super().enqueue_job(job, at_front=at_front, depends_on=depends_on, at=at)
        job.set_status(JobStatus.PENDING_COMMIT)
        job.unsaved = True

        def push() -> None:
            if job.get_status(refresh=False) != JobStatus.PENDING_COMMIT:  # canceled meanwhile
                return
            try:
                super(DjangoQueue, self).enqueue_job(
                    job, at_front=at_front, depends_on=depends_on, at=at
                )
            except Exception as exc:
                # Raising here would skip the application's later on_commit callbacks
                # and make atomic() raise after its rows were committed: report instead.
                _report_failed_push(self, job, exc)

        transaction.on_commit(push)
        return job


def _report_failed_push(queue: DjangoQueue, job: Job, exc: Exception) -> None:
    """Log and signal a job whose push to Redis failed after its transaction committed."""
    from .signals import job_enqueue_failed

    # Its status now comes from Redis again (None: it is not there), not "pending_commit".
    job.unsaved = False
    logger.error(
        "Job %s (%s) was not enqueued on queue %r after its transaction committed: %s: %s. "
        "It is lost unless a job_enqueue_failed receiver enqueues it again.",
        job.id,
        job.func_name,
        queue.name,
        type(exc).__name__,
        exc,
        exc_info=exc,
    )
    for receiver, error in job_enqueue_failed.send_robust(
        sender=type(queue), job=job, queue=queue, exception=exc
    ):
        if isinstance(error, Exception):
            logger.error(
                "A job_enqueue_failed receiver (%r) raised for job %s: %s: %s",
                receiver,
                job.id,
                type(error).__name__,
                error,
                exc_info=error,
            )


def _aware(when: Any) -> Any:
    if not isinstance(when, datetime) or not timezone.is_naive(when):
        return when
    if settings.configured and not settings.USE_TZ:
        return timezone.make_aware(when)
    raise ValueError(
        f"{when!r} is a naive datetime, and USE_TZ is on: pass an aware one, such as "
        "timezone.now() + timedelta(hours=1), or use enqueue_in() / delay_in()."
    )


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def get_queue(name: str = "default", **overrides: Any) -> DjangoQueue:
    """The configured queue ``name``.

    Keyword arguments override the settings for this one object, e.g.
    ``get_queue("low", is_async=False)`` or ``default_timeout=60``. An unknown
    name raises ImproperlyConfigured listing the configured queues.
    """
    get_settings().queue(name)  # fail fast, with the list of known queues
    return DjangoQueue(name, **overrides)


def enqueue(func: Any, *args: Any, **kwargs: Any):
    """Put ``func(*args, **kwargs)`` on the default queue; returns the Job."""
    return get_queue("default").enqueue(func, *args, **kwargs)


#: The worker kinds ``rqworker --worker-class`` and JOBQUEUE_WORKER['CLASS'] name.
WORKER_CLASSES: dict[str, Any] = {"pool": WorkerPool, "fork": Worker, "simple": SimpleWorker}
POOL_OPTIONS = ("processes", "max_jobs_per_child", "max_memory_per_child")


def get_worker(*queue_names: str, worker_class: Any = None, **kwargs: Any) -> Any:
    """A worker for the named configured queues (``default`` when none is named).

    ``worker_class`` is ``"pool"``, ``"fork"``, ``"simple"``, a dotted path or
    a class; unset, ``JOBQUEUE_WORKER['CLASS']`` decides (``"pool"`` by default).
    Pool options (``processes``, ``max_jobs_per_child``, ``max_memory_per_child``)
    default to ``JOBQUEUE_WORKER`` and are ignored by the other kinds.

    ``scheduler`` runs the scheduler in the worker, with the ``JOBQUEUE_CRON``
    entries whose queues share this worker's Redis; unset (None),
    ``JOBQUEUE_WORKER['SCHEDULER']`` decides (True by default).
    """
    names = list(queue_names) or ["default"]
    queues = [get_queue(name) for name in names]
    # A worker takes jobs through one Redis connection: queues on another Redis (or
    # database) would never be served. Only client tuning (CONNECTION_KWARGS) may differ.
    where = {
        name: replace(get_settings().queue(name).connection, kwargs=(), sentinel_kwargs=())
        for name in names
    }
    elsewhere = [name for name in names if where[name] != where[names[0]]]
    if elsewhere:
        raise ImproperlyConfigured(
            f"Queue(s) {', '.join(elsewhere)} use another Redis connection than {names[0]!r}; "
            "a worker serves queues of one connection only: run one worker per connection."
        )
    defaults = get_settings().worker
    worker_class = worker_class or defaults["CLASS"]
    if isinstance(worker_class, str):
        if worker_class in WORKER_CLASSES:
            worker_class = WORKER_CLASSES[worker_class]
        elif worker_class in EXECUTIONS:
            kwargs.setdefault("execution", worker_class)
            worker_class = Worker
        else:
            worker_class = import_attribute(worker_class)
    if kwargs.get("worker_ttl") is None:
        kwargs["worker_ttl"] = defaults["WORKER_TTL"]
    if isinstance(worker_class, type) and issubclass(worker_class, WorkerPool):
        for option in POOL_OPTIONS:
            if kwargs.get(option) is None:
                kwargs[option] = defaults[option.upper()]
    else:
        for option in POOL_OPTIONS:
            kwargs.pop(option, None)
    if kwargs.get("scheduler") is None:
        kwargs["scheduler"] = defaults["SCHEDULER"]
    if kwargs["scheduler"] is True:
        from .cron import entries_for

        # Built here so that cron jobs get their queue's settings (serializer,
        # timeouts); it is shown under the worker's name.
        kwargs["name"] = kwargs.get("name") or uuid.uuid4().hex
        kwargs["scheduler"] = Scheduler(
            queues[0].connection,
            get_settings().key_prefix,
            cron=entries_for(names),
            name=kwargs["name"],
            queue_factory=get_queue,
        )
    return worker_class(
        queues, connection=queues[0].connection, prefix=get_settings().key_prefix, **kwargs
    )
