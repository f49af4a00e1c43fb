"""RQ's cron API (engine/cron_scheduler.py and its two registries), on a real Redis.

Time is set by patching ``utils.now``, which the module reads for "now".
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from django_jobqueue.engine import (
    DuplicateSchedulerError,
    SchedulerNotFound,
    cron_job_registry,
    cron_scheduler_registry,
    utils,
)
from django_jobqueue.engine import cron as cron_module
from django_jobqueue.engine.cron_scheduler import (
    CronJob,
    CronScheduler,
    _job_data_registry,
    create_cron,
    get_cron_job_ids,
    register,
)
from django_jobqueue.engine.keys import keyspace
from django_jobqueue.engine.webhook import Webhook

from . import jobs

NINE = datetime(2030, 6, 3, 9, tzinfo=UTC).timestamp()  # a Monday, 09:00 UTC


@pytest.fixture
def clock(monkeypatch):
    """Set the time the module sees: ``clock(t)``."""
    now = [NINE]
    monkeypatch.setattr(utils, "now", lambda: now[0])
    return lambda t: now.__setitem__(0, t)


@pytest.fixture
def make_scheduler(redis_conn, key_prefix):
    return lambda **kw: CronScheduler(redis_conn, prefix=key_prefix, **kw)


@pytest.fixture(autouse=True)
def _empty_declarations():
    _job_data_registry.clear()
    yield
    _job_data_registry.clear()


def test_rq_names_are_found_at_rqs_path():
    assert cron_module.CronScheduler is CronScheduler
    assert cron_module._job_data_registry is _job_data_registry
    with pytest.raises(AttributeError):
        cron_module.NoSuchName


@pytest.mark.parametrize("when", [{}, {"interval": 60, "cron": "* * * * *"}])
def test_a_cron_job_has_exactly_one_of_interval_and_cron(when):
    with pytest.raises(ValueError):
        CronJob("default", func=jobs.add, **when)


def test_bad_webhooks_and_options_fail_at_registration(make_scheduler):
    with pytest.raises(TypeError):
        CronJob("default", func=jobs.add, interval=60, webhooks="http://x")
    with pytest.raises(ValueError):
        make_scheduler().register(jobs.add, "default", interval=60, job_timeout="soon")


def test_an_interval_job_runs_at_once_then_every_interval(make_scheduler, make_queue, clock):
    scheduler = make_scheduler()
    job = scheduler.register(jobs.add, "default", args=(1, 2), interval=60, job_timeout=30)
    assert scheduler.enqueue_jobs() == [job]
    clock(NINE + 59)
    assert scheduler.enqueue_jobs() == []
    assert scheduler.calculate_sleep_interval() == 1
    clock(NINE + 60)
    assert scheduler.enqueue_jobs() == [job]
    queued = make_queue("default").jobs
    assert [(j.args, j.timeout, j.meta["cron"]) for j in queued] == [
        ((1, 2), 30, "tests.engine.jobs.add")
    ] * 2


def test_a_cron_job_waits_for_its_occurrence_on_the_local_clock(
    make_scheduler, make_queue, clock, monkeypatch
):
    monkeypatch.setenv("TZ", "Asia/Jakarta")  # UTC+7: 16:00 there is 09:00 UTC
    time.tzset()
    clock(NINE - 60)
    scheduler = make_scheduler()
    job = scheduler.register(jobs.add, "default", args=(1, 2), cron="0 16 * * *")
    monkeypatch.delenv("TZ")
    time.tzset()
    assert job.timezone == "Asia/Jakarta"
    assert job.next_enqueue_time == datetime.fromtimestamp(NINE, UTC)
    assert scheduler.enqueue_jobs() == []
    clock(NINE)
    assert scheduler.enqueue_jobs() == [job]
    assert job.next_enqueue_time == datetime.fromtimestamp(NINE + 86400, UTC)
    assert len(make_queue("default").jobs) == 1


def test_schedulers_with_the_same_jobs_enqueue_each_run_once(make_scheduler, make_queue, clock):
    schedulers = [make_scheduler() for _ in range(3)]
    for scheduler in schedulers:
        scheduler.register(jobs.add, "default", args=(1, 2), interval=60)
        scheduler.register(jobs.echo, "default", cron="*/5 * * * *")
    for minute in range(11):
        clock(NINE + 60 * minute)
        for scheduler in schedulers:
            scheduler.enqueue_jobs()
    funcs = [job.func_name for job in make_queue("default").jobs]
    assert funcs.count("tests.engine.jobs.add") == 11
    assert funcs.count("tests.engine.jobs.echo") == 2  # 09:05 and 09:10
    # the losers caught up with the winner's timing
    assert {s.get_jobs()[0].next_enqueue_time for s in schedulers} == {
        datetime.fromtimestamp(NINE + 660, UTC)
    }


def test_a_restarted_scheduler_does_not_run_an_interval_job_again(
    make_scheduler, make_queue, clock
):
    make_scheduler().register(jobs.add, "default", interval=3600)
    first = make_scheduler()
    first.register(jobs.add, "default", interval=3600)
    first.enqueue_jobs()
    clock(NINE + 10)
    second = make_scheduler()
    job = second.register(jobs.add, "default", interval=3600)
    assert second.enqueue_jobs() == []
    assert job.next_enqueue_time == datetime.fromtimestamp(NINE + 3600, UTC)
    assert len(make_queue("default").jobs) == 1


def test_a_cron_run_missed_while_no_scheduler_ran_is_skipped(make_scheduler, make_queue, clock):
    first = make_scheduler()
    first.register(jobs.add, "default", cron="0 * * * *", timezone="UTC")
    clock(NINE + 3600)
    assert len(first.enqueue_jobs()) == 1
    clock(NINE + 5 * 3600 + 600)  # 14:10, the 11:00 to 14:00 runs missed
    second = make_scheduler()
    job = second.register(jobs.add, "default", cron="0 * * * *", timezone="UTC")
    assert second.enqueue_jobs() == []
    assert job.next_enqueue_time == datetime.fromtimestamp(NINE + 6 * 3600, UTC)


def test_cron_jobs_that_share_a_name_run_apart_and_share_a_history(
    make_scheduler, redis_conn, key_prefix, clock
):
    scheduler = make_scheduler()
    scheduler.register(jobs.add, "default", args=(1, 2), interval=60, name="sums")
    scheduler.register(jobs.add, "other", args=(3, 4), interval=60, name="sums")
    assert len(scheduler.enqueue_jobs()) == 2
    clock(NINE + 60)
    latest = scheduler.get_jobs()[0].fire(redis_conn, NINE + 60, prefix=key_prefix)
    manual = scheduler.get_jobs()[0].enqueue(redis_conn, prefix=key_prefix)
    ids = get_cron_job_ids("sums", redis_conn, prefix=key_prefix)
    assert len(ids) == 4 and manual.id in ids and ids.index(latest.id) < 2
    assert cron_job_registry.get_names(redis_conn, prefix=key_prefix) == ["sums"]
    assert redis_conn.ttl(keyspace(key_prefix).cron_job_history("sums")) > 0


def test_the_run_record_lives_in_its_queues_slot(make_scheduler, redis_conn, key_prefix):
    job = make_scheduler().register(jobs.add, "low", interval=60)
    job.fire(redis_conn, NINE, prefix=key_prefix)
    key = keyspace(key_prefix).cron("low", job.record_name)
    assert key.startswith(f"{key_prefix}{{low}}:")
    assert redis_conn.hget(key, "occurrence") == repr(NINE).encode()


def test_a_job_read_back_for_monitoring_cannot_enqueue(redis_conn):
    job = CronJob("default", func=jobs.add, args=({1},), interval=60, meta={"a": 1})
    back = CronJob.from_dict(job.to_dict())
    assert (back.func, back.args, back.job_options["meta"]) == (
        None,
        "<not JSON serializable>",
        {"a": 1},
    )
    assert back.args == utils.NOT_JSON_SERIALIZABLE == cron_module.NOT_JSON_SERIALIZABLE
    with pytest.raises(ValueError):
        back.enqueue(redis_conn)


def test_webhooks_read_back_as_webhooks(redis_conn, key_prefix):
    hooks = [
        Webhook("http://example.com/done", "finished", method="POST", timeout=5),
        Webhook("http://example.com/fail", "failed"),
    ]
    job = CronJob("default", func=jobs.add, interval=60, webhooks=hooks)
    data = job.to_dict()
    assert isinstance(data["webhooks"], str)
    assert CronJob.from_dict(data).job_options["webhooks"] == hooks
    scheduler = CronScheduler(redis_conn, prefix=key_prefix)
    scheduler.add_jobs([job])
    scheduler.save()
    fetched = CronScheduler.fetch(scheduler.name, redis_conn, prefix=key_prefix)
    assert fetched.get_jobs()[0].job_options["webhooks"] == hooks
    assert "webhooks" not in CronJob.from_dict({**data, "webhooks": "[{}]"}).job_options


# -- configuration modules -------------------------------------------------------------------


def test_register_declares_and_create_cron_takes_the_declarations(redis_conn, key_prefix):
    register(jobs.add, "default", args=(1, 2), interval=60)
    assert len(create_cron(redis_conn, prefix=key_prefix).get_jobs()) == 1
    assert create_cron(redis_conn, prefix=key_prefix).get_jobs() == []


def test_load_config_from_a_file_or_a_module(make_scheduler, tmp_path, monkeypatch):
    config = tmp_path / "my_cron_config.py"
    config.write_text(
        "from django_jobqueue.engine import cron\n"
        "from tests.engine.jobs import add\n"
        "cron.register(add, 'default', args=(1, 2), interval=60)\n"
        "cron.register(add, 'low', cron='0 7 * * 1-5')\n"
    )
    by_path = make_scheduler()
    by_path.load_config_from_file(str(config))
    assert [j.queue_name for j in by_path.get_jobs()] == ["default", "low"]
    assert by_path.config_file == str(config)
    monkeypatch.syspath_prepend(str(tmp_path))
    by_module = make_scheduler()
    by_module.load_config_from_file("my_cron_config")
    assert len(by_module.get_jobs()) == 2
    assert _job_data_registry == []


@pytest.mark.parametrize(
    "source",
    [
        "this is not python :",
        "from django_jobqueue.engine.cron import register\nregister(print, 'default')\n",
    ],
)
def test_a_bad_config_registers_nothing(make_scheduler, tmp_path, source):
    config = tmp_path / "bad_config.py"
    config.write_text(source)
    scheduler = make_scheduler()
    with pytest.raises((ImportError, ValueError)):
        scheduler.load_config_from_file(str(config))
    assert scheduler.get_jobs() == [] and _job_data_registry == []


def test_a_missing_config_is_an_import_error(make_scheduler):
    with pytest.raises(ImportError):
        make_scheduler().load_config_from_file("no/such/config.py")


# -- the scheduler registry and start() -----------------------------------------------------


def test_birth_heartbeat_and_death(make_scheduler, redis_conn, key_prefix):
    scheduler = make_scheduler(name="s1")
    scheduler.register(jobs.add, "default", interval=60)
    scheduler.register_birth()
    with pytest.raises(DuplicateSchedulerError):
        cron_scheduler_registry.register(make_scheduler(name="s1"))
    assert [s.name for s in CronScheduler.all(redis_conn, prefix=key_prefix)] == ["s1"]
    fetched = CronScheduler.fetch("s1", redis_conn, prefix=key_prefix)
    assert (fetched.pid, fetched.get_jobs()[0].interval) == (scheduler.pid, 60)
    redis_conn.delete(scheduler.key)  # expired while the host slept
    scheduler.heartbeat()
    assert redis_conn.ttl(scheduler.key) > 0 and scheduler.last_heartbeat is not None
    scheduler.register_death()
    assert scheduler.last_heartbeat is None
    with pytest.raises(SchedulerNotFound):
        scheduler.register_death()
    with pytest.raises(SchedulerNotFound):
        CronScheduler.fetch("nobody", redis_conn, prefix=key_prefix)


def test_dead_schedulers_are_cleaned_up(redis_conn, key_prefix):
    key = cron_scheduler_registry.get_registry_key(key_prefix)
    redis_conn.zadd(key, {"dead": time.time() - 121, "alive": time.time()})
    assert cron_scheduler_registry.cleanup(redis_conn, prefix=key_prefix) == 1
    assert cron_scheduler_registry.get_keys(redis_conn, prefix=key_prefix) == ["alive"]


def test_start_enqueues_and_leaves_the_registry_when_stopped(
    make_scheduler, make_queue, redis_conn, key_prefix, monkeypatch
):
    scheduler = make_scheduler()
    scheduler.register(jobs.add, "default", args=(1, 2), interval=60)

    def interrupt(seconds):
        assert cron_scheduler_registry.get_keys(redis_conn, prefix=key_prefix) == [scheduler.name]
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupt)
    scheduler.start()
    assert len(make_queue("default").jobs) == 1
    assert cron_scheduler_registry.get_keys(redis_conn, prefix=key_prefix) == []
    saved = CronScheduler.fetch(scheduler.name, redis_conn, prefix=key_prefix)
    assert saved.get_jobs()[0].latest_enqueue_time is not None


def test_histories_keep_the_newest_and_names_age_out(redis_conn, key_prefix, monkeypatch):
    from django_jobqueue.engine import cron_scheduler

    monkeypatch.setattr(cron_scheduler, "DEFAULT_CRON_JOB_HISTORY_LIMIT", 2)
    cron_job = CronJob("default", func=jobs.add, args=(1, 2), interval=60)
    made = [cron_job.enqueue(redis_conn, prefix=key_prefix) for _ in range(3)]
    ids = get_cron_job_ids(cron_job.name, redis_conn, prefix=key_prefix)
    assert set(ids) == {made[1].id, made[2].id}
    year = cron_job_registry.DEFAULT_CRON_JOB_HISTORY_TTL
    cron_job_registry.add("old", redis_conn, time.time() - year - 1, prefix=key_prefix)
    assert cron_job_registry.get_names(redis_conn, prefix=key_prefix) == [cron_job.name]


def test_the_sleep_lasts_until_the_next_job_is_due_at_most_a_minute(make_scheduler, clock):
    scheduler = make_scheduler()
    assert scheduler.calculate_sleep_interval() == 60  # no job
    base = datetime.fromtimestamp(NINE, UTC)
    cases = [((120, 85), (180, 110)), ((120, 30), (180, 60)), ((60, 70), (180, 160))]
    for expected, ((every1, ago1), (every2, ago2)) in zip([35, 60, 0], cases):
        first = CronJob("default", func=jobs.add, interval=every1)
        first.set_enqueue_time(base - timedelta(seconds=ago1))
        second = CronJob("default", func=jobs.add, interval=every2)
        second.set_enqueue_time(base - timedelta(seconds=ago2))
        scheduler.add_jobs([first, second])
        assert scheduler.calculate_sleep_interval() == pytest.approx(expected)
        scheduler.get_jobs().clear()
    never_ran = CronJob("default", func=jobs.add, interval=60)
    scheduler.add_jobs([never_ran])  # no next time yet: it runs at the next round
    assert scheduler.calculate_sleep_interval() == 60


def test_start_sleeps_only_when_nothing_is_due(make_scheduler, monkeypatch):
    scheduler = make_scheduler()
    pauses, slept = iter([15.5, 0]), []
    calls = {"enqueue": 0}

    def enqueue_jobs():
        calls["enqueue"] += 1
        return []

    def pause():
        try:
            return next(pauses)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(scheduler, "enqueue_jobs", enqueue_jobs)
    monkeypatch.setattr(scheduler, "calculate_sleep_interval", pause)
    monkeypatch.setattr(time, "sleep", slept.append)
    scheduler.start()
    assert calls["enqueue"] == 3 and slept == [15.5]


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_start_always_leaves_the_registry(
    make_scheduler, redis_conn, key_prefix, monkeypatch, error
):
    scheduler = make_scheduler()
    deaths = []
    real_death = scheduler.register_death

    def failing():
        raise error("boom")

    def death(pipeline=None):
        deaths.append(True)
        real_death(pipeline)

    monkeypatch.setattr(scheduler, "enqueue_jobs", failing)
    monkeypatch.setattr(scheduler, "register_death", death)
    if error is KeyboardInterrupt:
        scheduler.start()  # Ctrl-C stops it quietly
    else:
        with pytest.raises(RuntimeError, match="boom"):
            scheduler.start()
    assert deaths == [True]
    assert cron_scheduler_registry.get_keys(redis_conn, prefix=key_prefix) == []
