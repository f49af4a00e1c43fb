"""The progress bars of the dashboard: job page, started list, workers page."""

from __future__ import annotations

import re

import pytest

from django_jobqueue.engine import Worker, progress
from tests.engine import jobs

from .conftest import ADMIN


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


@pytest.fixture
def running(jq, key_prefix, monkeypatch):
    """``running(done, total, note)``: a job a worker has started, with that progress reported.

    The report is made 10 s after the start, so 420 of 1000 gives an ETA 23.8 s
    after the start. Returns ``(worker, job)``; the worker is registered and
    its heartbeat names the job.
    """
    workers = []

    def make(done, total, note=""):
        queue = jq("default")
        queue.enqueue(jobs.add, 1, 2)
        worker = Worker([queue], connection=queue.connection, prefix=key_prefix)
        worker.register_birth()
        workers.append(worker)
        job = worker.dequeue()
        started = job.started_at.timestamp()
        monkeypatch.setattr(progress, "now", lambda: started + 10)
        job.set_progress(done, total, note)
        worker.current_job = job
        worker.heartbeat()
        return worker, job

    yield make
    for worker in workers:
        worker.register_death()


def _bars(html: str) -> list[str]:
    return re.findall(r"<progress [^>]*>", html)


def test_job_page_shows_the_bar_note_and_eta(admin, running):
    _worker, job = running(420, 1000, "copying <invoices>")
    response = admin.get(f"{ADMIN}queues/default/jobs/{job.id}/")
    html = response.content.decode()
    (bar,) = _bars(html)
    assert 'max="100"' in bar and 'value="42"' in bar
    assert 'aria-label="Progress"' in bar
    assert 'aria-valuetext="42% (420/1000): copying &lt;invoices&gt;"' in bar
    assert '<span class="jq-progress-text">42% (420/1000)</span>' in html
    assert '<span class="jq-progress-note">copying &lt;invoices&gt;</span>' in html
    eta = response.context["progress"]["eta"]
    assert eta.timestamp() == pytest.approx(job.started_at.timestamp() + 10 * 1000 / 420)
    assert f"ETA {eta:%Y-%m-%d %H:%M:%S}" in html
    assert "reported" in html and "ago" in html
    assert re.search(r"ETA [-0-9: ]+ UTC \(in 2[0-3] s\)", html)  # 23.8 s after the start


def test_unknown_total_gives_an_indeterminate_bar_without_eta(admin, running):
    _worker, job = running(37, None, "scanning")
    html = admin.get(f"{ADMIN}queues/default/jobs/{job.id}/").content.decode()
    (bar,) = _bars(html)
    assert "value=" not in bar
    assert 'aria-valuetext="37 done: scanning"' in bar
    assert "ETA" not in html


def test_job_page_without_progress_has_no_bar(admin, jq, run_jobs):
    job = jq("default").enqueue(jobs.add, 1, 2)
    run_jobs()
    html = admin.get(f"{ADMIN}queues/default/jobs/{job.id}/").content.decode()
    assert _bars(html) == []
    assert "jq-progress" not in html


def test_finished_job_page_shows_where_it_ended(admin, jq, run_jobs):
    job = jq("default").enqueue(jobs.add, 1, 2)
    run_jobs()
    job = jq("default").fetch_job(job.id)
    job.set_progress(1000, 1000, "done")  # as the job's last report would have been
    html = admin.get(f"{ADMIN}queues/default/jobs/{job.id}/").content.decode()
    (bar,) = _bars(html)
    assert 'value="100"' in bar
    assert '<span class="jq-progress-text">100% (1000/1000)</span>' in html
    assert "ETA" not in html


def test_a_stopped_job_keeps_its_bar_but_has_no_eta(admin, running):
    from django_jobqueue.engine.worker import stop_job

    worker, job = running(420, 1000, "copying")
    worker.register_death()
    assert stop_job(job) == "stopped"
    response = admin.get(f"{ADMIN}queues/default/jobs/{job.id}/")
    html = response.content.decode()
    assert response.context["status"] == "stopped"
    (bar,) = _bars(html)
    assert 'value="42"' in bar
    assert response.context["progress"]["eta"] is None
    assert "ETA" not in html


def test_started_list_has_a_progress_column(admin, running):
    _worker, job = running(250, 1000, "a quarter")
    response = admin.get(f"{ADMIN}queues/default/started/")
    html = response.content.decode()
    assert "<span>Progress</span>" in html
    (row,) = response.context["rows"]
    assert row["id"] == job.id
    assert row["progress"]["percent"] == 25
    (bar,) = _bars(html)
    assert 'value="25"' in bar
    assert '<span class="jq-progress-note">a quarter</span>' in html
    assert "ETA " in html


def test_other_lists_have_no_progress_column(admin, jq):
    jq("default").enqueue(jobs.add, 1, 2)
    html = admin.get(f"{ADMIN}queues/default/").content.decode()
    assert "<span>Progress</span>" not in html
    assert _bars(html) == []


def test_workers_page_shows_the_current_jobs_progress(admin, running):
    _worker, job = running(3, 4, "almost")
    response = admin.get(ADMIN + "workers/")
    (row,) = response.context["rows"]
    assert row["current_job"] == job.id
    assert row["progress"]["percent"] == 75
    (bar,) = _bars(response.content.decode())
    assert 'value="75"' in bar


def test_workers_page_idle_worker_has_no_bar(admin, jq, key_prefix):
    queue = jq("default")
    worker = Worker([queue], connection=queue.connection, prefix=key_prefix)
    worker.register_birth()
    try:
        response = admin.get(ADMIN + "workers/")
    finally:
        worker.register_death()
    (row,) = response.context["rows"]
    assert row["progress"] is None
    assert _bars(response.content.decode()) == []
