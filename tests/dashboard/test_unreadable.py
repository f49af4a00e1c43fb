"""A job hash written by something else than this code: its pages say so, and it can be deleted.

A worker that meets a field it cannot read (a ``created_at`` that is not a
number, a name that is not UTF-8) fails the job with the reason
(tests/engine/test_corrupt_data.py): the job then sits in the failed list.
Every page that shows it must still answer, name the bad field, and let a
person delete it; the jobs around it are shown as usual.
"""

from __future__ import annotations

import logging
import re

import pytest

import django_jobqueue
from django_jobqueue.dashboard.pagination import ROW_FIELDS
from django_jobqueue.engine import Job
from django_jobqueue.engine.corrupt import UnreadableJob, load_job
from tests.engine import batch_jobs, jobs

from .conftest import ADMIN


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


#: (field, value written over it, what the page names as the error)
BAD_FIELDS = [
    ("created_at", "soon", "could not convert string to float"),
    ("enqueued_at", "yesterday", "could not convert string to float"),
    ("started_at", "", None),  # empty is "none": readable, the control
    ("started_at", "12:00", "could not convert string to float"),
    ("ended_at", "1e999999x", "could not convert string to float"),
    ("created_at", "nan", "is not a time"),
    ("started_at", "1e999", "is not a time"),
    ("ended_at", "99999999999999999999999", "is not a time"),
    ("enqueued_at", "-5", "is not a time"),
    ("ttl", "forever", "could not convert string to float"),
    ("failure_ttl", "inf", "OverflowError"),
    ("result_ttl", "nan", "cannot convert float NaN to integer"),
    ("timeout", "1h", "could not convert string to float"),
    ("retries_left", "three", "could not convert string to float"),
    ("repeats_left", "x", "could not convert string to float"),
    ("priority", "high", "could not convert string to float"),
    ("rl_concurrency", "many", "could not convert string to float"),
    ("func", b"tests.\xff\xfe", "UnicodeDecodeError"),
    ("desc", b"\xffcall", "UnicodeDecodeError"),
    ("exc_info", b"Traceback \xff", "UnicodeDecodeError"),
    ("worker", b"\xc3", "UnicodeDecodeError"),
]


def _failed_with(jq, run_jobs, redis_conn, field, value):
    """A failed job between two readable ones, with ``field`` overwritten."""
    q = jq("default")
    before = q.enqueue(jobs.fail, "before")
    job = q.enqueue(jobs.fail, "victim")
    after = q.enqueue(jobs.fail, "after")
    run_jobs()
    redis_conn.hset(job.key, field, value)
    return before, job, after


def _row(html: str, job_id: str) -> str:
    return re.search(rf'<tr>(?:(?!<tr>).)*?title="{job_id}".*?</tr>', html, re.S).group(0)


@pytest.mark.parametrize(
    "field,value,error", BAD_FIELDS, ids=[f"{f}={v!r}" for f, v, _e in BAD_FIELDS]
)
def test_every_page_that_shows_the_job_answers_and_names_the_field(
    admin, jq, run_jobs, redis_conn, field, value, error
):
    before, job, after = _failed_with(jq, run_jobs, redis_conn, field, value)
    lists = [
        "queues/default/failed/",
        "queues/default/failed/?o=-ended",
        "queues/default/failed/?o=duration",
        "queues/default/failed/?func=fail",
        "queues/default/failed/?exc=error",
        f"queues/default/failed/?q={job.id}",
    ]
    for path in lists:
        response = admin.get(ADMIN + path)
        assert response.status_code == 200, path
        html = response.content.decode()
        if field == "func" and "func=" in path:
            assert job.id not in html  # its function no longer contains "fail"
            continue
        row = _row(html, job.id)
        if error is None or field not in (*ROW_FIELDS, "exc_info"):
            # A row reads only what it shows: the job page finds the bad field.
            assert "unreadable" not in row and "jq-status-failed" in row, path
            continue
        assert "jq-status-unreadable" in row, path
        assert f"{field} = " in row, path
        assert error in row, path
        # Still selectable for the bulk actions.
        assert f'name="_selected_action" value="{job.id}"' in row, path
        if "q=" not in path:
            for other in (before, after):
                assert "jq-status-failed" in _row(html, other.id), path

    page = admin.get(ADMIN + f"queues/default/jobs/{job.id}/")
    assert page.status_code == 200
    html = page.content.decode()
    if error is None:
        assert page.context["status"] == "failed"
        return
    assert page.context["job"].field == field
    notice = re.search(r'<p class="errornote" id="job-unreadable">(.*?)</p>', html, re.S).group(1)
    assert f"Field “{field}”" in notice and error in notice
    bad = re.search(r'<tr class="jq-field-bad">.*?</tr>', html, re.S).group(0)
    assert f">{field}</th>" in bad
    shown = value.decode(errors="backslashreplace") if isinstance(value, bytes) else value
    assert shown in bad
    # The other fields are listed as stored: the readable ones as text, the
    # pickled call by its size.
    fields = re.search(r'<table [^>]*id="job-fields">.*?</table>', html, re.S).group(0)
    assert '>status</th><td><pre class="jq-pre">failed</pre>' in fields
    assert re.search(r">data</th><td><span class=\"jq-source\">\d+ bytes, not text</span>", fields)
    assert f'href="{ADMIN}queues/default/jobs/{job.id}/delete/"' in html


def test_it_can_be_deleted_from_its_page_but_not_requeued(admin, jq, run_jobs, redis_conn):
    _before, job, _after = _failed_with(jq, run_jobs, redis_conn, "created_at", "soon")
    q = jq("default")
    refused = admin.get(ADMIN + f"queues/default/jobs/{job.id}/requeue/", follow=True)
    messages = [str(m) for m in refused.context["messages"]]
    assert any(
        "cannot be read (created_at = b'soon'" in m and "only be deleted" in m for m in messages
    )
    assert job.id in q.failed_job_registry
    question = admin.get(ADMIN + f"queues/default/jobs/{job.id}/delete/")
    assert b"Delete job" in question.content
    response = admin.post(
        ADMIN + f"queues/default/jobs/{job.id}/delete/", {"post": "yes"}, follow=True
    )
    assert any("was deleted" in str(m) for m in response.context["messages"])
    assert not redis_conn.exists(job.key)
    assert job.id not in q.failed_job_registry
    assert q.failed_job_registry.count == 2


def test_selected_rows_with_it_are_deleted_in_bulk(admin, jq, run_jobs, redis_conn):
    before, job, _after = _failed_with(jq, run_jobs, redis_conn, "ttl", "forever")
    admin.post(
        ADMIN + "queues/default/failed/bulk/",
        {"action": "delete", "_selected_action": [job.id, before.id], "post": "yes"},
    )
    assert not redis_conn.exists(job.key) and not redis_conn.exists(before.key)
    assert jq("default").failed_job_registry.count == 1


def test_a_batch_page_shows_an_unreadable_member_and_callback(admin, jq, run_jobs, redis_conn):
    batch = django_jobqueue.Batch.create(
        jq("default"), name="nightly", on_complete=batch_jobs.record
    )
    good = batch.enqueue(batch_jobs.ok, 1)
    bad = batch.enqueue(batch_jobs.boom)
    batch.close()
    run_jobs()
    callback_key = batch.callback_key("on_complete")
    assert redis_conn.hget(callback_key, "status") == b"finished"
    redis_conn.hset(bad.key, "enqueued_at", "later")
    redis_conn.hset(callback_key, "created_at", "later")
    response = admin.get(f"{ADMIN}batches/default/nightly/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "jq-status-unreadable" in _row(html, bad.id)
    assert "enqueued_at = " in _row(html, bad.id)
    assert "jq-status-finished" in _row(html, good.id)
    callback = re.search(r'<tr id="callback-on_complete">.*?</tr>', html, re.S).group(0)
    assert "jq-status-finished" in callback  # its status is readable, and shown
    # A status that is not text is an unknown one, for the batch's state too.
    redis_conn.hset(callback_key, "status", b"\xff")
    response = admin.get(f"{ADMIN}batches/default/nightly/")
    assert response.status_code == 200
    callback = re.search(r'<tr id="callback-on_complete">.*?</tr>', response.content.decode(), re.S)
    assert "jq-status-finished" not in callback.group(0)


def test_a_parent_written_badly_is_drawn_in_its_childs_chain(admin, jq, redis_conn):
    q = jq("default")
    parent = q.enqueue(jobs.add, 1, 2, description="first")
    child = q.enqueue(jobs.add, 3, 4, depends_on=parent)
    redis_conn.hset(parent.key, "desc", b"fir\xffst")
    response = admin.get(ADMIN + f"queues/default/jobs/{child.id}/")
    assert response.status_code == 200
    assert "fir\\xffst" in response.content.decode()


def test_load_job_names_the_field_and_reads_a_good_hash_as_a_job(redis_conn, key_prefix):
    fields = {b"status": b"failed", b"func": b"tests.engine.jobs.add", b"created_at": b"1.5"}
    kwargs = {"origin": "default", "prefix": key_prefix}
    assert isinstance(load_job(Job, "j1", fields, redis_conn, **kwargs), Job)
    bad = load_job(Job, "j1", {**fields, b"retries_left": b"two"}, redis_conn, **kwargs)
    assert isinstance(bad, UnreadableJob)
    assert (bad.field, bad.status, bad.func_name) == (
        "retries_left",
        "failed",
        "tests.engine.jobs.add",
    )
    assert bad.reason.startswith("retries_left = b'two': ValueError: could not convert")


def test_the_engine_pages_skip_it_and_log_the_field(jq, run_jobs, redis_conn, caplog):
    _before, job, _after = _failed_with(jq, run_jobs, redis_conn, "started_at", "noon")
    registry = jq("default").failed_job_registry
    with caplog.at_level(logging.ERROR, logger="django_jobqueue.worker"):
        found = registry.get_jobs()
    assert len(found) == 2 and job.id not in {j.id for j in found}
    assert any(
        job.key in r.getMessage() and "started_at = b'noon'" in r.getMessage()
        for r in caplog.records
    )
