"""``@job``: the function stays itself and gains ``.delay()``."""

from __future__ import annotations

import pytest

from django_jobqueue.engine import Job, JobStatus, Queue, Retry, job

from . import jobs


@pytest.fixture
def power(monkeypatch):
    """``jobs.power``, with any ``delay`` a test adds removed afterwards."""
    monkeypatch.setattr(jobs.power, "delay", None, raising=False)
    monkeypatch.delattr(jobs.power, "delay")
    monkeypatch.setattr(jobs.power, "enqueue", None, raising=False)
    monkeypatch.delattr(jobs.power, "enqueue")
    return jobs.power


def test_decorator_with_queue_name_connection_and_options(
    queues_under_test_prefix, power, redis_conn, key_prefix, make_queue, make_worker
):
    decorated = job("low", connection=redis_conn, timeout=5, result_ttl=77)(power)
    assert decorated is power
    assert power(2, 10) == 1024  # still directly callable
    queued = power.delay(3, 4)
    assert isinstance(queued, Job)
    assert queued.origin == "low"
    assert queued.func_name == "tests.engine.jobs.power"
    assert queued.args == (3, 4)
    assert queued.timeout == 5
    assert queued.result_ttl == 77
    assert queued.keys.prefix == key_prefix
    low = make_queue("low")
    assert low.job_ids == [queued.id]
    make_worker([low]).work(burst=True)
    assert queued.result == 81
    assert 70 <= redis_conn.ttl(queued.key) <= 77


def test_delay_options_override_the_decorators(queues_under_test_prefix, power, redis_conn):
    job("low", connection=redis_conn, timeout=5, result_ttl=77)(power)
    parent = power.delay(1, 1)
    queued = power.delay(
        2,
        exponent=3,
        job_timeout=9,
        job_id="custom-id",
        meta={"m": 1},
        description="two cubed",
        depends_on=parent,
        retry=Retry(max=1),
        failure_ttl=60,
    )
    assert queued.id == "custom-id"
    assert queued.timeout == 9
    assert queued.result_ttl == 77
    assert queued.meta == {"m": 1}
    assert queued.description == "two cubed"
    assert queued.kwargs == {"exponent": 3}
    assert queued.dependency_ids == [parent.id]
    assert queued.retries_left == 1
    assert queued.failure_ttl == 60
    assert queued.get_status() == JobStatus.DEFERRED


def test_decorator_with_a_queue_object(power, make_queue, make_worker):
    q = make_queue("low")
    assert job(q, timeout=3)(power) is power
    queued = power.delay(2, 5)
    assert queued.origin == "low"
    assert queued.timeout == 3
    make_worker([q]).work(burst=True)
    assert queued.result == 32


def test_decorator_with_only_a_queue_name(queues_under_test_prefix, power, make_queue, make_worker):
    job("low")(power)
    queued = power.delay(2, 2)
    assert queued.origin == "low"
    assert queued.timeout == 180
    make_worker([make_queue("low")]).work(burst=True)
    assert queued.result == 4


def test_bare_decorator(queues_under_test_prefix, make_queue, make_worker):
    # jobs.multiply is decorated with a bare ``@job`` at import time.
    assert jobs.multiply.__name__ == "multiply"
    assert jobs.multiply.__module__ == "tests.engine.jobs"
    assert callable(jobs.multiply.delay)
    assert jobs.multiply(6, 7) == 42
    queued = jobs.multiply.delay(6, 7)
    assert queued.origin == "default"
    assert queued.func_name == "tests.engine.jobs.multiply"
    make_worker([make_queue("default")]).work(burst=True)
    assert queued.result == 42


def test_bare_decorator_returns_the_function_itself():
    def plain(a):
        return a

    decorated = job(plain)
    assert decorated is plain
    assert callable(plain.delay)
    assert plain(5) == 5


def test_decorator_with_options_at_import_time(
    queues_under_test_prefix, make_queue, make_worker, redis_conn
):
    # jobs.subtract is decorated with ``@job("low", timeout=7, result_ttl=42)``.
    assert jobs.subtract(10, 3) == 7
    queued = jobs.subtract.delay(10, 3)
    assert queued.origin == "low"
    assert queued.timeout == 7
    assert queued.result_ttl == 42
    make_worker([make_queue("low")]).work(burst=True)
    assert queued.result == 7
    assert 35 <= redis_conn.ttl(queued.key) <= 42


def test_decorator_on_an_inline_queue(power, make_queue):
    job(make_queue("low", is_async=False))(power)
    done = power.delay(3, 3)
    assert done.is_finished
    assert done.result == 27


class _MarkedQueue(Queue):
    """A Queue subclass, to see that ``@job(queue_class=...)`` is used."""


def test_enqueue_is_rqs_name_for_delay_and_queue_class_is_honoured(
    queues_under_test_prefix, power, redis_conn
):
    job("low", connection=redis_conn, queue_class=_MarkedQueue)(power)
    made = power.enqueue(2, 5)
    assert made.origin == "low" and made.args == (2, 5)
    assert power.enqueue is power.delay
    assert isinstance(job("low", queue_class=_MarkedQueue).get_queue(), _MarkedQueue)


def test_the_decorator_takes_rqs_keywords(queues_under_test_prefix, power, redis_conn):
    job("low", connection=redis_conn, on_stopped=jobs.on_success_callback, at_front=True)(power)
    assert power.enqueue(2, 2).on_stopped == "tests.engine.jobs.on_success_callback"
    with pytest.raises(TypeError, match="repeat must be a Repeat"):  # checked at decoration
        job("low", repeat=object())
