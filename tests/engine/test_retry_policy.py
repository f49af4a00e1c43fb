"""Retry's rules beyond RQ's arguments: backoff, cap, jitter, exception classes.

Unit tests of the policy itself; tests/engine/test_retry_worker.py runs it in
worker processes.
"""

from __future__ import annotations

import json
import logging
import pickle
import time

import pytest

from django_jobqueue import RetryLater as RetryLaterFromDjangoSide
from django_jobqueue.engine import (
    Job,
    JobStatus,
    Retry,
    RetryLater,
    SignatureError,
    SimpleWorker,
    payloads,
    retry,
)
from django_jobqueue.engine.retry import RetryRules

from . import jobs, retry_jobs
from .retry_jobs import FatalError, TransientError, attempts_key


@pytest.fixture(autouse=True)
def _fresh_class_cache(monkeypatch):
    """Each test imports the classes its rules name anew (and logs what fails)."""
    monkeypatch.setattr(retry, "_classes", {})


def _attempts(redis_conn, key_prefix, job) -> list[int]:
    return [int(a) for a in redis_conn.lrange(attempts_key(key_prefix, job.id), 0, -1)]


# -- RQ's arguments are untouched ------------------------------------------------


def test_rq_arguments_alone_store_and_compute_as_before(queue, redis_conn):
    plain = Retry(max=3, interval=[10, 60])
    assert plain.rules.is_default and plain.rules.dumps() is None
    assert json.loads(plain.dumps()) == {"max": 3, "intervals": [10, 60], "at_front": False}
    assert repr(plain) == "Retry(max=3, interval=[10, 60], enqueue_at_front=False)"
    job = queue.enqueue(jobs.fail, retry=plain)
    assert job.retry_rules is None and not redis_conn.hexists(job.key, "retry_rules")
    assert [job.get_retry_interval() for job.retries_left in (3, 2, 1)] == [10, 10, 60]


def test_the_exports():
    assert RetryLaterFromDjangoSide is RetryLater


# -- waits -------------------------------------------------------------------------


def _waits(redis_conn, policy: Retry) -> list[float]:
    """get_retry_interval() before each retry the policy allows, first to last."""
    job = Job.create(jobs.fail, connection=redis_conn, retry=policy)
    return [job.get_retry_interval() for job.retries_left in range(policy.max, 0, -1)]


def test_backoff_multiplies_the_wait_after_each_retry(redis_conn):
    assert _waits(redis_conn, Retry(max=5, interval=10, backoff=2.0)) == [10, 20, 40, 80, 160]
    assert _waits(redis_conn, Retry(max=3, interval=10, backoff=1.5)) == [10, 15, 22.5]


def test_get_retry_interval_is_the_wait_before_jitter(redis_conn):
    assert _waits(redis_conn, Retry(max=3, interval=10, backoff=2, jitter=True)) == [10, 20, 40]


def test_max_interval_caps_the_wait(redis_conn):
    policy = Retry(max=6, interval=10, backoff=3, max_interval=200)
    assert _waits(redis_conn, policy) == [10, 30, 90, 200, 200, 200]
    # A cap applies to RQ's list of waits too.
    assert _waits(redis_conn, Retry(max=3, interval=[5, 500], max_interval=60)) == [5, 5, 60]


@pytest.mark.parametrize("done", range(6))
def test_jitter_draws_between_half_the_wait_and_the_whole_wait(done):
    policy = Retry(max=6, interval=10, backoff=2, max_interval=100, jitter=True)
    wait = policy.rules.grow(10, done + 1)
    draws = [policy.wait_after(done) for _ in range(300)]
    assert all(wait / 2 <= d <= wait for d in draws)
    # Spread over the window, not stuck at one end of it.
    assert min(draws) < wait * 0.6 and max(draws) > wait * 0.9


def test_without_jitter_a_returned_retry_waits_exactly_its_grown_interval():
    policy = Retry(max=4, interval=10, backoff=2, max_interval=50)
    assert [policy.wait_after(done) for done in range(4)] == [10, 20, 40, 50]
    # RQ's forward indexing of a returned Retry's list is kept.
    assert [Retry(max=3, interval=[1, 7]).wait_after(done) for done in range(3)] == [1, 7, 7]


def test_jitter_never_draws_a_wait_of_zero_into_one():
    assert Retry(max=2, jitter=True).wait_after(0) == 0


# -- matching ----------------------------------------------------------------------


def _allows(policy: Retry, exc: BaseException | None) -> bool:
    return policy.rules.allows(exc)


def test_retry_on_retries_only_the_classes_it_names_and_their_subclasses():
    policy = Retry(max=1, retry_on=(ConnectionError, TimeoutError))
    assert _allows(policy, ConnectionError("down"))
    assert _allows(policy, ConnectionRefusedError("refused"))  # a builtin subclass
    assert _allows(policy, TransientError("flaky"))  # a subclass of ours
    assert _allows(policy, TimeoutError())
    assert not _allows(policy, ValueError("bad"))
    assert not _allows(policy, OSError("a base class is not a match"))


def test_dont_retry_on_is_never_retried_and_wins_over_retry_on():
    policy = Retry(max=1, dont_retry_on=ValueError)
    assert not _allows(policy, ValueError())
    assert not _allows(policy, FatalError())
    assert _allows(policy, KeyError())
    both = Retry(max=1, retry_on=Exception, dont_retry_on=(ValueError,))
    assert _allows(both, RuntimeError())
    assert not _allows(both, FatalError())
    same = Retry(max=1, retry_on=ConnectionError, dont_retry_on=ConnectionError)
    assert not _allows(same, ConnectionError())


def test_a_failure_that_is_no_exception_matches_no_class():
    assert _allows(Retry(max=1), None)
    assert _allows(Retry(max=1, dont_retry_on=ValueError), None)
    assert not _allows(Retry(max=1, retry_on=Exception), None)


def test_a_class_that_cannot_be_imported_matches_nothing_and_is_logged(caplog):
    rules = RetryRules(
        retry_on=("no_such_module.Error", "builtins.ValueError"),
        dont_retry_on=("tests.engine.retry_jobs.NoSuchClass", "builtins.len"),
    )
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.worker"):
        assert rules.allows(ValueError())
        assert not rules.allows(KeyError())
    logged = caplog.text
    assert "'no_such_module.Error', which cannot be imported" in logged
    assert "'tests.engine.retry_jobs.NoSuchClass', which cannot be imported" in logged
    assert "'builtins.len', which is <built-in function len>, not an exception class" in logged


def test_each_class_is_imported_once_per_process(monkeypatch):
    imported = []

    def counting(path):
        imported.append(path)
        return ConnectionError

    monkeypatch.setattr(retry, "import_attribute", counting)
    rules = RetryRules(retry_on=("builtins.ConnectionError",))
    assert all(rules.allows(ConnectionError()) for _ in range(3))
    assert imported == ["builtins.ConnectionError"]


def test_a_module_that_raises_on_import_matches_nothing(caplog):
    rules = RetryRules(retry_on=("tests.engine.retry_broken_module.Error",))
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.worker"):
        assert not rules.allows(RuntimeError())
    assert "whose module raised on import (RuntimeError" in caplog.text


# -- serialisation ------------------------------------------------------------------


def test_a_retry_with_every_rule_round_trips_through_json():
    policy = Retry(
        max=5,
        interval=10,
        backoff=2.0,
        max_interval=3600,
        jitter=True,
        retry_on=(ConnectionError, TransientError),
        dont_retry_on=(ValueError,),
        enqueue_at_front=True,
    )
    assert policy.retry_on == ("builtins.ConnectionError", "tests.engine.retry_jobs.TransientError")
    assert policy.dont_retry_on == ("builtins.ValueError",)
    back = Retry.loads(policy.dumps())
    assert back == policy
    assert (back.backoff, back.max_interval, back.jitter) == (2.0, 3600.0, True)
    assert RetryRules.loads(policy.rules.dumps()) == policy.rules
    assert repr(back) == (
        "Retry(max=5, interval=10, enqueue_at_front=True, backoff=2.0, max_interval=3600.0, "
        "jitter=True, retry_on=('builtins.ConnectionError', "
        "'tests.engine.retry_jobs.TransientError'), dont_retry_on=('builtins.ValueError',))"
    )


def test_the_rules_are_stored_with_the_job_and_read_back(queue, redis_conn):
    policy = Retry(max=4, interval=3, backoff=2, jitter=True, dont_retry_on=FatalError)
    job = queue.enqueue(jobs.fail, retry=policy)
    stored = json.loads(redis_conn.hget(job.key, "retry_rules"))
    assert stored == {
        "backoff": 2.0,
        "dont_retry_on": ["tests.engine.retry_jobs.FatalError"],
        "jitter": True,
    }
    fetched = queue.fetch_job(job.id)
    assert fetched.retry_rules == policy.rules
    assert (fetched.retry_max, fetched.retries_left, fetched.get_retry_interval()) == (4, 4, 3)
    redis_conn.hdel(job.key, "retry_rules")  # a refresh reads them anew
    fetched.refresh()
    assert fetched.retry_rules is None


def test_stored_rules_that_cannot_be_read_are_ignored_with_a_warning(queue, redis_conn, caplog):
    job = queue.enqueue(jobs.fail, retry=Retry(max=2, interval=5, backoff=2))
    redis_conn.hset(job.key, "retry_rules", "{not json")
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.worker"):
        fetched = queue.fetch_job(job.id)
        assert fetched.retry_rules is None
    assert f"Job {job.id}: its stored retry rules cannot be read" in caplog.text
    assert fetched.get_retry_interval() == 5  # RQ's behaviour


def test_a_returned_retry_with_rules_loads_back(redis_conn):
    policy = Retry(max=2, interval=4, backoff=3, max_interval=9)
    assert Retry.loads(policy.dumps()) == policy
    # A returned Retry that was stored by an older version has no rules.
    assert Retry.loads('{"max": 2, "intervals": [4], "at_front": false}') == Retry(2, 4)


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"backoff": 0.5}, ValueError, r"a number >= 1 \(2 doubles it, 1 keeps it\)"),
        ({"backoff": True}, ValueError, "backoff"),
        ({"backoff": float("nan")}, ValueError, "backoff"),
        ({"backoff": 2, "interval": [1, 2]}, ValueError, "give interval=<seconds> as one number"),
        ({"max_interval": 0}, ValueError, r"max_interval=\.\.\.\) takes seconds, a number > 0"),
        ({"max_interval": "1h"}, ValueError, "max_interval"),
        ({"jitter": 1}, TypeError, r"jitter=\.\.\.\) takes True or False"),
        ({"retry_on": ConnectionError("x")}, TypeError, "takes exception classes"),
        ({"retry_on": "ConnectionError"}, TypeError, "takes exception classes"),
        ({"retry_on": (ConnectionError, int)}, TypeError, "not <class 'int'>"),
        ({"retry_on": ()}, ValueError, "names no exception class"),
        ({"dont_retry_on": [ValueError("x")]}, TypeError, "pass the class, not an instance"),
        (
            {"max": 40, "interval": 10, "backoff": 2},
            ValueError,
            "more than a year before its last retry: set max_interval",
        ),
    ],
)
def test_bad_arguments_fail_early_saying_what_to_do(kwargs, error, message):
    kwargs.setdefault("max", 3)
    with pytest.raises(error, match=message):
        Retry(**kwargs)


def test_a_class_a_worker_cannot_import_is_refused():
    class Local(Exception):
        pass

    with pytest.raises(ValueError, match="defined in a function, where a worker cannot import"):
        Retry(max=1, retry_on=Local)
    in_main = type("ScriptError", (Exception,), {"__module__": "__main__"})
    with pytest.raises(ValueError, match="defined in __main__, where a worker cannot import"):
        Retry(max=1, dont_retry_on=in_main)


def test_an_empty_dont_retry_on_excludes_nothing():
    assert Retry(max=1, dont_retry_on=()) == Retry(max=1)


def test_a_long_backoff_is_fine_with_a_cap():
    assert Retry(max=40, interval=10, backoff=2, max_interval=3600).rules.grow(10, 40) == 3600


# -- RetryLater ------------------------------------------------------------------------


def test_retry_later_takes_a_delay_in_seconds():
    assert RetryLater().delay is None
    assert RetryLater(30).delay == 30 and "retried in 30 seconds" in str(RetryLater(30))
    for bad in (-1, "5", True, float("inf")):
        with pytest.raises(ValueError, match="takes seconds >= 0 or None"):
            RetryLater(bad)


def test_retry_later_pickles_with_its_delay():
    back = pickle.loads(pickle.dumps(RetryLater(12.5)))
    assert (type(back), back.delay, str(back)) == (RetryLater, 12.5, str(RetryLater(12.5)))


# -- is_async=False queues ----------------------------------------------------------------


def test_inline_in_memory_retries_run_at_once_and_count(make_queue, redis_conn, key_prefix):
    q = make_queue(is_async=False, in_memory=True)
    # No scheduler in memory: the delay is not waited, but the retry is counted.
    job = q.enqueue(retry_jobs.retry_later_until, 3, 60)
    assert (job.get_status(refresh=False), job.return_value()) == (JobStatus.FINISHED, 3)
    assert job.attempt == 3 and job.returned_retries == 2
    gives_up = q.enqueue(retry_jobs.retry_later, 60, retry=Retry(max=1))
    assert gives_up.get_status(refresh=False) == JobStatus.FAILED
    assert _attempts(redis_conn, key_prefix, gives_up) == [1, 2]
    assert gives_up.exc_info.startswith("The job raised RetryLater with no retry left (of 1)")
    not_matching = q.enqueue(retry_jobs.raise_, "ValueError", retry=Retry(max=3, retry_on=OSError))
    assert not_matching.get_status(refresh=False) == JobStatus.FAILED
    assert _attempts(redis_conn, key_prefix, not_matching) == [1]
    excluded = q.enqueue(
        retry_jobs.raise_, "FatalError", retry=Retry(max=3, dont_retry_on=ValueError)
    )
    assert excluded.get_status(refresh=False) == JobStatus.FAILED
    assert _attempts(redis_conn, key_prefix, excluded) == [1]
    matching = q.enqueue(
        retry_jobs.raise_until, 3, retry=Retry(max=3, interval=60, retry_on=OSError)
    )
    assert (matching.get_status(refresh=False), matching.return_value()) == (JobStatus.FINISHED, 3)


def test_inline_redis_queue_leaves_a_retry_later_scheduled_like_a_raised_retry(make_queue):
    q = make_queue(is_async=False)
    before = time.time()
    job = q.enqueue(retry_jobs.retry_later, 30)
    assert job.get_status(refresh=True) == JobStatus.SCHEDULED
    assert before + 30 <= job.get_scheduled_time().timestamp() <= time.time() + 30
    job.refresh()
    assert (job.attempt, job.returned_retries) == (2, 1)
    raised = q.enqueue(retry_jobs.raise_, "ConnectionError", retry=Retry(max=1, interval=30))
    assert raised.get_status(refresh=True) == JobStatus.SCHEDULED


# -- signing ------------------------------------------------------------------------------


@pytest.fixture
def signed():
    payloads.configure([b"the signing key of this app, 32b"])
    yield
    payloads.configure(None)


def test_a_signed_call_binds_the_retry_rules_it_was_enqueued_with(signed, make_queue, redis_conn):
    """The rules name classes a worker imports: rewritten in Redis, the job is refused."""
    q = make_queue()
    policy = Retry(max=1, retry_on=ConnectionError)
    honest = q.enqueue(retry_jobs.raise_until, 2, retry=policy)
    rewritten = q.enqueue(retry_jobs.raise_until, 2, retry=policy)
    redis_conn.hset(rewritten.key, "retry_rules", '{"retry_on": ["tests.engine.pwn_on_import.E"]}')
    dropped = q.enqueue(retry_jobs.raise_until, 2, retry=policy)
    redis_conn.hdel(dropped.key, "retry_rules")
    added = q.enqueue(retry_jobs.raise_until, 2, retry=Retry(max=1))
    redis_conn.hset(added.key, "retry_rules", '{"retry_on": ["builtins.KeyError"]}')
    assert q.fetch_job(honest.id).args == (2,)
    for job in (rewritten, dropped, added):
        with pytest.raises(SignatureError, match="tampered with"):
            q.fetch_job(job.id).args
    SimpleWorker([q]).work(burst=True)
    assert honest.get_status() == JobStatus.FINISHED
    assert all(j.get_status() == JobStatus.FAILED for j in (rewritten, dropped, added))
