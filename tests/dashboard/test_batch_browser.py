"""A batch's page in a real headless Chromium, light and dark (see test_browser.py).

Screenshots go to ``$JOBQUEUE_SCREENSHOTS`` (or a fresh temporary folder).
"""

from __future__ import annotations

import time

import pytest

import django_jobqueue
from tests.engine import batch_jobs

from .conftest import ADMIN
from .test_browser import browser, chromium, screenshots  # noqa: F401  (fixtures)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_batch_page_in_each_theme(browser, jq, run_jobs, theme):  # noqa: F811
    batch = django_jobqueue.Batch.create(
        jq("default"),
        name="nightly-import",
        on_success=batch_jobs.record,
        on_complete=batch_jobs.record,
        description="nightly import of the partner feeds",
    )
    for i in range(6):
        batch.enqueue(batch_jobs.ok, i)
    batch.enqueue(batch_jobs.boom)
    for i in range(3):  # due in an hour: pending
        batch.enqueue_call(batch_jobs.ok, (i,), at=time.time() + 3600)
    batch.close()
    run_jobs()
    browser.login("superuser")
    browser.get(ADMIN)
    browser.driver.execute_script("localStorage.setItem('theme', arguments[0]);", theme)
    browser.get(f"{ADMIN}batches/default/nightly-import/")
    try:
        assert browser.css("#batch-status").text == "Running"
        assert "10 in all: 6 finished, 1 failed, 3 pending" in browser.css("#batch-counts").text
        assert browser.css("#batch-progress progress").get_attribute("value") == "70"
        assert len(browser.all("#batch-jobs tbody tr")) == 10
        assert "Deferred" in browser.css("#callback-on_success").text
        mode = browser.driver.execute_script("return document.documentElement.dataset.theme || ''")
        assert mode == theme
        browser.shot(f"20-batch-{theme}")
        browser.follow(browser.css("#callback-on_complete a"))
        assert browser.path == f"{ADMIN}queues/default/jobs/nightly-import.on_complete/"
    finally:
        browser.driver.execute_script("localStorage.removeItem('theme');")
