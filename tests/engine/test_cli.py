"""The ``jobqueue`` command (engine/cli/): RQ's ``rq`` subcommands and options on our engine.

Most tests drive the click group in-process with click's CliRunner; the last
ones run the installed console script as a subprocess, as a Procfile would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from django_jobqueue.engine import (
    FailedJobRegistry,
    Job,
    JobStatus,
    KeySpace,
    ScheduledJobRegistry,
    SimpleWorker,
    Worker,
)
from django_jobqueue.engine.cli import cli_cron as cli_cron_module
from django_jobqueue.engine.cli import main
from django_jobqueue.engine.cli.helpers import (
    CliConfig,
    get_redis_from_config,
    import_job_class,
    import_worker_class,
    parse_function_arg,
    parse_function_args,
    parse_schedule,
    read_config_file,
)
from django_jobqueue.engine.suspension import is_suspended, suspend

from . import jobs
from .conftest import REPO_ROOT, wait_until


@pytest.fixture
def run(redis_url, key_prefix):
    """``run(*words)``: ``jobqueue WORD... -u URL --prefix PREFIX`` in-process; the click Result."""
    runner = CliRunner()

    def invoke(*words: str, where: bool = True):
        args = [*words, "-u", redis_url, "--prefix", key_prefix] if where else list(words)
        return runner.invoke(main, args, catch_exceptions=False)

    return invoke


def enqueued_job(queue) -> Job:
    (job_id,) = queue.get_job_ids()
    return queue.fetch_job(job_id)


# -- enqueue --------------------------------------------------------------------------


def test_enqueue_reads_text_json_literals_and_files(run, queue, tmp_path):
    data = tmp_path / "data.json"
    data.write_text('{"n": 1}')
    result = run(
        "enqueue",
        "tests.engine.jobs.echo",
        "plain",
        ":[1, 2]",
        "%(3, None)",
        f":@{data}",
        "name=text",
        "numbers:=[4.5, true]",
        "pair%=('a', 1)",
        f"raw=@{data}",
    )
    assert result.exit_code == 0, result.output
    job = enqueued_job(queue)
    assert list(job.args) == ["plain", [1, 2], (3, None), {"n": 1}]
    assert job.kwargs == {
        "name": "text",
        "numbers": [4.5, True],
        "pair": ("a", 1),
        "raw": '{"n": 1}',
    }
    assert result.output == (
        f"Enqueued tests.engine.jobs.echo('plain', [1, 2], (3, None), {{'n': 1}}, "
        f"name='text', numbers=[4.5, True], pair=('a', 1), raw='{{\"n\": 1}}') "
        f"with job-id '{job.id}'.\n"
    )


def test_enqueue_options_reach_the_job(run, queue, make_queue):
    parent = queue.enqueue(jobs.add, 1, 2)
    result = run(
        "enqueue",
        "--queue",
        "low",
        "--job-id",
        "report-1",
        "--timeout",
        "5m",
        "--result-ttl",
        "60",
        "--failure-ttl",
        "1h",
        "--description",
        "monthly report",
        "--depends-on",
        parent.id,
        "--retry-max",
        "2",
        "--retry-interval",
        "10",
        "--retry-interval",
        "20",
        "--quiet",
        "tests.engine.jobs.add",
        "%1",
        "%2",
    )
    assert (result.exit_code, result.output) == (0, "")
    job = make_queue("low").fetch_job("report-1")
    assert (job.timeout, job.result_ttl, job.failure_ttl) == (300, 60, 3600)
    assert job.description == "monthly report"
    assert job.get_status() == JobStatus.DEFERRED
    assert (job.retries_left, job.retry_intervals) == (2, [10, 20])


def test_enqueue_at_front(run, queue):
    first = queue.enqueue(jobs.add, 1, 2)
    assert (
        run("enqueue", "--at-front", "--job-id", "urgent", "tests.engine.jobs.add").exit_code == 0
    )
    assert queue.get_job_ids() == ["urgent", first.id]


def test_enqueue_schedule_in_and_at(run, queue):
    before = datetime.now(UTC)
    assert (
        run(
            "enqueue", "--schedule-in", "10m", "--job-id", "later", "tests.engine.jobs.add"
        ).exit_code
        == 0
    )
    # --schedule-at is the local time, as in RQ.
    local = (datetime.now() + timedelta(hours=2)).replace(microsecond=0)
    result = run(
        "enqueue", "--schedule-at", local.isoformat(), "--job-id", "at", "tests.engine.jobs.add"
    )
    assert result.exit_code == 0, result.output
    registry = ScheduledJobRegistry(queue=queue)
    assert len(queue) == 0 and sorted(registry.get_job_ids()) == ["at", "later"]
    later = registry.get_scheduled_time("later")
    assert before + timedelta(minutes=10) <= later <= datetime.now(UTC) + timedelta(minutes=10)
    assert registry.get_scheduled_time("at") == local.astimezone()


@pytest.mark.parametrize(
    "words, message",
    [
        (["bad:=[1"], "Unable to parse bad as JSON."),
        ([":[1"], "Unable to parse 1. non keyword argument as JSON."),
        (["ok", "%import os"], "Unable to eval 2. non keyword argument as Python object."),
        (["k=1", "k=2"], "You can't specify multiple values for the same keyword."),
        (["@/nonexistent/file"], "Not found"),
        (
            ["--schedule-in", "1m", "--schedule-at", "2030-01-01T00:00:00"],
            "You can't specify both --schedule-in and --schedule-at",
        ),
        (["--schedule-in", "soon"], "--schedule-in"),
        (["--timeout", "0"], "give seconds from 1"),
    ],
)
def test_enqueue_refuses_bad_input(run, queue, words, message):
    result = run("enqueue", "tests.engine.jobs.echo", *words)
    assert result.exit_code != 0
    assert message in result.output
    assert len(queue) == 0


# -- worker ---------------------------------------------------------------------------


def test_worker_burst_runs_queues_in_order_and_keeps_the_pid_file(run, make_queue, tmp_path):
    high, low = make_queue("high"), make_queue("low")
    jobs_ = [low.enqueue(jobs.add, 1, 1), high.enqueue(jobs.add, 2, 2)]
    pid_file = tmp_path / "worker.pid"
    result = run("worker", "high", "low", "--burst", "--pid", str(pid_file), "-n", "cli-worker")
    assert result.exit_code == 0, result.output
    for job in jobs_:
        job.refresh()
    assert [j.get_status() for j in jobs_] == [JobStatus.FINISHED] * 2
    assert jobs_[0].ended_at > jobs_[1].ended_at  # high first
    assert jobs_[0].worker_name == "cli-worker"
    assert pid_file.read_text() == str(os.getpid())  # RQ leaves it in place


def test_worker_class_serializer_and_logging_options(run, make_queue, redis_conn):
    queue = make_queue("json", serializer="json")
    job = queue.enqueue(jobs.add, 2, 3)
    result = run(
        "worker",
        "json",
        "-b",
        "-w",
        "django_jobqueue.engine.SimpleWorker",
        "-S",
        "json",
        "--verbose",
        "--dequeue-strategy",
        "round_robin",
        "--results-ttl",
        "30",
    )
    assert result.exit_code == 0, result.output
    job.refresh()
    assert job.return_value() == 5
    assert 0 < redis_conn.ttl(job.key) <= 30  # --results-ttl: the worker's default


@pytest.mark.parametrize("kind", ["SimpleWorker", "SpawnWorker", "WorkerPool", "RoundRobinWorker"])
def test_worker_runs_any_worker_class(run, queue, kind):
    job = queue.enqueue(jobs.add, 1, 2)
    result = run("worker", "-b", "--worker-class", f"django_jobqueue.engine.{kind}")
    assert result.exit_code == 0, result.output
    assert job.get_status(refresh=True) == JobStatus.FINISHED


def test_worker_exception_handlers(run, queue):
    job = queue.enqueue(jobs.fail)
    result = run("worker", "-b", "--exception-handler", "tests.engine.jobs.note_failure_in_meta")
    assert result.exit_code == 0, result.output
    job.refresh()
    assert job.meta == {"handled": "ValueError"}
    assert job in FailedJobRegistry(queue=queue)  # a failed job is always recorded


def test_worker_scheduler_runs_only_with_the_flag(run, queue):
    job = queue.enqueue_in(timedelta(seconds=1), jobs.add, 1, 2)
    time.sleep(1.1)
    assert run("worker", "-b").exit_code == 0
    assert job.get_status(refresh=True) == JobStatus.SCHEDULED
    assert run("worker", "-b", "--with-scheduler").exit_code == 0
    assert job.get_status(refresh=True) == JobStatus.FINISHED


@pytest.mark.parametrize(
    "words, code, message",
    [
        (["--dequeue-strategy", "fastest"], 1, "Dequeue Strategy can only be one of"),
        (["--verbose", "--quiet"], 2, "cannot be used together"),
        (["--exception-handler", "tests.engine.jobs.nothing_here"], 2, "--exception-handler"),
        (["-S", "tests.engine.jobs.nothing_here"], 2, "--serializer"),
        (["-w", "tests.engine.jobs.add"], 2, "--worker-class"),
        (["-j", "datetime.datetime"], 2, "--job-class"),
    ],
)
def test_worker_refuses_bad_options(run, words, code, message):
    result = run("worker", "-b", *words)
    assert result.exit_code == code
    assert message in result.output


def test_worker_does_not_start_while_suspended(run, redis_conn, key_prefix, queue):
    job = queue.enqueue(jobs.add, 1, 2)
    suspend(redis_conn, prefix=key_prefix)
    result = run("worker", "-b")
    assert result.exit_code == 1
    assert 'to resume job execution run "jobqueue resume"' in result.output
    assert job.get_status(refresh=True) == JobStatus.QUEUED


def test_worker_reads_queues_name_and_logging_from_config(run, queue, tmp_path, monkeypatch):
    (tmp_path / "cli_settings_a.py").write_text(
        "QUEUES = ['default']\nNAME = 'from-settings'\n"
        "DICT_CONFIG = {'version': 1, 'disable_existing_loggers': False}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    job = queue.enqueue(jobs.add, 1, 2)
    assert run("worker", "-b", "-c", "cli_settings_a").exit_code == 0
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.worker_name == "from-settings"


def test_worker_pool(run, make_queue):
    queue = make_queue("pooled")
    started = [queue.enqueue(jobs.add, i, i) for i in range(4)]
    result = run(
        "worker-pool",
        "pooled",
        "-b",
        "-n",
        "2",
        "--exception-handler",
        "tests.engine.jobs.note_failure_in_meta",
    )
    assert result.exit_code == 0, result.output
    assert [j.get_status(refresh=True) for j in started] == [JobStatus.FINISHED] * 4


def test_worker_pool_refuses_a_worker_class_it_cannot_run(run):
    result = run("worker-pool", "-b", "-w", "django_jobqueue.engine.SpawnWorker")
    assert result.exit_code == 2
    assert "a pool runs its own children" in result.output


# -- suspend, resume, empty, requeue ------------------------------------------------


def test_suspend_and_resume(run, redis_conn, key_prefix):
    assert run("suspend").exit_code == 0
    assert is_suspended(redis_conn, prefix=key_prefix)
    assert redis_conn.ttl(KeySpace(key_prefix).suspended) == -1  # until resumed
    assert run("resume").output == "Resuming workers.\n"
    assert not is_suspended(redis_conn, prefix=key_prefix)
    result = run("suspend", "--duration", "30")
    assert result.exit_code == 0 and "for 30 seconds" in result.output
    assert 0 < redis_conn.ttl(KeySpace(key_prefix).suspended) <= 30
    result = run("suspend", "--duration", "0")
    assert result.exit_code == 1 and "Duration must be" in result.output


def test_empty(run, make_queue):
    a, b = make_queue("a"), make_queue("b")
    a.enqueue(jobs.add, 1, 2)
    b.enqueue(jobs.add, 1, 2)
    b.enqueue(jobs.add, 1, 2)
    assert run("empty").output == "Nothing to do\n"
    assert run("empty", "a").output == "1 jobs removed from a queue\n"
    assert (len(a), len(b)) == (0, 2)
    assert (
        run("empty", "--all").output == "0 jobs removed from a queue\n2 jobs removed from b queue\n"
    )
    assert len(b) == 0


def test_requeue(run, queue, make_worker):
    failed = [queue.enqueue(jobs.fail) for _ in range(3)]
    make_worker(queue).work(burst=True)
    registry = FailedJobRegistry(queue=queue)
    assert len(registry) == 3
    result = run("requeue", "--queue", "default", failed[0].id)
    assert result.exit_code == 0 and "Requeueing 1 jobs from failed queue" in result.output
    assert queue.get_job_ids() == [failed[0].id]
    result = run("requeue", "--queue", "default", "--all")
    assert result.exit_code == 0 and "Requeueing 2 jobs" in result.output
    assert len(registry) == 0 and len(queue) == 3
    result = run("requeue", "--queue", "default", "--all")
    assert result.output == "Nothing to do\n"
    finished = queue.enqueue(jobs.add, 1, 2)
    make_worker(queue).work(burst=True)
    result = run("requeue", "--queue", "default", "no-such-job", finished.id)
    assert "Unable to requeue 2 jobs from failed job registry" in result.output
    assert finished.get_status(refresh=True) == JobStatus.FINISHED


# -- info ---------------------------------------------------------------------------


def test_info_shows_queues_and_workers(run, make_queue, make_worker):
    assert "0 queues, 0 jobs total" in run("info").output
    high = make_queue("high")
    high.enqueue(jobs.add, 1, 2)
    high.enqueue(jobs.add, 1, 2)
    assert run("info", "--raw", "--only-queues").output == (
        "queue high 2, 0 executing, 0 finished, 0 failed\n"
    )
    worker = make_worker([high, make_queue("low")], cls=Worker, name="w1")
    worker.register_birth()
    try:
        output = run("info").output
        assert "1 queues, 2 jobs total" in output
        assert "w1 (" in output and "high, low. jobs: 0 finished, 0 failed" in output
        assert "1 workers, 1 queues" in output
        output = run("info", "high", "low", "--by-queue", "--only-workers").output
        assert output.splitlines()[:2] == ["high: w1 (idle)", "low:  w1 (idle)"]
        assert "1 workers, 2 queues" in output
        assert "\u2013" in run("info", "other", "-R", "-W").output
    finally:
        worker.register_death()


def test_info_shows_a_worker_busy_while_it_runs_a_job(run, queue, spawn_worker):
    job = queue.enqueue(jobs.sleep_for, 30)
    spawn_worker("default", name="busy-one", new_session=True)  # killed with its work-horse
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.STARTED, message="never started")
    output = run("info", "--raw", "--only-workers").output
    assert output.startswith("worker busy-one (") and " busy default. jobs: 0 finished" in output


# -- cron -------------------------------------------------------------------------------


def test_cron_loads_the_configuration_and_starts(run, monkeypatch, tmp_path, key_prefix):
    config = tmp_path / "cron_config.py"
    config.write_text(
        "from django_jobqueue.engine import cron\n"
        "from tests.engine import jobs\n"
        "cron.register(jobs.add, queue_name='default', args=(1, 2), interval=60)\n"
    )
    started = []
    monkeypatch.setattr(cli_cron_module.CronScheduler, "start", lambda self: started.append(self))
    result = run("cron", str(config), "--logging-level", "debug")
    assert result.exit_code == 0, result.output
    (scheduler,) = started
    assert [j.func_name for j in scheduler.get_jobs()] == ["tests.engine.jobs.add"]
    assert scheduler.keys.prefix == key_prefix and scheduler.logging_level == "DEBUG"
    result = run("cron", str(tmp_path / "missing.py"))
    assert result.exit_code == 2 and "Configuration file not found" in result.output


# -- where Redis is -----------------------------------------------------------------


def test_connection_from_url_config_module_or_environment(tmp_path, monkeypatch):
    (tmp_path / "cli_settings_b.py").write_text(
        "REDIS_HOST = 'redis.example.com'\nREDIS_PORT = 6380\nREDIS_DB = 3\n"
        "REDIS_PASSWORD = 'secret'\nlowercase = 'ignored'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert read_config_file("cli_settings_b") == {
        "REDIS_HOST": "redis.example.com",
        "REDIS_PORT": 6380,
        "REDIS_DB": 3,
        "REDIS_PASSWORD": "secret",
    }
    kwargs = CliConfig(config="cli_settings_b").connection.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "redis.example.com",
        6380,
        3,
        "secret",
    )
    url = CliConfig(url="redis://elsewhere:7000/5", config="cli_settings_b").connection
    assert url.connection_pool.connection_kwargs["host"] == "elsewhere"
    monkeypatch.setenv("REDIS_HOST", "from-env.example.com")
    env = CliConfig().connection.connection_pool.connection_kwargs
    assert env["host"] == "from-env.example.com"
    settings = {"REDIS_URL": "redis://localhost:1/1", "REDIS_HOST": "ignored"}
    assert get_redis_from_config(settings).connection_pool.connection_kwargs["port"] == 1
    with pytest.raises(ValueError, match="REDIS_SSL"):
        get_redis_from_config({"REDIS_SSL": "maybe"})


def test_redis_from_sentinel_settings(monkeypatch):
    from django_jobqueue.engine.cli import helpers

    made = {}

    class FakeSentinel:
        def __init__(self, instances, sentinel_kwargs=None, **kwargs):
            made.update(instances=instances, sentinel_kwargs=sentinel_kwargs, kwargs=kwargs)

        def master_for(self, name):
            made["master"] = name
            return "client"

    monkeypatch.setattr(helpers, "Sentinel", FakeSentinel)
    sentinel = {
        "INSTANCES": [("s1", 26379)],
        "MASTER_NAME": "primary",
        "DB": 2,
        "PASSWORD": "pw",
        "CONNECTION_KWARGS": {"ssl_ca_path": None},
        "SENTINEL_KWARGS": {"password": "spw"},
    }
    assert get_redis_from_config({"SENTINEL": sentinel, "REDIS_HOST": "ignored"}) == "client"
    assert made == {
        "instances": [("s1", 26379)],
        "sentinel_kwargs": {"password": "spw"},
        "kwargs": {
            "db": 2,
            "username": None,
            "password": "pw",
            "socket_timeout": None,
            "ssl": False,
            "ssl_ca_path": None,
        },
        "master": "primary",
    }


def test_classes_by_dotted_path():
    assert import_worker_class("django_jobqueue.engine.SimpleWorker") is SimpleWorker
    assert import_job_class("django_jobqueue.engine.Job") is Job
    for path in ("no.such.module", "django_jobqueue.engine.utils.now", "datetime.datetime"):
        with pytest.raises(ValueError):
            import_job_class(path)
    with pytest.raises(click.BadParameter, match="not a queue class") as refused:
        CliConfig(queue_class="django_jobqueue.engine.Job")
    assert refused.value.param_hint == "--queue-class"


# -- argument helpers -------------------------------------------------------------------


def test_parse_function_arg():
    assert parse_function_arg("abc", 1) == (None, "abc")
    assert parse_function_arg(':{"a": true}', 1) == (None, {"a": True})
    assert parse_function_arg("%1, 2", 1) == (None, (1, 2))
    assert parse_function_arg("key=value=more", 1) == ("key", "value=more")
    assert parse_function_arg("key:=[1]", 1) == ("key", [1])
    assert parse_function_arg("key%=1.5", 1) == ("key", 1.5)
    assert parse_function_arg("=abc", 1) == (None, "=abc")
    assert parse_function_args(["a", "k=v", "%2"]) == (["a", 2], {"k": "v"})


def test_parse_schedule():
    assert parse_schedule(None, None) is None
    assert parse_schedule(None, "2030-01-23T23:45:01") == datetime(2030, 1, 23, 23, 45, 1)
    before = datetime.now(UTC) + timedelta(minutes=5)
    assert before <= parse_schedule("5m", None) <= datetime.now(UTC) + timedelta(minutes=5)


# -- the console script ------------------------------------------------------------------


def _console_script() -> str:
    found = Path(sys.executable).parent / "jobqueue"
    if found.exists():
        return str(found)
    which = shutil.which("jobqueue")
    if which is None:  # pragma: no cover - depends on the installation
        pytest.skip("the jobqueue console script is not installed (pip install -e '.[cli]')")
    return which


def test_console_script_runs_a_burst_worker(redis_url, key_prefix, queue):
    job = queue.enqueue(jobs.add, 20, 22)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [
            _console_script(),
            "worker",
            "--burst",
            "-u",
            redis_url,
            "--prefix",
            key_prefix,
            "default",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert job.get_status(refresh=True) == JobStatus.FINISHED and job.return_value() == 42
    assert "tests.engine.jobs.add(20, 22)" in proc.stderr  # the worker's log
    version = subprocess.run(
        [_console_script(), "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and "version" in version.stdout


def test_console_script_without_redis_burst_stops_long_running_waits():
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    burst = subprocess.run(
        [_console_script(), "worker", "-b", "-u", url], capture_output=True, text=True, timeout=60
    )
    assert burst.returncode == 1 and "Redis did not answer" in burst.stderr
    waiting = subprocess.Popen(
        [_console_script(), "worker", "-u", url], stderr=subprocess.PIPE, text=True
    )
    try:
        line = waiting.stderr.readline()
        assert "is unreachable" in line and "waiting for it" in line
    finally:
        waiting.terminate()
        assert waiting.wait(timeout=30) == 0
