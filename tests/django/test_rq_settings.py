"""django-rq's settings (RQ_QUEUES, its queue options, RQ = {...}) read as ours."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_jobqueue import Job, conf, get_queue
from django_jobqueue.conf import get_settings
from django_jobqueue.queues import DjangoQueue

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)

LOCAL = "redis://127.0.0.1:6379/0"


class OtherQueue(DjangoQueue):
    pass


def ids():
    return [p.id for p in conf.find_problems()]


@pytest.fixture
def rq_queues(settings):
    """Settings of a django-rq project: RQ_QUEUES, no JOBQUEUE_QUEUES."""
    del settings.JOBQUEUE_QUEUES
    settings.RQ_QUEUES = {"default": {"HOST": "redis.example", "PORT": 6380, "DB": 2}}
    return settings


def test_rq_queues_is_read_without_jobqueue_queues(rq_queues):
    kwargs = get_queue().connection.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.example", 6380, 2)
    assert ids() == ["django_jobqueue.W005"]
    assert "Rename RQ_QUEUES to JOBQUEUE_QUEUES" in conf.find_problems()[0].hint


def test_unknown_queue_names_the_setting_read(rq_queues):
    with pytest.raises(ImproperlyConfigured, match="'nope' is not in RQ_QUEUES"):
        get_queue("nope")


def test_jobqueue_queues_wins_and_rq_queues_is_ignored(settings):
    settings.RQ_QUEUES = {"other": {"URL": LOCAL}}
    assert "other" not in get_settings().queues
    assert ids() == ["django_jobqueue.W006"]


def test_socket_timeout_and_redis_client_kwargs_reach_the_client(rq_queues):
    rq_queues.RQ_QUEUES = {
        "default": {
            "URL": LOCAL,
            "SOCKET_TIMEOUT": 7,
            "REDIS_CLIENT_KWARGS": {"health_check_interval": 30},
            "CONNECTION_KWARGS": {"retry_on_timeout": True},
        }
    }
    kwargs = get_queue().connection.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 7 and kwargs["health_check_interval"] == 30
    assert kwargs["retry_on_timeout"] is True


def test_url_with_db_uses_that_db(rq_queues):
    rq_queues.RQ_QUEUES = {"default": {"URL": "redis://user:pw@host:1234/", "DB": 4}}
    kwargs = get_queue().connection.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "host",
        1234,
        4,
        "pw",
    )


def test_use_redis_cache_takes_the_caches_location(rq_queues):
    rq_queues.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://cache.example:6390/3",
        },
    }
    rq_queues.RQ_QUEUES = {"default": {"USE_REDIS_CACHE": "redis"}}
    kwargs = get_queue().connection.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.example", 6390, 3)


def test_use_redis_cache_with_a_cache_that_is_not_redis_breaks_that_queue_only(rq_queues):
    rq_queues.RQ_QUEUES = {"default": {"URL": LOCAL}, "cached": {"USE_REDIS_CACHE": "default"}}
    with pytest.raises(ImproperlyConfigured, match=r"RQ_QUEUES\['cached'\].*E040"):
        get_queue("cached")
    assert get_queue().name == "default"


def test_queue_class_is_what_get_queue_builds(rq_queues):
    rq_queues.RQ_QUEUES = {
        "default": {"URL": LOCAL, "QUEUE_CLASS": "tests.django.test_rq_settings.OtherQueue"}
    }
    assert type(get_queue()) is OtherQueue


@pytest.mark.parametrize("path", ["tests.django.test_rq_settings.Nope", "builtins.dict"])
def test_bad_queue_class_is_an_error_of_that_queue_only(rq_queues, path):
    rq_queues.RQ_QUEUES = {"default": {"URL": LOCAL}, "odd": {"URL": LOCAL, "QUEUE_CLASS": path}}
    problems = [p for p in conf.find_problems() if p.level == "error"]
    assert [(p.id, p.queue) for p in problems] == [("django_jobqueue.E040", "odd")]
    with pytest.raises(ImproperlyConfigured, match="QUEUE_CLASS"):
        get_queue("odd")
    assert get_queue().name == "default"


def test_default_timeout_of_rq_queues(rq_queues):
    rq_queues.RQ_QUEUES = {"default": {"URL": LOCAL, "DEFAULT_TIMEOUT": 500}}
    assert get_queue().default_timeout == 500


@pytest.mark.parametrize(
    ("rq", "mode"),
    [
        ({"COMMIT_MODE": "auto"}, "immediate"),
        ({"COMMIT_MODE": "on_db_commit"}, "on_commit"),
        ({"COMMIT_MODE": "request_finished"}, "on_commit"),
        ({"COMMIT_MODE": ""}, "on_commit"),
        ({"AUTOCOMMIT": True}, "immediate"),
        ({"AUTOCOMMIT": False}, "on_commit"),
        ({"COMMIT_MODE": "auto", "AUTOCOMMIT": False}, "immediate"),
    ],
)
def test_rq_commit_mode_is_the_fallback(settings, rq, mode):
    settings.RQ = rq
    assert get_settings().commit_mode == mode


def test_jobqueue_commit_mode_wins_over_rq(settings):
    settings.RQ = {"COMMIT_MODE": "auto"}
    settings.JOBQUEUE_COMMIT_MODE = "on_commit"
    assert get_settings().commit_mode == "on_commit"


@pytest.mark.parametrize("mode", ["later", 123, True])
def test_bad_rq_commit_mode_is_an_error(settings, mode):
    settings.RQ = {"COMMIT_MODE": mode}
    assert "django_jobqueue.E041" in ids()
    with pytest.raises(ImproperlyConfigured, match="E041"):
        get_settings()


def test_rq_must_be_a_dict(settings):
    settings.RQ = ["AUTOCOMMIT"]
    assert ids() == ["django_jobqueue.E041"]


def test_rq_keys_read_and_not_read_are_named(settings):
    settings.RQ = {"COMMIT_MODE": "request_finished", "SCHEDULER_CLASS": "x.Scheduler"}
    problems = {p.id: p for p in conf.find_problems()}
    assert "JOBQUEUE_COMMIT_MODE" in problems["django_jobqueue.W007"].hint
    assert "SCHEDULER_CLASS" in problems["django_jobqueue.W008"].msg
    assert "request_finished" in problems["django_jobqueue.W008"].msg


def test_rq_default_result_ttl_is_the_fallback_of_each_queue(settings):
    settings.RQ = {"DEFAULT_RESULT_TTL": 60}
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": LOCAL},
        "low": {"URL": LOCAL, "DEFAULT_RESULT_TTL": 800},
    }
    assert get_queue().default_result_ttl == 60
    assert get_queue("low").default_result_ttl == 800


def test_rq_worker_class_is_the_fallback(settings):
    settings.RQ = {"WORKER_CLASS": "fork"}
    assert get_settings().worker["CLASS"] == "fork"
    settings.JOBQUEUE_WORKER = {"CLASS": "simple"}
    assert get_settings().worker["CLASS"] == "simple"


def test_rq_job_class_is_what_queues_and_workers_load_jobs_as(settings, jq):
    from django_jobqueue import get_worker
    from django_jobqueue.jobs import get_job_class
    from tests.django.test_workers import OtherJob

    assert get_job_class() is Job
    assert get_job_class("tests.django.test_workers.OtherJob") is OtherJob
    settings.RQ = {"JOB_CLASS": "tests.django.test_workers.OtherJob"}
    assert get_job_class() is OtherJob
    assert get_queue().job_class is OtherJob
    assert get_worker(worker_class="simple").job_class is OtherJob


def test_get_commit_mode(settings):
    from django_jobqueue.queues import get_commit_mode

    assert get_commit_mode() == "on_commit"
    settings.RQ = {"COMMIT_MODE": "auto"}
    assert get_commit_mode() == "immediate"
    settings.RQ = {"COMMIT_MODE": "later"}
    with pytest.raises(ImproperlyConfigured, match="E041"):
        get_commit_mode()


def test_connection_kwargs_win_over_django_rq_client_options(rq_queues):
    rq_queues.RQ_QUEUES = {
        "default": {
            "URL": LOCAL,
            "SOCKET_TIMEOUT": 7,
            "REDIS_CLIENT_KWARGS": {"socket_timeout": 8},
            "CONNECTION_KWARGS": {"socket_timeout": 9},
        }
    }
    assert get_queue().connection.connection_pool.connection_kwargs["socket_timeout"] == 9


def test_commands_over_all_queues_leave_a_bad_one_out(rq_queues, jq, redis_url):
    import json

    from django.core.management import call_command
    from django.core.management.base import CommandError

    rq_queues.RQ_QUEUES = {"default": {"URL": redis_url}, "bad": {"URL": redis_url, "X": 1}}
    call_command("rqstats", "--json", stdout=(out := __import__("io").StringIO()))
    assert [row["name"] for row in json.loads(out.getvalue())["queues"]] == ["default"]
    with pytest.raises(CommandError, match=r"RQ_QUEUES\['bad'\].*E001"):
        call_command("rqstats", "bad")
