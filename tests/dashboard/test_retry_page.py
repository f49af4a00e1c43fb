"""The job page tells which attempt a job is at, when a waiting retry runs, and its policy."""

from __future__ import annotations

import re

import pytest

from django_jobqueue.engine import Retry
from tests.engine import jobs, retry_jobs

from .conftest import ADMIN


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


def _cell(html: str, row_id: str) -> str:
    return re.search(rf'<td id="{row_id}"[^>]*>(.*?)</td>', html, re.S).group(1)


def test_a_waiting_retry_shows_its_attempt_its_time_and_the_policy(admin, jq, run_jobs):
    policy = Retry(
        max=3,
        interval=60,
        backoff=2,
        max_interval=3600,
        jitter=True,
        retry_on=OSError,
        dont_retry_on=(retry_jobs.FatalError,),
    )
    job = jq("default").enqueue(retry_jobs.raise_, "ConnectionError", retry=policy)
    page = ADMIN + f"queues/default/jobs/{job.id}/"
    html = admin.get(page).content.decode()
    assert _cell(html, "job-attempt") == "1"
    run_jobs()
    html = admin.get(page).content.decode()
    assert _cell(html, "job-attempt") == (
        '2 <span class="jq-source">(a retry that has not started yet)</span>'
    )
    assert '<th scope="row">Next attempt at</th>' in html
    assert re.search(r'<td id="job-runs-at"[^>]*><time ', html)
    assert _cell(html, "job-retries-left") == "2 / 3"
    assert _cell(html, "job-retry-policy") == (
        "3 retries, waiting 60 s; times 2 after each retry; at most 1 h; with jitter "
        "(half to all of each wait); only on builtins.OSError; never on "
        "tests.engine.retry_jobs.FatalError"
    )


def test_an_ended_job_shows_its_last_attempt_and_no_retry_waiting(admin, jq, run_jobs):
    job = jq("default").enqueue(jobs.fail, retry=Retry(max=1))
    run_jobs()  # fails, is retried at once, fails again
    html = admin.get(ADMIN + f"queues/default/jobs/{job.id}/").content.decode()
    assert _cell(html, "job-attempt") == "2"
    assert _cell(html, "job-retry-policy") == "1 retry, waiting 0 s"
    plain = jq("default").enqueue(jobs.add, 1, 1)
    run_jobs()
    html = admin.get(ADMIN + f"queues/default/jobs/{plain.id}/").content.decode()
    assert _cell(html, "job-attempt") == "1"
    assert 'id="job-retry-policy"' not in html and "Runs at" not in html
