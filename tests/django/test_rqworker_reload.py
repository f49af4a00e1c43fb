"""``rqworker`` as a real process: ``--reload`` under Django's autoreloader, and
a worker started before its Redis."""

from __future__ import annotations

import os
import signal
import time

import pytest

from django_jobqueue.engine import all_workers
from django_jobqueue.queues import get_queue
from tests.redis_rigs import RedisServer, find_free_port

from .conftest import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enqueue_at_once(settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"  # not on a commit that never comes


JOB_MODULE = """\
import os


def version():
    return {value!r}


def die():
    os._exit(7)
"""


@pytest.fixture
def job_module(tmp_path, manage_py, monkeypatch):
    """``reload_jobs.py`` in a folder the worker's Python imports from; returns a writer.

    This process imports from it too: enqueue checks that a dotted path leads
    to a function, as it would in a site whose web and worker share the code.
    """
    folder = tmp_path / "code"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    manage_py.env["PYTHONPATH"] = f"{folder}{os.pathsep}{manage_py.env['PYTHONPATH']}"
    manage_py.env["PYTHONDONTWRITEBYTECODE"] = "1"
    path = folder / "reload_jobs.py"

    def write(value: str) -> None:
        path.write_text(JOB_MODULE.format(value=value))

    write("first")
    return write


def run_job(func: str):
    job = get_queue("default").enqueue_call(func)
    wait_until(lambda: job.get_status(refresh=True) == "finished", timeout=30)
    return job.return_value(refresh=True)


def test_reload_runs_the_changed_code(jq, manage_py, job_module, tmp_path, key_prefix):
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = manage_py("rqworker", "--reload", stdout=out)
    assert run_job("reload_jobs.version") == "first"
    # The reloader sees a module once a job has imported it, within its one-second poll.
    time.sleep(2.5)
    job_module("second, after the reload")
    wait_until(lambda: "reloading after the current job" in log.read_text())
    assert run_job("reload_jobs.version") == "second, after the reload"
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)  # passed on to the worker: a warm shutdown
    assert proc.wait(timeout=30) == 0
    text = log.read_text()
    assert "reload_jobs.py changed: reloading after the current job" in text
    assert text.count("*** Listening on default...") == 2
    assert "Traceback" not in text and "signal only works" not in text
    assert all_workers(jq, key_prefix) == []


def test_reload_exits_when_the_worker_dies(jq, manage_py, job_module):
    proc = manage_py("rqworker", "--reload")
    get_queue("default").enqueue_call("reload_jobs.die")  # the in-process job ends the worker
    assert proc.wait(timeout=60) == 7  # never a process with no worker in it


def test_reload_with_fork_runs_each_job_in_a_child(jq, manage_py, job_module):
    proc = manage_py("rqworker", "--reload", "--worker-class", "fork")
    assert run_job("reload_jobs.version") == "first"
    job_module("changed")
    assert run_job("reload_jobs.version") == "changed"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("worker_class", ["simple", "pool"])
def test_a_worker_started_before_redis_waits_for_it(
    settings, manage_py, key_prefix, tmp_path, worker_class
):
    server = RedisServer(port=find_free_port())  # not running yet
    manage_py.env["JQ_TEST_REDIS_URL"] = server.url
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_QUEUES = {"default": {"URL": server.url}}
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = manage_py("rqworker", "--worker-class", worker_class, "--processes", "1", stdout=out)
    try:
        wait_until(lambda: "is unreachable" in log.read_text())
        time.sleep(1)  # it keeps waiting, and says so once
        assert proc.poll() is None
        server.start()
        assert run_job("tests.django.tasks.pid") != os.getpid()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        server.stop()
    lines = log.read_text().splitlines()
    (waiting,) = [line for line in lines if "is unreachable" in line]
    assert f"Redis redis://127.0.0.1:{server.port}/0 is unreachable (" in waiting
    assert waiting.endswith("; waiting for it")
    (back,) = [line for line in lines if "Redis is reachable after" in line]
    assert lines.index(back) < next(i for i, line in enumerate(lines) if "Listening" in line)
    assert not any("Traceback" in line for line in lines)


def test_a_worker_stopped_while_waiting_for_redis_exits(settings, manage_py, tmp_path):
    manage_py.env["JQ_TEST_REDIS_URL"] = f"redis://127.0.0.1:{find_free_port()}/0"
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = manage_py("rqworker", "--worker-class", "simple", stdout=out)
    wait_until(lambda: "is unreachable" in log.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert "Listening" not in log.read_text() and "Traceback" not in log.read_text()


def test_a_reloading_worker_stops_when_its_supervisor_is_killed(jq, manage_py, key_prefix):
    proc = manage_py("rqworker", "--reload")
    wait_until(lambda: all_workers(jq, key_prefix))
    proc.kill()  # SIGKILL: nothing passed on, the kernel tells the child
    wait_until(lambda: not all_workers(jq, key_prefix), timeout=30)
