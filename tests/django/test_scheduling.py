"""Scheduling from Django: delay_at/delay_in, time zones, JOBQUEUE_CRON, its checks, commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from django_jobqueue import get_queue, get_worker
from django_jobqueue.checks import check_settings
from django_jobqueue.cron import entries_for, find_cron_problems, get_cron_entries
from django_jobqueue.engine.scheduler import Scheduler, scheduler_holder
from django_jobqueue.engine.worker.pool import WorkerPool
from tests.django import tasks

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)

REPORT = {
    "func": "tests.django.tasks.record",
    "cron": "0 7 * * 1-5",
    "args": ["report"],
    "queue": "low",
    "timezone": "Europe/Paris",
}
EVERY = {
    "func": "tests.django.tasks.record",
    "interval": 300,
    "args": ["every"],
    "name": "every-5-min",
}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def due_time(queue, job):
    return queue.connection.zscore(queue.scheduled_job_registry.key, job.id)


# -- delay_at / delay_in ------------------------------------------------------------------


def test_delay_in_and_delay_at_schedule_the_job(jq, settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    queue = get_queue("low")
    job = tasks.low_add.delay_in(timedelta(minutes=5), 1, 2)
    assert job.get_status() == "scheduled"
    assert job.timeout == 42  # the decorator's options still apply
    assert due_time(queue, job) == pytest.approx(timezone.now().timestamp() + 300, abs=5)
    when = timezone.now() + timedelta(hours=2)
    job = tasks.low_add.delay_at(when, 1, 2, job_id="chosen")
    assert job.id == "chosen" and due_time(queue, job) == pytest.approx(when.timestamp())
    job = tasks.delayed_add.delay_in(30, 1, 2)  # seconds work too
    assert get_queue().scheduled_job_registry.count == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda when: tasks.delayed_add.delay_at(when, 1, 2),
        lambda when: get_queue().enqueue_at(when, tasks.add, 1, 2),
        lambda when: get_queue().enqueue_call(tasks.add, args=(1, 2), at=when),
    ],
)
def test_naive_datetimes_warn_and_are_current_time_when_use_tz_is_on(jq, call, settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    with pytest.warns(RuntimeWarning, match=r"naive datetime while USE_TZ is on.*Europe/Paris"):
        job = call(datetime(2030, 1, 1, 9, 0))  # django-rq's README example, in short
    assert due_time(get_queue(), job) == datetime(2030, 1, 1, 8, 0, tzinfo=UTC).timestamp()


def test_a_naive_datetime_is_read_in_the_activated_time_zone(jq, settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    with timezone.override("America/New_York"), pytest.warns(RuntimeWarning, match="New_York"):
        job = get_queue().enqueue_at(datetime(2030, 1, 1, 9, 0), tasks.add, 1, 2)
    assert due_time(get_queue(), job) == datetime(2030, 1, 1, 14, 0, tzinfo=UTC).timestamp()


def test_naive_datetimes_are_local_time_when_use_tz_is_off(jq, settings):
    settings.USE_TZ = False
    settings.TIME_ZONE = "Europe/Paris"
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    job = tasks.delayed_add.delay_at(datetime(2030, 1, 1, 9, 0), 1, 2)
    assert due_time(get_queue(), job) == datetime(2030, 1, 1, 8, 0, tzinfo=UTC).timestamp()


@pytest.mark.django_db(transaction=True)
def test_delay_at_waits_for_the_commit_and_keeps_its_time(jq):
    queue = get_queue()
    when = timezone.now() + timedelta(hours=1)
    with transaction.atomic():
        job = tasks.delayed_add.delay_at(when, 1, 2)
        assert job.get_status() == "pending_commit"
        assert queue.scheduled_job_registry.count == 0
    assert job.get_status() == "scheduled"
    assert due_time(queue, job) == pytest.approx(when.timestamp())


def test_inline_mode_runs_scheduled_jobs_at_once(settings):
    settings.JOBQUEUE_ASYNC = False
    job = tasks.delayed_add.delay_in(timedelta(hours=1), 2, 3)
    assert job.get_status() == "finished" and job.return_value() == 5
    job = get_queue().enqueue_at(timezone.now() + timedelta(days=1), tasks.add, 1, 1)
    assert job.return_value() == 2
    with pytest.warns(RuntimeWarning, match="naive"):  # as in production
        tasks.delayed_add.delay_at(datetime(2030, 1, 1), 1, 2)


# -- JOBQUEUE_CRON and its checks ---------------------------------------------------------


def test_entries_from_settings(settings):
    settings.TIME_ZONE = "America/New_York"
    settings.JOBQUEUE_CRON = [
        REPORT,
        EVERY,
        {"func": "tests.django.tasks.add", "cron": "@daily", "args": [1, 2]},
    ]
    report, every, daily = get_cron_entries()
    assert (report.name, report.queue, report.timezone) == (
        "tests.django.tasks.record",
        "low",
        "Europe/Paris",
    )
    assert (every.name, every.interval, every.timezone) == ("every-5-min", 300, None)
    assert daily.timezone == "America/New_York"  # TIME_ZONE by default
    assert find_cron_problems() == [] and check_settings() == []


def test_no_setting_no_entries(settings):
    assert get_cron_entries() == []


@pytest.mark.parametrize(
    "value, problem_id, text",
    [
        ({"func": "tests.django.tasks.add"}, "E030", "must be a list of dicts"),
        (["tests.django.tasks.add"], "E030", "must be a list of dicts"),
        ([{**EVERY, "every": 5}], "E031", "unknown keys: every"),
        ([{"interval": 5}], "E031", "has no 'func'"),
        ([{**EVERY, "func": "tests.django.tasks.nope"}], "E032", "cannot import"),
        ([{**EVERY, "func": "no_such_module_xyz.run"}], "E032", "cannot import"),
        ([{**EVERY, "func": "tests.django.tasks.REPO_ROOT"}], "E032", "cannot import"),
        ([{"func": "tests.django.tasks.add"}], "E033", "exactly one of 'cron' and 'interval'"),
        ([{**EVERY, "cron": "* * * * *"}], "E033", "exactly one of"),
        ([{**EVERY, "interval": 0}], "E033", "at least 1 second"),
        ([{**EVERY, "interval": "often"}], "E033", "'interval'"),
        ([{**REPORT, "cron": "0 25 * * *"}], "E034", "outside 0-23 in the hour field"),
        ([{**REPORT, "cron": "0 7 * *"}], "E034", "has 4 fields"),
        ([{**REPORT, "queue": "nowhere"}], "E035", "names queue 'nowhere'"),
        ([{**REPORT, "timezone": "Europe/Atlantis"}], "E036", "Unknown timezone"),
        ([EVERY, EVERY], "E037", "are both named 'every-5-min'"),
        ([{**EVERY, "args": "x"}], "E038", "'args' must be a list"),
        ([{**EVERY, "kwargs": [1]}], "E038", "'kwargs' must be a dict"),
        ([{**EVERY, "missed": "always"}], "E038", "'missed' must be one of"),
        ([{**EVERY, "timezone": "UTC"}], "E038", "only applies to 'cron'"),
        ([{**EVERY, "timeout": "soon"}], "E038", "'timeout'"),
        ([{**EVERY, "name": "a name"}], "E038", "Invalid job id"),
    ],
)
def test_checks(settings, value, problem_id, text):
    settings.JOBQUEUE_CRON = value
    messages = [m for m in check_settings() if m.id == f"django_jobqueue.{problem_id}"]
    assert messages, check_settings()
    assert text in messages[0].msg
    with pytest.raises(ImproperlyConfigured, match=problem_id):
        get_cron_entries()


def test_each_problem_of_an_entry_is_reported(settings):
    settings.JOBQUEUE_CRON = [
        {
            "func": "tests.django.tasks.nope",
            "cron": "* * * * *",
            "queue": "nowhere",
            "timezone": "Mars/Base",
        }
    ]
    ids = sorted(m.id for m in check_settings())
    assert ids == ["django_jobqueue.E032", "django_jobqueue.E035", "django_jobqueue.E036"]


# -- workers and commands ---------------------------------------------------------------------


def test_get_worker_runs_the_scheduler_with_the_entries_of_its_redis(jq, settings, redis_url):
    settings.JOBQUEUE_QUEUES = {
        **settings.JOBQUEUE_QUEUES,
        "elsewhere": {"URL": redis_url.rsplit("/", 1)[0] + "/3"},
    }
    settings.JOBQUEUE_CRON = [REPORT, EVERY, {**EVERY, "name": "far", "queue": "elsewhere"}]
    worker = get_worker("high", worker_class="simple")
    assert isinstance(worker.scheduler, Scheduler)
    assert [e.name for e in worker.scheduler.cron] == ["tests.django.tasks.record", "every-5-min"]
    assert worker.scheduler.name == worker.name
    assert worker.scheduler.queue("low").__class__.__name__ == "DjangoQueue"
    assert [e.name for e in entries_for(["elsewhere"])] == ["far"]
    pool = get_worker("default", worker_class="pool", processes=1, name="p1")
    assert isinstance(pool, WorkerPool) and pool.scheduler.name == "p1"
    assert get_worker("default", worker_class="fork", scheduler=False).scheduler is None


def test_rqworker_fires_periodic_jobs(jq, settings, log_of):
    settings.JOBQUEUE_CRON = [EVERY]
    run("rqworker", "--burst", "--worker-class", "simple")
    assert log_of() == ["every"]
    run("rqworker", "--burst", "--worker-class", "simple")  # 5 minutes have not passed
    assert log_of() == ["every"]
    assert scheduler_holder(jq, get_queue().keys.prefix) is None  # handed back on exit


def test_the_scheduler_setting_decides_unless_told_otherwise(jq, settings, log_of):
    settings.JOBQUEUE_CRON = [EVERY]
    settings.JOBQUEUE_WORKER = {"SCHEDULER": False}
    assert get_worker("default", worker_class="simple").scheduler is None
    assert isinstance(
        get_worker("default", worker_class="simple", scheduler=True).scheduler, Scheduler
    )
    run("rqworker", "--burst", "--worker-class", "simple")
    assert log_of() == []  # no scheduler here: the entry did not fire
    run("rqworker", "--burst", "--worker-class", "simple", "--with-scheduler")
    assert log_of() == ["every"]


def test_rqworker_without_scheduler(jq, settings, log_of):
    settings.JOBQUEUE_CRON = [EVERY]
    run("rqworker", "--burst", "--worker-class", "simple", "--without-scheduler")
    assert log_of() == []


def test_rqworker_refuses_a_bad_cron_setting(jq, settings):
    settings.JOBQUEUE_CRON = [{"func": "tests.django.tasks.add"}]
    with pytest.raises(CommandError, match="E033"):
        run("rqworker", "--burst")


def test_rqworker_options_exclude_each_other():
    with pytest.raises(CommandError):
        run("rqworker", "--with-scheduler", "--without-scheduler")


def test_rqstats_shows_scheduled_and_periodic_jobs(jq, settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    settings.JOBQUEUE_CRON = [REPORT, EVERY]
    soon = tasks.delayed_add.delay_in(60, 1, 2)
    later = get_queue("low").enqueue_in(3600, tasks.add, 2, 2)
    run("rqworker", "--burst", "--worker-class", "simple")  # fires the interval entry
    data = json.loads(run("rqstats", "--json")[0])
    assert [(r["queue"], r["id"]) for r in data["scheduled"]] == [
        ("default", soon.id),
        ("low", later.id),
    ]
    assert data["scheduled"][0]["func"] == "tests.django.tasks.delayed_add"
    cron = {c["name"]: c for c in data["cron"]}
    assert cron["every-5-min"]["last_status"] == "finished"
    assert cron["every-5-min"]["next_run"] == pytest.approx(
        cron["every-5-min"]["last_run"] + 300, abs=5
    )
    report = cron["tests.django.tasks.record"]
    assert report["last_run"] is None and report["schedule"] == "0 7 * * 1-5 (Europe/Paris)"
    assert datetime.fromtimestamp(report["next_run"], UTC).minute == 0
    assert data["schedulers"] == [{"queues": ["default", "high", "low"], "worker": None}]

    out = run("rqstats")[0]
    assert "Scheduler: not running" in out
    assert "Next scheduled jobs:" in out and soon.id in out and later.id in out
    assert "Periodic jobs (JOBQUEUE_CRON, then the database's):" in out
    line = next(line for line in out.splitlines() if "every-5-min" in line)
    assert "every 300 s" in line and "finished (" in line
    assert "Next scheduled jobs" not in run("rqstats", "--scheduled", "0")[0]
    only_low = json.loads(run("rqstats", "--json", "low")[0])
    assert [c["name"] for c in only_low["cron"]] == ["tests.django.tasks.record"]


def test_rqstats_lists_the_periodic_jobs_of_the_table_too(jq, settings):
    from django_jobqueue.models import PeriodicJob

    settings.JOBQUEUE_CRON = [EVERY]
    for name, queue, enabled in [("db-nightly", "low", True), ("db-paused", "default", False)]:
        row = PeriodicJob(
            name=name, func="tests.django.tasks.record", queue=queue, cron="0 3 * * *"
        )
        row.enabled = enabled
        row.full_clean()
        row.save()
    data = json.loads(run("rqstats", "--json")[0])
    cron = {c["name"]: c for c in data["cron"]}
    assert [c["name"] for c in data["cron"]] == ["every-5-min", "db-nightly", "db-paused"]
    assert cron["every-5-min"]["source"] == "setting"
    assert cron["db-nightly"]["source"] == "database" and not cron["db-nightly"]["paused"]
    assert cron["db-paused"]["paused"] and data["cron_table_error"] is None
    out = run("rqstats")[0]
    line = next(line for line in out.splitlines() if "db-paused" in line)
    assert "database" in line and "paused" in line
    only_low = json.loads(run("rqstats", "--json", "low")[0])
    assert [c["name"] for c in only_low["cron"]] == ["db-nightly"]


def test_rqstats_says_when_the_table_cannot_be_read(jq, settings, monkeypatch):
    from django.db import OperationalError

    from django_jobqueue.management.commands import rqstats

    def missing(alias=None):
        raise OperationalError("no such table: django_jobqueue_periodicjob")

    monkeypatch.setattr(rqstats, "read_rows", missing)
    settings.JOBQUEUE_CRON = [EVERY]
    data = json.loads(run("rqstats", "--json")[0])
    assert (
        data["cron_table_error"] == "OperationalError: no such table: django_jobqueue_periodicjob"
    )
    assert [c["name"] for c in data["cron"]] == ["every-5-min"]
    out = run("rqstats")[0]
    assert "Periodic jobs of the database not read (OperationalError" in out
    assert "manage.py migrate django_jobqueue" in out
