"""System checks: every settings problem shows up in ``manage.py check`` with a stable id."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_jobqueue.engine import JSONSerializer

URL = "redis://127.0.0.1:6379/0"


def queue(options):
    """Settings changes with one queue, ``default``, configured by ``options``."""
    return {"JOBQUEUE_QUEUES": {"default": options}}


def jobqueue_ids():
    return [m.id for m in checks.run_checks(tags=["django_jobqueue"])]


def test_valid_settings_have_no_problem(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "URL": URL,
            "DEFAULT_TIMEOUT": 60,
            "DEFAULT_RESULT_TTL": -1,
            "ASYNC": False,
            "SERIALIZER": "json",
            "CONNECTION_KWARGS": {"socket_timeout": 5},
        },
        "tls": {"URL": "rediss://redis.example:6380/0"},
        "sock": {"URL": "unix:///tmp/redis.sock"},
        "host": {
            "HOST": "h",
            "PORT": 1,
            "DB": 2,
            "USERNAME": "u",
            "PASSWORD": "p",
            "SSL": True,
            "SSL_CERT_REQS": "none",
        },
        "unix": {"UNIX_SOCKET_PATH": "/tmp/redis.sock"},
        "sentinel": {
            "SENTINELS": [("s1", 26379)],
            "MASTER_NAME": "m",
            "SENTINEL_KWARGS": {"password": "x"},
        },
        "cluster": {"URL": "redis://node-1:7000/0", "CLUSTER": True},
        "cluster_tls": {
            "HOST": "node-1",
            "PORT": 7000,
            "USERNAME": "u",
            "PASSWORD": "p",
            "SSL": True,
            "CLUSTER": True,
        },
        "not_cluster": {"URL": URL, "CLUSTER": False},
        "ipv6": {"URL": "redis://[::1]:6379/2"},
        "query_db": {"URL": "redis://redis.example:6380?db=3"},
        "no_path": {"URL": "rediss://u:p@redis.example/"},
        "sock_db": {"URL": "unix:///tmp/redis.sock?db=2"},
        "str_port": {"HOST": "h", "PORT": "6380", "DB": "1"},
        "tuned": {
            "URL": URL,
            "CONNECTION_KWARGS": {
                "max_connections": 20,
                "single_connection_client": False,
                "health_check_interval": 30,
                "socket_keepalive": True,
                "retry_on_timeout": True,
            },
        },
        "tls_files": {"HOST": "h", "SSL": True, "CONNECTION_KWARGS": {"ssl_ca_certs": "/ca"}},
        "sock_tuned": {"UNIX_SOCKET_PATH": "/s", "CONNECTION_KWARGS": {"socket_timeout": 1}},
        "cluster_tuned": {
            "URL": "redis://node-1:7000/0",
            "CLUSTER": True,
            "CONNECTION_KWARGS": {"read_from_replicas": True, "socket_keepalive": True},
        },
        "json_path": {
            "URL": URL,
            "SERIALIZER": "django_jobqueue.engine.serializers.JSONSerializer",
        },
        "json_object": {"URL": URL, "SERIALIZER": JSONSerializer()},
    }
    settings.JOBQUEUE_ASYNC = True
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    settings.JOBQUEUE_KEY_PREFIX = "app:"
    assert jobqueue_ids() == []


def test_no_setting_at_all_is_fine(settings):
    del settings.JOBQUEUE_QUEUES
    assert jobqueue_ids() == []


def test_manage_py_check_passes_with_the_test_settings(capsys):
    call_command("check")
    assert "no issues" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "TIMEOUT": 5}}}, "E001"),
        ({"JOBQUEUE_QUEUES": {"default": {"DB": 1}}}, "E002"),
        ({"JOBQUEUE_QUEUES": {"default": {}}}, "E002"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "HOST": "localhost"}}}, "E003"),
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "h", "UNIX_SOCKET_PATH": "/s"}}}, "E003"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "PORT": 6380}}}, "E003"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "PASSWORD": "secret"}}}, "E003"),
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "h", "PORT": "abc"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "h", "DB": -1}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "h", "DB": "\u00b2"}}}, "E012"),  # "²".isdigit()
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "h", "PORT": 99999}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "h", "PORT": 0}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://h:6379/1O"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://h:99999/0"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://h:abc/0"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "rediss://u:p@h:0"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://h:6379?db=two"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "unix:///tmp/r.sock?db=1O"}}}, "E012"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "http://127.0.0.1:6379/0"}}}, "E004"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "127.0.0.1:6379"}}}, "E004"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://[::1:6379/0"}}}, "E004"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "DEFAULT_TIMEOUT": -5}}}, "E005"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "DEFAULT_RESULT_TTL": -2}}}, "E005"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "DEFAULT_TIMEOUT": "5m"}}}, "E005"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "DEFAULT_RESULT_TTL": True}}}, "E005"),
        ({"JOBQUEUE_ASYNC": "false"}, "E006"),
        ({"JOBQUEUE_ASYNC": 0}, "E006"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "ASYNC": "no"}}}, "E006"),
        ({"JOBQUEUE_COMMIT_MODE": "later"}, "E007"),
        ({"JOBQUEUE_QUEUES": [("default", {"URL": URL})]}, "E008"),
        ({"JOBQUEUE_QUEUES": {"default": URL}}, "E008"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL}, "two words": {"URL": URL}}}, "E009"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL}, "{tag}": {"URL": URL}}}, "E009"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL}, "high\n": {"URL": URL}}}, "E009"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL}, "emails/high": {"URL": URL}}}, "E009"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL}, 5: {"URL": URL}}}, "E009"),
        ({"JOBQUEUE_QUEUES": {"default": {"SENTINELS": ["s1:26379"], "MASTER_NAME": "m"}}}, "E010"),
        ({"JOBQUEUE_QUEUES": {"default": {"SENTINELS": [("s1", 26379)]}}}, "E010"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": URL, "CLUSTER": "yes"}}}, "E015"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "redis://node:7000/1", "CLUSTER": True}}}, "E015"),
        (
            {"JOBQUEUE_QUEUES": {"default": {"URL": "redis://node:7000?db=2", "CLUSTER": True}}},
            "E015",
        ),
        ({"JOBQUEUE_QUEUES": {"default": {"HOST": "node", "DB": 2, "CLUSTER": True}}}, "E015"),
        ({"JOBQUEUE_QUEUES": {"default": {"URL": "unix:///tmp/r.sock", "CLUSTER": True}}}, "E015"),
        ({"JOBQUEUE_QUEUES": {"default": {"UNIX_SOCKET_PATH": "/s", "CLUSTER": True}}}, "E015"),
        (
            {
                "JOBQUEUE_QUEUES": {
                    "default": {"SENTINELS": [("s1", 26379)], "MASTER_NAME": "m", "CLUSTER": True}
                }
            },
            "E015",
        ),
        ({"JOBQUEUE_KEY_PREFIX": "{app}:"}, "E011"),
        ({"JOBQUEUE_KEY_PREFIX": 5}, "E011"),
        ({"JOBQUEUE_QUEUES": {"high": {"URL": URL}}}, "W001"),
        ({"JOBQUEUE_QUEUES": {}}, "E017"),
        (queue({"URL": URL, "CONNECTION_KWARGS": {"socket_timout": 5}}), "E018"),
        (queue({"URL": URL, "CONNECTION_KWARGS": [("socket_timeout", 5)]}), "E018"),
        (queue({"URL": URL, "CONNECTION_KWARGS": {"db": 2}}), "E018"),
        (queue({"HOST": "h", "CONNECTION_KWARGS": {"host": "other"}}), "E018"),
        (
            queue({"URL": "unix:///tmp/r.sock", "CONNECTION_KWARGS": {"socket_keepalive": 1}}),
            "E018",
        ),
        (queue({"UNIX_SOCKET_PATH": "/s", "CONNECTION_KWARGS": {"socket_keepalive": 1}}), "E018"),
        (queue({"HOST": "h", "CONNECTION_KWARGS": {"ssl_certfile": "/c"}}), "E018"),
        (queue({"URL": URL, "CONNECTION_KWARGS": {"read_from_replicas": True}}), "E018"),
        (queue({"URL": URL, "SERIALIZER": "yaml"}), "E019"),
        (queue({"URL": URL, "SERIALIZER": "no_such_module.Serializer"}), "E019"),
        (queue({"URL": URL, "SERIALIZER": "django_jobqueue.engine.serializers.Nope"}), "E019"),
        (queue({"URL": URL, "SERIALIZER": "django_jobqueue.conf.Problem"}), "E019"),
        (queue({"URL": URL, "SERIALIZER": 42}), "E019"),
    ],
)
def test_problem_ids(settings, changes, expected):
    for name, value in changes.items():
        setattr(settings, name, value)
    assert jobqueue_ids() == [f"django_jobqueue.{expected}"]


def test_levels_hints_and_messages(settings):
    settings.JOBQUEUE_QUEUES = {"high": {"URL": URL, "BOGUS": 1}}
    messages = {m.id: m for m in checks.run_checks(tags=["django_jobqueue"])}
    assert set(messages) == {"django_jobqueue.E001", "django_jobqueue.W001"}
    assert messages["django_jobqueue.E001"].level == checks.ERROR
    assert "JOBQUEUE_QUEUES['high'] has unknown keys: BOGUS" in messages["django_jobqueue.E001"].msg
    assert "URL" in messages["django_jobqueue.E001"].hint
    assert messages["django_jobqueue.W001"].level == checks.WARNING
    assert messages["django_jobqueue.W001"].hint


def test_several_problems_are_all_reported(settings):
    settings.JOBQUEUE_ASYNC = "yes"
    settings.JOBQUEUE_COMMIT_MODE = "sometimes"
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": "http://x", "HOST": "h"},
        "low": {"URL": URL, "DEFAULT_TIMEOUT": -3},
    }
    assert sorted(jobqueue_ids()) == [
        "django_jobqueue.E003",
        "django_jobqueue.E004",
        "django_jobqueue.E005",
        "django_jobqueue.E006",
        "django_jobqueue.E007",
    ]


def test_call_command_check_fails_on_errors(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "http://127.0.0.1:6379/0"}}
    with pytest.raises(SystemCheckError, match=r"django_jobqueue\.E004"):
        call_command("check")


def test_call_command_check_shows_warnings(settings, capsys):
    settings.JOBQUEUE_QUEUES = {"high": {"URL": URL}}
    call_command("check")  # warnings do not fail the command
    assert "django_jobqueue.W001" in capsys.readouterr().err


def test_check_is_tagged(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "http://x"}}
    all_ids = [m.id for m in checks.run_checks()]
    assert "django_jobqueue.E004" in all_ids
    assert "django_jobqueue.E004" not in [m.id for m in checks.run_checks(tags=["models"])]


@pytest.mark.parametrize(
    "worker",
    [
        [],
        {"CLASS": "thread"},
        {"PROCESSES": 0},
        {"MAX_JOBS_PER_CHILD": "ten"},
        {"MAX_MEMORY_PER_CHILD": "lots"},
        {"WORKERS": 2},
        {"SCHEDULER": "no"},
    ],
)
def test_bad_worker_settings_are_e013(settings, worker):
    settings.JOBQUEUE_WORKER = worker
    assert jobqueue_ids() == ["django_jobqueue.E013"]


def test_good_worker_settings_pass(settings):
    settings.JOBQUEUE_WORKER = {
        "CLASS": "pool",
        "PROCESSES": 4,
        "MAX_JOBS_PER_CHILD": 1000,
        "MAX_MEMORY_PER_CHILD": "512MB",
        "WORKER_TTL": 60,
        "SCHEDULER": False,
    }
    assert jobqueue_ids() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"JOBQUEUE_SIGNING_KEY": "short"}, ["django_jobqueue.E014"]),
        ({"JOBQUEUE_SIGN_PAYLOADS": "yes"}, ["django_jobqueue.E014"]),
        ({"JOBQUEUE_MAX_PAYLOAD": "huge"}, ["django_jobqueue.E014"]),
        ({"JOBQUEUE_SIGN_PAYLOADS": False}, ["django_jobqueue.W002"]),
        ({"SECRET_KEY": ""}, ["django_jobqueue.W003"]),
        ({"SECRET_KEY": "", "JOBQUEUE_SIGNING_KEY": "a" * 32}, []),
        ({"JOBQUEUE_MAX_PAYLOAD": "2MB"}, []),
        ({"JOBQUEUE_MAX_RESULT": "lots"}, ["django_jobqueue.E014"]),
        ({"JOBQUEUE_MAX_RESULT": None}, []),
    ],
)
def test_payload_settings(settings, changes, expected):
    for name, value in changes.items():
        setattr(settings, name, value)
    assert jobqueue_ids() == expected


def test_hints_say_what_to_do(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": "redis://h:6379/1O"},
        "typo": {"URL": URL, "CONNECTION_KWARGS": {"socket_timout": 5}},
        "sock": {"URL": "unix:///tmp/r.sock", "CONNECTION_KWARGS": {"socket_keepalive": True}},
        "plain": {"HOST": "h", "CONNECTION_KWARGS": {"ssl_certfile": "/c"}},
        "ser": {"URL": URL, "SERIALIZER": "no_such_module.Serializer"},
    }
    messages = checks.run_checks(tags=["django_jobqueue"])
    text = {m.msg: m.hint for m in messages}
    assert len(messages) == 5 and all(m.level == checks.ERROR for m in messages)
    assert text[
        "JOBQUEUE_QUEUES['default']['URL'] names database '1O', not a whole number "
        "(redis-py would use database 0)."
    ].startswith("Write the database number")
    hints = "\n".join(text.values())
    assert "socket_timout: did you mean socket_timeout?" in hints
    assert "socket_keepalive is for TCP connections only" in hints
    assert "ssl_certfile needs TLS (SSL: True or a rediss:// URL)" in hints
    assert any("UnixDomainSocketConnection do not take: socket_keepalive" in m for m in text)
    assert any("['SERIALIZER'] does not import" in m for m in text)


def test_the_msgpack_serializer_without_its_package_is_e019(settings, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_msgpack(name, *args, **kwargs):
        if name == "msgpack":
            raise ImportError("No module named 'msgpack'")
        return real_import(name, *args, **kwargs)

    settings.JOBQUEUE_QUEUES = {"default": {"URL": "redis://localhost/0", "SERIALIZER": "msgpack"}}
    from django_jobqueue.conf import find_problems

    assert [p.id for p in find_problems()] == []
    monkeypatch.setattr(builtins, "__import__", no_msgpack)
    (problem,) = find_problems()
    assert problem.id == "django_jobqueue.E019"
    assert "pip install 'django-jobqueue[msgpack]'" in problem.msg
