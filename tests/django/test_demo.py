"""The demo site (testproject/): its page and the job list it polls."""

from __future__ import annotations

import re

import pytest

from django_jobqueue import get_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings, jq, client):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "testproject.demo"]
    settings.ROOT_URLCONF = "testproject.urls"
    return client


def test_the_page_does_not_reload_itself(demo):
    html = demo.get("/").content.decode()
    assert not re.search(r"http-equiv=[\"']?refresh", html, re.I)
    # The forms are outside the part the script replaces.
    jobs = re.search(r'<div id="jobs" data-url="([^"]+)">(.*?)</div>', html, re.S)
    assert jobs.group(1) == "/jobs/"
    assert "<input" not in jobs.group(2) and "<form" not in jobs.group(2)
    assert 'name="x"' in html and "fetch(jobs.dataset.url" in html


def test_the_job_list_shows_the_jobs_enqueued_from_the_page(demo):
    response = demo.post("/enqueue/add/", {"x": "2", "y": "3", "queue": "high"})
    assert response.status_code == 302
    fragment = demo.get("/jobs/").content.decode()
    assert "<html" not in fragment and "<form" not in fragment
    row = re.search(r'<tr id="job-[^"]+">(.*?)</tr>', fragment, re.S).group(1)
    assert "testproject.demo.tasks.add" in row and ">queued<" in row
    get_worker("high", worker_class="simple").work(burst=True, logging_level=None)
    row = re.search(r'<tr id="job-[^"]+">(.*?)</tr>', demo.get("/jobs/").content.decode(), re.S)
    assert ">finished<" in row.group(1) and "<code>5</code>" in row.group(1)


def test_the_job_list_says_when_redis_is_unreachable(demo, settings):
    from tests.redis_rigs import find_free_port

    demo.post("/enqueue/add/", {"x": "1", "y": "1"})
    settings.JOBQUEUE_QUEUES = {"default": {"URL": f"redis://127.0.0.1:{find_free_port()}/0"}}
    assert "Redis is not reachable" in demo.get("/jobs/").content.decode()
