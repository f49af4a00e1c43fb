"""Who may see the dashboard and who may act: every view under every kind of user."""

from __future__ import annotations

import pytest

from tests.engine import jobs

from .conftest import ADMIN

PAGES = [
    "",
    "workers/",
    "queues/default/",
    "queues/default/failed/",
    "queues/default/finished/",
    "queues/default/jobs/{failed}/",
]


@pytest.fixture
def failed(jq, run_jobs):
    job = jq("default").enqueue(jobs.fail)
    run_jobs()
    return job


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("user", [None, "nonstaff"])
def test_anonymous_and_non_staff_go_to_the_admin_login(as_user, failed, page, user):
    path = ADMIN + page.format(failed=failed.id)
    response = as_user(user).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    assert path in response["Location"].replace("%2F", "/")


@pytest.mark.parametrize("page", PAGES)
def test_staff_without_the_view_permission_get_403(as_user, failed, page):
    assert as_user("staff").get(ADMIN + page.format(failed=failed.id)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("user", ["viewer", "changer", "deleter", "superuser"])
def test_the_view_permission_shows_every_page(as_user, failed, page, user):
    assert as_user(user).get(ADMIN + page.format(failed=failed.id)).status_code == 200


def test_admin_index_lists_the_app_for_users_who_may_see_it(as_user, users):
    response = as_user("viewer").get("/admin/")
    assert b"Job queue" in response.content
    assert ADMIN.encode() in response.content
    assert ADMIN.encode() not in as_user("staff").get("/admin/").content


# (action, permission needed, job status that allows it)
JOB_ACTIONS = [
    ("requeue", "changer", "failed"),
    ("cancel", "changer", "queued"),
    ("stop", "changer", "started"),
    ("delete", "deleter", "failed"),
]


@pytest.fixture
def job_in(jq, run_jobs, redis_conn, key_prefix):
    """``job_in(status)``: a job of the default queue with that status."""
    from django_jobqueue.engine import scripts

    def make(status):
        q = jq("default")
        if status == "failed":
            job = q.enqueue(jobs.fail)
            run_jobs()
        elif status == "started":
            job = q.enqueue(jobs.add, 1, 2)
            scripts.dequeue(redis_conn, q.keys, ["default"], 1e9, "gone-worker", 60)
        else:
            job = q.enqueue(jobs.add, 1, 2)
        assert job.get_status() == status
        return job

    return make


@pytest.mark.parametrize("action,allowed,status", JOB_ACTIONS)
@pytest.mark.parametrize("user", ["viewer", "changer", "deleter", "superuser", "staff", None])
def test_job_actions_check_their_permission(as_user, job_in, action, allowed, status, user):
    job = job_in(status)
    path = f"{ADMIN}queues/default/jobs/{job.id}/{action}/"
    client = as_user(user)
    confirm = client.get(path)
    done = client.post(path, {"post": "yes"})
    if user is None:
        assert confirm.status_code == done.status_code == 302
        assert done["Location"].startswith("/admin/login/")
    elif user in (allowed, "superuser"):
        assert confirm.status_code == 200
        assert done.status_code == 302
    else:
        assert confirm.status_code == done.status_code == 403
    changed = not job.connection.exists(job.key) or job.get_status() != status  # or deleted
    assert changed == (user in (allowed, "superuser"))


@pytest.mark.parametrize("action,allowed", [("requeue", "changer"), ("delete", "deleter")])
@pytest.mark.parametrize("user", ["viewer", "changer", "deleter", "superuser"])
def test_bulk_actions_check_their_permission(as_user, failed, action, allowed, user):
    path = f"{ADMIN}queues/default/failed/bulk/"
    client = as_user(user)
    data = {"action": action, "_selected_action": [failed.id]}
    confirm = client.post(path, data)
    done = client.post(path, {**data, "post": "yes"})
    everything = client.get(f"{path}?action={action}&all=1")
    if user in (allowed, "superuser"):
        assert confirm.status_code == everything.status_code == 200
        assert done.status_code == 302
        assert not failed.connection.exists(failed.key) or failed.get_status() != "failed"
    else:
        assert confirm.status_code == done.status_code == everything.status_code == 403
        assert failed.get_status() == "failed"


def test_buttons_follow_the_permissions(as_user, failed):
    page = f"{ADMIN}queues/default/jobs/{failed.id}/"
    viewer = as_user("viewer").get(page).content
    assert b"jq-action-requeue" not in viewer and b"jq-action-delete" not in viewer
    changer = as_user("changer").get(page).content
    assert b"jq-action-requeue" in changer and b"jq-action-delete" not in changer
    deleter = as_user("deleter").get(page).content
    assert b"jq-action-requeue" not in deleter and b"jq-action-delete" in deleter
    listing = as_user("viewer").get(f"{ADMIN}queues/default/failed/").content
    assert b'name="_selected_action"' not in listing
    listing = as_user("changer").get(f"{ADMIN}queues/default/failed/").content
    assert b'value="requeue"' in listing and b'value="delete"' not in listing
    assert b"jq-requeue-failed" in listing and b"jq-delete-failed" not in listing


def test_mutations_need_post_and_csrf(client, users, failed):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["superuser"])
    path = f"{ADMIN}queues/default/jobs/{failed.id}/requeue/"
    assert strict.post(path, {"post": "yes"}).status_code == 403  # no CSRF token
    assert failed.get_status() == "failed"
    page = strict.get(path)  # the confirmation page carries the token
    token = page.cookies["csrftoken"].value
    response = strict.post(path, {"post": "yes", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert failed.get_status() == "queued"
    # A GET never changes anything.
    other = failed
    client.force_login(users["superuser"])
    client.get(f"{ADMIN}queues/default/jobs/{other.id}/delete/")
    assert other.get_status() == "queued"
