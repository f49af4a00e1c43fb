"""``@job`` from django_jobqueue: queues and connections come from the settings."""

from __future__ import annotations

from django.test import override_settings

from django_jobqueue import enqueue, get_connection, get_queue, get_worker, job
from django_jobqueue.queues import DjangoQueue
from tests.django import tasks


def test_decorator_uses_django_queue_class():
    assert job.queue_class is DjangoQueue


def test_bare_job_delays_onto_the_default_queue(jq, key_prefix):
    delayed = tasks.delayed_add.delay(1, 2)
    assert delayed.origin == "default"
    assert delayed.connection is get_connection("default")
    assert delayed.keys.prefix == key_prefix
    assert get_queue().job_ids == [delayed.id]
    get_worker(worker_class="simple").work(burst=True, logging_level=None)
    assert delayed.return_value(refresh=True) == 3


def test_decorated_function_stays_callable():
    assert tasks.delayed_add(2, 3) == 5
    assert tasks.low_add(2, 3) == 5


def test_named_queue_and_options(jq):
    delayed = tasks.low_add.delay(3, 4)
    assert delayed.origin == "low"
    assert delayed.connection is get_connection("low")
    stored = get_queue("low").fetch_job(delayed.id)
    assert stored.timeout == 42
    assert stored.result_ttl == 77
    assert get_queue("default").job_ids == []


def test_delay_accepts_job_options(jq):
    delayed = tasks.low_add.delay(1, 1, job_id="chosen", job_timeout=5)
    stored = get_queue("low").fetch_job("chosen")
    assert delayed.id == "chosen"
    assert stored.timeout == 5
    assert stored.args == (1, 1)


def test_settings_are_read_at_delay_time(jq, settings, key_prefix):
    # The decorator ran at import time; the prefix and async flag set now still apply.
    settings.JOBQUEUE_KEY_PREFIX = key_prefix + "late:"
    delayed = tasks.delayed_add.delay(1, 1)
    assert delayed.keys.prefix == key_prefix + "late:"
    assert jq.exists(delayed.key)
    with override_settings(JOBQUEUE_ASYNC=False):
        inline = tasks.delayed_add.delay(5, 6)
    assert inline.get_status() == "finished"
    assert inline.result == 11


def test_explicit_connection(jq, redis_url, key_prefix):
    import redis

    conn = redis.Redis.from_url(redis_url)
    decorated = job("high", connection=conn)(tasks.add_again)
    delayed = decorated.delay(1, 2)
    assert delayed.connection is conn
    assert get_queue("high").fetch_job(delayed.id).args == (1, 2)


def test_failing_delayed_job(jq):
    delayed = tasks.high_fail.delay("nope")
    get_worker("high", worker_class="simple").work(burst=True, logging_level=None)
    assert delayed.get_status() == "failed"
    assert "ValueError: nope" in get_queue("high").fetch_job(delayed.id).exc_info


def test_enqueue_is_delay_under_rqs_name(jq):
    job("default")(tasks.add)
    try:
        made = tasks.add.enqueue(1, 2)
        assert made.args == (1, 2)
    finally:
        del tasks.add.delay, tasks.add.delay_at, tasks.add.delay_in, tasks.add.enqueue


def test_enqueue_and_job_take_a_concurrency_limit(jq):
    first = enqueue(tasks.add, 1, 1, concurrency_key="tenant:7", concurrency_limit=1)
    second = tasks.limited_add.delay(2, 2, concurrency_key="tenant:7")
    assert (first.get_status(), second.get_status()) == ("queued", "rate_limited")
    get_worker(worker_class="simple").work(burst=True, logging_level=None)
    assert (first.return_value(refresh=True), second.return_value(refresh=True)) == (2, 4)
