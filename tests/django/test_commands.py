"""The management commands: rqworker, rqstats, rqenqueue, rqsuspend, rqresume, rqempty."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_jobqueue import SimpleWorker, enqueue, get_queue
from django_jobqueue.engine import hooks, scripts
from django_jobqueue.management.commands import rqworker as rqworker_module
from tests.django import tasks

from .conftest import REPO_ROOT, wait_until

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)


class RecordingWorker(SimpleWorker):
    """A worker class given to ``--worker-class`` by dotted path."""

    created: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        RecordingWorker.created.append(self)


def run(*args, **kwargs):
    """``call_command`` returning (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def rqworker(*args):
    return run("rqworker", *args, "--worker-class", "simple")


# -- rqworker -------------------------------------------------------------------------


def test_rqworker_serves_queues_in_priority_order(jq, log_of):
    for tag in ("low-1", "low-2"):
        get_queue("low").enqueue(tasks.record, tag)
    for tag in ("high-1", "high-2"):
        get_queue("high").enqueue(tasks.record, tag)
    get_queue("default").enqueue(tasks.record, "default-1")
    rqworker("high", "low", "--burst")
    assert log_of() == ["high-1", "high-2", "low-1", "low-2"]
    assert get_queue("default").count == 1  # not served


def test_rqworker_defaults_to_the_default_queue(jq):
    default_job = enqueue(tasks.add, 1, 2)
    high_job = get_queue("high").enqueue(tasks.add, 1, 2)
    rqworker("--burst")
    assert default_job.get_status() == "finished"
    assert default_job.return_value(refresh=True) == 3
    assert high_job.get_status() == "queued"


def test_rqworker_unknown_queue(jq):
    with pytest.raises(
        CommandError,
        match=r"Unknown queue\(s\): nope, other\. Configured queues: "
        r"default, high, low",
    ):
        rqworker("default", "nope", "other", "--burst")


def test_rqworker_name(jq):
    job = enqueue(tasks.add, 1, 2)
    rqworker("--burst", "--name", "worker-under-test")
    assert get_queue().fetch_job(job.id).worker_name == "worker-under-test"


def test_rqworker_max_jobs(jq):
    jobs = [enqueue(tasks.add, i, i) for i in range(3)]
    started = time.monotonic()
    rqworker("--max-jobs", "2")  # not burst: stops because of --max-jobs
    assert time.monotonic() - started < 10
    assert [j.get_status() for j in jobs] == ["finished", "finished", "queued"]


def test_rqworker_max_idle_time(jq):
    started = time.monotonic()
    rqworker("--max-idle-time", "0.3")
    assert time.monotonic() - started < 10


def test_rqworker_pid_file_exists_while_running(jq, tmp_path):
    pid_file = tmp_path / "worker.pid"
    job = enqueue(tasks.read_file, str(pid_file))
    rqworker("--burst", "--pid", str(pid_file))
    assert job.return_value(refresh=True) == str(os.getpid())
    assert not pid_file.exists()  # removed on exit


@pytest.mark.parametrize(
    ("verbosity", "level", "listening_logged"),
    [("0", "WARNING", False), ("1", "INFO", True), ("2", "DEBUG", True), ("3", "DEBUG", True)],
)
def test_rqworker_verbosity(jq, caplog, verbosity, level, listening_logged):
    import logging

    logging.getLogger("django_jobqueue").setLevel(logging.NOTSET)
    enqueue(tasks.add, 1, 2)
    rqworker("--burst", "-v", verbosity)
    assert logging.getLevelName(logging.getLogger("django_jobqueue").level) == level
    assert ("Listening on default" in caplog.text) is listening_logged
    assert (") OK in " in caplog.text) is listening_logged


def test_rqworker_keeps_a_configured_logger_level(jq, caplog):
    import logging

    logging.getLogger("django_jobqueue").setLevel(logging.ERROR)
    rqworker("--burst", "-v", "3")
    assert logging.getLogger("django_jobqueue").level == logging.ERROR


@pytest.mark.parametrize(
    "worker_class", ["simple", "inline", "django_jobqueue.engine.worker.SimpleWorker"]
)
def test_rqworker_worker_class_names(jq, worker_class):
    job = enqueue(tasks.pid)
    run("rqworker", "--burst", "--worker-class", worker_class)
    assert job.return_value(refresh=True) == os.getpid()  # ran in this process


def test_rqworker_worker_class_dotted_path(jq):
    RecordingWorker.created.clear()
    job = enqueue(tasks.add, 2, 2)
    run(
        "rqworker",
        "low",
        "default",
        "--burst",
        "--worker-ttl",
        "99",
        "--name",
        "rec",
        "--worker-class",
        "tests.django.test_commands.RecordingWorker",
    )
    assert len(RecordingWorker.created) == 1
    worker = RecordingWorker.created[0]
    assert worker.queue_names == ["low", "default"]
    assert (worker.name, worker.worker_ttl) == ("rec", 99)
    assert job.get_status() == "finished"


def test_rqworker_fork_worker_class(jq):
    job = enqueue(tasks.pid)
    run("rqworker", "--burst", "--worker-class", "fork")
    result = job.return_value(refresh=True)
    assert isinstance(result, int) and result != os.getpid()  # ran in a forked child


@pytest.mark.parametrize(
    "worker_class", ["tests.django.test_commands.NoSuchWorker", "no_such_module.Worker", "bogus"]
)
def test_rqworker_bad_worker_class(jq, worker_class):
    with pytest.raises(CommandError) as info:
        run("rqworker", "--burst", "--worker-class", worker_class)
    message = str(info.value)
    assert "\n" not in message
    assert f"Unknown --worker-class {worker_class!r}" in message
    assert "choose pool, fork, simple or the dotted path of a worker class." in message


@pytest.mark.parametrize(
    "args, message",
    [
        (["--processes", "0"], "--processes must be a positive number, not 0."),
        (["--processes", "-2"], "--processes must be a positive number, not -2."),
        (["--max-jobs-per-child", "0"], "--max-jobs-per-child must be a positive number, not 0."),
        (["--reload", "--worker-class", "pool"], "--reload cannot restart a pool's children"),
    ],
)
def test_rqworker_refuses_option_values_that_cannot_work(jq, args, message):
    with pytest.raises(CommandError, match=re.escape(message)) as info:
        run("rqworker", "--burst", *args)
    assert "\n" not in str(info.value)


def test_rqworker_bad_worker_class_leaves_no_pid_file(jq, tmp_path):
    pid_file = tmp_path / "worker.pid"
    with pytest.raises(CommandError, match="NoSuchWorker"):
        run(
            "rqworker",
            "--burst",
            "--pid",
            str(pid_file),
            "--worker-class",
            "tests.django.test_commands.NoSuchWorker",
        )
    assert not pid_file.exists()


def test_rqworker_queues_on_different_connections(jq, settings, redis_url):
    base = redis_url.rsplit("/", 1)[0]
    settings.JOBQUEUE_QUEUES = {"default": {"URL": base + "/0"}, "low": {"URL": base + "/1"}}
    with pytest.raises(CommandError, match=r"Queue\(s\) low use another Redis connection"):
        rqworker("default", "low", "--burst")


def test_rqworker_unregisters_its_hooks(jq):
    before = list(hooks._registered)
    enqueue(tasks.add, 1, 1)
    rqworker("--burst")
    assert hooks._registered == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.also_postgres
def test_rqworker_jobs_use_the_orm_after_close_all(jq, monkeypatch):
    from django.contrib.auth.models import User
    from django.db import connections

    calls = {"close_all": 0, "close_old": 0}
    real_close_all = connections.close_all

    def close_all():
        calls["close_all"] += 1
        real_close_all()

    def close_old_connections():
        calls["close_old"] += 1

    monkeypatch.setattr(connections, "close_all", close_all)
    monkeypatch.setattr(rqworker_module, "close_old_connections", close_old_connections)
    User.objects.create(username="existing")
    first = enqueue(tasks.create_user, "from-job-1")
    second = enqueue(tasks.create_user, "from-job-2")
    bad = enqueue(tasks.fail)
    rqworker("--burst")
    assert calls["close_all"] == 1
    assert calls["close_old"] == 6  # before and after each of the three jobs
    assert first.return_value(refresh=True) == 2
    assert second.return_value(refresh=True) == 3
    assert bad.get_status() == "failed"
    assert User.objects.count() == 3


# -- rqworker in a subprocess -------------------------------------------------------


def test_rqworker_subprocess_sigterm_is_a_warm_shutdown(jq, manage_py, tmp_path):
    pid_file = tmp_path / "worker.pid"
    proc = manage_py("rqworker", "high", "default", "--pid", str(pid_file), "--name", "sub")
    wait_until(pid_file.exists, message="the worker did not write its PID file")
    assert pid_file.read_text() == str(proc.pid)
    job = enqueue(tasks.sleep_then, 1.0, "slept")
    wait_until(lambda: job.get_status() == "started", message="the job did not start")
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert job.get_status() == "finished"  # the running job was allowed to finish
    assert job.return_value(refresh=True) == "slept"
    assert not pid_file.exists()
    assert "Warm shut down" in output


def test_rqworker_subprocess_sigterm_while_idle_exits(jq, manage_py, tmp_path):
    pid_file = tmp_path / "worker.pid"
    proc = manage_py("rqworker", "--pid", str(pid_file))
    wait_until(pid_file.exists, message="the worker did not write its PID file")
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert not pid_file.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.also_postgres
def test_rqworker_subprocess_orm_jobs_in_forked_children(jq, manage_py):
    from django.contrib.auth.models import User
    from django.db import connection

    if connection.vendor == "postgresql":
        # The worker process uses this test's (migrated, emptied) database.
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        manage_py.env["JQ_TEST_DATABASE_URL"] = (
            f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:  # the in-memory test database cannot be shared: a migrated SQLite file instead
        migrate = manage_py("migrate", "--noinput", "-v", "0")
        output, _ = migrate.communicate(timeout=120)
        assert migrate.returncode == 0, output
    jobs = [enqueue(tasks.create_user, f"user-{i}") for i in range(3)]
    worker = manage_py("rqworker", "--burst", "-v", "2", "--worker-class", "fork")
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    assert [j.return_value(refresh=True) for j in jobs] == [1, 2, 3], output
    # The default pool runs them two at a time, each child with its own connection.
    more = [enqueue(tasks.create_user, f"user-{i}") for i in range(3, 9)]
    worker = manage_py("rqworker", "--burst", "-v", "2", "--processes", "2")
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    assert "(pool of 2)" in output
    counts = [j.return_value(refresh=True) for j in more]
    # Two children create users at once, so two jobs may see the same count;
    # every job ran and every row is there.
    assert all(4 <= c <= 9 for c in counts) and max(counts) == 9, output
    assert "Listening on default" in output
    if connection.vendor == "postgresql":
        assert sorted(User.objects.values_list("username", flat=True)) == [
            f"user-{i}" for i in range(9)
        ]


def test_rqworker_subprocess_unknown_queue(jq, manage_py):
    proc = manage_py("rqworker", "nope", "--burst")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "Unknown queue(s): nope. Configured queues: default, high, low" in output


# -- rqstats ----------------------------------------------------------------------


def _fill_queues():
    enqueue(tasks.add, 1, 1)
    enqueue(tasks.add, 2, 2)
    get_queue("high").enqueue(tasks.add, 3, 3)
    get_queue("low").enqueue(tasks.fail)
    get_queue("low").enqueue(tasks.add, 4, 4)
    rqworker("low", "--burst")
    parent = get_queue("high").enqueue(tasks.add, 5, 5)
    get_queue("high").enqueue(tasks.add, 6, 6, depends_on=parent)


def test_rqstats_json(jq):
    _fill_queues()
    out, _ = run("rqstats", "--json")
    rows = {row["name"]: row for row in json.loads(out)["queues"]}
    assert list(rows) == ["default", "high", "low"]
    assert rows["default"]["queued"] == 2
    assert rows["high"]["queued"] == 2
    assert rows["high"]["deferred"] == 1
    assert (rows["low"]["queued"], rows["low"]["failed"], rows["low"]["finished"]) == (0, 1, 1)
    assert all(row["workers"] == 0 and row["started"] == 0 for row in rows.values())
    assert rows == {
        row["name"]: row
        for row in json.loads(run("rqstats", "--json", "low", "high", "default")[0])["queues"]
    }


def test_rqstats_table(jq):
    _fill_queues()
    out, _ = run("rqstats")
    lines = out.splitlines()
    header = lines[0].split()
    assert header == [
        "queue",
        "queued",
        "started",
        "deferred",
        "scheduled",
        "finished",
        "failed",
        "canceled",
        "workers",
    ]
    assert set(lines[1]) == {"-"}
    table = {
        line.split()[0]: dict(zip(header[1:], map(int, line.split()[1:])))
        for line in lines[2 : lines.index("")]
    }
    assert table["default"]["queued"] == 2
    assert table["high"]["deferred"] == 1
    assert (table["low"]["failed"], table["low"]["finished"]) == (1, 1)


def test_rqstats_shows_each_concurrency_limit(jq):
    queue = get_queue("default")
    made = [
        enqueue(tasks.add, i, i, concurrency_key="tenant:7", concurrency_limit=2) for i in "abc"
    ]
    get_queue("low").enqueue(tasks.add, 1, 1, concurrency_key="tenant:7", concurrency_limit=5)
    # The first job runs (taken by a worker), the second is queued, the third waits.
    scripts.dequeue(queue.connection, queue.keys, ["default"], time.time(), "w", 60)
    assert made[0].get_status() == "started"
    limits = json.loads(run("rqstats", "--json")[0])["limits"]
    assert limits == [
        {
            "queue": "default",
            "key": "tenant:7",
            "limit": 2,
            "running": 1,
            "queued": 1,
            "waiting": 1,
        },
        {"queue": "low", "key": "tenant:7", "limit": 5, "running": 0, "queued": 1, "waiting": 0},
    ]
    out, _ = run("rqstats", "default")
    lines = out.splitlines()
    at = lines.index("Concurrency limits (running, queued: holding a slot):")
    assert lines[at + 1].split() == ["queue", "key", "limit", "running", "queued", "waiting"]
    assert lines[at + 2].split() == ["default", "tenant:7", "2", "1", "1", "1"]
    assert lines[at + 3] == ""


def test_rqstats_named_queues_only(jq):
    enqueue(tasks.add, 1, 1)
    out, _ = run("rqstats", "--json", "default")
    assert json.loads(out) == {
        "queues": [
            {
                "name": "default",
                "queued": 1,
                "started": 0,
                "finished": 0,
                "failed": 0,
                "deferred": 0,
                "canceled": 0,
                "scheduled": 0,
                "rate_limited": 0,
                "workers": 0,
            }
        ],
        "limits": [],
        "batches": {
            "listed": [],
            "more": 0,
            "complete": 0,
            "index_read": 0,
            "index_size": None,
        },
        "chains": [{"queue": "default", "waiting": 0, "read": 0, "deferred": 0}],
        "unique": None,
        "workers": [],
        "schedulers": [{"queues": ["default"], "worker": None}],
        "running": [],
        "scheduled": [],
        "cron": [],
        "cron_table_error": None,
    }


def test_rqstats_counts_live_workers(jq, manage_py, tmp_path):
    pid_file = tmp_path / "worker.pid"
    proc = manage_py("rqworker", "high", "low", "--pid", str(pid_file))
    wait_until(pid_file.exists)

    def counts():
        rows = json.loads(run("rqstats", "--json")[0])["queues"]
        return {row["name"]: row["workers"] for row in rows}

    wait_until(lambda: counts() == {"default": 0, "high": 1, "low": 1})
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert counts() == {"default": 0, "high": 0, "low": 0}


def test_rqstats_interval_refreshes_until_interrupted(jq, monkeypatch):
    from django_jobqueue.management.commands import rqstats

    sleeps = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(rqstats.time, "sleep", fake_sleep)
    out, _ = run("rqstats", "--json", "--interval", "0.5")
    assert sleeps == [0.5, 0.5]
    assert len(out.strip().splitlines()) == 2
    assert all(json.loads(line)["queues"] for line in out.strip().splitlines())


def test_rqstats_unknown_queue(jq):
    with pytest.raises(CommandError, match="Unknown queue"):
        run("rqstats", "nope")


# -- rqenqueue --------------------------------------------------------------------


def test_rqenqueue(jq):
    out, _ = run("rqenqueue", "tests.django.tasks.add", "1", "2", "--queue", "high")
    job_id = out.strip().rsplit(" ", 1)[1]
    assert out.startswith("Enqueued tests.django.tasks.add(1, 2) on high as ")
    assert get_queue("high").job_ids == [job_id]
    job = get_queue("high").fetch_job(job_id)
    assert job.func_name == "tests.django.tasks.add"
    assert job.args == (1, 2)
    rqworker("high", "--burst")
    assert job.return_value(refresh=True) == 3


def test_rqenqueue_parses_json_arguments(jq):
    out, _ = run(
        "rqenqueue",
        "tests.django.tasks.echo",
        "[1, 2]",
        '{"a": null}',
        "true",
        "-1.5",
        "plain text",
        '"quoted"',
        "--kwarg",
        "n=3",
        "-k",
        "s=word",
        "-k",
        "flag=false",
    )
    job = get_queue().fetch_job(out.strip().rsplit(" ", 1)[1])
    assert job.args == ([1, 2], {"a": None}, True, -1.5, "plain text", "quoted")
    assert job.kwargs == {"n": 3, "s": "word", "flag": False}


def test_rqenqueue_timeout(jq):
    out, _ = run("rqenqueue", "tests.django.tasks.add", "1", "2", "--timeout", "5m")
    assert get_queue().fetch_job(out.strip().rsplit(" ", 1)[1]).timeout == 300


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tests.django.tasks.nope"], "Cannot import 'tests.django.tasks.nope'"),
        (["no_such_module_anywhere.func"], "Cannot import"),
        (["tests.django.tasks.add", "1", "--kwarg", "novalue"], "--kwarg takes NAME=VALUE"),
        (["tests.django.tasks.add", "--queue", "nope"], "Unknown queue"),
        (["tests.django.tasks.add", "--timeout", "soon"], "not a duration"),
    ],
)
def test_rqenqueue_errors(jq, args, message):
    with pytest.raises(CommandError, match=message):
        run("rqenqueue", *args)
    assert all(get_queue(name).count == 0 for name in ("default", "high", "low"))


# -- rqsuspend / rqresume --------------------------------------------------------


def test_rqsuspend_and_rqresume(jq, key_prefix):
    out, _ = run("rqsuspend")
    assert "Workers suspended" in out
    assert jq.exists(f"{key_prefix}suspended")
    assert jq.ttl(f"{key_prefix}suspended") == -1  # until resumed
    job = enqueue(tasks.add, 1, 2)
    started = time.monotonic()
    rqworker("--burst")
    assert time.monotonic() - started < 10
    assert job.get_status() == "queued"  # nothing ran while suspended
    out, _ = run("rqresume")
    assert "resumed" in out
    assert not jq.exists(f"{key_prefix}suspended")
    rqworker("--burst")
    assert job.get_status() == "finished"


@pytest.mark.parametrize("duration", ["0", "-5"])
def test_rqsuspend_refuses_a_duration_that_is_not_positive(jq, key_prefix, duration):
    with pytest.raises(
        CommandError, match=f"--duration must be a positive number of seconds, not {duration};"
    ):
        run("rqsuspend", "--duration", duration)
    assert not jq.exists(key_prefix + "suspended")


def test_rqsuspend_duration(jq, key_prefix):
    out, _ = run("rqsuspend", "--duration", "60")
    assert "for 60 seconds" in out
    assert 0 < jq.ttl(f"{key_prefix}suspended") <= 60


def test_suspended_worker_resumes_without_restart(jq, manage_py, tmp_path):
    run("rqsuspend")
    pid_file = tmp_path / "worker.pid"
    proc = manage_py("rqworker", "--pid", str(pid_file))
    wait_until(pid_file.exists)
    job = enqueue(tasks.add, 1, 2)
    time.sleep(1.5)  # more than the worker's housekeeping interval
    assert job.get_status() == "queued"
    run("rqresume")
    wait_until(lambda: job.get_status() == "finished", message="the job did not run after resume")
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output


# -- rqempty ----------------------------------------------------------------------


def test_rqempty(jq):
    for i in range(3):
        enqueue(tasks.add, i, i)
    get_queue("low").enqueue(tasks.add, 1, 1)
    out, _ = run("rqempty", "default", "--noinput")
    assert out.strip() == "default: 3 job(s) deleted"
    assert get_queue().count == 0
    assert get_queue("low").count == 1


def test_rqempty_several_queues(jq):
    enqueue(tasks.add, 1, 1)
    get_queue("low").enqueue(tasks.add, 1, 1, job_timeout=5)
    get_queue("low").enqueue(tasks.add, 1, 1)
    out, _ = run("rqempty", "default", "low", "--no-input")
    assert out.splitlines() == ["default: 1 job(s) deleted", "low: 2 job(s) deleted"]


@pytest.mark.parametrize(("answer", "remaining"), [("yes", 0), ("no", 2), ("", 2)])
def test_rqempty_asks_first(jq, monkeypatch, answer, remaining):
    questions = []

    def fake_input(prompt):
        questions.append(prompt)
        return answer

    monkeypatch.setattr("builtins.input", fake_input)
    enqueue(tasks.add, 1, 1)
    enqueue(tasks.add, 2, 2)
    out, _ = run("rqempty", "default")
    assert questions and "default" in questions[0]
    assert get_queue().count == remaining
    assert ("Nothing deleted." in out) is (remaining == 2)


def test_rqempty_unknown_queue(jq):
    with pytest.raises(CommandError, match="Unknown queue"):
        run("rqempty", "nope", "--noinput")


def test_commands_report_bad_settings(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "http://nope"}}
    for command in (
        ["rqworker", "--burst"],
        ["rqstats"],
        ["rqempty", "default", "--noinput"],
        ["rqsuspend"],
        ["rqresume"],
        ["rqenqueue", "tests.django.tasks.add"],
    ):
        with pytest.raises(CommandError, match=r"django_jobqueue\.E004"):
            run(*command)


# -- Redis unreachable or misconfigured -------------------------------------------

COMMANDS = [
    ["rqworker", "--burst"],
    ["rqworker", "--burst", "high", "--worker-class", "fork"],
    ["rqstats"],
    ["rqstats", "--json", "high"],
    ["rqenqueue", "tests.django.tasks.add", "1", "2"],
    ["rqempty", "default", "--noinput"],
    ["rqsuspend"],
    ["rqresume"],
    ["rqrequeue", "--all"],
    ["rqrequeue", "some-job-id", "-q", "high"],
]


@pytest.fixture
def unreachable(settings):
    """Every queue on a closed port, with a password in the URL; returns (password, where)."""
    from tests.redis_rigs import find_free_port

    port = find_free_port()
    password = "s3cret-Pa55word"
    settings.JOBQUEUE_QUEUES = {
        name: {"URL": f"redis://app:{password}@127.0.0.1:{port}/2"}
        for name in ("default", "high", "low")
    }
    return password, f"redis://127.0.0.1:{port}/2"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_commands_name_the_unreachable_redis_without_its_password(unreachable, command):
    password, where = unreachable
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command(*command, stdout=out, stderr=err)
    message = str(info.value)
    queue = "high" if "high" in command else "default"
    assert message.startswith(f"Redis of queue {queue!r} at {where} did not answer: ")
    assert "Connection refused" in message
    assert message.endswith(f"Check that it is running and JOBQUEUE_QUEUES[{queue!r}].")
    assert "\n" not in message
    assert password not in message + out.getvalue() + err.getvalue()
    assert "Listening" not in out.getvalue() + err.getvalue()


def test_a_command_run_against_an_unreachable_redis_prints_one_line(unreachable, manage_py):
    password, where = unreachable
    from django.conf import settings

    env = {**manage_py.env, "JQ_TEST_REDIS_URL": settings.JOBQUEUE_QUEUES["default"]["URL"]}
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "rqworker", "--burst"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    output = proc.stdout
    assert proc.returncode == 1
    assert output.strip().splitlines() == [
        f"CommandError: Redis of queue 'default' at {where} did not answer: "
        f"Error 111 connecting to 127.0.0.1:{where.rsplit(':', 1)[1].split('/')[0]}. "
        "Connection refused. Check that it is running and JOBQUEUE_QUEUES['default']."
    ]
    assert password not in output


def test_a_wrong_database_number_is_named_too(jq, settings, redis_url):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": redis_url.rsplit("/", 1)[0] + "/12345"}}
    with pytest.raises(
        CommandError,
        match=r"Redis of queue 'default' at .*/12345 did not answer: .*DB index is out of range",
    ):
        run("rqstats")


@pytest.mark.parametrize("where", ["wrong password", "wrong database"])
def test_a_long_running_worker_does_not_wait_for_a_mistake(jq, settings, redis_url, where):
    base, _db = redis_url.rsplit("/", 1)
    if where == "wrong password":
        url = base.replace("redis://", "redis://nobody:Wr0ng-pass@") + "/0"
    else:
        url = base + "/12345"
    settings.JOBQUEUE_QUEUES = {"default": {"URL": url}}
    with pytest.raises(
        CommandError, match=r"^Redis of queue 'default' at redis://127\.0\.0\.1:"
    ) as info:
        rqworker()  # not --burst: an unreachable Redis would be waited for
    assert "Wr0ng-pass" not in str(info.value)


def test_an_unreachable_cluster_is_named_too(jq, settings):
    from tests.redis_rigs import find_free_port

    port = find_free_port()
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": f"redis://:Cl0ster-pw@127.0.0.1:{port}/0", "CLUSTER": True}
    }
    with pytest.raises(CommandError) as info:
        run("rqstats")
    message = str(info.value)
    assert message.startswith(
        f"Redis of queue 'default' at cluster via redis://127.0.0.1:{port}/0 "
    )
    assert "Cl0ster-pw" not in message and "\n" not in message


# -- django-rq's command names and options ---------------------------------------------


def test_rqstats_short_json_and_yaml_print_the_same_numbers(jq):
    import yaml

    _fill_queues()
    as_json = json.loads(run("rqstats", "-j")[0])
    assert yaml.safe_load(run("rqstats", "-y")[0])["queues"] == as_json["queues"]
    assert yaml.safe_load(run("rqstats", "--yaml")[0])["queues"] == as_json["queues"]


def test_rqstats_yaml_without_pyyaml_says_what_to_install(jq, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml now raises ImportError
    with pytest.raises(CommandError, match="pip install PyYAML"):
        run("rqstats", "--yaml")


def test_rqworker_pool_runs_a_pool_over_the_queues(jq, log_of):
    get_queue("high").enqueue(tasks.record, "high-1")
    get_queue("low").enqueue(tasks.record, "low-1")
    run("rqworker-pool", "high", "low", "--burst", "--num-workers", "1")
    assert sorted(log_of()) == ["high-1", "low-1"]


def test_rqworker_job_queue_class_and_serializer_options(jq):
    RecordingWorker.created.clear()
    run(
        "rqworker",
        "--burst",
        "--worker-class",
        "tests.django.test_commands.RecordingWorker",
        "--job-class",
        "tests.django.test_workers.OtherJob",
        "--queue-class",
        "tests.django.test_workers.OtherQueue",
        "--serializer",
        "json",
    )
    (worker,) = RecordingWorker.created
    assert worker.job_class.__name__ == "OtherJob"
    assert type(worker.queues[0]).__name__ == "OtherQueue"
    assert worker.serializer.inner.__name__ == "JSONSerializer"  # the class, as in RQ


# -- rqcron ------------------------------------------------------------------------


def _cron_config(tmp_path, body):
    path = tmp_path / "cron_config.py"
    path.write_text(
        "from django_jobqueue.engine import cron\nfrom tests.django import tasks\n" + body
    )
    return str(path)


def test_rqcron_runs_the_jobs_a_config_registers_until_sigterm(jq, manage_py, tmp_path):
    config = _cron_config(
        tmp_path, "cron.register(tasks.add, 'default', args=(2, 3), interval=1)\n"
    )
    proc = manage_py("rqcron", config)
    queue = get_queue()
    wait_until(lambda: queue.count >= 2, message="rqcron enqueued fewer than two runs")
    assert {(j.func_name, j.args) for j in queue.jobs} == {("tests.django.tasks.add", (2, 3))}
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Starting cron scheduler with 1 jobs" in output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "registers no cron job"),
        ("cron.register(tasks.add, 'nope', interval=5)\n", "Unknown queue(s): nope"),
        ("cron.register(tasks.add, 'default')\n", "interval"),
        ("import no_such_module\n", "No module named 'no_such_module'"),
    ],
)
def test_rqcron_refuses_a_config_it_cannot_run(jq, tmp_path, body, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("rqcron", _cron_config(tmp_path, body))
