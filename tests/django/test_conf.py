"""Settings parsing: defaults, what reaches the queues, laziness, and the errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_jobqueue import conf, get_queue
from django_jobqueue.conf import ConnectionConfig, get_settings
from django_jobqueue.engine import JSONSerializer, PickleSerializer, SignedSerializer
from django_jobqueue.engine.job import DEFAULT_TIMEOUT
from tests.django import tasks

LOCAL = "redis://127.0.0.1:6379/0"


def test_no_jobqueue_queues_gives_a_default_queue_on_localhost(settings):
    del settings.JOBQUEUE_QUEUES
    parsed = get_settings()
    assert list(parsed.queues) == ["default"]
    assert parsed.queues["default"].connection.url == "redis://127.0.0.1:6379/0"
    kwargs = get_queue().connection.connection_pool.connection_kwargs  # no connection is made
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6379, 0)


def test_global_defaults(settings):
    del settings.JOBQUEUE_QUEUES
    parsed = get_settings()
    assert parsed.is_async is True
    assert parsed.commit_mode == "on_commit"
    assert parsed.key_prefix == "jobqueue:"
    queue = get_queue()
    assert queue.keys.prefix == "jobqueue:"
    assert queue.default_timeout == DEFAULT_TIMEOUT
    assert queue.default_result_ttl is None
    # Pickle, signed with a key derived from SECRET_KEY, at most 10 MiB a call.
    assert isinstance(queue.serializer, SignedSerializer)
    assert queue.serializer.inner is PickleSerializer
    assert parsed.signing_keys and parsed.max_payload == 10 * 2**20


def test_queue_options_are_parsed(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "HOST": "redis.example",
            "PORT": "6380",
            "DB": "2",
            "USERNAME": "app",
            "PASSWORD": "s3cret",
            "SSL": True,
            "SSL_CERT_REQS": "none",
            "DEFAULT_TIMEOUT": 30,
            "DEFAULT_RESULT_TTL": 600,
            "ASYNC": False,
            "SERIALIZER": "json",
            "CONNECTION_KWARGS": {"socket_timeout": 3},
        },
    }
    config = get_settings().queue("default")
    assert config.connection == ConnectionConfig(
        host="redis.example",
        port=6380,
        db=2,
        username="app",
        password="s3cret",
        ssl=True,
        ssl_cert_reqs="none",
        kwargs=(("socket_timeout", 3),),
    )
    assert (config.default_timeout, config.default_result_ttl) == (30, 600)
    assert (config.is_async, config.serializer) == (False, "json")


def test_timeouts_ttl_serializer_and_prefix_reach_the_queue(settings):
    settings.JOBQUEUE_KEY_PREFIX = "myapp:"
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "URL": LOCAL,
            "DEFAULT_TIMEOUT": 30,
            "DEFAULT_RESULT_TTL": 600,
            "SERIALIZER": "json",
        },
        "low": {"URL": LOCAL, "SERIALIZER": "django_jobqueue.engine.serializers.JSONSerializer"},
    }
    queue = get_queue()
    assert queue.default_timeout == 30
    assert queue.default_result_ttl == 600
    assert queue.serializer.inner is JSONSerializer  # signed JSON
    assert queue.keys.prefix == "myapp:"
    assert queue.key == "myapp:{default}:queue"
    # Jobs built by the queue get the queue's defaults (nothing is stored here).
    job = queue.create_job(tasks.add, args=(1, 2))
    assert (job.timeout, job.result_ttl) == (30, 600)
    assert job._data.endswith(b"[null,[1,2],{}]")  # stored as JSON, after the signature
    assert get_queue("low").serializer.inner is JSONSerializer
    assert get_queue("low").default_timeout == DEFAULT_TIMEOUT


def test_default_result_ttl_minus_one_keeps_results_forever(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": LOCAL, "DEFAULT_RESULT_TTL": -1}}
    assert get_queue().create_job(tasks.add, args=(1, 2)).result_ttl == -1


def test_default_timeout_minus_one_means_no_limit(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": LOCAL, "DEFAULT_TIMEOUT": -1}}
    assert conf.find_problems() == []
    assert get_queue().default_timeout == -1


def test_async_flag_global_and_per_queue(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": LOCAL},
        "high": {"URL": LOCAL, "ASYNC": False},
        "low": {"URL": LOCAL, "ASYNC": True},
    }
    assert get_queue("default").is_async is True
    assert get_queue("high").is_async is False and get_queue("high").in_memory is True
    settings.JOBQUEUE_ASYNC = False
    assert get_queue("default").is_async is False and get_queue("default").in_memory is True
    assert get_queue("low").is_async is True  # the queue's own ASYNC wins over the global one
    assert get_queue("low").in_memory is False


def test_commit_mode_and_prefix_are_read(settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    settings.JOBQUEUE_KEY_PREFIX = "other:"
    parsed = get_settings()
    assert (parsed.commit_mode, parsed.key_prefix) == ("immediate", "other:")


def test_settings_are_read_lazily_and_override_settings_takes_effect(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": LOCAL, "DEFAULT_TIMEOUT": 10}}
    assert get_queue().default_timeout == 10
    with override_settings(
        JOBQUEUE_QUEUES={"default": {"URL": LOCAL, "DEFAULT_TIMEOUT": 20}, "extra": {"URL": LOCAL}}
    ):
        assert get_queue().default_timeout == 20
        assert get_queue("extra").name == "extra"
    assert get_queue().default_timeout == 10
    with pytest.raises(ImproperlyConfigured):
        get_queue("extra")


def test_parsed_settings_are_cached_until_a_setting_changes(settings):
    first = get_settings()
    assert get_settings() is first
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    assert get_settings() is not first
    assert get_settings().commit_mode == "immediate"


def test_unrelated_setting_change_keeps_the_cache(settings):
    first = get_settings()
    settings.SOME_OTHER_SETTING = 1
    assert get_settings() is first


def test_configured_without_default_queue(settings):
    settings.JOBQUEUE_QUEUES = {"high": {"URL": LOCAL}, "low": {"URL": LOCAL}}
    ids = [p.id for p in conf.find_problems()]
    assert ids == ["django_jobqueue.W001"]
    with pytest.raises(ImproperlyConfigured) as excinfo:
        get_queue()
    assert "'default'" in str(excinfo.value)
    assert "configured: high, low" in str(excinfo.value)
    assert get_queue("low").name == "low"  # a warning, not an error


def test_unknown_queue_lists_the_configured_ones():
    with pytest.raises(
        ImproperlyConfigured,
        match=r"'nope' is not in JOBQUEUE_QUEUES "
        r"\(configured: default, high, low\)",
    ):
        get_settings().queue("nope")


def test_empty_jobqueue_queues_is_an_error(settings):
    settings.JOBQUEUE_QUEUES = {}
    assert [p.id for p in conf.find_problems()] == ["django_jobqueue.E017"]
    with pytest.raises(ImproperlyConfigured, match=r"JOBQUEUE_QUEUES is empty.*E017"):
        get_queue()


@pytest.mark.parametrize(
    ("changes", "problem_id"),
    [
        ({"JOBQUEUE_QUEUES": {"default": {"URL": LOCAL, "BOGUS": 1}}}, "E001"),
        ({"JOBQUEUE_QUEUES": {"default": {"PORT": 6379}}}, "E002"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "http://example.org/"}}}, "E004"),
        ({"JOBQUEUE_ASYNC": "yes"}, "E006"),
        ({"JOBQUEUE_QUEUES": "redis://127.0.0.1"}, "E008"),
        ({"JOBQUEUE_QUEUES": {"default\n": {"URL": LOCAL}}}, "E009"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://127.0.0.1:6379/1O"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://127.0.0.1:99999/0"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {}}, "E017"),
        (
            {"JOBQUEUE_QUEUES": {"default": {"URL": LOCAL, "CONNECTION_KWARGS": {"timout": 1}}}},
            "E018",
        ),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": LOCAL, "SERIALIZER": "yaml"}}}, "E019"),
    ],
)
def test_invalid_settings_raise_with_the_check_id(settings, changes, problem_id):
    for name, value in changes.items():
        setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=f"django_jobqueue.{problem_id}"):
        get_queue()


@pytest.mark.parametrize("problem_id", ["E006", "E008", "E017"])
def test_errors_of_no_one_queue_stop_get_settings(settings, problem_id):
    broken = {"E006": ("JOBQUEUE_ASYNC", "yes"), "E008": ("JOBQUEUE_QUEUES", "redis://x")}
    name, value = broken.get(problem_id, ("JOBQUEUE_QUEUES", {}))
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=f"django_jobqueue.{problem_id}"):
        get_settings()


def test_an_error_in_one_queue_leaves_the_others_working(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": LOCAL}, "bad": {"URL": LOCAL, "BOGUS": 1}}
    assert get_queue().name == "default"
    assert list(get_settings().queues) == ["default"]
    with pytest.raises(ImproperlyConfigured, match=r"JOBQUEUE_QUEUES\['bad'\].*BOGUS.*E001"):
        get_queue("bad")
    assert [p.queue for p in conf.find_problems()] == ["bad"]


def test_describe_hides_the_password():
    assert ConnectionConfig(url="redis://:pw@host:6390/3").describe() == "redis://host:6390/3"
    assert (
        ConnectionConfig(host="h", port=1, db=2, password="pw", ssl=True).describe()
        == "rediss://h:1/2"
    )
    assert (
        ConnectionConfig(unix_socket_path="/tmp/r.sock", db=1).describe()
        == "unix:///tmp/r.sock?db=1"
    )
    assert (
        ConnectionConfig(sentinels=(("a", 1), ("b", 2)), master_name="m", password="pw").describe()
        == "sentinel master 'm' via a:1, b:2"
    )


def test_byte_limits_default_to_10_mib_and_none_means_no_limit(settings):
    from django_jobqueue.engine import payloads

    assert (get_settings().max_payload, get_settings().max_result) == (10 * 2**20,) * 2
    assert payloads._max_result == 10 * 2**20
    settings.JOBQUEUE_MAX_PAYLOAD = None
    settings.JOBQUEUE_MAX_RESULT = "1MB"
    assert (get_settings().max_payload, get_settings().max_result) == (None, 2**20)
    assert (payloads._max_payload, payloads._max_result) == (None, 2**20)
