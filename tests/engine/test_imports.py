"""The engine is plain Python on redis-py: importing it never imports Django."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "import django_jobqueue.engine",
        "from django_jobqueue.engine import Queue, Worker, SimpleWorker, Job, job, Retry",
        "from django_jobqueue.engine import scripts, worker, queue, registry, dependencies",
    ],
)
def test_importing_the_engine_leaves_django_out(statement):
    result = _run(
        f"{statement}\nimport sys\n"
        "print(sorted(m for m in sys.modules if m == 'django' "
        "or m.startswith('django.')))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_engine_names_are_reexported():
    import django_jobqueue
    import django_jobqueue.engine as engine

    for name in (
        "Job",
        "JobStatus",
        "Retry",
        "Dependency",
        "Worker",
        "SimpleWorker",
        "NoSuchJobError",
        "EnqueueError",
        "SerializationError",
        "DeserializationError",
        "JobTimeoutException",
        "AbandonedJobError",
        "FailedJobRegistry",
        "StartedJobRegistry",
        "FinishedJobRegistry",
        "DeferredJobRegistry",
        "CanceledJobRegistry",
        "ScheduledJobRegistry",
        "all_workers",
        "get_current_job",
    ):
        assert getattr(django_jobqueue, name) is getattr(engine, name), name
    for name in (
        "Queue",
        "job",
        "KeySpace",
        "DEFAULT_PREFIX",
        "JSONSerializer",
        "PickleSerializer",
        "DuplicateJobError",
        "InvalidJobOperation",
    ):
        assert name in engine.__all__
        assert hasattr(engine, name)
    assert django_jobqueue.__version__ == "0.1.0"


@pytest.mark.parametrize(
    ("module", "name", "home"),
    [
        ("job", "JobStatus", "vocabulary"),
        ("job", "DEFAULT_TIMEOUT", "vocabulary"),
        ("job", "DEFAULT_RESULT_TTL", "vocabulary"),
        ("job", "DEFAULT_FAILURE_TTL", "vocabulary"),
        ("job", "Retry", "retry"),
        ("job", "Dependency", "dependencies"),
        ("keys", "DEFAULT_PREFIX", "vocabulary"),
        ("keys", "REGISTRIES", "vocabulary"),
        ("keys", "STATS_TTL", "vocabulary"),
        ("live", "WorkerState", "vocabulary"),
        ("dependencies", "release_dependents", "scripts"),
    ],
)
def test_moved_names_are_still_importable_from_where_they_were(module, name, home):
    import importlib

    old = importlib.import_module(f"django_jobqueue.engine.{module}")
    new = importlib.import_module(f"django_jobqueue.engine.{home}")
    assert getattr(old, name) is getattr(new, name)


def test_rqs_top_level_names_are_the_engines():
    import django_jobqueue
    import django_jobqueue.engine as rq

    for name in ("Callback", "Retry", "cancel_job", "get_current_job", "requeue_job", "Queue"):
        assert hasattr(rq, name), name
    for name in ("RateLimit", "Repeat", "Webhook", "SimpleWorker", "Worker", "WorkerPool"):
        assert hasattr(rq, name), name
    assert rq.VERSION == django_jobqueue.__version__
