"""``django.tasks`` tasks for test_backends.py (Django 6+ only: imported by those tests alone).

``@task`` validates each task against the backend configured when this module
is first imported, so the tests import it only after pointing ``TASKS`` at
``JobQueueBackend``.
"""

from __future__ import annotations

from django.tasks import task

from django_jobqueue import get_current_job


class CustomError(Exception):
    pass


@task
def add(a, b):
    return a + b


@task
def fail(message="boom"):
    raise ValueError(message)


@task
def fail_custom(message):
    raise CustomError(message)


@task
def record(tag):
    current = get_current_job()
    current.connection.rpush(current.keys.prefix + "log", tag)
    return tag


@task(takes_context=True)
def with_context(context, value):
    return {
        "id": context.task_result.id,
        "attempt": context.attempt,
        "value": value,
        "status": str(context.task_result.status),
    }


@task
def returns_tuple():
    return (1, (2, 3))


@task
async def async_add(a, b):
    return a + b
