"""``exc_line``: the exception's line kept beside a job's traceback.

The dashboard's exception filter reads it instead of every whole traceback
(docs/dashboard.rst). It must follow ``exc_info`` through every script that
writes or deletes it, or the filter would match an exception the job no
longer has.
"""

from __future__ import annotations

import re
from pathlib import Path

from django_jobqueue.engine import JobStatus, Retry, SimpleWorker
from django_jobqueue.engine.job_lifecycle import record_job_failure

from . import jobs

SCRIPTS = Path(__file__).resolve().parents[2] / "django_jobqueue" / "engine" / "scripts"


def last_line(text: str) -> str:
    """The rule, as _lib.lua's exception_line states it (ASCII texts here)."""
    line = text.rstrip("\n\r \t").rsplit("\n", 1)[-1]
    return line[:1000]


def _fields(redis_conn, job):
    exc_info, exc_line = redis_conn.hmget(job.key, ["exc_info", "exc_line"])
    return (None if exc_info is None else exc_info.decode()), (
        None if exc_line is None else exc_line.decode()
    )


def _follows(redis_conn, job) -> str | None:
    exc_info, exc_line = _fields(redis_conn, job)
    assert (exc_info is None) == (exc_line is None), (exc_info, exc_line)
    if exc_info is not None:
        assert exc_line == last_line(exc_info)
    return exc_line


def test_a_failed_job_keeps_its_exception_line(queue, redis_conn):
    job = queue.enqueue(jobs.fail, "upstream answered 503")
    SimpleWorker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert _follows(redis_conn, job) == "ValueError: upstream answered 503"
    assert "Traceback (most recent call last)" in _fields(redis_conn, job)[0]


def test_it_follows_each_attempt_and_goes_with_the_traceback(queue, redis_conn):
    job = queue.enqueue(jobs.fail_until, 3, retry=Retry(max=2))
    for attempt in (1, 2):
        SimpleWorker([queue]).work(burst=True, max_jobs=1)
        assert job.get_status() == JobStatus.QUEUED
        assert _follows(redis_conn, job) == f"RuntimeError: attempt {attempt} fails"
    SimpleWorker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert _fields(redis_conn, job) == (None, None)  # finished: the old outcome is gone


def test_a_requeue_drops_it(queue, redis_conn):
    job = queue.enqueue(jobs.fail)
    SimpleWorker([queue]).work(burst=True)
    assert _follows(redis_conn, job) == "ValueError: boom"
    job.requeue()
    assert _fields(redis_conn, job) == (None, None)


def test_writes_from_outside_a_worker_keep_it(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    record_job_failure(job, "Traceback ...\n  File 'x'\nKeyError: 'sku'\n\n")
    assert _follows(redis_conn, job) == "KeyError: 'sku'"

    record_job_failure(job, "Traceback ...\nTimeoutError: read timed out")  # again
    assert _follows(redis_conn, job) == "TimeoutError: read timed out"

    other = queue.enqueue(jobs.add, 2, 2)
    queue.failed_job_registry.add(other, ttl=60, exc_string="OSError: disk full\n")
    assert _follows(redis_conn, other) == "OSError: disk full"


def test_the_line_is_the_last_that_is_not_blank_and_at_most_1000_bytes(queue, redis_conn):
    for text, line in [
        ("ValueError: x", "ValueError: x"),
        ("Traceback\n  File 'a'\nValueError: first\n \r\n\t\n", "ValueError: first"),
        ("one line\r\n", "one line"),
        ("", ""),
        ("Traceback\nRuntimeError: " + "x" * 5000, ("RuntimeError: " + "x" * 5000)[:1000]),
    ]:
        job = queue.enqueue(jobs.add, 1, 1)
        queue.failed_job_registry.add(job, ttl=60, exc_string=text)
        if text:
            assert _follows(redis_conn, job) == line


def test_every_script_that_writes_or_deletes_exc_info_keeps_exc_line():
    """A new script that sets or deletes exc_info by name must keep exc_line with it."""
    for path in sorted(SCRIPTS.glob("*.lua")):
        text = path.read_text()
        for call in re.findall(r"redis\.call\('H(?:SET|DEL)'[^)]*'exc_info'[^)]*\)", text):
            assert "'exc_line'" in call, (path.name, call)
