"""engine.defaults: RQ's ``rq.defaults`` names for the defaults the engine uses."""

from __future__ import annotations

import time

from django_jobqueue.engine import defaults

from . import jobs


def test_defaults_have_rqs_names_and_values():
    assert defaults.DEFAULT_FAILURE_TTL == 365 * 24 * 3600
    assert defaults.DEFAULT_RESULT_TTL == 500
    assert defaults.DEFAULT_WORKER_TTL == 420
    assert defaults.DEFAULT_CRON_JOB_HISTORY_TTL == 365 * 24 * 3600
    assert defaults.DEFAULT_CRON_SCHEDULER_TTL == 120
    assert defaults.CALLBACK_TIMEOUT == 60


def test_the_failure_ttl_default_is_the_one_the_engine_applies(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    before = time.time()
    queue.failed_job_registry.add(job)
    expires = queue.failed_job_registry.get_expiration_time(job).timestamp() - before
    assert defaults.DEFAULT_FAILURE_TTL - 1 < expires < defaults.DEFAULT_FAILURE_TTL + 2
