"""Decorated jobs with retry policies, for tests/django/test_retry_options.py."""

from __future__ import annotations

from django_jobqueue import Retry, RetryLater, get_current_job, job


@job(retry=Retry(max=3, interval=60, backoff=2, retry_on=ConnectionError))
def flaky(attempts_needed):
    """Raise ConnectionError until run ``attempts_needed`` times; return the attempt."""
    attempt = get_current_job().attempt
    if attempt < attempts_needed:
        raise ConnectionRefusedError(f"attempt {attempt}")
    return attempt


@job(retry=Retry(max=3, retry_on=ConnectionError))
def broken():
    """Fail in a way the policy does not retry."""
    raise ValueError("not retried")


@job
def asks_later(attempts_needed, delay=None):
    """Raise RetryLater until run ``attempts_needed`` times; return the attempt."""
    attempt = get_current_job().attempt
    if attempt < attempts_needed:
        raise RetryLater(delay)
    return attempt
