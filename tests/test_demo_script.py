"""bin/demo, run for real: its own Redis, the page, a job its worker runs, and nothing
left running once it is sent SIGTERM."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import redis

from tests import processes
from tests.helpers import wait_until
from tests.redis_rigs import RedisServer, find_free_port

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _venv_of_this_interpreter(path: Path) -> Path:
    """A virtualenv for bin/demo that is this interpreter, with the stamp that tells
    bin/demo the package is installed (computed by bin/_venv.sh, as bin/demo does;
    bin/demo is run with PYTHON set to this interpreter)."""
    (path / "bin").mkdir(parents=True)
    python = path / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
    python.chmod(0o755)
    target = "." if shutil.which("redis-server") else ".[embedded]"
    stamp = subprocess.run(
        ["bash", "-c", '. bin/_venv.sh && venv_stamp "$@"', "bash", sys.executable, "-e", target],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (path / ".install-stamp").write_text(stamp)
    return path


class Browser:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def answers(self) -> bool:
        try:
            return bool(self.get("/"))
        except OSError:
            return False

    def submit(self, path: str, **fields: str) -> str:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get("/")).group(1)
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as response:
            return response.read().decode()


@pytest.fixture
def run_demo(tmp_path):
    """``run_demo(**env)``: bin/demo in the background, with its web server on a free port."""
    started = []

    def run(**extra: str):
        port = find_free_port()
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(
            VENV=str(_venv_of_this_interpreter(tmp_path / "venv")),
            PYTHON=sys.executable,
            PORT=str(port),
            DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            **extra,
        )
        log = open(tmp_path / "demo.log", "w")
        proc = subprocess.Popen(
            [str(REPO_ROOT / "bin" / "demo")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as in a terminal
            # As in a terminal, whatever ran these tests: Ctrl-C not ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        log.close()
        started.append(proc)
        browser = Browser(port)

        def output() -> str:
            return (tmp_path / "demo.log").read_text()

        wait_until(
            lambda: browser.answers() or proc.poll() is not None, timeout=90, message="no page"
        )
        assert proc.poll() is None, output()
        return proc, browser, output

    yield run
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _enqueue_and_see_it_finish(browser: Browser) -> None:
    browser.submit("/enqueue/add/", x="20", y="22", queue="high")
    wait_until(
        lambda: re.search(r">finished<.*?<code>42</code>", browser.get("/jobs/"), re.S),
        timeout=30,
        message="the demo's worker did not run the job",
    )


def _stop(proc, how: str) -> set[int]:
    """Stop bin/demo; returns what it had started that is still alive after it exited."""
    started = processes.descendants(proc.pid)
    assert started, "bin/demo runs nothing?"
    if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(60) == 130
    else:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 143
    return processes.wait_gone(started, 5)


def test_bin_demo_starts_a_private_redis_on_redis_port_and_ctrl_c_stops_all(run_demo):
    redis_port = find_free_port()
    proc, browser, output = run_demo(REDIS_PORT=str(redis_port))
    assert f"private Redis at redis://127.0.0.1:{redis_port}/0" in output()
    assert "http-equiv" not in browser.get("/")
    _enqueue_and_see_it_finish(browser)
    assert redis.Redis(port=redis_port).keys("jobqueue:*")
    assert _stop(proc, "ctrl-c") == set()
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(port=redis_port, socket_connect_timeout=1).ping()


def test_bin_demo_uses_redis_url_instead(run_demo):
    with RedisServer() as server:
        proc, browser, output = run_demo(REDIS_URL=server.url)
        assert f"using Redis at {server.url}" in output()
        assert "redis_server" not in " ".join(
            processes.describe(pid) for pid in processes.descendants(proc.pid)
        )
        _enqueue_and_see_it_finish(browser)
        assert server.client().keys("jobqueue:*")
        assert _stop(proc, "sigterm") == set()
        assert server.client().ping()  # not ours to stop
