"""Shared fixtures: one Redis for the whole test session.

* ``REDIS_URL`` set: the suite uses that server and never flushes it; each test
  that wants a clean slate works under its own ``key_prefix`` and only the keys
  under that prefix are deleted afterwards.
* ``REDIS_URL`` unset: a private ``redis-server`` is started on a free port for
  the session (never the shared 127.0.0.1:6379), and ``redis_conn`` flushes it
  before each test.

No process started by the tests outlives the session (see ``tests/processes.py``):
orphans are killed after each test, anything left at the end is killed and fails
the run, and a watchdog kills them all if pytest itself is killed.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings

import pytest
import redis

from tests import processes
from tests.redis_rigs import RedisClusterSetup, RedisServer

_MARKER = pytest.StashKey[str]()
_WATCHDOG = pytest.StashKey[object]()

#: Seconds an orphaned process (its parent died) gets to exit before it is killed.
ORPHAN_GRACE = 3.0


def pytest_configure(config):
    """Mark every process this session starts (a fresh marker, also in a nested pytest)."""
    if not processes.supported():
        return
    marker = uuid.uuid4().hex
    os.environ[processes.VARIABLE] = marker
    config.stash[_MARKER] = marker
    config.stash[_WATCHDOG] = processes.start_watchdog(marker)


@pytest.fixture(autouse=True)
def _orphaned_processes_are_killed(request):
    """After each test, kill the test's processes whose parent died and that did not exit."""
    yield
    marker = request.config.stash.get(_MARKER, None)
    if marker is None:
        return
    left = processes.wait_gone(processes.orphans(marker, os.getpid()), ORPHAN_GRACE)
    if left:
        killed = [processes.describe(pid) for pid in sorted(left)]
        processes.kill(left)
        warnings.warn(
            f"killed {len(killed)} orphaned process(es) still running {ORPHAN_GRACE:g} s after "
            "their parent died: " + "; ".join(killed),
            pytest.PytestWarning,
            stacklevel=1,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    """Fail the run if a process started by the tests is still alive once it is over."""
    config = session.config
    marker = config.stash.get(_MARKER, None)
    if marker is None:
        return
    watchdog = config.stash[_WATCHDOG]
    others = set(processes.marked(marker)) | processes.descendants(os.getpid())
    left = processes.wait_gone(others - {watchdog.pid}, ORPHAN_GRACE)
    if left:
        killed = [processes.describe(pid) for pid in sorted(left)]
        processes.kill(left)
        killed += processes.kill_marked(marker, exclude={watchdog.pid})
        write = config.get_terminal_writer().line
        write(f"\nProcesses started by the tests were still running at the end ({len(killed)}):")
        for process in killed:
            write(f"  killed {process}", red=True)
        write("Stop them in the fixture or test that starts them.", red=True)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    processes.stop_watchdog(watchdog)


@pytest.fixture(scope="session")
def redis_server():
    """The session's private RedisServer, or ``None`` when ``REDIS_URL`` is set."""
    if os.environ.get("REDIS_URL"):
        yield None
        return
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    """URL of the Redis the tests use."""
    if redis_server is None:
        return os.environ["REDIS_URL"]
    return redis_server.url


@pytest.fixture(scope="session", autouse=True)
def _jobqueue_settings_use_test_redis(redis_url):
    """Point every configured queue at the session's Redis before any test runs."""
    from django.conf import settings

    queues = getattr(settings, "JOBQUEUE_QUEUES", None) or {}
    original = queues
    settings.JOBQUEUE_QUEUES = {
        name: {**options, "URL": redis_url} for name, options in queues.items()
    }
    yield
    settings.JOBQUEUE_QUEUES = original


@pytest.fixture
def key_prefix() -> str:
    """A key prefix unique to this test, such as ``jqtest:<uuid>:``."""
    return f"jqtest:{uuid.uuid4().hex}:"


def _glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


@pytest.fixture
def redis_conn(redis_url, redis_server, key_prefix):
    """A redis-py client on the test Redis, starting from a clean slate.

    The private server is flushed before the test; on a shared ``REDIS_URL``
    server only the keys under ``key_prefix`` are deleted after the test.
    """
    conn = redis.Redis.from_url(redis_url)
    if redis_server is not None:
        conn.flushdb()
    try:
        yield conn
    finally:
        if redis_server is None:
            batch = []
            for key in conn.scan_iter(match=_glob_escape(key_prefix) + "*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    conn.delete(*batch)
                    batch.clear()
            if batch:
                conn.delete(*batch)
        conn.close()


@pytest.fixture(scope="session")
def redis_cluster():
    """A private six-node Redis Cluster (three masters, one replica each) for the session.

    Started on first use only (about 2 s), by the tests of cluster support.
    """
    with RedisClusterSetup(masters=3, replicas=1) as cluster:
        yield cluster


@pytest.fixture
def cluster_conn(redis_cluster):
    """A ``redis.cluster.RedisCluster`` client on the session's cluster, emptied first."""
    from redis.cluster import RedisCluster

    conn = redis_cluster.client()
    conn.flushall(target_nodes=RedisCluster.PRIMARIES)
    try:
        yield conn
    finally:
        conn.close()


#: Queue names whose hash tags land on the three masters of ``redis_cluster``
#: (slots 3728, 5718 and 15214 of 0-5460, 5461-10922 and 10923-16383).
CLUSTER_QUEUES = ("emails", "default", "low")


@pytest.fixture
def cluster_jq(settings, cluster_conn, redis_cluster, key_prefix):
    """Django settings with the queues of :data:`CLUSTER_QUEUES` on the session's cluster
    (``"CLUSTER": True``), under this test's key prefix; returns the cluster client."""
    settings.JOBQUEUE_QUEUES = {
        name: {"URL": redis_cluster.url, "CLUSTER": True} for name in CLUSTER_QUEUES
    }
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    return cluster_conn


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last.

    pytest-django's ``live_server`` keeps a server thread for the rest of the
    session, and forking a multi-threaded process is unsafe (Python 3.12+
    warns): every test that forks a worker must run before that thread exists.
    """
    items.sort(key=lambda item: "live_server" in getattr(item, "fixturenames", ()))


@pytest.fixture
def prefixed_keys(redis_conn, key_prefix):
    """``prefixed_keys()``: the sorted keys (as str) under the test's prefix."""

    def keys() -> list[str]:
        return sorted(
            k.decode()
            for k in redis_conn.scan_iter(match=_glob_escape(key_prefix) + "*", count=1000)
        )

    return keys
