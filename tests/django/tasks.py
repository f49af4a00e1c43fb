"""Module-level job functions the Django-layer tests enqueue (workers import them by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_jobqueue import get_current_job, job


def add(a, b):
    return a + b


def add_again(a, b):
    """Like add; decorated by a test with an explicit connection."""
    return a + b


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def fail(message="boom"):
    raise ValueError(message)


def current_job_info():
    """What ``get_current_job()`` says inside the job."""
    current = get_current_job()
    return {"id": current.id, "origin": current.origin} if current else None


def record(tag):
    """Append ``tag`` to the list ``<prefix>log`` through the job's own connection."""
    current = get_current_job()
    current.connection.rpush(current.keys.prefix + "log", tag)
    return tag


def sleep_then(seconds, value=None):
    time.sleep(seconds)
    return value


def read_file(path):
    """The text of ``path``, or None when it does not exist."""
    path = Path(path)
    return path.read_text() if path.exists() else None


def pid():
    return os.getpid()


def create_user(username):
    """Use the ORM: create a user and return how many there are."""
    from django.contrib.auth.models import User

    User.objects.create(username=username)
    return User.objects.count()


@job
def delayed_add(a, b):
    return a + b


@job("low", timeout=42, result_ttl=77)
def low_add(a, b):
    return a + b


@job(concurrency_limit=1)  # each .delay() names its concurrency_key
def limited_add(a, b):
    return a + b


@job("high")
def high_fail(message="boom"):
    raise ValueError(message)


def hold(release_key):
    """Report some progress, then run until the test sets ``release_key`` (30 s at most)."""
    job = get_current_job()
    job.set_progress(3, 10, "step 3 of 10")
    deadline = time.monotonic() + 30
    while not job.connection.exists(release_key) and time.monotonic() < deadline:
        time.sleep(0.05)
    return "released"


def start_list(item):
    return [item]


def append_to(previous, item):
    return [*previous, item]


@job("low")
def low_append(previous, item):
    return [*previous, item]
