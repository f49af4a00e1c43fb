"""Fixtures of the dashboard tests: users of every kind, queues under the test's prefix.

Every test writes under its own ``key_prefix`` (``JOBQUEUE_KEY_PREFIX`` is set
to it), on the session's private Redis.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission

from django_jobqueue.engine import SimpleWorker
from django_jobqueue.queues import get_queue
from tests.django.conftest import REPO_ROOT, subprocess_env

ADMIN = "/admin/django_jobqueue/dashboard/"


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """Workers run in the test process install SIGINT/SIGTERM handlers; put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def jq(settings, redis_conn, key_prefix):
    """Point the dashboard at the test's prefix; returns ``get_queue``.

    Enqueues are immediate: tests run inside a transaction that never commits.
    """
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    return get_queue


@pytest.fixture
def run_jobs(jq, key_prefix):
    """``run_jobs("default", ...)``: run every queued job of those queues, in this process."""

    def run(*names: str) -> None:
        queues = [jq(name) for name in (names or ("default",))]
        SimpleWorker(queues, connection=queues[0].connection, prefix=key_prefix).work(
            burst=True, logging_level=None
        )

    return run


@pytest.fixture
def rqworker(redis_url, key_prefix, tmp_path):
    """``rqworker(*args)``: ``manage.py rqworker`` in a subprocess, stopped after the test."""
    procs = []

    def start(*args):
        env = subprocess_env(
            DJANGO_SETTINGS_MODULE="tests.django.subprocess_settings",
            JQ_TEST_REDIS_URL=redis_url,
            JQ_TEST_KEY_PREFIX=key_prefix,
            JQ_TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        )
        log = open(tmp_path / f"rqworker-{len(procs)}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "manage.py"), "rqworker", *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:  # pragma: no cover - defensive
                proc.kill()
                proc.wait(10)


def _user(
    django_user_model, name: str, *, staff: bool = True, perms: tuple = (), superuser: bool = False
):
    user = django_user_model.objects.create_user(
        name, password="pw", is_staff=staff, is_superuser=superuser
    )
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(
                content_type__app_label="django_jobqueue", codename=f"{codename}_dashboard"
            )
        )
    return user


@pytest.fixture
def users(db, django_user_model, settings):
    """One user of each kind, by name (password "pw")."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    return {
        "nonstaff": _user(django_user_model, "nonstaff", staff=False, perms=("view",)),
        "staff": _user(django_user_model, "staff"),
        "viewer": _user(django_user_model, "viewer", perms=("view",)),
        "changer": _user(django_user_model, "changer", perms=("view", "change")),
        "deleter": _user(django_user_model, "deleter", perms=("view", "delete")),
        "superuser": _user(django_user_model, "superuser", superuser=True),
    }


@pytest.fixture
def as_user(client, users):
    """``as_user("viewer")``: the test client, logged in as that user (None: anonymous)."""

    def login(name):
        client.logout()
        if name is not None:
            client.force_login(users[name])
        return client

    return login


def confirm(client, path: str, **query):
    """GET a confirmation page; returns it and the fields its "Yes" form posts."""
    import re
    from html import unescape

    page = client.get(path, query)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.content.decode()
    ):
        fields.setdefault(unescape(name), []).append(unescape(value))
    return page, fields
