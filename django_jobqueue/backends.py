"""A ``django.tasks`` backend (Django 6.0+) that runs tasks on this app's workers.

::

    TASKS = {"default": {"BACKEND": "django_jobqueue.backends.JobQueueBackend",
                         "QUEUES": ["default", "low"]}}

Each task queue name is a queue of ``JOBQUEUE_QUEUES``; a task's priority
(-100..100) orders it within that queue, higher first; ``run_after`` schedules
it. Arguments and return values are JSON, as ``django.tasks`` requires. On
Django 5.2 this module imports, and using the backend says it needs Django 6.
"""

from __future__ import annotations

import logging
from traceback import format_exception
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .engine import Job, JobStatus, get_current_job

try:
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskContext, TaskError, TaskResult, TaskResultStatus
    from django.tasks.exceptions import TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started
    from django.utils.json import normalize_json
    from django.utils.module_loading import import_string

    HAS_TASKS = True
except ImportError:  # Django < 6.0
    HAS_TASKS = False

logger = logging.getLogger("django_jobqueue.tasks")

#: How job statuses read as task statuses.
STATUS_MAP = {
    JobStatus.QUEUED: "READY",
    JobStatus.DEFERRED: "READY",
    JobStatus.SCHEDULED: "READY",
    JobStatus.PENDING_COMMIT: "READY",
    JobStatus.STARTED: "RUNNING",
    JobStatus.FINISHED: "SUCCESSFUL",
    JobStatus.FAILED: "FAILED",
    JobStatus.STOPPED: "FAILED",
    JobStatus.CANCELED: "FAILED",
}


# mypy checks the real backend (django-stubs has django.tasks); the stand-in for
# Django < 6.0 after "else" is only for run time.
if TYPE_CHECKING or HAS_TASKS:

    class JobQueueBackend(BaseTaskBackend):
        supports_defer = True
        supports_async_task = True
        supports_get_result = True
        supports_priority = True

        #: The settings the queues below were built from, and the queues by name.
        _queues_of: Any = None
        _queues: dict[str, Any]

        def _queue(self, name: str) -> Any:
            """Queue ``name``, built once for the settings in force.

            Building a queue from the settings for every task cost about a fifth
            of an enqueue's time in the client. Backends are kept per thread by
            Django, so each thread has its own queues; new settings (tests'
            ``override_settings``) build them anew.
            """
            from .conf import get_settings
            from .queues import get_queue

            current = get_settings()
            if self._queues_of is not current:
                self._queues_of, self._queues = current, {}
            queue = self._queues.get(name)
            if queue is None:
                queue = self._queues[name] = get_queue(name)
            return queue

        def enqueue(self, task, args, kwargs):
            self.validate_task(task)
            args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
            queue = self._queue(task.queue_name)
            run_after = task.run_after
            if run_after is not None and timezone.is_naive(run_after):
                run_after = timezone.make_aware(run_after)  # USE_TZ = False: local time
            job = queue.enqueue_call(
                run_task,
                args=[self.alias, task.module_path, task.takes_context, args, kwargs],
                description=f"{task.module_path}(task)",
                priority=task.priority,
                at=run_after,
            )
            result = self._result(job, task, args, kwargs)
            task_enqueued.send(type(self), task_result=result)
            return result

        def get_result(self, result_id):
            from .conf import get_settings
            from .queues import get_queue

            job = None
            for name in self.queues or get_settings().queues:
                job = get_queue(name).fetch_job(result_id)
                if job is not None:
                    break
            if job is None or job.func_name != RUN_TASK:
                raise TaskResultDoesNotExist(result_id)
            try:
                _, path, _, args, kwargs = job.args
                task = import_string(path)
            except Exception as exc:
                raise TaskResultDoesNotExist(result_id) from exc
            return self._result(job, task, args, kwargs)

        def _result(self, job: Job, task: Any, args: list, kwargs: dict) -> TaskResult[..., Any]:
            status = job.get_status(refresh=False) or JobStatus.QUEUED
            result: TaskResult[..., Any] = TaskResult(
                task=task,
                id=job.id,
                status=TaskResultStatus[STATUS_MAP[status]],
                enqueued_at=job.enqueued_at or job.created_at,
                started_at=job.started_at,
                finished_at=job.ended_at
                if status
                in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
                else None,
                last_attempted_at=job.started_at,
                args=args,
                kwargs=kwargs,
                backend=self.alias,
                errors=_errors(job, status),
                worker_ids=[job.worker_name] if job.worker_name else [],
            )
            if status == JobStatus.FINISHED:
                object.__setattr__(result, "_return_value", job.result)
            return result

        def check(self, **kwargs):
            from django.core import checks

            from .conf import get_settings

            try:
                configured = get_settings().queues
            except ImproperlyConfigured:
                return []  # reported by django_jobqueue's own checks
            missing = sorted(set(self.queues) - set(configured))
            if missing:
                return [
                    checks.Error(
                        f"TASKS[{self.alias!r}] names queues that JOBQUEUE_QUEUES lacks: "
                        f"{', '.join(missing)}.",
                        hint="Add them to JOBQUEUE_QUEUES.",
                        id="django_jobqueue.E020",
                    )
                ]
            return []

else:

    class JobQueueBackend:
        def __init__(self, alias: str, params: dict) -> None:
            import django

            raise ImproperlyConfigured(
                "django_jobqueue.backends.JobQueueBackend needs Django 6.0 or newer (this is "
                f"Django {django.get_version()}); use django_jobqueue.enqueue() or @job instead."
            )


def _errors(job: Job, status: Any) -> list:
    if status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        return []
    text = job.exc_info or f"Job {job.id} was {status}."
    return [TaskError(exception_class_path=_exception_path(text), traceback=text)]


def _exception_path(traceback_text: str) -> str:
    """``module.Class`` of the exception a traceback text ends with."""
    lines = traceback_text.strip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    if frames:
        # The exception line is the first unindented one after the last frame (its
        # message may span several lines, so it is not simply the last line).
        last = next(
            (line for line in lines[frames[-1] + 1 :] if line and not line[0].isspace()), ""
        )
    else:
        last = lines[-1] if lines else ""
    name = last.split(":", 1)[0].strip()
    if not name or " " in name:
        return "builtins.Exception"
    return name if "." in name else f"builtins.{name}"


RUN_TASK = f"{__name__}.run_task"


def run_task(alias: str, path: str, takes_context: bool, args: list, kwargs: dict) -> Any:
    """What a worker runs for a task: call it, send the task signals, return JSON."""
    from django.tasks import task_backends

    task = import_string(path)
    # The alias is the one whose backend enqueued this job: this class.
    backend = cast(JobQueueBackend, task_backends[alias])
    job = get_current_job()
    result = backend._result(job, task, args, kwargs) if job else None
    if result is not None:
        object.__setattr__(result, "status", TaskResultStatus.RUNNING)
        task_started.send(type(backend), task_result=result)
    try:
        if takes_context:
            if result is None:
                raise RuntimeError(
                    f"Task {path} takes a context, which only a job run by a worker has; "
                    "enqueue it instead of calling run_task() directly."
                )
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
        value = normalize_json(value)
    except BaseException as exc:
        if result is not None:
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
            result.errors.append(
                TaskError(
                    exception_class_path=f"{type(exc).__module__}.{type(exc).__qualname__}",
                    traceback="".join(format_exception(exc)),
                )
            )
            task_finished.send(type(backend), task_result=result)
        raise
    if result is not None:
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", value)
        task_finished.send(type(backend), task_result=result)
    return value


__all__ = ["JobQueueBackend", "run_task"]
