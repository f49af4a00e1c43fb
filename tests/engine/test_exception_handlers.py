"""Exception handlers (RQ's ``exception_handlers=``), in the process that ran the job."""

from __future__ import annotations

import logging

import pytest

from django_jobqueue.engine import JobStatus, SimpleWorker, Worker, WorkerPool

from . import jobs

BOTH = pytest.mark.parametrize("cls", [SimpleWorker, Worker], ids=["SimpleWorker", "Worker"])


def _calls(redis_conn, key):
    return [x.decode() for x in redis_conn.lrange(key, 0, -1)]


@BOTH
def test_handlers_run_in_order_after_the_failure_is_recorded(
    cls, queue, make_worker, redis_conn, key_prefix
):
    key = f"{key_prefix}calls"

    def first(job, exc_type, exc_value, tb):
        status = job.get_status()  # recorded before the handlers run
        redis_conn.rpush(key, f"first {exc_type.__name__} {exc_value} {status} {tb is not None}")

    def second(job, *exc_info):
        redis_conn.rpush(key, "second")
        return False  # the chain ends here

    def third(job, *exc_info):
        redis_conn.rpush(key, "third")

    job = queue.enqueue(jobs.fail, "bad")
    make_worker(queue, cls=cls, exception_handlers=[first, second, third]).work(burst=True)
    assert _calls(redis_conn, key) == ["first ValueError bad failed True", "second"]
    assert job.get_status() == JobStatus.FAILED


@BOTH
def test_a_handler_that_raises_is_logged_and_the_worker_goes_on(
    cls, queue, make_worker, redis_conn, key_prefix, caplog
):
    key = f"{key_prefix}calls"

    def broken(job, *exc_info):
        raise ValueError("handler bug")

    def never(job, *exc_info):
        redis_conn.rpush(key, "never")

    queue.enqueue(jobs.fail)
    after = queue.enqueue(jobs.add, 1, 2)
    with caplog.at_level(logging.ERROR, "django_jobqueue"):
        make_worker(queue, cls=cls, exception_handlers=[broken, never]).work(burst=True)
    assert after.get_status() == JobStatus.FINISHED
    assert _calls(redis_conn, key) == []
    if cls is SimpleWorker:  # a work-horse logs to its own stderr
        assert "handler bug" in caplog.text


def test_a_single_callable_is_accepted_and_successes_call_nothing(
    queue, make_worker, redis_conn, key_prefix
):
    key = f"{key_prefix}calls"
    queue.enqueue(jobs.add, 1, 2)
    worker = make_worker(queue, exception_handlers=lambda job, *e: redis_conn.rpush(key, job.id))
    worker.work(burst=True)
    assert worker.exception_handlers and _calls(redis_conn, key) == []


def test_pool_children_get_the_handlers(queue, make_worker, redis_conn, key_prefix):
    key = f"{key_prefix}calls"
    job = queue.enqueue(jobs.fail)
    pool = make_worker(
        queue,
        cls=WorkerPool,
        num_workers=1,
        exception_handlers=[lambda j, *e: redis_conn.rpush(key, j.id)],
    )
    assert pool.processes == pool.num_workers == 1
    assert pool.start(burst=True)  # RQ's name for work()
    assert _calls(redis_conn, key) == [job.id]


def test_disable_default_exception_handler_keeps_the_traceback_out_of_the_log(
    queue, make_worker, caplog
):
    job = queue.enqueue(jobs.fail, "secret")
    with caplog.at_level(logging.INFO, "django_jobqueue"):
        make_worker(queue, disable_default_exception_handler=True).work(burst=True)
    assert job.get_status() == JobStatus.FAILED  # still recorded, with its traceback
    assert "ValueError: secret" in job.exc_info
    assert "failed in" in caplog.text and "Traceback" not in caplog.text


def test_log_job_description_false_names_jobs_by_id(queue, make_worker, caplog):
    job = queue.enqueue(jobs.add, 12345, 2)
    with caplog.at_level(logging.INFO, "django_jobqueue"):
        make_worker(queue, log_job_description=False).work(burst=True)
    assert f"default: {job.id} OK" in caplog.text and "12345" not in caplog.text
