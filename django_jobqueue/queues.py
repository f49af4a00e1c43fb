"""Queues, workers and enqueueing, configured from Django settings."""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from .conf import get_settings
from .connections import get_connection
from .engine import Job, JobStatus, Queue
from .engine.queue import placement
from .engine.utils import import_attribute
from .jobs import get_job_class
from .rq_settings import translate_commit_mode

_UNSET: Any = object()

logger = logging.getLogger("django_jobqueue.queue")


class DjangoQueue(Queue):
    """A queue that takes what it is not given from ``JOBQUEUE_QUEUES``.

    ``Queue("low")`` therefore uses the configured connection, timeouts,
    serializer, key prefix and ``ASYNC`` flag of queue ``low``; anything passed
    explicitly wins.
    """

    #: ``"on_commit"`` or ``"immediate"`` for this queue object (``get_queue(commit_mode=)``);
    #: None: the settings' commit mode.
    commit_mode: str | None = None

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
        self,
        job: Job,
        at_front: bool | None = None,
        depends_on: Any = None,
        at: Any = None,
        *,
        pipeline: Any = None,
        unique: bool = False,
    ) -> Job:
        """Store the job now, or when the surrounding transaction commits.

        Inside ``transaction.atomic()`` (and with ``JOBQUEUE_COMMIT_MODE =
        "on_commit"``, the default) the job is built and checked at once and its
        final id returned, with status ``pending_commit``; it reaches Redis only
        if the transaction commits, so a worker never sees rows that were rolled
        back or not yet written. Inline queues (``ASYNC = False``) run at once,
        also a job given ``at``.

        A naive ``at`` is read in the current time zone, as Django reads naive
        datetimes; with ``USE_TZ`` on that also warns (``RuntimeWarning``).
        """
        at_front, depends_on, at = placement(job, at_front, depends_on, at)
        at = _aware(at)
        if pipeline is not None or not (
            self.is_async
            and settings.configured
            and (self.commit_mode or get_settings().commit_mode) == "on_commit"
            and transaction.get_connection().in_atomic_block
        ):
            # A caller's pipeline is theirs to execute: it is not held for the commit.
            return super().enqueue_job(
                job, at_front, depends_on, at, pipeline=pipeline, unique=unique
            )
        job.set_status(JobStatus.PENDING_COMMIT)
        job.unsaved = True

        def push() -> None:
            if job.get_status(refresh=False) != JobStatus.PENDING_COMMIT:  # canceled meanwhile
                return
            try:
                stored = super(DjangoQueue, self).enqueue_job(
                    job, at_front, depends_on, at, unique=unique
                )
            except Exception as exc:
                # Raising here would skip the application's later on_commit callbacks
                # and make atomic() raise after its rows were committed: report instead.
                _report_failed_push(self, job, exc)
                return
            if stored is not job:
                # A duplicate (unique_for): the object the caller holds becomes the
                # job that holds the key, as the enqueue would have returned it.
                job.unsaved = False
                vars(job).update(vars(stored))

        transaction.on_commit(push)
        return job


#: django-rq's name for its queue class, so ``from django_jobqueue.queues import DjangoRQ`` works.
DjangoRQ = DjangoQueue


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
    if settings.configured and settings.USE_TZ:
        # As Django's model fields do with a naive value while time zone
        # support is on: warn, and read it in the current time zone.
        warnings.warn(
            f"{when!r} is a naive datetime while USE_TZ is on; it is read in the current "
            f"time zone ({timezone.get_current_timezone_name()}). Pass an aware one, such "
            "as timezone.now() + timedelta(hours=1), or use enqueue_in() / delay_in().",
            RuntimeWarning,
            stacklevel=4,
        )
    return timezone.make_aware(when)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def get_queue(
    name: str = "default",
    *,
    queue_class: Any = None,
    commit_mode: str | None = None,
    autocommit: bool | None = None,
    **overrides: Any,
) -> DjangoQueue:
    """The configured queue ``name``.

    Keyword arguments override the settings for this one object, e.g.
    ``get_queue("low", is_async=False)`` or ``default_timeout=60``. An unknown
    name raises ImproperlyConfigured listing the configured queues.

    ``queue_class`` (a class or dotted path) wins over the queue's
    ``QUEUE_CLASS``; ``commit_mode`` (ours, ``"on_commit"``/``"immediate"``, or
    django-rq's ``"on_db_commit"``/``"auto"``) over the commit mode of the
    settings. django-rq's ``autocommit=`` and ``async=`` still work;
    ``autocommit`` warns (DeprecationWarning), as in django-rq.
    """
    config = get_settings().queue(name)  # fail fast, with the list of known queues
    if autocommit is not None:
        warnings.warn(
            "get_queue(autocommit=...) is deprecated: use commit_mode='immediate' or 'on_commit'.",
            DeprecationWarning,
            stacklevel=2,
        )
        commit_mode = commit_mode or ("immediate" if autocommit else "on_commit")
    if "async" in overrides:  # django-rq's (and old RQ's) name for is_async
        overrides.setdefault("is_async", overrides.pop("async"))
    cls = queue_class or config.queue_class or DjangoQueue
    if isinstance(cls, str):
        cls = import_attribute(cls)
    if not issubclass(cls, DjangoQueue):
        raise ImproperlyConfigured(
            f"Queue class {cls.__qualname__} of queue {name!r} is not a subclass of "
            "django_jobqueue.Queue: build it on that class to get the queue's settings."
        )
    overrides["job_class"] = get_job_class(overrides.get("job_class"))
    queue = cls(name, **overrides)
    if commit_mode is not None:
        try:
            queue.commit_mode = translate_commit_mode(commit_mode)
        except ValueError as exc:
            raise ImproperlyConfigured(f"get_queue(commit_mode=...): {exc}") from None
    return queue


def get_commit_mode() -> str:
    """The commit mode in force: ``"on_commit"`` or ``"immediate"``.

    ``JOBQUEUE_COMMIT_MODE``, else django-rq's ``RQ['COMMIT_MODE']`` or
    ``RQ['AUTOCOMMIT']`` (translated), else ``"on_commit"``; a bad value raises
    ImproperlyConfigured.
    """
    return get_settings().commit_mode


def get_queues(*queue_names: str, **kwargs: Any) -> list[DjangoQueue]:
    """The configured queues named (``default`` when none is), for one worker.

    Like django-rq's: ValueError when they differ in Redis connection or queue
    class, as one worker could not serve them all. ``kwargs`` go to
    :func:`get_queue`.
    """
    names = list(queue_names) or ["default"]
    queues = [get_queue(name, **kwargs) for name in names]
    where = connection_of(names[0])
    for queue in queues[1:]:
        if connection_of(queue.name) != where:
            raise ValueError(
                f"Queues {names[0]!r} and {queue.name!r} use different Redis connections: "
                "ask for them separately."
            )
        if type(queue) is not type(queues[0]):
            raise ValueError(
                f"Queues {names[0]!r} and {queue.name!r} have different classes "
                f"({type(queues[0]).__qualname__}, {type(queue).__qualname__})."
            )
    return queues


def connection_of(name: str) -> Any:
    """Where queue ``name``'s Redis is, less client tuning: one worker serves equal ones."""
    return replace(get_settings().queue(name).connection, kwargs=(), sentinel_kwargs=())


def enqueue(func: Any, *args: Any, **kwargs: Any):
    """Put ``func(*args, **kwargs)`` on the default queue; returns the Job."""
    return get_queue("default").enqueue(func, *args, **kwargs)


def __getattr__(name: str) -> Any:
    # get_worker and its tables moved to .workers (which imports this module).
    if name in ("get_worker", "WORKER_CLASSES", "POOL_OPTIONS"):
        from . import workers

        return getattr(workers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
