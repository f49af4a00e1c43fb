"""The dashboard on a real Redis Cluster: every page and action, queues on three masters.

``cluster_jq`` (tests/conftest.py) configures ``emails``, ``default`` and
``low`` with ``"CLUSTER": True``; every page reads and every action writes
without a cross-slot command.
"""

from __future__ import annotations

import pytest

from django_jobqueue.engine import SimpleWorker, Worker, scripts
from django_jobqueue.queues import get_queue
from tests.engine import jobs

from .conftest import ADMIN, confirm

QUEUES = ("emails", "default", "low")


@pytest.fixture
def admin(as_user, cluster_jq):
    return as_user("superuser")


def _run(*names):
    queues = [get_queue(name) for name in names]
    SimpleWorker(queues, connection=queues[0].connection, prefix=queues[0].keys.prefix).work(
        burst=True, logging_level=None
    )


@pytest.fixture
def filled(admin, key_prefix):
    """Jobs in every state, over the three queues (and so the three masters)."""
    emails, default, low = (get_queue(name) for name in QUEUES)
    parent = emails.enqueue(jobs.add, 1, 1)
    child = low.enqueue(jobs.add, 2, 2, depends_on=parent)
    failed = default.enqueue(jobs.fail, "broken")
    finished = low.enqueue(jobs.add, 3, 3)
    _run("default", "low")
    waiting = default.enqueue(jobs.add, 4, 4)
    later = emails.enqueue_in(3600, jobs.add, 5, 5)
    return {
        "parent": parent,
        "child": child,
        "failed": failed,
        "finished": finished,
        "waiting": waiting,
        "later": later,
    }


def test_overview_and_workers(admin, filled, key_prefix):
    queues = [get_queue(name) for name in QUEUES]
    worker = Worker(queues, connection=queues[0].connection, prefix=key_prefix, name="w-c")
    worker.register_birth()
    try:
        overview = admin.get(ADMIN)
        workers = admin.get(ADMIN + "workers/")
    finally:
        worker.register_death()
    assert overview.status_code == 200
    rows = {row["name"]: row for row in overview.context["rows"]}
    assert (rows["emails"]["queued"], rows["emails"]["scheduled"]) == (1, 1)
    assert (rows["default"]["queued"], rows["default"]["failed"]) == (1, 1)
    assert (rows["low"]["deferred"], rows["low"]["finished"]) == (1, 1)
    assert all(row["workers"] == 1 for row in rows.values())
    assert overview.context["chart"].total_failed == 1
    assert workers.status_code == 200
    assert [row["name"] for row in workers.context["rows"]] == ["w-c"]


@pytest.mark.parametrize(
    "queue,slug",
    [
        ("emails", ""),
        ("emails", "scheduled/"),
        ("default", "failed/"),
        ("low", "deferred/"),
        ("low", "finished/"),
        ("default", "started/"),
        ("low", "canceled/"),
    ],
)
def test_queue_pages(admin, filled, queue, slug):
    response = admin.get(ADMIN + f"queues/{queue}/{slug}")
    assert response.status_code == 200


def test_job_pages_with_a_cross_queue_dependency(admin, filled):
    parent, child = filled["parent"], filled["child"]
    for job in (parent, child, filled["failed"], filled["finished"]):
        response = admin.get(ADMIN + f"queues/{job.origin}/jobs/{job.id}/")
        assert response.status_code == 200
    html = admin.get(ADMIN + f"queues/low/jobs/{child.id}/").content.decode()
    assert parent.id in html  # the chain reaches over to the other master


def test_job_actions(admin, filled, cluster_jq):
    failed, waiting, later = filled["failed"], filled["waiting"], filled["later"]
    admin.post(ADMIN + f"queues/default/jobs/{failed.id}/requeue/", {"post": "yes"})
    assert failed.get_status() == "queued"
    admin.post(ADMIN + f"queues/emails/jobs/{later.id}/cancel/", {"post": "yes"})
    assert later.get_status() == "canceled"
    admin.post(ADMIN + f"queues/default/jobs/{waiting.id}/delete/", {"post": "yes"})
    assert not waiting.connection.exists(waiting.key)
    # The parent goes: its child, on another master, hears of it.
    admin.post(ADMIN + f"queues/emails/jobs/{filled['parent'].id}/delete/", {"post": "yes"})
    assert filled["child"].get_status() == "deferred"
    # Stop a started job whose worker is gone.
    started = get_queue("low").enqueue(jobs.add, 1, 1)
    scripts.dequeue(cluster_jq, started.keys, ["low"], 1e9, "gone-worker", 60)
    admin.post(ADMIN + f"queues/low/jobs/{started.id}/stop/", {"post": "yes"})
    assert started.get_status() == "stopped"


def test_bulk_actions(admin, filled):
    default = get_queue("default")
    more = [default.enqueue(jobs.fail) for _ in range(3)]
    _run("default")
    path = ADMIN + "queues/default/failed/bulk/"
    _, fields = confirm(admin, path, action="requeue", all="1")
    assert fields["select_across"] == ["1"] and fields["selection"]
    admin.post(path, fields)
    assert default.failed_job_registry.count == 0
    assert all(job.get_status() == "queued" for job in [filled["failed"], *more])
    _, fields = confirm(admin, ADMIN + "queues/default/queued/bulk/", action="delete", all="1")
    admin.post(ADMIN + "queues/default/queued/bulk/", fields)
    assert default.count == 0


def test_periodic_jobs_page_and_actions(admin, settings, key_prefix):
    from django_jobqueue.engine.cron import CronEntry
    from django_jobqueue.engine.scheduler import Scheduler

    every = {
        "func": "tests.engine.jobs.add",
        "interval": 60,
        "args": [1, 2],
        "name": "every",
        "queue": "low",
    }
    hourly = {
        "func": "tests.engine.jobs.add",
        "cron": "0 * * * *",
        "name": "hourly",
        "queue": "emails",
        "timezone": "UTC",
    }
    settings.JOBQUEUE_CRON = [every, hourly]
    low = get_queue("low")
    scheduler = Scheduler(
        low.connection, key_prefix, name="w-sched", cron=[CronEntry(**every), CronEntry(**hourly)]
    )
    try:
        scheduler.tick()  # fires "every" (an interval entry runs at once) on its master
    finally:
        scheduler.release()
    assert low.count == 1
    page = admin.get(ADMIN + "cron/")
    assert page.status_code == 200
    assert b"every" in page.content and b"hourly" in page.content
    admin.post(ADMIN + "cron/hourly/run/", {"post": "yes"})
    assert get_queue("emails").count == 1
    admin.post(ADMIN + "cron/every/pause/", {"post": "yes"})
    assert b"Resume" in admin.get(ADMIN + "cron/").content


def test_a_cluster_failing_over_is_a_page_not_a_crash(admin, monkeypatch):
    from redis.exceptions import ClusterDownError

    from django_jobqueue.dashboard import views

    def down(queues):
        raise ClusterDownError("CLUSTERDOWN The cluster is down")

    monkeypatch.setattr(views, "queue_stats", down)
    response = admin.get(ADMIN)
    assert response.status_code == 503
    assert b"cannot reach Redis" in response.content


def test_filtered_pages_actions_and_warnings(admin, filled):
    """search.lua reads only its queue's slot; parents and dependents on other masters.

    Before Redis 8 a cluster refuses SORT's GET patterns, even with the queue's
    hash tag: the script then reads job by job (tests/dashboard/test_search.py
    checks that both ways find the same jobs).
    """
    for queue, slug in [("default", ""), ("default", "failed/"), ("low", "deferred/")]:
        response = admin.get(ADMIN + f"queues/{queue}/{slug}", {"func": "jobs", "o": "-ended"})
        assert response.status_code == 200
    response = admin.get(ADMIN + "queues/default/failed/", {"exc": "broken"})
    assert [row["id"] for row in response.context["rows"]] == [filled["failed"].id]
    (row,) = admin.get(ADMIN + "queues/low/deferred/").context["rows"]
    assert row["parents"][0]["queue"] == "emails" and not row["stuck"]
    page = admin.get(ADMIN + f"queues/emails/jobs/{filled['parent'].id}/delete/")
    assert "1 deferred job depends on the jobs deleted" in page.content.decode()
    path = ADMIN + "queues/default/failed/bulk/"
    _, fields = confirm(admin, path, action="requeue", select_across="1", exc="broken")
    admin.post(path, fields)
    assert filled["failed"].get_status() == "queued"
