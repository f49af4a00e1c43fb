"""Periodic jobs kept in the database: the PeriodicJob model, its admin, the scheduler's source."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from django_jobqueue import get_queue, get_worker
from django_jobqueue.cron import entry_problems, find_cron_problems
from django_jobqueue.engine.scheduler import RELOAD_INTERVAL, Scheduler
from django_jobqueue.models import PeriodicJob
from django_jobqueue.schedules import DatabaseEntries

pytestmark = [pytest.mark.django_db, pytest.mark.also_postgres]

CHANGELIST = "/admin/django_jobqueue/periodicjob/"
SETTING_ENTRY = {
    "func": "tests.django.tasks.record",
    "interval": 300,
    "args": ["setting"],
    "name": "from-setting",
}


def make(**fields) -> PeriodicJob:
    fields.setdefault("name", "db-every")
    fields.setdefault("func", "tests.django.tasks.record")
    fields.setdefault("args", ["db"])
    if "cron" not in fields:
        fields.setdefault("interval", 300)
    job = PeriodicJob(**fields)
    job.full_clean()
    job.save()
    return job


def errors_of(**fields) -> dict[str, list[str]]:
    fields.setdefault("name", "x")
    fields.setdefault("func", "tests.django.tasks.record")
    job = PeriodicJob(**fields)
    with pytest.raises(ValidationError) as caught:
        job.full_clean()
    return caught.value.message_dict


# -- validation: the checks of JOBQUEUE_CRON ------------------------------------------------


def test_a_valid_row_is_accepted_and_becomes_an_engine_entry(settings):
    settings.TIME_ZONE = "Europe/Paris"
    job = make(name="report", cron="0 7 * * 1-5", queue="low", kwargs={"full": True}, timeout=60)
    entry = job.as_entry()
    assert (entry.name, entry.func, entry.queue) == ("report", job.func, "low")
    assert entry.timezone == "Europe/Paris"  # TIME_ZONE, as for JOBQUEUE_CRON
    assert entry.args == ("db",) and entry.kwargs == {"full": True} and entry.timeout == 60
    assert not entry.paused
    job.enabled = False
    assert job.as_entry().paused


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"func": "tests.django.tasks.nope", "interval": 5}, "func", "Cannot import"),
        ({"func": "django.conf.settings", "interval": 5}, "func", "is not callable"),
        ({"cron": "61 * * * *"}, "cron", "Five fields"),
        ({"interval": 5, "queue": "nowhere"}, "queue", "JOBQUEUE_QUEUES lacks"),
        ({"cron": "0 7 * * *", "timezone": "Mars/Base"}, "timezone", "Unknown timezone"),
        ({"cron": "0 7 * * *", "interval": 5}, "__all__", "exactly one of 'cron' and 'interval'"),
        ({}, "__all__", "exactly one of 'cron' and 'interval'"),
        ({"interval": 0}, "interval", "at least 1 second"),
        ({"interval": 5, "args": {"a": 1}}, "__all__", "'args' must be a list"),
        ({"interval": 5, "kwargs": [1]}, "__all__", "'kwargs' must be a dict"),
        ({"interval": 5, "name": "bad name!"}, "__all__", None),
    ],
)
def test_rows_fail_the_checks_of_jobqueue_cron(fields, field, text):
    errors = errors_of(**fields)
    assert field in errors, errors
    if text:
        assert text in " ".join(errors[field])


def test_the_row_and_the_setting_get_the_same_message(settings):
    """One checking function serves both (entry_problems)."""
    bad = {"func": "tests.django.tasks.record", "cron": "0 25 * * *", "name": "same"}
    settings.JOBQUEUE_CRON = [bad]
    (from_setting,) = find_cron_problems()
    (direct,) = entry_problems("JOBQUEUE_CRON[0]", bad)
    assert (from_setting.id, from_setting.msg) == (direct.id, direct.msg)
    settings.JOBQUEUE_CRON = []
    errors = errors_of(name="same", cron="0 25 * * *")
    reason = from_setting.msg.split(": ", 1)[1]
    assert errors["cron"] == [reason[0].upper() + reason[1:] + f" {from_setting.hint}"]


def test_a_name_of_jobqueue_cron_is_refused(settings):
    settings.JOBQUEUE_CRON = [SETTING_ENTRY]
    errors = errors_of(name="from-setting", interval=60)
    assert "JOBQUEUE_CRON already has an entry of this name" in errors["name"][0]
    settings.JOBQUEUE_CRON = [{**SETTING_ENTRY, "name": None, "func": "tests.django.tasks.add"}]
    assert "name" in errors_of(name="tests.django.tasks.add", interval=60)


def test_the_model_is_importable_from_the_package():
    import django_jobqueue

    assert django_jobqueue.PeriodicJob is PeriodicJob
    assert "PeriodicJob" in django_jobqueue.__all__


def test_names_are_unique():
    make(name="one")
    assert "name" in errors_of(name="one", interval=5)


# -- the admin ---------------------------------------------------------------------------------


def test_the_admin_creates_changes_and_deletes(admin_client):
    response = admin_client.post(
        CHANGELIST + "add/",
        {
            "name": "nightly",
            "func": "tests.django.tasks.record",
            "args": '["night"]',
            "kwargs": "{}",
            "queue": "default",
            "cron": "0 3 * * *",
            "timezone": "UTC",
            "missed": "skip",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = PeriodicJob.objects.get(name="nightly")
    assert (job.args, job.cron, job.missed, job.enabled) == (["night"], "0 3 * * *", "skip", True)
    change = f"{CHANGELIST}{job.pk}/change/"
    form = admin_client.get(change).context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()}
    data.update(args='["changed"]', kwargs="{}", cron="30 3 * * *", missed="skip", enabled="on")
    data.pop("created_at", None)
    data.pop("updated_at", None)
    data.pop("id", None)
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert (job.args, job.cron) == (["changed"], "30 3 * * *")
    response = admin_client.post(f"{CHANGELIST}{job.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not PeriodicJob.objects.exists()


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"args": "[1, "}, "Enter a valid JSON."),
        ({"func": "tests.django.tasks.nope"}, "Cannot import"),
        ({"cron": "every day"}, "Five fields"),
        ({"queue": "nowhere"}, "JOBQUEUE_QUEUES lacks"),
    ],
)
def test_the_admin_form_refuses_bad_rows(admin_client, changes, text):
    data = {
        "name": "bad",
        "func": "tests.django.tasks.record",
        "args": "[]",
        "kwargs": "{}",
        "queue": "default",
        "cron": "0 3 * * *",
        "missed": "run_once",
        **changes,
    }
    response = admin_client.post(CHANGELIST + "add/", data)
    assert response.status_code == 200
    assert text in response.content.decode()
    assert not PeriodicJob.objects.exists()


def test_admin_actions_pause_and_resume(admin_client):
    one, two = make(name="one"), make(name="two", enabled=False)
    before = one.updated_at
    response = admin_client.post(
        CHANGELIST, {"action": "pause", "_selected_action": [one.pk, two.pk]}, follow=True
    )
    assert "1 periodic job(s) paused" in response.content.decode()
    one.refresh_from_db()
    assert not one.enabled and one.updated_at > before
    admin_client.post(CHANGELIST, {"action": "resume", "_selected_action": [one.pk, two.pk]})
    assert set(PeriodicJob.objects.values_list("enabled", flat=True)) == {True}


def test_the_change_list_shows_the_schedule(admin_client):
    make(name="nightly", cron="0 3 * * *", timezone="Europe/Paris")
    make(name="often", interval=90)
    html = admin_client.get(CHANGELIST).content.decode()
    assert "0 3 * * * (Europe/Paris)" in html
    assert "every 90 s" in html


# -- the scheduler's source ------------------------------------------------------------------


def test_the_source_returns_the_rows_then_none_until_they_change(jq):
    source = DatabaseEntries(["default"])
    assert source() == []
    job = make()
    (entry,) = source()
    assert (entry.name, entry.args, entry.paused) == ("db-every", ("db",), False)
    assert source() is None  # unchanged: nothing for the scheduler to do
    job.enabled = False
    job.save()
    assert source()[0].paused
    job.delete()
    assert source() == []


def test_a_read_is_one_query(jq):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make()
    source = DatabaseEntries(["default"])
    for _ in range(2):  # changed, then unchanged
        with CaptureQueriesContext(connection) as queries:
            source()
        selects = [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]]
        assert len(selects) == 1, queries.captured_queries


def test_a_row_keeps_its_signature_until_it_is_created_again(jq):
    job = make(name="again", cron="0 7 * * *")
    first = job.as_entry().signature
    job.args, job.enabled = ["changed"], False
    job.save()
    job.refresh_from_db()
    assert job.as_entry().signature == first  # its record in Redis goes on
    job.delete()
    again = make(name="again", cron="0 7 * * *")
    assert again.as_entry().signature != first  # a new record: it starts afresh


def test_the_source_leaves_out_rows_of_another_redis(jq, settings, redis_url):
    settings.JOBQUEUE_QUEUES = {
        **settings.JOBQUEUE_QUEUES,
        "elsewhere": {"URL": redis_url.rsplit("/", 1)[0] + "/3"},
    }
    make(name="here")
    make(name="there", queue="elsewhere")
    assert [e.name for e in DatabaseEntries(["default"])()] == ["here"]
    assert [e.name for e in DatabaseEntries(["elsewhere"])()] == ["there"]


def test_the_source_skips_unusable_rows_and_says_so_once(jq, settings, caplog):
    make(name="good")
    PeriodicJob.objects.create(name="broken", func="nodots", interval=5)  # no full_clean()
    PeriodicJob.objects.create(name="from-setting", func="tests.django.tasks.record", interval=5)
    settings.JOBQUEUE_CRON = [SETTING_ENTRY]
    source = DatabaseEntries(["default"])
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.scheduler"):
        assert [e.name for e in source()] == ["good"]
        make(name="other")
        assert [e.name for e in source()] == ["good", "other"]
    assert caplog.text.count("broken of the database is not run") == 1
    assert caplog.text.count("from-setting of the database is not run: JOBQUEUE_CRON") == 1


def test_get_worker_gives_the_scheduler_the_database_source(jq, settings):
    settings.JOBQUEUE_WORKER = {"CRON_RELOAD_INTERVAL": 2.5}
    scheduler = get_worker("default", worker_class="simple").scheduler
    assert isinstance(scheduler.source, DatabaseEntries)
    assert scheduler.reload_interval == 2.5
    settings.JOBQUEUE_WORKER = {}
    assert get_worker("default", worker_class="simple").scheduler.reload_interval == (
        RELOAD_INTERVAL
    )


@pytest.mark.django_db(transaction=True)
def test_a_reload_interval_of_none_never_reads_the_table(jq, settings, log_of):
    settings.JOBQUEUE_WORKER = {"CRON_RELOAD_INTERVAL": None}
    assert get_worker("default", worker_class="simple").scheduler.source is None
    make(name="db-every", args=["db"])
    call_command("rqworker", "--burst", "--worker-class", "simple", stdout=StringIO())
    assert log_of() == []


def test_a_bad_reload_interval_is_e013(settings):
    from django_jobqueue.checks import check_settings

    for bad in (0, -1, "5", True):
        settings.JOBQUEUE_WORKER = {"CRON_RELOAD_INTERVAL": bad}
        assert any(
            e.id == "django_jobqueue.E013" and "CRON_RELOAD_INTERVAL" in e.msg
            for e in check_settings(None)
        ), bad


@pytest.mark.django_db(transaction=True)  # rqworker closes the connections before it serves
def test_rqworker_fires_database_entries_beside_the_setting(jq, settings, log_of):
    settings.JOBQUEUE_CRON = [SETTING_ENTRY]
    make(name="db-every", args=["db"])
    make(name="paused", args=["paused"], enabled=False)
    call_command("rqworker", "--burst", "--worker-class", "simple", stdout=StringIO())
    assert sorted(log_of()) == ["db", "setting"]


# -- no table: JOBQUEUE_CRON alone ----------------------------------------------------------


@pytest.fixture
def no_table(monkeypatch):
    """The PeriodicJob table missing, as for a project that did not migrate this app."""
    monkeypatch.setattr(PeriodicJob._meta, "db_table", "django_jobqueue_not_migrated")


def test_without_the_table_the_source_warns_once_and_changes_nothing(no_table, caplog):
    source = DatabaseEntries(["default"])
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.scheduler"):
        assert source() is None
        assert source() is None
    assert caplog.text.count("Periodic jobs of the database are not read") == 1
    assert "manage.py migrate django_jobqueue" in caplog.text


def test_without_a_database_the_source_warns_once(monkeypatch, caplog):
    from django.core.exceptions import ImproperlyConfigured

    from django_jobqueue import schedules

    class NoDatabase:
        def atomic(self, using=None):
            raise ImproperlyConfigured("settings.DATABASES is improperly configured.")

    monkeypatch.setattr(schedules, "transaction", NoDatabase())
    source = DatabaseEntries(["default"])
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.scheduler"):
        assert source() is None
        assert source() is None
    assert caplog.text.count("DATABASES is improperly configured") == 1


def test_the_table_is_picked_up_once_it_exists(monkeypatch):
    make()
    source = DatabaseEntries(["default"])
    with monkeypatch.context() as patch:
        patch.setattr(PeriodicJob._meta, "db_table", "django_jobqueue_not_migrated")
        assert source() is None
    assert [e.name for e in source()] == ["db-every"]


def test_without_the_table_the_scheduler_runs_jobqueue_cron(jq, settings, log_of, no_table, caplog):
    settings.JOBQUEUE_CRON = [SETTING_ENTRY]
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.scheduler"):
        call_command("rqworker", "--burst", "--worker-class", "simple", stdout=StringIO())
    assert log_of() == ["setting"]
    assert "Periodic jobs of the database are not read" in caplog.text


def test_a_scheduler_built_by_hand_has_no_source(jq):
    assert Scheduler(jq, get_queue().keys.prefix).source is None


def test_the_migrations_match_the_models():
    out = StringIO()
    call_command("makemigrations", "django_jobqueue", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
