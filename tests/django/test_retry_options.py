"""Retry policies through the Django layer: ``@job(retry=...)``, drain(), JOBQUEUE_ASYNC."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command

from django_jobqueue import get_queue
from django_jobqueue.testing import FailedJobsError, drain
from tests.django import retry_tasks

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inline(jq, settings):
    settings.JOBQUEUE_ASYNC = False
    return jq


def test_inline_retries_run_at_once_without_waiting(inline):
    started = time.monotonic()
    job = retry_tasks.flaky.delay(3)  # would wait 60 s, then 120 s, in a worker
    assert (job.get_status(), job.return_value()) == ("finished", 3)
    assert (job.attempt, job.retries_left) == (3, 1)
    asked = retry_tasks.asks_later.delay(2, 3600)
    assert (asked.get_status(), asked.return_value(), asked.attempt) == ("finished", 2, 2)
    assert time.monotonic() - started < 5


def test_inline_failure_the_policy_does_not_retry_fails_at_once(inline):
    job = retry_tasks.broken.delay()
    assert job.get_status() == "failed" and job.attempt == 1
    assert "ValueError: not retried" in job.exc_info


def test_drain_keeps_a_delayed_retry_waiting_until_scheduled_is_true(jq):
    job = retry_tasks.flaky.delay(3)
    before = time.time()
    result = drain()
    assert result.retried == [job] and result.failed == []
    assert job.get_status(refresh=True) == "scheduled"
    assert before + 60 <= job.get_scheduled_time().timestamp() <= time.time() + 60
    result = drain(scheduled=True)
    assert [j.id for j in result.jobs] == [job.id, job.id]
    job.refresh()
    assert (job.get_status(), job.return_value(), job.attempt) == ("finished", 3, 3)


def test_drain_reports_a_failure_the_policy_does_not_retry(jq):
    job = retry_tasks.broken.delay()
    with pytest.raises(FailedJobsError, match="ValueError: not retried"):
        drain()
    job.refresh()
    assert (job.retries_left, job.attempt) == (3, 1)


def test_drain_runs_the_retries_a_job_asks_for(jq):
    job = retry_tasks.asks_later.delay(3)
    result = drain()
    assert len(result.retried) == 2 and result.finished == [job]
    assert job.return_value(refresh=True) == 3


def test_rqstats_shows_which_attempt_a_scheduled_job_waits_for(jq):
    retried = retry_tasks.flaky.delay(5)
    drain()
    later = get_queue().enqueue_in(600, retry_tasks.asks_later, 1)
    out = StringIO()
    call_command("rqstats", "--json", stdout=out)
    scheduled = {r["id"]: r for r in json.loads(out.getvalue())["scheduled"]}
    assert (scheduled[retried.id]["attempt"], scheduled[later.id]["attempt"]) == (2, 1)
    out = StringIO()
    call_command("rqstats", stdout=out)
    lines = out.getvalue().splitlines()
    assert "attempt" in next(line for line in lines if line.lstrip().startswith("runs at"))
    assert "2 (retry)" in next(line for line in lines if retried.id in line)
    assert " 1 " in next(line for line in lines if later.id in line)
