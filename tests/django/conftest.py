"""Fixtures of the Django-layer tests.

Tests that write to Redis use ``jq``: it points ``JOBQUEUE_KEY_PREFIX`` at the
test's own ``key_prefix`` (through pytest-django's ``settings`` fixture, so the
settings cache is cleared on the way in and out) and hands back a clean
``redis_conn``; the suite therefore also runs against a shared ``REDIS_URL``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import helpers

REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "also_postgres: run again against PostgreSQL by test_postgres.py"
    )


@pytest.fixture(autouse=True)
def _restore_process_state():
    """Workers run in the test process install signal handlers and the rqworker
    command sets the level of the ``django_jobqueue`` logger: put both back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    logger = logging.getLogger("django_jobqueue")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


@pytest.fixture
def jq(settings, redis_conn, key_prefix):
    """A clean Redis, with every configured queue working under this test's key prefix."""
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    return redis_conn


@pytest.fixture
def log_of(redis_conn, key_prefix):
    """``log_of()``: what ``tests.django.tasks.record`` jobs wrote, in order."""

    def read() -> list[str]:
        return [v.decode() for v in redis_conn.lrange(key_prefix + "log", 0, -1)]

    return read


def wait_until(predicate, timeout: float = 15.0, **kwargs):
    """tests.helpers.wait_until, allowing the slower Django subprocesses 15 s."""
    return helpers.wait_until(predicate, timeout, **kwargs)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a child Python: the repository importable, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.update(extra)
    return env


@pytest.fixture
def manage_py(redis_url, key_prefix, tmp_path):
    """``manage_py(*args, **popen_kwargs)``: ``python manage.py ...`` in a subprocess.

    It uses ``tests.django.subprocess_settings`` (queues on the session's Redis
    under this test's key prefix, SQLite file database in ``tmp_path``). Every
    process still running at the end of the test is killed.
    """
    procs: list[subprocess.Popen] = []
    env = subprocess_env(
        DJANGO_SETTINGS_MODULE="tests.django.subprocess_settings",
        JQ_TEST_REDIS_URL=redis_url,
        JQ_TEST_KEY_PREFIX=key_prefix,
        JQ_TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )

    def start(*args: str, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.STDOUT)
        kwargs.setdefault("text", True)
        proc = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "manage.py"), *args], cwd=REPO_ROOT, env=env, **kwargs
        )
        procs.append(proc)
        return proc

    start.env = env  # type: ignore[attr-defined]
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - defensive
            pass
