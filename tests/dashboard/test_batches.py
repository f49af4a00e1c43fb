"""A batch's dashboard page, and batches through the Django layer (JOBQUEUE_ASYNC)."""

from __future__ import annotations

import re

import django_jobqueue
from django_jobqueue.engine import BatchStatus
from tests.engine import batch_jobs

from .conftest import ADMIN


def _batch(jq, name="nightly"):
    batch = django_jobqueue.Batch.create(
        jq("default"),
        name=name,
        on_success=batch_jobs.record,
        on_complete=batch_jobs.record,
        description="nightly import",
    )
    good = batch.enqueue(batch_jobs.ok, 1)
    bad = batch.enqueue(batch_jobs.boom)
    return batch, good, bad


def test_the_page_shows_status_counts_callbacks_and_linked_jobs(jq, run_jobs, as_user):
    batch, good, bad = _batch(jq)
    client = as_user("viewer")
    page = client.get(f"{ADMIN}batches/default/nightly/").content.decode()
    assert 'id="batch-status">Open<' in page
    assert "not yet: jobs may still be added" in page
    batch.close()
    run_jobs()
    page = client.get(f"{ADMIN}batches/default/nightly/").content.decode()
    assert 'id="batch-status">Completed with failures<' in page
    assert "2 in all: 1 finished, 1 failed, 0 pending" in page
    assert re.search(r'<progress class="jq-progress-bar" max="100" value="100"', page)
    assert "nightly import" in page
    for job in (good, bad):
        assert f'href="{ADMIN}queues/default/jobs/{job.id}/"' in page
    complete = re.search(r'<tr id="callback-on_complete">.*?</tr>', page, re.S).group(0)
    assert "tests.engine.batch_jobs.record" in complete
    assert f'href="{ADMIN}queues/default/jobs/nightly.on_complete/"' in complete
    assert "jq-status-finished" in complete
    success = re.search(r'<tr id="callback-on_success">.*?</tr>', page, re.S).group(0)
    assert "jq-status-deferred" in success  # a job failed: on_success waits


def test_a_batch_job_page_links_to_its_batch(jq, as_user):
    good = _batch(jq)[1]
    client = as_user("viewer")
    page = client.get(f"{ADMIN}queues/default/jobs/{good.id}/").content.decode()
    assert f'<a id="job-batch" href="{ADMIN}batches/default/nightly/">nightly</a>' in page
    other = jq("default").enqueue(batch_jobs.ok, 2)
    assert (
        'id="job-batch"'
        not in client.get(f"{ADMIN}queues/default/jobs/{other.id}/").content.decode()
    )


def test_a_missing_batch_is_a_404_page_and_the_page_needs_the_view_permission(jq, as_user):
    _batch(jq)
    assert as_user("viewer").get(f"{ADMIN}batches/default/nope/").status_code == 404
    assert as_user("staff").get(f"{ADMIN}batches/default/nightly/").status_code == 403
    assert as_user(None).get(f"{ADMIN}batches/default/nightly/").status_code == 302
    assert as_user("viewer").get(f"{ADMIN}batches/unknown/nightly/").status_code == 404


def test_with_jobqueue_async_false_jobs_run_as_added_and_callbacks_at_close(
    jq, settings, redis_conn, key_prefix
):
    settings.JOBQUEUE_ASYNC = False
    batch, good, bad = _batch(jq, "inline")
    assert good.result == 1
    assert bad.get_status() == "failed"
    assert batch_jobs.calls(redis_conn, key_prefix) == []
    batch.close()
    assert batch_jobs.calls(redis_conn, key_prefix) == ["on_complete:inline"]
    assert batch.status == BatchStatus.FAILED
