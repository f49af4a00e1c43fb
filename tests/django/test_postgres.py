"""The database-dependent tests again, on PostgreSQL.

Runs ``pytest -m also_postgres tests/django`` in a subprocess with
``DATABASE_URL`` pointing at PostgreSQL (``tests/settings.py`` reads it), so
real PostgreSQL commits and rollbacks decide what reaches Redis. PostgreSQL is
expected at ``JOBQUEUE_TEST_POSTGRES_URL`` (default
``postgres://postgres@127.0.0.1:5432/postgres``; CI starts it before the
tests); pytest-django creates and drops its own ``test_jobqueue_<random>``
database there. If PostgreSQL or psycopg is missing this test fails and says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from .conftest import REPO_ROOT, subprocess_env

POSTGRES_URL = os.environ.get(
    "JOBQUEUE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def _require_postgres() -> None:
    try:
        import psycopg
    except ImportError:
        pytest.fail(
            "psycopg is not installed: the PostgreSQL tests need "
            "`pip install 'psycopg[binary]'` (part of the test requirements).",
            pytrace=False,
        )
    dsn = urlunsplit(urlsplit(POSTGRES_URL)._replace(scheme="postgresql"))
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc}). Start it (CI starts "
            "it before the tests) or point JOBQUEUE_TEST_POSTGRES_URL at one.",
            pytrace=False,
        )


@pytest.mark.slow
def test_database_tests_pass_on_postgresql(redis_url):
    _require_postgres()
    database = f"jobqueue_{uuid.uuid4().hex[:12]}"
    database_url = urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{database}"))
    env = subprocess_env(
        DATABASE_URL=database_url, REDIS_URL=redis_url, JQ_TEST_EXPECT_DB_VENDOR="postgresql"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/django",
            "-m",
            "also_postgres",
            "-q",
            "-p",
            "no:cacheprovider",
            "--create-db",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert " passed" in output and "skipped" not in output, output
