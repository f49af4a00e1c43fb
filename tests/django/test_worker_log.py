"""What a worker logs: one line per job, one traceback per failure, an outage twice."""

from __future__ import annotations

import logging
import re
import signal
import time
from io import StringIO

import pytest
from django.core.management import call_command
from redis.exceptions import ConnectionError as RedisConnectionError

from django_jobqueue import Retry, enqueue
from django_jobqueue.queues import get_queue
from tests.redis_rigs import RedisServer

from . import tasks
from .conftest import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enqueue_at_once(settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"  # not on a commit that never comes


def burst(worker_class, caplog, level=logging.INFO):
    with caplog.at_level(level, "django_jobqueue"):
        call_command(
            "rqworker",
            "--burst",
            "--worker-class",
            worker_class,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    return caplog.records


def lines_about(records, job, level=logging.INFO):
    return [r for r in records if job.id in r.getMessage() and r.levelno >= level]


@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_a_job_gets_one_line_with_its_outcome_and_duration(jq, caplog, worker_class):
    job = enqueue(tasks.add, 1, 2)
    (line,) = lines_about(burst(worker_class, caplog), job)
    assert line.levelno == logging.INFO
    assert re.fullmatch(
        rf"default: tests\.django\.tasks\.add\(1, 2\) \({job.id}\) OK in \d+\.\d{{3}} s",
        line.getMessage(),
    )


def test_a_success_line_names_where_it_comes_from_and_reaches_filters(jq, caplog):
    # The line is built without a walk of the stack (see _log_line), yet a
    # format with %(funcName)s or %(pathname)s still says something true, and
    # the logger's filters still see it.
    seen = []
    worker_logger = logging.getLogger("django_jobqueue.worker")

    def keep(record):
        seen.append(record)
        return True

    worker_logger.addFilter(keep)
    try:
        job = enqueue(tasks.add, 1, 2)
        (line,) = lines_about(burst("simple", caplog), job)
    finally:
        worker_logger.removeFilter(keep)
    assert line in seen
    assert (line.funcName, line.filename) == ("log_outcome", "single.py")
    assert line.job["job_id"] == job.id and line.job["outcome"] == "finished"


def test_a_logger_adapter_gets_the_line_too(jq):
    from django_jobqueue.engine.worker.single import log_outcome

    job = enqueue(tasks.add, 1, 2)
    job.set_status("finished")
    stream = StringIO()
    logger = logging.getLogger("tests.adapter")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        adapter = logging.LoggerAdapter(logger, {"who": "me"})
        log_outcome(adapter, job, "finished", 0.25, 500)  # type: ignore[arg-type]
    finally:
        logger.removeHandler(handler)
    assert f"({job.id}) OK in 0.250 s" in stream.getvalue()


def test_how_long_a_result_is_kept_is_a_debug_detail(jq, caplog):
    kept, discarded = (
        enqueue(tasks.add, 1, 2, result_ttl=60),
        enqueue(tasks.add, 2, 2, result_ttl=0),
    )
    records = burst("simple", caplog, level=logging.DEBUG)
    details = [r for r in records if "result" in r.getMessage() and r.levelno == logging.DEBUG]
    assert [r.getMessage().rsplit(": ", 1)[1] for r in details] == [
        "result kept 60 s",
        "result discarded",
    ]
    assert not any("Result is kept" in r.getMessage() for r in records)
    assert len(lines_about(records, kept)) == len(lines_about(records, discarded)) == 1


@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_a_failure_gets_one_line_with_one_traceback(jq, caplog, worker_class):
    job = enqueue(tasks.fail, "logged failure")
    (line,) = lines_about(burst(worker_class, caplog), job)
    text = line.getMessage()
    assert line.levelno == logging.ERROR
    assert re.match(
        rf"default: tests\.django\.tasks\.fail\('logged failure'\) \({job.id}\) failed in "
        rf"\d+\.\d{{3}} s, moved to the failed jobs\nTraceback \(most recent call last\):\n",
        text,
    )
    assert text.count("Traceback") == 1 and text.endswith("ValueError: logged failure")
    assert text.count("Traceback") == sum(r.getMessage().count("Traceback") for r in caplog.records)


@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_each_attempt_of_a_retried_job_gets_one_line(jq, caplog, worker_class):
    job = enqueue(tasks.fail, "again", retry=Retry(max=1))
    first, second = lines_about(burst(worker_class, caplog), job)
    assert first.levelno == logging.WARNING
    assert (
        ") failed in " in first.getMessage()
        and ", will be retried\nTraceback" in first.getMessage()
    )
    assert second.levelno == logging.ERROR
    assert ", moved to the failed jobs\nTraceback" in second.getMessage()
    assert all(r.getMessage().count("ValueError: again") == 1 for r in (first, second))


# -- a worker process through a Redis outage ------------------------------------------


@pytest.fixture
def private_redis(settings, manage_py, key_prefix):
    """A Redis of this test's own (to stop and start again), used by both sides."""
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    with RedisServer() as server:
        manage_py.env["JQ_TEST_REDIS_URL"] = server.url
        settings.JOBQUEUE_QUEUES = {"default": {"URL": server.url}}
        yield server


def run_job(*args):
    def enqueued():
        try:
            return get_queue("default").enqueue(*args)
        except RedisConnectionError:  # our client meets the restarted server first
            return None

    job = wait_until(enqueued)
    wait_until(lambda: job.get_status(refresh=True) == "finished", timeout=30)
    return job


@pytest.mark.parametrize("worker_class", ["simple", "pool"])
def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    private_redis, manage_py, tmp_path, worker_class
):
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        proc = manage_py("rqworker", "--worker-class", worker_class, "--processes", "1", stdout=out)
    before = run_job(tasks.add, 1, 2)
    private_redis.stop()
    time.sleep(4)  # long enough for a line a second to show
    private_redis.restart()
    after = run_job(tasks.add, 2, 3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    lines = log.read_text().splitlines()
    lost = [line for line in lines if "lost connection to Redis" in line]
    back = [line for line in lines if "connection to Redis is back" in line]
    # One of each per process: the worker, or a pool and its one child.
    processes = 1 if worker_class == "simple" else 2
    assert (len(lost), len(back)) == (processes, processes), "\n".join(lines)
    assert not any("tick failed" in line or "heartbeat failed" in line for line in lines)
    for job in (before, after):
        assert len([line for line in lines if job.id in line]) == 1
