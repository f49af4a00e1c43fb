"""``JOBQUEUE_ASYNC = False`` and per-queue ``ASYNC: False``: jobs run at once, without Redis."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.db import transaction
from django.test import override_settings

from django_jobqueue import Dependency, enqueue, get_queue
from django_jobqueue.engine import NoSuchJobError
from tests.django import tasks

from .conftest import REPO_ROOT, subprocess_env


@pytest.fixture
def inline(jq, settings):
    settings.JOBQUEUE_ASYNC = False
    return jq


def test_enqueue_runs_the_job_and_returns_it_finished(inline, prefixed_keys):
    job = enqueue(tasks.add, 2, 3)
    assert job.get_status() == "finished"
    assert job.is_finished
    assert job.result == 5
    assert job.return_value() == 5
    assert job.worker_name == "inline"
    assert job.started_at is not None and job.ended_at is not None
    assert prefixed_keys() == []  # nothing reached Redis


def test_failing_job_is_returned_failed(inline, prefixed_keys):
    job = enqueue(tasks.fail, "inline failure")
    assert job.get_status() == "failed"
    assert job.is_failed
    assert job.result is None
    assert "ValueError: inline failure" in job.exc_info
    assert "Traceback" in job.exc_info
    assert prefixed_keys() == []


def test_current_job_inside_an_inline_job(inline):
    job = get_queue("low").enqueue(tasks.current_job_info)
    assert job.result == {"id": job.id, "origin": "low"}


def test_fetch_job_finds_inline_jobs(inline):
    job = get_queue("high").enqueue(tasks.add, 1, 1)
    fetched = get_queue("high").fetch_job(job.id)
    assert fetched is job
    assert fetched.result == 2
    assert get_queue("low").fetch_job(job.id) is None
    assert get_queue("high").fetch_job("no-such-id") is None


def test_delay_runs_inline(inline):
    delayed = tasks.low_add.delay(20, 22)
    assert delayed.origin == "low"
    assert delayed.get_status() == "finished"
    assert delayed.result == 42
    assert delayed.timeout == 42
    failed = tasks.high_fail.delay("via delay")
    assert failed.get_status() == "failed"
    assert "ValueError: via delay" in failed.exc_info


def test_child_of_finished_parent_runs(inline):
    queue = get_queue()
    parent = queue.enqueue(tasks.add, 1, 2)
    child = queue.enqueue(tasks.add, 3, 4, depends_on=parent)
    by_id = queue.enqueue(tasks.add, 5, 6, depends_on=parent.id)
    assert child.get_status() == "finished" and child.result == 7
    assert by_id.get_status() == "finished" and by_id.result == 11
    assert child.dependency_ids == [parent.id]


def test_child_of_failed_parent_stays_deferred(inline):
    queue = get_queue()
    parent = queue.enqueue(tasks.fail)
    child = queue.enqueue(tasks.add, 3, 4, depends_on=parent)
    assert parent.get_status() == "failed"
    assert child.get_status() == "deferred"
    assert child.result is None
    tolerant = queue.enqueue(tasks.add, 1, 1, depends_on=Dependency(parent, allow_failure=True))
    assert tolerant.get_status() == "finished" and tolerant.result == 2


def test_unknown_parent_is_refused(inline):
    with pytest.raises(NoSuchJobError):
        enqueue(tasks.add, 1, 2, depends_on="never-ran-here")


def test_per_queue_async_false(jq, settings, redis_url, prefixed_keys):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": redis_url},
        "low": {"URL": redis_url, "ASYNC": False},
    }
    inline_job = get_queue("low").enqueue(tasks.add, 1, 2)
    assert inline_job.get_status() == "finished" and inline_job.result == 3
    assert prefixed_keys() == []
    queued = enqueue(tasks.add, 1, 2)
    assert queued.get_status() == "queued"
    assert queued.result is None
    assert prefixed_keys() != []


def test_per_queue_async_true_beats_global_false(jq, settings, redis_url):
    settings.JOBQUEUE_ASYNC = False
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": redis_url, "ASYNC": True},
        "low": {"URL": redis_url},
    }
    assert enqueue(tasks.add, 1, 2).get_status() == "queued"
    assert get_queue("low").enqueue(tasks.add, 1, 2).get_status() == "finished"


def test_get_queue_is_async_false_override(jq):
    job = get_queue("high", is_async=False).enqueue(tasks.add, 4, 4)
    assert job.result == 8


def test_override_settings_switches_to_inline_and_back(jq):
    with override_settings(JOBQUEUE_ASYNC=False):
        assert enqueue(tasks.add, 1, 1).get_status() == "finished"
    assert enqueue(tasks.add, 1, 1).get_status() == "queued"


@pytest.mark.django_db(transaction=True)
def test_inline_jobs_run_at_once_inside_a_transaction(inline):
    with transaction.atomic():
        job = enqueue(tasks.add, 1, 2)
        assert job.get_status() == "finished"
        assert job.result == 3


NO_REDIS_SCRIPT = textwrap.dedent("""
    import sys
    import django
    from django.conf import settings

    DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    per_queue = sys.argv[1] == "per-queue"
    settings.configure(
        INSTALLED_APPS=["django_jobqueue"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        JOBQUEUE_ASYNC=per_queue,
        JOBQUEUE_QUEUES={name: {"URL": DEAD, **({"ASYNC": False} if per_queue else {})}
                         for name in ("default", "low")},
    )
    django.setup()

    import redis
    from django.db import transaction
    from django_jobqueue import enqueue, get_connection, get_queue
    from tests.django import tasks

    try:
        get_connection().ping()
    except redis.ConnectionError:
        pass
    else:
        raise SystemExit("a Redis answered on port 1: this test needs none")

    job = enqueue(tasks.add, 2, 3)
    assert job.get_status() == "finished" and job.result == 5, job.get_status()
    assert get_queue().fetch_job(job.id) is job

    delayed = tasks.low_add.delay(1, 2)
    assert delayed.result == 3 and delayed.origin == "low"
    assert get_queue("low").fetch_job(delayed.id).result == 3

    failed = enqueue(tasks.fail, "no redis")
    assert failed.get_status() == "failed" and "ValueError: no redis" in failed.exc_info
    child = enqueue(tasks.add, 1, 1, depends_on=failed)
    assert child.get_status() == "deferred"

    current = enqueue(tasks.current_job_info)
    assert current.result == {"id": current.id, "origin": "default"}

    with transaction.atomic():
        in_tx = enqueue(tasks.add, 4, 4)
        assert in_tx.result == 8
    print("OK")
""")


@pytest.mark.parametrize("mode", ["global", "per-queue"])
def test_inline_mode_needs_no_redis(mode):
    env = subprocess_env()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, "-c", NO_REDIS_SCRIPT, mode],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("OK")


def test_a_concurrency_limit_does_not_hold_an_inline_job_back(inline, prefixed_keys):
    # Inline, each job has run by the time enqueue() returns: nothing to hold
    # back, so no slot is taken (docs/limits.rst, "Inline queues").
    made = [enqueue(tasks.add, i, 1, concurrency_key="t:1", concurrency_limit=1) for i in range(3)]
    assert [(job.get_status(), job.result) for job in made] == [
        ("finished", i + 1) for i in range(3)
    ]
    assert prefixed_keys() == []
