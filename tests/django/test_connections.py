"""Connection settings reach the redis-py clients; equal configs share one client.

Most tests here do not connect: the clients are inspected through their
connection pools. Those that do use a private redis-server.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from redis.connection import SSLConnection, UnixDomainSocketConnection
from redis.sentinel import SentinelConnectionPool

from django_jobqueue import get_connection, get_queue
from django_jobqueue.connections import CLIENT_DEFAULTS, build_client


def pool_of(name="default"):
    return get_connection(name).connection_pool


def test_redis_url(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "redis://user:pw@redis.example:6390/4"}}
    pool = pool_of()
    assert pool.connection_class is redis.Connection
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.example", 6390, 4)
    assert (kwargs["username"], kwargs["password"]) == ("user", "pw")


def test_rediss_url_uses_tls(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "rediss://redis.example:6391/1"}}
    pool = pool_of()
    assert issubclass(pool.connection_class, SSLConnection)
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.example", 6391, 1)


def test_unix_url(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "unix:///run/redis/redis.sock?db=3"}}
    pool = pool_of()
    assert pool.connection_class is UnixDomainSocketConnection
    assert pool.connection_kwargs["path"] == "/run/redis/redis.sock"
    assert pool.connection_kwargs["db"] == 3


def test_host_port_db_username_password(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "HOST": "redis.example",
            "PORT": 6392,
            "DB": 5,
            "USERNAME": "app",
            "PASSWORD": "s3cret",
        }
    }
    pool = pool_of()
    assert pool.connection_class is redis.Connection
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.example", 6392, 5)
    assert (kwargs["username"], kwargs["password"]) == ("app", "s3cret")


def test_host_defaults(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"HOST": "redis.example"}}
    kwargs = pool_of().connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.example", 6379, 0)
    assert kwargs.get("password") is None


def test_ssl_and_cert_reqs(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"HOST": "redis.example", "SSL": True, "SSL_CERT_REQS": "required"}
    }
    pool = pool_of()
    assert issubclass(pool.connection_class, SSLConnection)
    assert pool.connection_kwargs["ssl_cert_reqs"] == "required"


def test_unix_socket_path(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"UNIX_SOCKET_PATH": "/tmp/redis.sock", "DB": 2, "PASSWORD": "pw"}
    }
    pool = pool_of()
    assert pool.connection_class is UnixDomainSocketConnection
    kwargs = pool.connection_kwargs
    assert (kwargs["path"], kwargs["db"], kwargs["password"]) == ("/tmp/redis.sock", 2, "pw")


def test_sentinels(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "SENTINELS": [("sentinel-1", 26379), ["sentinel-2", "26380"]],
            "MASTER_NAME": "mymaster",
            "SENTINEL_KWARGS": {"password": "sentinel-pw"},
            "PASSWORD": "master-pw",
            "DB": 1,
            "CONNECTION_KWARGS": {"socket_timeout": 2},
        }
    }
    client = get_connection()
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 1
    assert pool.connection_kwargs["password"] == "master-pw"
    assert pool.connection_kwargs["socket_timeout"] == 2
    manager = pool.sentinel_manager
    # What we pass reaches the sentinel clients; redis-py may add its own (8.2 adds "retry").
    expected = {"password": "sentinel-pw", **CLIENT_DEFAULTS}
    assert {k: manager.sentinel_kwargs.get(k) for k in expected} == expected
    sentinel_hosts = [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in manager.sentinels
    ]
    assert sentinel_hosts == [("sentinel-1", 26379), ("sentinel-2", 26380)]


def test_connection_kwargs_reach_the_client(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "URL": "redis://127.0.0.1:6379/0",
            "CONNECTION_KWARGS": {"socket_timeout": 7, "client_name": "jq"},
        }
    }
    kwargs = pool_of().connection_kwargs
    assert kwargs["socket_timeout"] == 7
    assert kwargs["client_name"] == "jq"


def test_connection_kwargs_may_hold_lists_and_dicts(settings):
    options = {
        "URL": "redis://127.0.0.1:6379/0",
        "CONNECTION_KWARGS": {"retry_on_error": [TimeoutError], "socket_keepalive_options": {1: 2}},
    }
    settings.JOBQUEUE_QUEUES = {"default": options, "low": dict(options)}
    client = get_connection("default")
    assert TimeoutError in client.connection_pool.connection_kwargs["retry_on_error"]
    assert client.connection_pool.connection_kwargs["socket_keepalive_options"] == {1: 2}
    assert get_connection("low") is client
    assert get_queue("low").connection is client


def test_clients_get_a_connect_timeout_and_keepalive_unless_told_otherwise(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": "redis://127.0.0.1:6379/0"},
        "high": {"HOST": "127.0.0.1", "CONNECTION_KWARGS": {"socket_connect_timeout": 0.5}},
        "low": {"URL": "redis://127.0.0.1:6379/0?socket_connect_timeout=9&socket_keepalive=0"},
    }
    default = pool_of("default").connection_kwargs
    assert (default["socket_connect_timeout"], default["socket_keepalive"]) == (5, True)
    assert pool_of("high").connection_kwargs["socket_connect_timeout"] == 0.5
    low = pool_of("low").connection_kwargs
    assert (low["socket_connect_timeout"], low["socket_keepalive"]) == (9.0, False)


def test_equal_connection_options_share_one_client(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": "redis://127.0.0.1:6379/0"},
        "high": {"URL": "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 5},
        "low": {"URL": "redis://127.0.0.1:6379/1"},
        "other": {"HOST": "127.0.0.1", "PORT": 6379},
        "other2": {"HOST": "127.0.0.1", "PORT": 6379, "DB": 0},
    }
    default, high, low = get_connection("default"), get_connection("high"), get_connection("low")
    assert default is high
    assert default.connection_pool is high.connection_pool
    assert low is not default
    assert get_connection("other") is get_connection("other2")
    assert get_queue("high").connection is default
    assert get_queue("low").connection is low
    assert get_connection("default") is default  # cached


def test_clients_are_rebuilt_when_settings_change(settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/0"}}
    first = get_connection()
    with override_settings(JOBQUEUE_QUEUES={"default": {"URL": "redis://127.0.0.1:6379/7"}}):
        inside = get_connection()
        assert inside is not first
        assert inside.connection_pool.connection_kwargs["db"] == 7
    after = get_connection()
    assert after.connection_pool.connection_kwargs["db"] == 0


def test_unknown_queue_has_no_connection():
    with pytest.raises(ImproperlyConfigured, match="configured: default, high, low"):
        get_connection("nope")


def test_build_client_is_usable_without_settings_cache():
    from django_jobqueue.conf import ConnectionConfig

    client = build_client(ConnectionConfig(host="h", port=1, db=2))
    assert client.connection_pool.connection_kwargs["host"] == "h"
    assert client.connection_pool.connection_kwargs["db"] == 2


def test_configured_client_talks_to_redis(jq, redis_url):
    # The session's queues point at the test Redis: the client really works.
    assert get_connection("default").ping() is True
    assert get_connection("high") is get_connection("default")


# -- ACL users, passwords and TLS reach every kind of client ---------------------------------


def test_rediss_url_with_acl_user_and_cert_checks(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL": "rediss://app:s3cret@redis.example:6380/2?ssl_cert_reqs=required"}
    }
    pool = pool_of()
    assert issubclass(pool.connection_class, SSLConnection)
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("app", "s3cret", 2)
    assert kwargs["ssl_cert_reqs"] == "required"


def test_sentinel_master_with_tls_and_acl_user(settings):
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "SENTINELS": [("sentinel-1", 26379)],
            "MASTER_NAME": "mymaster",
            "USERNAME": "app",
            "PASSWORD": "s3cret",
            "SSL": True,
            "SSL_CERT_REQS": "none",
            "SENTINEL_KWARGS": {"username": "watcher", "password": "pw", "ssl": True},
        }
    }
    pool = pool_of()
    assert issubclass(pool.connection_class, SSLConnection)  # SentinelManagedSSLConnection
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"]) == ("app", "s3cret")
    assert kwargs["ssl_cert_reqs"] == "none"
    sentinel_kwargs = pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs
    assert (sentinel_kwargs["username"], sentinel_kwargs["password"]) == ("watcher", "pw")
    assert issubclass(
        pool.sentinel_manager.sentinels[0].connection_pool.connection_class, SSLConnection
    )


class _FakeCluster:
    """Stands in for RedisCluster, which connects as soon as it is built."""

    calls: list = []

    def __init__(self, **kwargs):
        self.calls.append(("init", kwargs))

    @classmethod
    def from_url(cls, url, **kwargs):
        cls.calls.append(("from_url", url, kwargs))
        return object.__new__(cls)


def test_cluster_client_gets_tls_and_acl_settings(settings, monkeypatch):
    from django_jobqueue import connections

    monkeypatch.setattr(connections, "RedisCluster", _FakeCluster)
    monkeypatch.setattr(_FakeCluster, "calls", [])
    settings.JOBQUEUE_QUEUES = {
        "default": {
            "HOST": "node-1",
            "PORT": 7000,
            "USERNAME": "app",
            "PASSWORD": "s3cret",
            "SSL": True,
            "SSL_CERT_REQS": "required",
            "CLUSTER": True,
            "CONNECTION_KWARGS": {"socket_timeout": 3},
        },
        "url": {"URL": "rediss://app:s3cret@node-2:7001/0", "CLUSTER": True},
    }
    assert isinstance(get_connection("default"), _FakeCluster)
    get_connection("url")
    assert _FakeCluster.calls == [
        (
            "init",
            {
                "host": "node-1",
                "port": 7000,
                "username": "app",
                "password": "s3cret",
                "ssl": True,
                "ssl_cert_reqs": "required",
                "socket_timeout": 3,
                **CLIENT_DEFAULTS,
            },
        ),
        ("from_url", "rediss://app:s3cret@node-2:7001/0", CLIENT_DEFAULTS),
    ]


@pytest.fixture(scope="module")
def acl_server():
    """A private Redis whose default user may only PING, and whose user ``app`` may use
    the keys and channels under ``jqtest:`` (every test prefix) and nothing else, with
    every command but the ``@dangerous`` ones (the rules docs/django.rst suggests)."""
    from tests.redis_rigs import RedisServer

    acl = [
        "--user",
        "default",
        "on",
        "nopass",
        "-@all",
        "+ping",
        "--user",
        "app",
        "on",
        ">s3cret",
        "~jqtest:*",
        "&jqtest:*",
        "+@all",
        "-@dangerous",
    ]
    with RedisServer(extra_args=acl) as server:
        yield server


def test_acl_username_and_password(settings, acl_server, key_prefix):
    from redis.backoff import NoBackoff
    from redis.exceptions import AuthenticationError, NoPermissionError
    from redis.retry import Retry

    from django_jobqueue import get_worker
    from django_jobqueue.engine import JobStatus

    from . import tasks

    where = {"HOST": "127.0.0.1", "PORT": acl_server.port}
    settings.JOBQUEUE_QUEUES = {
        "default": {**where, "USERNAME": "app", "PASSWORD": "s3cret"},
        "by_url": {"URL": f"redis://app:s3cret@127.0.0.1:{acl_server.port}/0"},
        # redis-py retries an AuthenticationError (a ConnectionError) with back-off
        # by default, for about 5 s: no retries here.
        "wrong": {
            **where,
            "USERNAME": "app",
            "PASSWORD": "wrong",
            "CONNECTION_KWARGS": {"retry": Retry(NoBackoff(), 0)},
        },
        "anonymous": dict(where),
    }
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    assert get_connection("default").acl_whoami() == "app"
    jobs = [get_queue(name).enqueue(tasks.record, name) for name in ("default", "by_url")]
    for name in ("default", "by_url"):
        # Not burst: the worker also subscribes to its queue's wake-up channel.
        get_worker(name, worker_class="simple").work(max_idle_time=0.5, logging_level=None)
    assert [job.get_status() for job in jobs] == [JobStatus.FINISHED] * 2
    with pytest.raises(AuthenticationError):
        get_queue("wrong").enqueue(tasks.add, 1, 1)
    with pytest.raises(NoPermissionError):
        get_queue("anonymous").enqueue(tasks.add, 1, 1)


# -- Unix sockets -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unix_socket():
    """The socket path of a private redis-server that listens on a Unix socket only."""
    from tests.redis_rigs import find_redis_server

    with tempfile.TemporaryDirectory(prefix="jq-") as tmp:  # short: AF_UNIX paths are <108
        path = Path(tmp) / "redis.sock"
        args = ["--port", "0", "--unixsocket", str(path), "--save", "", "--appendonly", "no"]
        process = subprocess.Popen(
            [find_redis_server(), *args, "--dir", tmp], stdout=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 10
            while not path.exists():
                assert process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not create its socket"
                time.sleep(0.02)
            yield str(path)
        finally:
            process.terminate()
            process.wait(10)


@pytest.mark.parametrize("how", ["url", "option"])
def test_unix_socket_connects(settings, unix_socket, key_prefix, how):
    if how == "url":
        options = {"URL": f"unix://{unix_socket}?db=1"}
    else:
        options = {"UNIX_SOCKET_PATH": unix_socket, "DB": 1}
    settings.JOBQUEUE_QUEUES = {"default": options}
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    client = get_connection()
    assert client.ping() is True
    job = get_queue().enqueue("tests.django.tasks.add", 2, 3)
    assert client.exists(job.key) == 1
    assert client.connection_pool.connection_kwargs["db"] == 1
    # No TCP keepalive on a Unix socket (redis-py refuses it); the URL keeps the connect timeout.
    kwargs = client.connection_pool.connection_kwargs
    assert "socket_keepalive" not in kwargs
    if how == "url":
        assert kwargs["socket_connect_timeout"] == CLIENT_DEFAULTS["socket_connect_timeout"]
    info = redis.Redis(unix_socket_path=unix_socket).info("keyspace")
    assert "db1" in info and "db0" not in info
