"""Job progress through the Django layer: rqstats, and inline runs (JOBQUEUE_ASYNC = False)."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from django_jobqueue import enqueue, get_queue
from django_jobqueue.engine import Worker, get_current_job, progress
from tests.django import tasks

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)


def report_steps(steps, total=None, note="step"):
    """A job that reports each step (inline runs import it from here by name)."""
    job = get_current_job()
    for i in range(1, steps + 1):
        job.set_progress(i, total, f"{note} {i}")
    return steps


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def started(jq, key_prefix, monkeypatch):
    """``started(queue_name, done, total, note)``: a job a worker took, with that report.

    The report is made 10 s after the job started. ``done=None``: no report.
    """
    workers = []

    def make(name, done=None, total=None, note=""):
        queue = get_queue(name)
        queue.enqueue(tasks.add, 1, 2)
        worker = Worker([queue], connection=queue.connection, prefix=key_prefix)
        workers.append(worker)
        job = worker.dequeue()
        if done is not None:
            begun = job.started_at.timestamp()
            monkeypatch.setattr(progress, "now", lambda: begun + 10)
            job.set_progress(done, total, note)
        return job

    return make


def test_rqstats_table_lists_running_jobs_with_progress_and_eta(started):
    halfway = started("default", 50, 200, "importing rows")
    quiet = started("high")
    counting = started("low", 7, None)
    out = run("rqstats")
    lines = out.splitlines()
    start = lines.index("Running jobs:")
    header = lines[start + 1].split()
    assert header == ["queue", "job", "progress", "eta", "note", "or", "call"]
    rows = {line.split()[1]: line for line in lines[start + 2 : start + 5]}
    assert set(rows) == {halfway.id, quiet.id, counting.id}
    # 50 of 200 in 10 s: 40 s in all, so 30 s after the report.
    assert re.search(
        r"25% \(50/200\)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(in \d+ s\)", rows[halfway.id]
    )
    assert rows[halfway.id].endswith("importing rows")
    assert re.search(r"7 done\s+-\s+", rows[counting.id])
    assert re.search(r"\s-\s+-\s+tests\.django\.tasks\.add\(1, 2\)$", rows[quiet.id])


def test_rqstats_json_reports_progress(started):
    job = started("default", 50, 200, "importing rows")
    (row,) = json.loads(run("rqstats", "--json"))["running"]
    assert (row["queue"], row["id"], row["func"]) == ("default", job.id, "tests.django.tasks.add")
    assert row["started_at"] == pytest.approx(job.started_at.timestamp())
    report = row["progress"]
    assert (report["done"], report["total"], report["percent"], report["note"]) == (
        50,
        200,
        25,
        "importing rows",
    )
    assert report["updated_at"] == pytest.approx(row["started_at"] + 10)
    assert report["eta"] == pytest.approx(row["started_at"] + 40)


def test_rqstats_running_limit_and_none(started):
    for _ in range(3):
        started("default", 1, 2)
    assert len(json.loads(run("rqstats", "--json", "--running", "2"))["running"]) == 2
    out = run("rqstats", "--running", "0")
    assert "Running jobs:" not in out


def test_rqstats_without_running_jobs_has_no_section(jq):
    get_queue("default").enqueue(tasks.add, 1, 2)
    assert "Running jobs:" not in run("rqstats")
    assert json.loads(run("rqstats", "--json"))["running"] == []


def test_inline_jobs_report_progress_without_redis(jq, settings, prefixed_keys):
    settings.JOBQUEUE_ASYNC = False
    job = enqueue(report_steps, 4, 8, "chunk")
    assert job.get_status() == "finished"
    assert job.result == 4
    assert (job.progress.done, job.progress.total, job.progress.note) == (4, 8, "chunk 4")
    assert job.progress.percent == 50
    assert job.get_progress() is job.progress
    assert prefixed_keys() == []  # nothing reached Redis


def test_inline_job_with_bad_progress_fails_with_the_hint(jq, settings):
    settings.JOBQUEUE_ASYNC = False
    job = enqueue(report_steps, 1, -5)
    assert job.get_status() == "failed"
    assert "total as a finite number, 0 or more, not -5" in job.exc_info
