"""The public API: enqueue, get_queue, get_connection, get_worker, Queue."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

import django_jobqueue
from django_jobqueue import (
    Queue,
    SimpleWorker,
    enqueue,
    get_connection,
    get_queue,
    get_worker,
)
from django_jobqueue.engine import Queue as EngineQueue
from django_jobqueue.engine.worker.pool import WorkerPool
from django_jobqueue.queues import DjangoQueue
from tests.django import tasks

from .conftest import REPO_ROOT, subprocess_env


class MyWorker(SimpleWorker):
    pass


def test_lazy_exports():
    assert django_jobqueue.Queue is DjangoQueue
    assert issubclass(DjangoQueue, EngineQueue)
    assert django_jobqueue.get_queue is get_queue
    assert django_jobqueue.Job is django_jobqueue.engine.Job
    assert set(dir(django_jobqueue)) >= {
        "Queue",
        "job",
        "enqueue",
        "get_queue",
        "get_worker",
        "get_connection",
        "Job",
        "Worker",
        "__version__",
    }
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        django_jobqueue.nope


def test_importing_the_engine_does_not_import_django():
    code = (
        "import sys, django_jobqueue, django_jobqueue.engine\n"
        "from django_jobqueue import Job, Worker\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], "
        "sorted(m for m in sys.modules if m.startswith('django'))\n"
    )
    env = subprocess_env()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_enqueue_puts_the_job_on_the_default_queue(jq, key_prefix):
    job = enqueue(tasks.add, 1, 2)
    assert job.origin == "default"
    assert job.get_status() == "queued"
    assert job.key == f"{key_prefix}{{default}}:job:{job.id}"
    assert jq.exists(job.key)
    assert get_queue().job_ids == [job.id]
    assert get_queue("high").job_ids == []
    assert get_worker().work(burst=True, logging_level=None) is True
    assert get_queue().fetch_job(job.id).result == 3


def test_enqueue_takes_job_options(jq):
    job = enqueue(tasks.add, 1, b=2, job_id="my-job", job_timeout=9, result_ttl=11, meta={"k": "v"})
    fetched = get_queue().fetch_job("my-job")
    assert job.id == "my-job"
    assert (fetched.timeout, fetched.result_ttl, fetched.meta) == (9, 11, {"k": "v"})
    assert (fetched.args, fetched.kwargs) == ((1,), {"b": 2})


def test_get_queue_uses_configured_connection_and_prefix(jq, key_prefix):
    queue = get_queue("low")
    assert isinstance(queue, DjangoQueue)
    assert queue.name == "low"
    assert queue.connection is get_connection("low")
    assert queue.keys.prefix == key_prefix
    queue.enqueue(tasks.add, 1, 2)
    assert queue.count == 1
    assert jq.llen(f"{key_prefix}{{low}}:queue") == 1


def test_get_queue_overrides(jq, redis_url):
    queue = get_queue("low", default_timeout=60, default_result_ttl=5, serializer="json")
    assert queue.default_timeout == 60
    assert queue.default_result_ttl == 5
    assert queue.serializer.name == "signed json"
    inline = get_queue("low", is_async=False)
    assert inline.is_async is False and inline.in_memory is True
    assert inline.enqueue(tasks.add, 2, 3).result == 5
    import redis

    other = redis.Redis.from_url(redis_url)
    assert get_queue("low", connection=other).connection is other
    assert get_queue("low", prefix="elsewhere:").keys.prefix == "elsewhere:"


def test_get_queue_unknown_name():
    with pytest.raises(
        ImproperlyConfigured,
        match=r"'nope' is not in JOBQUEUE_QUEUES "
        r"\(configured: default, high, low\)",
    ):
        get_queue("nope")


def test_queue_class_without_connection_uses_the_settings(jq, key_prefix):
    queue = Queue("low")
    assert queue.connection is get_connection("low")
    assert queue.keys.prefix == key_prefix
    job = queue.enqueue(tasks.add, 4, 5)
    assert get_queue("low").fetch_job(job.id) is not None
    assert Queue().name == "default"


def test_queue_class_unknown_name_needs_a_connection(jq, key_prefix):
    with pytest.raises(ImproperlyConfigured, match="'nope' is not in JOBQUEUE_QUEUES"):
        Queue("nope")
    queue = Queue("nope", connection=jq)  # an explicit connection needs no settings entry
    assert queue.connection is jq
    assert queue.keys.prefix == key_prefix
    assert queue.is_async is True


def test_queue_class_explicit_arguments_win(jq, settings, redis_url):
    settings.JOBQUEUE_QUEUES = {
        name: {"URL": redis_url, "DEFAULT_TIMEOUT": 30, "ASYNC": False}
        for name in ("default", "low")
    }
    queue = Queue("low", default_timeout=5, is_async=True)
    assert queue.default_timeout == 5
    assert queue.is_async is True and queue.in_memory is False
    assert Queue("low").is_async is False


def test_get_connection(jq):
    assert get_connection() is get_connection("default")
    assert get_connection("low").ping()


def test_get_worker_defaults_to_the_default_queue_and_a_pool(jq, key_prefix):
    worker = get_worker()
    assert isinstance(worker, WorkerPool)
    assert worker.queue_names == ["default"]
    assert worker.keys.prefix == key_prefix
    assert worker.connection is get_connection("default")
    assert worker.processes == (os.cpu_count() or 1)


def test_get_worker_kinds_and_pool_options(jq, settings):
    assert get_worker(worker_class="fork").execution.name == "fork"
    assert get_worker(worker_class="simple").execution.name == "inline"
    pool = get_worker(
        worker_class="pool", processes=3, max_jobs_per_child=10, max_memory_per_child=2**20
    )
    assert (pool.processes, pool.max_jobs_per_child, pool.max_memory_per_child) == (3, 10, 2**20)
    settings.JOBQUEUE_WORKER = {"CLASS": "fork", "WORKER_TTL": 30}
    worker = get_worker(processes=5)  # pool options do not reach other kinds
    assert worker.execution.name == "fork" and worker.worker_ttl == 30
    settings.JOBQUEUE_WORKER = {"PROCESSES": 4, "MAX_MEMORY_PER_CHILD": "1MB"}
    pool = get_worker()
    assert (pool.processes, pool.max_memory_per_child) == (4, 2**20)


def test_get_worker_worker_class_forms(jq):
    assert get_worker("low", worker_class="simple").execution.name == "inline"
    assert get_worker("low", worker_class="fork").execution.name == "fork"
    dotted = get_worker("low", worker_class="tests.django.test_queues.MyWorker")
    assert type(dotted) is MyWorker
    assert type(get_worker("low", worker_class=MyWorker)) is MyWorker
    assert get_worker("low", name="w1").name == "w1"
    with pytest.raises(ImportError):
        get_worker("low", worker_class="tests.django.test_queues.NoSuchWorker")


def test_get_worker_unknown_queue():
    with pytest.raises(ImproperlyConfigured, match="'nope' is not in JOBQUEUE_QUEUES"):
        get_worker("default", "nope")


def test_get_worker_serves_queues_in_the_given_order(jq, log_of):
    for tag in ("low-1", "low-2"):
        get_queue("low").enqueue(tasks.record, tag)
    get_queue("default").enqueue(tasks.record, "default-1")
    get_queue("high").enqueue(tasks.record, "high-1")
    worker = get_worker("high", "default", "low", worker_class="simple")
    assert worker.queue_names == ["high", "default", "low"]
    worker.work(burst=True, logging_level=None)
    assert log_of() == ["high-1", "default-1", "low-1", "low-2"]


def test_get_worker_order_is_the_callers(jq, log_of):
    get_queue("high").enqueue(tasks.record, "high")
    get_queue("low").enqueue(tasks.record, "low")
    get_worker("low", "high", worker_class="simple").work(burst=True, logging_level=None)
    assert log_of() == ["low", "high"]


def test_forking_worker_from_get_worker(jq):
    job = enqueue(tasks.add, 20, 22)
    failing = enqueue(tasks.fail, "bad")
    get_worker().work(burst=True, logging_level=None)
    assert job.get_status() == "finished"
    assert job.return_value(refresh=True) == 42
    assert failing.get_status() == "failed"
    assert "ValueError: bad" in get_queue().fetch_job(failing.id).exc_info


def test_get_worker_refuses_queues_on_different_connections(jq, settings, redis_url):
    base = redis_url.rsplit("/", 1)[0]
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": base + "/0"},
        "high": {"URL": base + "/0"},
        "low": {"URL": base + "/1"},
    }
    # Jobs of "low" live in another database: a worker on "default"'s connection
    # would never see them, so this is refused instead of silently serving nothing.
    with pytest.raises(ImproperlyConfigured, match=r"Queue\(s\) low use another Redis connection"):
        get_worker("default", "low")
    assert get_worker("default", "high").queue_names == ["default", "high"]
    assert get_worker("low").connection is get_connection("low")


def test_get_worker_allows_queues_differing_only_in_client_options(jq, settings, redis_url):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": redis_url},
        "low": {"URL": redis_url, "CONNECTION_KWARGS": {"socket_timeout": 30}},
    }
    assert get_connection("low") is not get_connection("default")
    job = get_queue("low").enqueue(tasks.add, 1, 2)
    get_worker("default", "low", worker_class="simple").work(burst=True, logging_level=None)
    assert job.get_status() == "finished"


def test_payloads_are_signed_by_default_and_a_forged_one_never_runs(jq, tmp_path):
    import pickle

    from django_jobqueue.engine import JobStatus

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    queue = get_queue()
    jq.hset(
        queue.keys.job("default", "forged"),
        mapping={
            "func": "tests.django.tasks.add",
            "status": "queued",
            "created_at": "1",
            "data": pickle.dumps((None, (Boom(),), {})),
        },
    )
    jq.rpush(queue.key, "forged")
    get_worker(worker_class="simple").work(burst=True, logging_level=None)
    assert not (tmp_path / "pwned").exists()
    forged = queue.fetch_job("forged")
    assert forged.get_status() == JobStatus.FAILED and "not signed" in forged.exc_info


@pytest.mark.parametrize("how", ["-c", "stdin"])
def test_a_function_defined_in_manage_py_shell_is_refused_at_enqueue(manage_py, how):
    code = "from django_jobqueue import enqueue\ndef report(n):\n    return n\nenqueue(report, 1)\n"
    if how == "-c":
        proc = manage_py("shell", "-c", code)
        out, _ = proc.communicate(timeout=60)
    else:
        proc = manage_py("shell", "-i", "python", stdin=subprocess.PIPE)
        out, _ = proc.communicate(code, timeout=60)
    assert "EnqueueError" in out
    assert "'report' was defined in an interactive shell or by exec()" in out
    assert "define it in a module of your project" in out


# -- django-rq's get_queue() arguments and get_queues() ----------------------------


class OtherQueue(DjangoQueue):
    pass


def test_get_queue_commit_mode_is_kept_on_the_queue():
    assert get_queue(commit_mode="auto").commit_mode == "immediate"
    assert get_queue(commit_mode="on_commit").commit_mode == "on_commit"
    assert get_queue().commit_mode is None  # the settings decide
    with pytest.raises(ImproperlyConfigured, match="commit mode must be one of"):
        get_queue(commit_mode="later")


def test_get_queue_autocommit_warns_and_sets_the_commit_mode():
    with pytest.deprecated_call(match="commit_mode"):
        assert get_queue(autocommit=True).commit_mode == "immediate"
    with pytest.deprecated_call():
        assert get_queue(autocommit=False).commit_mode == "on_commit"


def test_get_queue_takes_async_for_is_async():
    assert get_queue(**{"async": False}).is_async is False
    assert get_queue(is_async=False, default_timeout=42).default_timeout == 42


def test_get_queue_queue_class_as_class_or_path():
    assert type(get_queue(queue_class=OtherQueue)) is OtherQueue
    assert type(get_queue(queue_class="tests.django.test_queues.OtherQueue")) is OtherQueue
    with pytest.raises(ImproperlyConfigured, match=r"not a subclass of django_jobqueue\.Queue"):
        get_queue(queue_class=EngineQueue)


def test_get_queues_of_one_connection(settings):
    assert [q.name for q in django_jobqueue.get_queues("high", "low")] == ["high", "low"]
    assert [q.name for q in django_jobqueue.get_queues()] == ["default"]


def test_get_queues_refuses_other_connections_and_classes(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": "redis://127.0.0.1:6379/0"},
        "other_db": {"URL": "redis://127.0.0.1:6379/1"},
        "odd": {
            "URL": "redis://127.0.0.1:6379/0",
            "QUEUE_CLASS": "tests.django.test_queues.OtherQueue",
        },
    }
    with pytest.raises(ValueError, match="different Redis connections"):
        django_jobqueue.get_queues("default", "other_db")
    with pytest.raises(ValueError, match="different classes"):
        django_jobqueue.get_queues("default", "odd")


def test_django_rq_queue_class_name():
    from django_jobqueue.queues import DjangoRQ

    assert DjangoRQ is DjangoQueue
