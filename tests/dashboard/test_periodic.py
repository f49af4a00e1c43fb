"""The dashboard's scheduling views: scheduled jobs with their time, periodic jobs and actions."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from django.test import Client

from django_jobqueue.engine.cron import CronEntry
from django_jobqueue.engine.scheduler import Scheduler, entry_state
from django_jobqueue.models import PeriodicJob
from tests.engine import jobs

from .conftest import ADMIN

CRON = ADMIN + "cron/"
HOURLY = {
    "func": "tests.engine.jobs.add",
    "cron": "0 * * * *",
    "args": [1, 2],
    "name": "hourly",
    "timezone": "UTC",
}
EVERY = {"func": "tests.engine.jobs.fail", "interval": 60, "name": "failing", "queue": "low"}


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def cron(jq, settings):
    settings.JOBQUEUE_CRON = [HOURLY, EVERY]
    return settings.JOBQUEUE_CRON


def _entry(settings_item) -> CronEntry:
    return CronEntry(**settings_item)


def _state(jq, item):
    queue = jq(item.get("queue", "default"))
    return entry_state(queue.connection, _entry(item), queue.keys.prefix)


# -- scheduled jobs ----------------------------------------------------------------------------


def test_scheduled_jobs_are_listed_soonest_first_with_their_time(as_user, jq):
    queue = jq("default")
    later = queue.enqueue_at(datetime(2031, 1, 1, 12, tzinfo=UTC), jobs.add, 1, 1)
    sooner = queue.enqueue_at(datetime(2030, 6, 1, 8, 30, tzinfo=UTC), jobs.add, 2, 2)
    response = as_user("viewer").get(ADMIN + "queues/default/scheduled/")
    assert [row["id"] for row in response.context["rows"]] == [sooner.id, later.id]
    html = response.content.decode()
    assert "Runs at" in html
    assert re.findall(r'class="jq-runs-at jq-when">([^<]+)<', html) == [
        "2030-06-01 08:30:00",
        "2031-01-01 12:00:00",
    ]
    detail = as_user("viewer").get(ADMIN + f"queues/default/jobs/{sooner.id}/")
    assert re.search(
        r'<td id="job-runs-at" class="jq-when"><time datetime="2030-06-01T08:30:00\+00:00"[^>]*>'
        r"2030-06-01 08:30:00 UTC</time></td>",
        detail.content.decode(),
    )
    # Other lists have no such column.
    assert "Runs at" not in as_user("viewer").get(ADMIN + "queues/default/failed/").content.decode()


def test_searching_the_scheduled_list_shows_the_time(as_user, jq):
    job = jq("default").enqueue_at(datetime(2030, 6, 1, 8, 30, tzinfo=UTC), jobs.add, 1, 1)
    response = as_user("viewer").get(ADMIN + f"queues/default/scheduled/?q={job.id}")
    assert response.context["rows"][0]["runs_at"] == datetime(2030, 6, 1, 8, 30, tzinfo=UTC)


# -- the periodic jobs page ------------------------------------------------------------------------


def test_the_overview_links_to_periodic_jobs(as_user, jq):
    assert f'href="{CRON}"' in as_user("viewer").get(ADMIN).content.decode()


def test_the_page_lists_every_entry(as_user, cron, jq, run_jobs):
    Scheduler(
        jq("default").connection, jq("default").keys.prefix, name="w-sched", cron=[_entry(EVERY)]
    ).tick()  # fires "failing" (an interval entry runs at once)
    run_jobs("low")
    response = as_user("viewer").get(CRON)
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["rows"]}
    assert list(rows) == ["hourly", "failing"]
    assert rows["hourly"]["last_job"] is None and rows["hourly"]["next_run"].minute == 0
    assert rows["failing"]["last_status"] == "failed"
    assert rows["failing"]["next_run"] > rows["failing"]["last_run"]
    html = response.content.decode()
    assert "0 * * * * (UTC)" in html and "every 60 s" in html
    assert 'The scheduler runs in worker <a href="' in html and "w-sched" in html
    assert f'href="{ADMIN}queues/low/jobs/{rows["failing"]["last_job"]}/"' in html
    assert "jq-cron-run" not in html  # a viewer gets no action


def test_the_page_says_when_no_worker_runs_the_scheduler(as_user, cron):
    html = as_user("viewer").get(CRON).content.decode()
    assert "No worker runs the scheduler" in html


def test_without_entries(as_user, jq):
    html = as_user("viewer").get(CRON).content.decode()
    assert (
        "No periodic job is configured (JOBQUEUE_CRON, or the periodic jobs of the admin)." in html
    )


def test_a_bad_setting_is_shown_not_a_500(as_user, jq, settings):
    settings.JOBQUEUE_CRON = [{"func": "tests.engine.jobs.add"}]
    response = as_user("viewer").get(CRON)
    assert response.status_code == 200
    assert any("E033" in m for m in _messages(response))


@pytest.mark.parametrize("who", ["changer", "superuser"])
def test_change_permission_shows_actions(as_user, cron, who):
    html = as_user(who).get(CRON).content.decode()
    for action in ("run", "skip", "pause"):
        assert f'href="{CRON}hourly/{action}/"' in html
    assert "resume/" not in html


# -- actions --------------------------------------------------------------------------------


def test_run_now(as_user, cron, jq):
    client = as_user("changer")
    confirm = client.get(CRON + "hourly/run/")
    assert confirm.status_code == 200
    assert "Enqueue a run of hourly on queue default now?" in confirm.content.decode()
    assert jq("default").count == 0
    done = client.post(CRON + "hourly/run/", {"post": "yes"}, follow=True)
    (job,) = jq("default").jobs
    assert job.meta == {"cron": "hourly", "manual": True} and job.args == (1, 2)
    assert f"hourly: job {job.id} was enqueued." in _messages(done)
    assert done.redirect_chain[-1][0] == CRON
    assert _state(jq, HOURLY)["last_job"] == job.id


def test_skip_next(as_user, cron, jq):
    before = _state(jq, HOURLY)["next_run"]
    client = as_user("changer")
    assert "Skip the next run of hourly" in client.get(CRON + "hourly/skip/").content.decode()
    done = client.post(CRON + "hourly/skip/", {"post": "yes"}, follow=True)
    assert any("will not happen" in m for m in _messages(done))
    assert _state(jq, HOURLY)["next_run"] == before + 3600


def test_pause_and_resume(as_user, cron, jq):
    client = as_user("changer")
    client.post(CRON + "failing/pause/", {"post": "yes"})
    assert _state(jq, EVERY)["paused"]
    html = client.get(CRON).content.decode()
    assert f'href="{CRON}failing/resume/"' in html and "Paused" in html
    # A paused entry enqueues nothing.
    Scheduler(jq("low").connection, jq("low").keys.prefix, cron=[_entry(EVERY)]).tick()
    assert jq("low").count == 0
    done = client.post(CRON + "failing/resume/", {"post": "yes"}, follow=True)
    assert "failing is running again." in _messages(done)
    assert not _state(jq, EVERY)["paused"]


def test_actions_need_the_change_permission(as_user, cron, jq):
    for who in ("viewer", "deleter"):
        client = as_user(who)
        assert client.get(CRON + "hourly/run/").status_code == 403
        assert client.post(CRON + "hourly/run/", {"post": "yes"}).status_code == 403
    assert jq("default").count == 0
    assert as_user("staff").get(CRON).status_code == 403
    anonymous = as_user(None).get(CRON + "hourly/run/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert as_user("nonstaff").get(CRON).status_code == 302


def test_actions_need_post_and_csrf(users, cron, jq):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["changer"])
    path = CRON + "hourly/run/"
    assert strict.post(path, {"post": "yes"}).status_code == 403  # no CSRF token
    page = strict.get(path)
    token = page.cookies["csrftoken"].value
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert jq("default").count == 0  # the confirmation page changes nothing
    response = strict.post(path, {"post": "yes", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert jq("default").count == 1


def test_unknown_entry_and_action(as_user, cron):
    client = as_user("changer")
    response = client.post(CRON + "nope/run/", {"post": "yes"}, follow=True)
    assert "There is no periodic job named nope." in _messages(response)
    assert client.get(CRON + "hourly/explode/").status_code == 404


def test_next_must_stay_on_the_site(as_user, cron):
    client = as_user("changer")
    response = client.post(
        CRON + "failing/pause/", {"post": "yes", "next": "https://evil.example/"}
    )
    assert response["Location"] == CRON
    response = client.post(CRON + "failing/resume/", {"post": "yes", "next": ADMIN})
    assert response["Location"] == ADMIN


def test_the_time_is_read_fresh(as_user, cron, jq):
    # A scheduler firing between two page views is seen at once (no caching).
    first = as_user("viewer").get(CRON).context["rows"][1]["last_run"]
    Scheduler(jq("low").connection, jq("low").keys.prefix, cron=[_entry(EVERY)]).tick(time.time())
    second = as_user("viewer").get(CRON).context["rows"][1]["last_run"]
    assert first is None and second is not None


# -- rows of the PeriodicJob table -----------------------------------------------------------

TABLE = "/admin/django_jobqueue/periodicjob/"


@pytest.fixture
def table(cron):
    """Two rows beside the two JOBQUEUE_CRON entries."""
    return [
        PeriodicJob.objects.create(
            name="db-nightly", func="tests.engine.jobs.add", args=[2, 3], cron="0 3 * * *"
        ),
        PeriodicJob.objects.create(
            name="db-paused", func="tests.engine.jobs.add", interval=60, enabled=False
        ),
    ]


def test_table_rows_are_listed_as_editable_with_a_link_to_the_admin(as_user, table):
    response = as_user("superuser").get(CRON)
    rows = {row["name"]: row for row in response.context["rows"]}
    assert list(rows) == ["hourly", "failing", "db-nightly", "db-paused"]
    assert [rows[n]["editable"] for n in rows] == [False, False, True, True]
    nightly = table[0]
    assert rows["db-nightly"]["edit_url"] == f"{TABLE}{nightly.pk}/change/"
    assert rows["db-nightly"]["next_run"].hour == 3 and not rows["db-nightly"]["paused"]
    assert rows["db-paused"]["paused"]
    html = response.content.decode()
    assert html.count(f'href="{TABLE}{nightly.pk}/change/"') == 2  # the badge and the button
    assert html.count("JOBQUEUE_CRON, read-only") == 2
    assert f'href="{TABLE}add/"' in html  # "Add periodic job"
    # Entries of the setting: pause/resume here; rows of the table: in the admin.
    assert f'href="{CRON}hourly/pause/"' in html
    assert f'href="{CRON}db-nightly/run/"' in html and f'href="{CRON}db-nightly/skip/"' in html
    assert f"{CRON}db-nightly/pause/" not in html and f"{CRON}db-paused/resume/" not in html


def test_without_the_model_permissions_rows_are_editable_but_not_linked(as_user, table):
    html = as_user("viewer").get(CRON).content.decode()
    assert html.count('class="jq-source jq-count jq-editable">editable<') == 2
    assert TABLE not in html


def test_run_now_of_a_table_row(as_user, table, jq):
    client = as_user("changer")
    client.post(CRON + "db-nightly/run/", {"post": "yes"})
    (job,) = jq("default").jobs
    assert job.meta["cron"] == "db-nightly" and job.args == (2, 3)


def test_pause_of_a_table_row_is_not_offered_here(as_user, table, jq):
    response = as_user("changer").post(CRON + "db-nightly/pause/", {"post": "yes"}, follow=True)
    assert "There is no periodic job named db-nightly." in _messages(response)
    nightly = table[0]
    assert not entry_state(jq("default").connection, nightly.as_entry(), jq().keys.prefix)["paused"]


def test_a_row_that_cannot_run_is_shown_with_why(as_user, cron, settings):
    PeriodicJob.objects.create(name="hourly", func="tests.engine.jobs.add", interval=5)
    PeriodicJob.objects.create(name="gone", func="tests.engine.jobs.add", interval=5, queue="old")
    rows = {r["name"]: r for r in as_user("viewer").get(CRON).context["rows"] if r["editable"]}
    assert "JOBQUEUE_CRON has an entry of this name" in rows["hourly"]["error"]
    assert "queue old is not in JOBQUEUE_QUEUES" in rows["gone"]["error"]


def test_without_the_table_the_page_still_lists_jobqueue_cron(as_user, cron, monkeypatch):
    monkeypatch.setattr(PeriodicJob._meta, "db_table", "django_jobqueue_not_migrated")
    response = as_user("viewer").get(CRON)
    assert response.status_code == 200
    assert [row["name"] for row in response.context["rows"]] == ["hourly", "failing"]
    assert any("manage.py migrate django_jobqueue" in m for m in _messages(response))
