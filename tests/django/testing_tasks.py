"""Job functions for tests/django/test_testing_helpers.py: jobs that enqueue jobs."""

from __future__ import annotations

from django.db import transaction

from django_jobqueue import get_queue
from tests.django import tasks


def enqueue_add(a, b, queue="default"):
    """Enqueue ``tasks.add(a, b)`` on ``queue``; returns the child's id."""
    return get_queue(queue).enqueue(tasks.add, a, b).id


def countdown(n):
    """Enqueue ``countdown(n - 1)`` until n is 0: a chain of n + 1 jobs."""
    if n > 0:
        get_queue().enqueue(countdown, n - 1)
    return n


def forever():
    """Enqueue itself again: a drain must give up on it."""
    get_queue().enqueue(forever)


def create_user_then_enqueue(username):
    """Enqueue inside the job's own transaction, as real jobs do."""
    from django.contrib.auth.models import User

    with transaction.atomic():
        User.objects.create(username=username)
        get_queue().enqueue(tasks.echo, username)
