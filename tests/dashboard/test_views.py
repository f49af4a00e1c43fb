"""What the dashboard's pages show and what its actions do."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from django_jobqueue.dashboard import display, operations
from django_jobqueue.engine import Worker, scripts
from tests.engine import jobs

from .conftest import ADMIN, confirm


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


def _ids(response) -> list[str]:
    """The job ids of a list page's table, top to bottom."""
    return re.findall(r'name="_selected_action" value="([^"]+)"', response.content.decode())


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# -- pages ----------------------------------------------------------------------------------


def test_overview_counts_every_configured_queue(admin, jq, run_jobs, key_prefix):
    default, low = jq("default"), jq("low")
    default.enqueue(jobs.add, 1, 2)
    default.enqueue(jobs.fail)
    run_jobs()
    for i in range(3):
        default.enqueue(jobs.add, i, i)
    low.enqueue(jobs.add, 1, 1)
    default.enqueue_in(3600, jobs.add, 9, 9)
    worker = Worker([default, low], connection=default.connection, prefix=key_prefix, name="w1")
    worker.register_birth()
    try:
        response = admin.get(ADMIN)
    finally:
        worker.register_death()
    rows = {row["name"]: row for row in response.context["rows"]}
    assert list(rows) == ["default", "high", "low"]
    assert (
        rows["default"]["queued"],
        rows["default"]["finished"],
        rows["default"]["failed"],
        rows["default"]["scheduled"],
        rows["default"]["workers"],
    ) == (3, 1, 1, 1, 1)
    assert (rows["low"]["queued"], rows["low"]["workers"], rows["high"]["workers"]) == (1, 1, 0)
    chart = response.context["chart"]
    assert (chart.total_finished, chart.total_failed) == (1, 1)
    assert len(chart.bars) == 60
    html = response.content.decode()
    assert '<svg viewBox="0 0 720 140"' in html
    assert 'class="jq-failed"' in html and 'class="jq-finished"' in html
    assert f'href="{ADMIN}queues/default/failed/"' in html
    assert f'href="{ADMIN}workers/"' in html


def test_workers_page(admin, jq, key_prefix):
    q = jq("default")
    worker = Worker(
        [q, jq("high")], connection=q.connection, prefix=key_prefix, name="host-7.<b>w</b>"
    )
    worker.register_birth()
    q.enqueue(jobs.add, 1, 2)
    worker.current_job = worker.dequeue()  # started, as the page reads it from the registry
    worker.successful_job_count, worker.failed_job_count = 12, 3
    worker.heartbeat()
    try:
        response = admin.get(ADMIN + "workers/")
    finally:
        worker.register_death()
    (row,) = response.context["rows"]
    assert row["pid"] and row["hostname"] and row["last_heartbeat"] is not None
    assert (row["successful"], row["failed"]) == ("12", "3")
    html = response.content.decode()
    assert "host-7.&lt;b&gt;w&lt;/b&gt;" in html
    assert f"{ADMIN}queues/default/jobs/{worker.current_job.id}/" in html
    assert f'href="{ADMIN}queues/high/"' in html


def test_queue_page_lists_newest_first_with_pages_of_25_50_100(admin, jq):
    q = jq("default")
    ids = [q.enqueue(jobs.add, i, i, job_id=f"job-{i:03d}").id for i in range(120)]
    newest_first = ids[::-1]
    response = admin.get(ADMIN + "queues/default/")
    assert _ids(response) == newest_first[:25]
    assert response.context["paginator"].count == 120
    response = admin.get(ADMIN + "queues/default/?per_page=50&p=2")
    assert _ids(response) == newest_first[50:100]
    response = admin.get(ADMIN + "queues/default/?per_page=100&p=2")
    assert _ids(response) == newest_first[100:]
    response = admin.get(ADMIN + "queues/default/?per_page=7&p=99")  # bad values fall back
    assert response.context["per_page"] == 25
    assert _ids(response) == newest_first[100:]
    html = response.content.decode()
    assert 'class="this-page">5<' in html


def test_queue_page_orders_priorities_like_the_workers_reversed(admin, jq):
    q = jq("default")
    for job_id, priority in [("plain-1", 0), ("urgent", 50), ("plain-2", 0), ("whenever", -50)]:
        q.enqueue_call(jobs.add, args=(1, 1), job_id=job_id, priority=priority)
    expected = list(reversed(q.get_job_ids()))
    assert expected == ["whenever", "plain-2", "plain-1", "urgent"]
    assert _ids(admin.get(ADMIN + "queues/default/")) == expected
    assert _ids(admin.get(ADMIN + "queues/default/?p=1&per_page=25")) == expected


def test_registry_pages_show_results_and_exceptions(admin, jq, run_jobs):
    q = jq("default")
    ok = q.enqueue(jobs.add, 20, 22)
    bad = q.enqueue(jobs.fail, "no disk left")
    run_jobs()
    finished = admin.get(ADMIN + "queues/default/finished/")
    (row,) = finished.context["rows"]
    assert (row["id"], row["status"], row["summary"]) == (ok.id, "finished", "42")
    assert row["duration"] is not None and row["ended_at"] is not None
    failed = admin.get(ADMIN + "queues/default/failed/")
    (row,) = failed.context["rows"]
    assert (row["id"], row["summary_kind"]) == (bad.id, "error")
    assert row["summary"] == "ValueError: no disk left"
    tabs = {tab["slug"]: tab["count"] for tab in failed.context["tabs"]}
    assert tabs == {
        "queued": 0,
        "started": 0,
        "deferred": 0,
        "scheduled": 0,
        "rate_limited": 0,
        "finished": 1,
        "failed": 1,
        "canceled": 0,
    }


def test_jobs_waiting_for_a_slot_have_their_list(admin, jq):
    q = jq("default")
    holder = q.enqueue(jobs.add, 1, 1, concurrency_key="tenant:7", concurrency_limit=1)
    waiting = q.enqueue(jobs.add, 2, 2, concurrency_key="tenant:7", concurrency_limit=1)
    response = admin.get(ADMIN + "queues/default/rate_limited/")
    assert _ids(response) == [waiting.id]
    assert "waits for a slot of tenant:7 (at most 1 at once)" in response.content.decode()
    assert response.context["slug_label"] == "Waiting for a slot"
    tabs = {tab["slug"]: tab["count"] for tab in response.context["tabs"]}
    assert (tabs["queued"], tabs["rate_limited"]) == (1, 1)
    assert _ids(admin.get(ADMIN + "queues/default/")) == [holder.id]
    (row,) = admin.get(ADMIN).context["rows"][:1]
    assert ("rate_limited", 1) in [(slug, count) for slug, count, _ in row["lists"]]
    # A row shows the key it waits for when the job's hash brought it.
    page = admin.get(ADMIN + f"queues/default/jobs/{waiting.id}/").content.decode()
    cell = re.search(r'<td id="job-concurrency-limit">(.*?)</td>', page).group(1)
    assert re.sub(r"<[^>]+>", "", cell) == (
        "tenant:7 (at most 1 at once on this queue) (waiting for a slot)"
    )
    assert (
        'id="job-concurrency-limit"'
        not in admin.get(
            ADMIN + f"queues/default/jobs/{q.enqueue(jobs.add, 3, 3).id}/"
        ).content.decode()
    )
    assert display.summary(q.fetch_job(waiting.id), "rate_limited") == (
        "",
        "waits for a slot of tenant:7 (at most 1 at once)",
    )


def test_registry_pages_newest_first_and_paged(admin, jq, run_jobs):
    q = jq("default")
    for i in range(30):
        q.enqueue(jobs.fail, str(i), job_id=f"f-{i:02d}", failure_ttl=1000 + i)
    run_jobs()
    response = admin.get(ADMIN + "queues/default/failed/")
    assert _ids(response) == [f"f-{i:02d}" for i in range(29, 4, -1)]
    assert _ids(admin.get(ADMIN + "queues/default/failed/?p=2")) == [
        f"f-{i:02d}" for i in range(4, -1, -1)
    ]


def test_search_by_job_id(admin, jq, run_jobs):
    q = jq("default")
    bad = q.enqueue(jobs.fail)
    run_jobs()
    waiting = q.enqueue(jobs.add, 1, 2)
    assert _ids(admin.get(ADMIN + f"queues/default/failed/?q={bad.id}")) == [bad.id]
    assert _ids(admin.get(ADMIN + f"queues/default/failed/?q={waiting.id}")) == []
    assert _ids(admin.get(ADMIN + f"queues/default/?q={waiting.id}")) == [waiting.id]
    assert _ids(admin.get(ADMIN + f"queues/default/?q={bad.id}")) == []
    response = admin.get(ADMIN + "queues/default/?q=not%20an%20id")
    assert response.status_code == 200
    assert response.context["search_error"]


def test_unknown_queue_list_or_job(admin, jq):
    assert admin.get(ADMIN + "queues/nope/").status_code == 404
    assert admin.get(ADMIN + "queues/default/everything/").status_code == 404
    response = admin.get(ADMIN + "queues/default/jobs/missing-job/")
    assert response.status_code == 404
    assert b"deleted, or it expired" in response.content
    assert admin.get(ADMIN + "queues/default/jobs/missing-job/explode/").status_code == 404


def test_expired_entry_still_in_a_registry_is_shown_as_gone(admin, jq, redis_conn, key_prefix):
    q = jq("default")
    redis_conn.zadd(q.keys.registry("default", "deferred"), {"ghost": 1.0})
    response = admin.get(ADMIN + "queues/default/deferred/")
    (row,) = response.context["rows"]
    assert row["missing"] and row["id"] == "ghost"
    assert b"deleted or expired" in response.content


def test_job_page_shows_everything(admin, jq, run_jobs, key_prefix):
    q = jq("default")
    job = q.enqueue(
        jobs.fail,
        "broken pipe",
        meta={"tenant": 7},
        job_timeout=30,
        result_ttl=60,
        failure_ttl=3600,
        ttl=900,
    )
    run_jobs()
    response = admin.get(ADMIN + f"queues/default/jobs/{job.id}/")
    html = response.content.decode()
    assert response.context["status"] == "failed"
    assert "tests.<wbr>engine.<wbr>jobs.<wbr>fail" in html
    assert "&#x27;broken pipe&#x27;" in html
    assert "{&#x27;tenant&#x27;: 7}" in html

    def cell(row_id: str) -> str:
        return re.search(rf'<td id="{row_id}"[^>]*>(.*?)</td>', html, re.S).group(1)

    assert cell("job-timeout") == "30 s"
    assert cell("job-result-ttl").startswith("1 min ")
    assert "set for this job" in cell("job-result-ttl")
    assert cell("job-failure-ttl").startswith("1 h ")
    assert cell("job-ttl") == "15 min"
    assert re.fullmatch(r"in (59 min \d+ s|1 h) <span.*UTC</time>\)</span>", cell("job-expires"))
    assert re.search(r"<time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>", html)
    assert re.fullmatch(r"(\d+(\.\d+)? s|&lt; 1 ms)", cell("job-duration"))
    assert "Traceback (most recent call last)" in html
    assert "ValueError: broken pipe" in html
    assert response.context["job"].worker_name in html
    assert 0 < response.context["expires_in"] <= 3600
    ok = q.enqueue(jobs.echo, 1, b=2)
    run_jobs()
    html = admin.get(ADMIN + f"queues/default/jobs/{ok.id}/").content.decode()
    assert 'id="job-result"' in html and "&#x27;kwargs&#x27;: {&#x27;b&#x27;: 2}" in html


def test_job_page_says_how_long_a_result_is_kept_and_why(admin, jq, run_jobs, settings):
    default = jq("default")
    plain = default.enqueue(jobs.add, 1, 1)
    settings.JOBQUEUE_QUEUES = {
        **settings.JOBQUEUE_QUEUES,
        "low": {**settings.JOBQUEUE_QUEUES["low"], "DEFAULT_RESULT_TTL": 8 * 3600},
    }
    low = jq("low").enqueue(jobs.add, 1, 1)
    kept = default.enqueue(jobs.add, 1, 1, result_ttl=-1, failure_ttl=0)

    def cell(queue: str, job, row_id: str) -> str:
        html = admin.get(ADMIN + f"queues/{queue}/jobs/{job.id}/").content.decode()
        return re.search(rf'<td id="{row_id}"[^>]*>(.*?)</td>', html, re.S).group(1)

    assert cell("default", plain, "job-result-ttl") == (
        '8 min 20 s <span class="jq-source">(the workers&#x27; default: neither the job '
        "nor queue default set one)</span>"
    )
    assert cell("low", low, "job-result-ttl") == (
        '8 h <span class="jq-source">(the DEFAULT_RESULT_TTL of queue low)</span>'
    )
    assert cell("default", kept, "job-result-ttl").startswith("forever ")
    assert cell("default", kept, "job-failure-ttl").startswith("not kept ")
    assert cell("default", plain, "job-failure-ttl") == (
        '365 d <span class="jq-source">(the default)</span>'
    )
    assert cell("default", plain, "job-expires") == "never"


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "—"),
        (0, "0 s"),
        (0.0004, "< 1 ms"),
        (0.0123, "0.012 s"),
        (1.5, "1.5 s"),
        (42, "42 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (500, "8 min 20 s"),
        (3600, "1 h"),
        (3661, "1 h 1 min"),
        (8 * 3600, "8 h"),
        (90061, "1 d 1 h"),
        (365 * 86400, "365 d"),
    ],
)
def test_human_durations(seconds, text):
    from django_jobqueue.dashboard.display import human_duration

    assert human_duration(seconds) == text


@override_settings(TIME_ZONE="Europe/Paris")
def test_job_page_times_carry_their_zone(admin, jq, run_jobs):
    job = jq("default").enqueue(jobs.add, 1, 1)
    run_jobs()
    html = admin.get(ADMIN + f"queues/default/jobs/{job.id}/").content.decode()
    assert len(re.findall(r"\d\d:\d\d:\d\d CES?T</time>", html)) == 5  # created ... ended, expires
    assert re.search(r'datetime="[-0-9T:.]+\+0[12]:00"', html)


def test_dependency_chain_across_queues_with_a_diamond_and_a_vanished_member(admin, jq, run_jobs):
    default, high = jq("default"), jq("high")
    root = default.enqueue(jobs.add, 1, 1, job_id="root")
    run_jobs()
    left = high.enqueue(jobs.add, 2, 2, depends_on=root, job_id="left")
    right = default.enqueue(jobs.add, 3, 3, depends_on=root, job_id="right")
    gone = default.enqueue(jobs.add, 4, 4, job_id="gone")
    join = default.enqueue(jobs.add, 5, 5, depends_on=[left, right, gone], job_id="join")
    after = default.enqueue(jobs.add, 6, 6, depends_on=join, job_id="after")
    gone.delete()
    response = admin.get(ADMIN + "queues/default/jobs/right/")
    graph = response.context["graph"]
    nodes = {n.id: n for n in graph.nodes}
    # Ancestors and dependents of "right" only: not its sibling "left" nor "gone".
    assert set(nodes) == {"root", "right", "join", "after"}
    response = admin.get(ADMIN + "queues/default/jobs/join/")
    graph = response.context["graph"]
    nodes = {n.id: n for n in graph.nodes}
    assert set(nodes) == {"root", "left", "right", "gone", "join", "after"}
    assert {n: nodes[n].layer for n in nodes} == {
        "root": -2,
        "left": -1,
        "right": -1,
        "gone": -1,
        "join": 0,
        "after": 1,
    }
    assert nodes["gone"].missing and nodes["gone"].url is None
    assert nodes["left"].queue == "high"
    assert nodes["left"].url == f"{ADMIN}queues/high/jobs/left/"
    assert nodes["root"].status == "finished" and nodes["join"].status == "deferred"
    edges = {(e.parent.id, e.child.id) for e in graph.edges}
    assert edges == {
        ("root", "left"),
        ("root", "right"),
        ("left", "join"),
        ("right", "join"),
        ("gone", "join"),
        ("join", "after"),
    }
    html = response.content.decode()
    assert f'<a href="{ADMIN}queues/high/jobs/left/">' in html
    assert "deleted or expired" in html
    assert after.get_status() == "deferred"


def test_job_data_is_escaped_everywhere(admin, jq, run_jobs):
    q = jq("default")
    evil = "<script>alert('x')</script>"
    bad = q.enqueue(jobs.fail, evil, meta={"note": evil})
    good = q.enqueue(jobs.echo, evil, key=evil)
    child = q.enqueue(jobs.add, 1, 2, depends_on=good, description=evil)
    run_jobs()
    pages = [
        ADMIN,
        ADMIN + "queues/default/failed/",
        ADMIN + "queues/default/finished/",
        ADMIN + f"queues/default/jobs/{bad.id}/",
        ADMIN + f"queues/default/jobs/{good.id}/",
        ADMIN + f"queues/default/jobs/{child.id}/",
        ADMIN + f"queues/default/jobs/{bad.id}/delete/",
    ]
    seen = 0
    for page in pages:
        html = admin.get(page).content.decode()
        assert "<script>alert" not in html, page
        seen += html.count("&lt;script&gt;alert(")
    assert seen >= 8


def test_redis_outage_is_a_page_not_a_crash(admin, jq, settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    response = admin.get(ADMIN)
    assert response.status_code == 503
    assert b"cannot reach Redis" in response.content


@override_settings(ROOT_URLCONF="tests.dashboard.urls")
def test_standalone_urls(as_user, jq, run_jobs):
    job = jq("default").enqueue(jobs.fail)
    run_jobs()
    client = as_user("viewer")
    response = client.get(f"/jobs/queues/default/jobs/{job.id}/")
    assert response.status_code == 200
    assert b'href="/jobs/queues/default/failed/"' in response.content
    assert client.get("/jobs/").status_code == 200
    assert as_user(None).get("/jobs/")["Location"].startswith("/admin/login/")


# -- actions ----------------------------------------------------------------------------


def test_requeue_a_failed_job(admin, jq, run_jobs):
    q = jq("default")
    job = q.enqueue(jobs.fail)
    run_jobs()
    path = ADMIN + f"queues/default/jobs/{job.id}/requeue/"
    page = admin.get(path)
    assert b"Requeue job" in page.content and b'name="post" value="yes"' in page.content
    response = admin.post(path, {"post": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == ADMIN + f"queues/default/jobs/{job.id}/"
    assert any("was requeued" in m for m in _messages(response))
    assert job.get_status() == "queued"
    assert job.id not in q.failed_job_registry


def test_cancel_and_delete(admin, jq):
    q = jq("default")
    job = q.enqueue(jobs.add, 1, 2)
    admin.post(ADMIN + f"queues/default/jobs/{job.id}/cancel/", {"post": "yes"})
    assert job.get_status() == "canceled"
    response = admin.post(
        ADMIN + f"queues/default/jobs/{job.id}/delete/", {"post": "yes"}, follow=True
    )
    assert response.redirect_chain[-1][0] == ADMIN + "queues/default/"
    assert not job.connection.exists(job.key)
    assert any("was deleted" in m for m in _messages(response))


def test_an_action_the_status_does_not_allow(admin, jq):
    job = jq("default").enqueue(jobs.add, 1, 2)
    response = admin.get(ADMIN + f"queues/default/jobs/{job.id}/requeue/", follow=True)
    assert any("cannot be requeued" in m for m in _messages(response))
    response = admin.post(
        ADMIN + f"queues/default/jobs/{job.id}/stop/", {"post": "yes"}, follow=True
    )
    assert any("cannot be stopped" in m for m in _messages(response))
    assert job.get_status() == "queued"


def test_stop_a_job_whose_worker_is_gone(admin, jq, redis_conn):
    q = jq("default")
    job = q.enqueue(jobs.add, 1, 2)
    scripts.dequeue(redis_conn, q.keys, ["default"], 1e9, "gone-worker", 60)
    response = admin.post(
        ADMIN + f"queues/default/jobs/{job.id}/stop/", {"post": "yes"}, follow=True
    )
    assert any("was stopped" in m for m in _messages(response))
    assert job.get_status() == "stopped"


def test_stop_asks_a_live_worker(admin, jq, redis_conn, key_prefix):
    q = jq("default")
    job = q.enqueue(jobs.add, 1, 2)
    worker = Worker([q], connection=q.connection, prefix=key_prefix, name="busy")
    worker.register_birth()
    try:
        scripts.dequeue(redis_conn, q.keys, ["default"], 1e9, "busy", 60)
        response = admin.post(
            ADMIN + f"queues/default/jobs/{job.id}/stop/", {"post": "yes"}, follow=True
        )
        assert any("asked to stop" in m for m in _messages(response))
        assert worker.stop_requested(job)
    finally:
        worker.register_death()


@pytest.mark.parametrize(
    "target,expected",
    [
        (
            "/admin/django_jobqueue/dashboard/queues/default/failed/?p=2",
            "/admin/django_jobqueue/dashboard/queues/default/failed/?p=2",
        ),
        ("https://evil.example/phish", None),
        ("//evil.example/phish", None),
    ],
)
def test_redirects_stay_on_the_site(admin, jq, run_jobs, target, expected):
    job = jq("default").enqueue(jobs.fail)
    run_jobs()
    response = admin.post(
        ADMIN + f"queues/default/jobs/{job.id}/requeue/", {"post": "yes", "next": target}
    )
    assert response["Location"] == (expected or ADMIN + f"queues/default/jobs/{job.id}/")


def test_bulk_requeue_and_delete_selected_rows(admin, jq, run_jobs):
    q = jq("default")
    failed = [q.enqueue(jobs.fail, job_id=f"f{i}") for i in range(5)]
    run_jobs()
    path = ADMIN + "queues/default/failed/bulk/"
    confirm = admin.post(path, {"action": "requeue", "_selected_action": ["f1", "f3"]})
    assert b"Requeue 2 failed jobs of queue default?" in confirm.content
    assert confirm.content.count(b'name="_selected_action"') == 2
    response = admin.post(
        path, {"action": "requeue", "_selected_action": ["f1", "f3"], "post": "yes"}, follow=True
    )
    assert any("Requeued 2 jobs." in m for m in _messages(response))
    assert [j.get_status() for j in failed] == ["failed", "queued", "failed", "queued", "failed"]
    admin.post(path, {"action": "delete", "_selected_action": ["f0", "f4"], "post": "yes"})
    assert [j.connection.exists(j.key) for j in failed] == [0, 1, 1, 1, 0]  # 0 and 4 deleted
    assert [j.get_status() for j in failed[1:4]] == ["queued", "failed", "queued"]
    nothing = admin.post(path, {"action": "delete"}, follow=True)
    assert any("must be selected" in m for m in _messages(nothing))
    wrong = admin.post(
        ADMIN + "queues/default/queued/bulk/",
        {"action": "requeue", "_selected_action": ["f1"]},
        follow=True,
    )
    assert any("Only failed and canceled" in m for m in _messages(wrong))


def test_bulk_actions_on_all_matching_work_in_batches(admin, jq, run_jobs, monkeypatch, redis_conn):
    monkeypatch.setattr(operations, "BATCH_SIZE", 7)
    q = jq("default")
    for i in range(40):
        q.enqueue(jobs.fail, job_id=f"f{i:02d}")
    run_jobs()
    # Two failed jobs that cannot be requeued any more are skipped, not retried.
    redis_conn.hset(q.keys.job("default", "f05"), "status", "finished")
    redis_conn.hset(q.keys.job("default", "f06"), "status", "finished")
    calls = []
    real = scripts.bulk_step
    monkeypatch.setattr(scripts, "bulk_step", lambda *a, **k: calls.append(a[6]) or real(*a, **k))
    path = ADMIN + "queues/default/failed/bulk/"
    confirm_page, fields = confirm(admin, path, action="requeue", all="1")
    assert b"Requeue 40 failed jobs" in confirm_page.content
    response = admin.post(path, fields, follow=True)
    assert any("Requeued 38 jobs." in m for m in _messages(response))
    assert any("2 jobs were not requeued" in m for m in _messages(response))
    assert calls == [7] * 6  # 40 ids in batches of 7
    assert q.count == 38 and q.failed_job_registry.count == 2
    # The same confirmation again does nothing: its jobs were acted on.
    again = admin.post(path, fields, follow=True)
    assert any("Nothing was done" in m for m in _messages(again))
    assert q.count == 38
    # Delete all failed, then empty the queue.
    confirm_page, fields = confirm(admin, path, action="delete", all="1")
    assert b"Delete 2 failed jobs" in confirm_page.content
    admin.post(path, fields)
    assert q.failed_job_registry.count == 0
    confirm_page, fields = confirm(
        admin, ADMIN + "queues/default/queued/bulk/", action="delete", all="1"
    )
    assert b"Empty queue default? All 38 waiting jobs are deleted." in confirm_page.content
    admin.post(ADMIN + "queues/default/queued/bulk/", fields)
    assert q.count == 0
    assert not redis_conn.exists(q.keys.job("default", "f10"))


def test_acting_on_all_needs_a_valid_confirmation(admin, jq, run_jobs):
    q = jq("default")
    q.enqueue(jobs.fail)
    run_jobs()
    path = ADMIN + "queues/default/failed/bulk/"
    _, fields = confirm(admin, path, action="requeue", all="1")
    forged = {"action": "requeue", "select_across": "1", "post": "yes"}
    for data in (forged, {**forged, "selection": fields["selection"][0] + "x"}):
        response = admin.post(path, data)
        assert response.status_code == 302
        assert response["Location"].startswith(path + "?action=requeue&all=1")
        assert q.failed_job_registry.count == 1
    # Signed for another action or list: refused too.
    response = admin.post(path, {**fields, "action": "delete"}, follow=True)
    assert any("no longer valid" in m for m in _messages(response))
    assert q.failed_job_registry.count == 1
    admin.post(path, fields)
    assert q.failed_job_registry.count == 0 and q.count == 1


def test_per_queue_buttons(admin, jq, run_jobs):
    q = jq("default")
    q.enqueue(jobs.fail)
    run_jobs()
    q.enqueue(jobs.add, 1, 2)
    html = admin.get(ADMIN + "queues/default/").content.decode()
    assert "queued/bulk/?action=delete&amp;all=1" in html  # empty queue
    assert "failed/bulk/?action=requeue&amp;all=1" in html
    assert "failed/bulk/?action=delete&amp;all=1" in html


def test_a_queue_run_inline_is_still_read_from_redis(admin, jq, settings, redis_url, key_prefix):
    from django_jobqueue.engine import Queue

    settings.JOBQUEUE_QUEUES = {
        **settings.JOBQUEUE_QUEUES,
        "low": {"URL": redis_url, "ASYNC": False},
    }
    q = Queue("low", connection=jq("default").connection, prefix=key_prefix)
    job = q.enqueue(jobs.add, 1, 2)  # by a process where "low" is asynchronous
    assert admin.get(ADMIN + f"queues/low/jobs/{job.id}/").status_code == 200
    assert _ids(admin.get(ADMIN + f"queues/low/?q={job.id}")) == [job.id]


def test_list_rows_never_fetch_a_large_result_call_or_traceback(admin, jq, run_jobs, redis_conn):
    q = jq("default")
    big = "x" * (5 * 1024 * 1024)
    finished = q.enqueue(jobs.echo, big)  # a 5 MB call, and a 5 MB result
    failed = q.enqueue(jobs.fail, "y" * 100_000)  # a 100 kB traceback
    small = q.enqueue(jobs.add, 1, 2)
    run_jobs()

    def sent(path: str) -> tuple[int, str]:
        """Bytes Redis sent while the page was made, and the page."""
        before = redis_conn.info("stats")["total_net_output_bytes"]
        html = admin.get(ADMIN + path).content.decode()
        return redis_conn.info("stats")["total_net_output_bytes"] - before, html

    size, html = sent("queues/default/finished/")
    assert size < 100_000, size
    assert "(a result of 5.0\xa0MB: open the job to see it)" in html
    assert "tests.<wbr>engine.<wbr>jobs.<wbr>echo(<wbr>\u2026)" in html
    assert '<td class="jq-summary">3</td>' in html  # small results are still shown
    size, html = sent("queues/default/failed/")
    assert size < 100_000, size
    # About 98 KB: the exact size varies with the Python version's traceback format.
    assert re.search(r"\(a traceback of 9\d\.\d\xa0KB: open the job to read it\)", html)
    size, html = sent(f"queues/default/finished/?q={finished.id}")
    assert size < 100_000 and "(a result of 5.0\xa0MB" in html
    # The job's own page still reads it all.
    size, html = sent(f"queues/default/jobs/{finished.id}/")
    assert size > 5 * 1024 * 1024
    assert failed.id and small.id


def test_calls_may_wrap_between_names_only():
    from django_jobqueue.dashboard.display import breakable

    assert breakable("app.tasks.send(<b>, to='a@b.c')") == (
        "app.<wbr>tasks.<wbr>send(<wbr>&lt;b&gt;,<wbr> to=<wbr>&#x27;a@b.<wbr>c&#x27;)"
    )


def test_list_ids_carry_the_whole_id_in_their_title(admin, jq):
    job = jq("default").enqueue(jobs.add, 1, 2)
    html = admin.get(ADMIN + "queues/default/").content.decode()
    assert f'class="jq-short" title="{job.id}">{job.id}</a>' in html


def test_a_confirmation_older_than_an_hour_does_nothing(admin, jq, run_jobs, monkeypatch):
    from django_jobqueue.engine import bulk

    q = jq("default")
    q.enqueue(jobs.fail)
    run_jobs()
    path = ADMIN + "queues/default/failed/bulk/"
    _, fields = confirm(admin, path, action="requeue", all="1")
    monkeypatch.setattr(bulk, "SELECTION_TTL", -1)  # as if the hour had passed
    response = admin.post(path, fields, follow=True)
    assert any("no longer valid" in m for m in _messages(response))
    assert q.failed_job_registry.count == 1
