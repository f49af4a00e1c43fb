"""The job page shows a job's unique key, its unique_until and whether it holds it."""

from __future__ import annotations

import re

import pytest

from tests.engine import jobs

from .conftest import ADMIN


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


def _cell(html: str) -> str:
    found = re.search(r'<td id="job-unique"[^>]*>(.*?)</td>', html, re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)) if found else ""


def test_the_job_page_shows_the_key_and_whether_it_is_held(admin, jq, run_jobs):
    job = jq("default").enqueue(
        jobs.add, 1, 2, unique_for=600, unique_key="report:42", unique_until="finish"
    )
    page = ADMIN + f"queues/default/jobs/{job.id}/"
    assert _cell(admin.get(page).content.decode()) == (
        "until finish, key report:42 (held, for at most 600 s from the enqueue)"
    )
    run_jobs()
    assert _cell(admin.get(page).content.decode()) == (
        "until finish, key report:42 (not held by this job)"
    )
    plain = jq("default").enqueue(jobs.add, 1, 2)
    html = admin.get(ADMIN + f"queues/default/jobs/{plain.id}/").content.decode()
    assert 'id="job-unique"' not in html
