"""Fixtures shared by the engine tests.

Every Queue, Worker and registry made here uses the test's ``key_prefix``, so
the suite also runs against a shared Redis (``REDIS_URL``).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from django_jobqueue.engine import Queue, SimpleWorker, Worker, job
from tests.helpers import wait_until  # noqa: F401  (the engine tests import it from here)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """Workers run in the test process install SIGINT/SIGTERM handlers; put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture(autouse=True)
def _engine_defaults():
    """The engine as a plain script sees it: no payload signing (the Django app,
    loaded by pytest-django, turns it on for the whole process), default limits,
    spawned work-horses that do not set Django up.
    Worker subprocesses started by these tests run without Django, unsigned."""
    from django_jobqueue.conf import configure_engine
    from django_jobqueue.engine import payloads
    from django_jobqueue.engine.execution import spawn

    payloads.configure(None)
    spawn.configure(None)
    yield
    configure_engine()


@pytest.fixture
def make_queue(redis_conn, key_prefix):
    """``make_queue(name, **kwargs)``: a Queue on the test Redis under the test's prefix."""

    def make(name: str = "default", **kwargs) -> Queue:
        kwargs.setdefault("connection", redis_conn)
        kwargs.setdefault("prefix", key_prefix)
        return Queue(name, **kwargs)

    return make


@pytest.fixture
def queue(make_queue) -> Queue:
    return make_queue("default")


@pytest.fixture
def queues_under_test_prefix(monkeypatch, redis_conn, key_prefix):
    """Make ``@job("name", ...)`` build its queue on the test Redis under the test's prefix.

    The decorator turns a queue name into a queue with ``job.queue_class(name,
    connection=...)``; this subclass only adds the prefix (and the test
    connection when the decorator was given none).
    """

    class TestQueue(Queue):
        def __init__(self, name="default", connection=None, **kwargs):
            kwargs.setdefault("prefix", key_prefix)
            super().__init__(
                name, connection=redis_conn if connection is None else connection, **kwargs
            )

    monkeypatch.setattr(job, "queue_class", TestQueue)
    return TestQueue


@pytest.fixture
def make_worker(redis_conn, key_prefix):
    """``make_worker(queues, cls=SimpleWorker, **kwargs)``: a worker under the test's prefix."""

    def make(queues, cls=SimpleWorker, **kwargs) -> Worker:
        kwargs.setdefault("connection", redis_conn)
        kwargs.setdefault("prefix", key_prefix)
        return cls(queues, **kwargs)

    return make


@pytest.fixture
def spawn_worker(redis_url, key_prefix):
    """``spawn_worker(queues, worker_class="Worker", **options)``: a worker subprocess.

    Runs ``tests/engine/worker_main.py`` with a fresh interpreter; every process
    still alive at the end of the test is killed.
    """
    procs: list[subprocess.Popen] = []

    def spawn(
        queues="default",
        worker_class="Worker",
        *,
        name=None,
        worker_ttl=None,
        burst=False,
        max_jobs=None,
        max_idle_time=None,
        new_session=False,
        extra=(),
    ):
        cmd = [
            sys.executable,
            "-m",
            "tests.engine.worker_main",
            "--url",
            redis_url,
            "--prefix",
            key_prefix,
            "--queues",
            queues,
            "--worker-class",
            worker_class,
            *extra,
        ]
        if name:
            cmd += ["--name", name]
        if worker_ttl is not None:
            cmd += ["--worker-ttl", str(worker_ttl)]
        if burst:
            cmd.append("--burst")
        if max_jobs is not None:
            cmd += ["--max-jobs", str(max_jobs)]
        if max_idle_time is not None:
            cmd += ["--max-idle-time", str(max_idle_time)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
        procs.append(proc)
        return proc

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            try:
                if proc.pid and os.getpgid(proc.pid) == proc.pid:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except ProcessLookupError:
                pass
        try:
            rest = proc.communicate(timeout=10)[0] or b""
        except subprocess.TimeoutExpired:  # pragma: no cover - defensive
            rest = b""
        # Printed here, pytest shows it under a failed test's captured output.
        output = (getattr(proc, "seen_output", b"") + rest).decode(errors="replace")
        if output:
            print(f"--- output of worker pid {proc.pid} ---\n{output}")


def read_output_until(proc: subprocess.Popen, text: str, timeout: float = 10.0) -> str:
    """Read a spawned worker's output until ``text`` shows up; returns all read so far.

    Lets a test act on what the worker has done (its log line) rather than on
    how long it is guessed to take. What was read stays on ``proc.seen_output``
    for the fixture to print when the test fails.
    """
    assert proc.stdout is not None
    seen = getattr(proc, "seen_output", b"")
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            proc.seen_output = seen  # type: ignore[attr-defined]
            raise AssertionError(
                f"no {text!r} in the worker's output within {timeout} s:\n{seen!r}"
            )
        chunk = os.read(fd, 65536)
        if not chunk:
            proc.seen_output = seen  # type: ignore[attr-defined]
            raise AssertionError(f"the worker ended without printing {text!r}:\n{seen!r}")
        seen += chunk
    proc.seen_output = seen  # type: ignore[attr-defined]
    return seen.decode(errors="replace")
