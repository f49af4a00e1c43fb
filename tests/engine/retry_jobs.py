"""Job functions and exception classes for the retry-policy tests.

Each job records, in ``trace:attempts:<id>``, the ``job.attempt`` of every
run, so a test sees which runs happened and how each was numbered.
"""

from __future__ import annotations

import builtins

from django_jobqueue.engine import Retry, RetryLater, get_current_job


class TransientError(ConnectionError):
    """A subclass of a class named in retry_on: retried too."""


class FatalError(ValueError):
    """A subclass of a class named in dont_retry_on: never retried."""


def _record_attempt() -> int:
    job = get_current_job()
    job.connection.rpush(f"{job.keys.prefix}trace:attempts:{job.id}", job.attempt)
    return job.attempt


def attempts_key(prefix: str, job_id: str) -> str:
    """The list the jobs above write their attempt numbers to, seen from a test."""
    return f"{prefix}trace:attempts:{job_id}"


def raise_(name: str, message: str = "boom"):
    """Raise the exception named ``name`` (a builtin, or a class of this module)."""
    _record_attempt()
    cls = globals().get(name) or getattr(builtins, name)
    raise cls(message)


def raise_until(attempts_needed: int, name: str = "ConnectionError"):
    """Raise ``name`` until run ``attempts_needed`` times, then return the attempt number."""
    attempt = _record_attempt()
    if attempt < attempts_needed:
        cls = globals().get(name) or getattr(builtins, name)
        raise cls(f"attempt {attempt}")
    return attempt


def retry_later(delay: float | None = None):
    """Ask for a retry by raising RetryLater."""
    _record_attempt()
    raise RetryLater(delay)


def retry_later_until(attempts_needed: int, delay: float | None = None):
    """Raise RetryLater until run ``attempts_needed`` times, then return the attempt number."""
    attempt = _record_attempt()
    if attempt < attempts_needed:
        raise RetryLater(delay)
    return attempt


def return_growing_retry():
    """Ask for a retry by returning a Retry with backoff and a cap."""
    _record_attempt()
    return Retry(max=3, interval=10, backoff=3, max_interval=60)
