"""The session's guarantee that no process it starts outlives it (tests/processes.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import processes
from tests.helpers import wait_until

REPO_ROOT = Path(__file__).resolve().parents[1]
SLEEP = [sys.executable, "-c", "import time; time.sleep(300)"]
# The child's output must not hold the pipes subprocess.run() reads to their end.
QUIET = "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL"

pytestmark = pytest.mark.skipif(not processes.supported(), reason="needs Linux /proc")


def _kill_if_alive(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_process_whose_parent_died_is_an_orphan_of_the_session():
    # A child that starts a grandchild in its own session and exits at once.
    code = textwrap.dedent(f"""
        import subprocess
        print(subprocess.Popen({SLEEP!r}, start_new_session=True, {QUIET}).pid)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pid = int(out.stdout)
    try:
        marker = os.environ[processes.VARIABLE]
        wait_until(lambda: pid in processes.marked(marker), message="never marked")
        assert pid in processes.orphans(marker, os.getpid())
        assert processes.kill({pid}) == set()
        assert not processes.alive(pid)
    finally:
        _kill_if_alive(pid)


def test_a_running_child_is_no_orphan():
    proc = subprocess.Popen(SLEEP)
    try:
        marker = os.environ[processes.VARIABLE]
        # Until the child has exec'd, /proc shows the environment its parent started with.
        wait_until(lambda: proc.pid in processes.marked(marker), message="never marked")
        assert proc.pid not in processes.orphans(marker, os.getpid())
    finally:
        proc.kill()
        proc.wait()


def test_the_watchdog_kills_the_processes_of_a_session_killed_outright():
    # A stand-in for a pytest run killed with SIGKILL: its own marker, a watchdog,
    # a child carrying the marker; then it dies without cleaning up.
    code = textwrap.dedent(f"""
        import os, signal, subprocess, sys, uuid
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from tests import processes
        os.environ[processes.VARIABLE] = uuid.uuid4().hex
        processes.start_watchdog(os.environ[processes.VARIABLE])
        print(subprocess.Popen({SLEEP!r}, {QUIET}).pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == -signal.SIGKILL, out.stderr
    pid = int(out.stdout)
    try:
        wait_until(lambda: not processes.alive(pid), message="the watchdog did not kill it")
    finally:
        _kill_if_alive(pid)


def test_a_process_left_running_at_the_end_fails_the_run(redis_url):
    env = dict(os.environ, REDIS_URL=redis_url)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/leaky_session.py", "-s", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    pid = int(re.search(r"leaked pid (\d+)", output).group(1))
    try:
        assert run.returncode == pytest.ExitCode.TESTS_FAILED, output
        assert "1 passed" in output
        assert "still running at the end" in output and f"killed pid {pid}" in output
        assert not processes.alive(pid)
    finally:
        _kill_if_alive(pid)
