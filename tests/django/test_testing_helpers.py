"""django_jobqueue.testing: the helpers projects use in their own test suites."""

from __future__ import annotations

import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase, override_settings

from django_jobqueue import Retry, enqueue, get_queue
from django_jobqueue.testing import (
    DrainResult,
    FailedJobsError,
    JobQueueTestMixin,
    assert_enqueued,
    assert_not_enqueued,
    capture_jobs,
    clear_queues,
    drain,
    enqueued_jobs,
    isolated_queues,
)
from tests.django import tasks, testing_tasks

from .conftest import REPO_ROOT

pytest_plugins = ["pytester"]


class Rollback(Exception):
    pass


# -- drain ---------------------------------------------------------------------------


def test_drain_runs_every_queue_and_reports_the_runs(jq):
    a = enqueue(tasks.add, 1, 2)
    b = get_queue("low").enqueue(tasks.add, 3, 4)
    c = get_queue("high").enqueue(tasks.echo, "x", k=1)
    result = drain()
    assert isinstance(result, DrainResult)
    assert [job.id for job in result.jobs] == [a.id, c.id, b.id]  # configured order
    assert result.finished == result.jobs
    assert result.failed == result.retried == []
    assert len(result) == 3
    assert repr(result) == "<DrainResult: 3 finished, 0 failed, 0 retried>"
    assert a.return_value(refresh=True) == 3
    assert b.return_value(refresh=True) == 7
    assert all(get_queue(name).count == 0 for name in ("default", "high", "low"))
    assert drain().jobs == []


def test_drain_of_named_queues_leaves_the_others(jq):
    low = get_queue("low").enqueue(tasks.add, 1, 1)
    high = get_queue("high").enqueue(tasks.add, 2, 2)
    assert [job.id for job in drain("high").jobs] == [high.id]
    assert low.get_status() == "queued"
    assert [job.id for job in drain("low").jobs] == [low.id]


def test_drain_runs_jobs_that_jobs_enqueue(jq):
    enqueue(testing_tasks.countdown, 3)
    parent = enqueue(testing_tasks.enqueue_add, 5, 6, queue="low")
    result = drain()
    assert [job.func_name for job in result.finished].count(
        "tests.django.testing_tasks.countdown"
    ) == 4
    child = get_queue("low").fetch_job(parent.return_value(refresh=True))
    assert child.get_status() == "finished"
    assert child.return_value() == 11


def test_drain_releases_dependents_across_queues(jq):
    parent = enqueue(tasks.add, 1, 2)
    child = get_queue("low").enqueue(tasks.add, 3, 4, depends_on=parent)
    grandchild = get_queue("high").enqueue(tasks.add, 5, 6, depends_on=child)
    assert child.get_status() == "deferred"
    result = drain()
    assert [job.id for job in result.jobs] == [parent.id, child.id, grandchild.id]
    assert grandchild.return_value(refresh=True) == 11


def test_drain_runs_due_scheduled_jobs_and_later_ones_on_request(jq):
    soon = get_queue().enqueue_in(0.2, tasks.add, 1, 1)
    later = get_queue("low").enqueue_in(timedelta(hours=1), tasks.add, 2, 2)
    time.sleep(0.3)
    assert [job.id for job in drain().jobs] == [soon.id]
    assert later.get_status() == "scheduled"
    before = datetime.now(UTC)
    assert [job.id for job in drain(scheduled=True).jobs] == [later.id]
    assert later.return_value(refresh=True) == 4
    later.refresh()
    assert before <= later.enqueued_at <= datetime.now(UTC)  # released now, not in an hour


def test_a_failed_job_raises_with_its_traceback_after_the_drain(jq):
    failing = enqueue(tasks.fail, "drained failure")
    after = enqueue(tasks.add, 1, 1)
    with pytest.raises(FailedJobsError) as caught:
        drain()
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert message.startswith("1 job(s) failed while draining")
    assert f"default: tests.django.tasks.fail('drained failure') (id {failing.id}" in message
    assert "Traceback (most recent call last)" in message
    assert "ValueError: drained failure" in message
    assert "raise_on_failure=False" in message
    assert caught.value.result.failed == [failing]
    assert after.get_status() == "finished"  # the drain went on


def test_raise_on_failure_false_returns_the_failures(jq):
    failing = enqueue(tasks.fail, "quiet")
    result = drain(raise_on_failure=False)
    assert result.failed == [failing]
    assert "ValueError: quiet" in result.failed[0].exc_info
    assert failing.get_status() == "failed"
    assert failing in get_queue().failed_job_registry


def test_retries_run_during_the_drain_and_only_the_last_failure_counts(jq):
    job = enqueue(tasks.fail, "again", retry=Retry(max=2))
    with pytest.raises(FailedJobsError) as caught:
        drain()
    result = caught.value.result
    assert [j.id for j in result.jobs] == [job.id] * 3
    assert len(result.retried) == 2 and result.failed == [job]


def test_delayed_retries_wait_unless_scheduled_is_true(jq):
    job = enqueue(tasks.fail, "later", retry=Retry(max=1, interval=3600))
    result = drain()  # no exception: the job is not done failing
    assert result.retried == [job] and result.failed == []
    assert job.get_status() == "scheduled"
    with pytest.raises(FailedJobsError):
        drain(scheduled=True)
    assert job.get_status() == "failed"


def test_job_timeouts_are_enforced(jq):
    job = enqueue(tasks.sleep_then, 5, job_timeout=1)
    started = time.monotonic()
    result = drain(raise_on_failure=False)
    assert time.monotonic() - started < 4
    assert result.failed == [job]
    assert "JobTimeoutException" in job.exc_info


def test_drain_gives_up_on_jobs_that_never_stop_enqueueing(jq):
    enqueue(testing_tasks.forever)
    with pytest.raises(RuntimeError, match="drain\\(\\) ran 5 jobs and the queues are still"):
        drain(max_jobs=5)


def test_drain_runs_nothing_while_workers_are_suspended(jq):
    job = enqueue(tasks.add, 1, 1)
    call_command("rqsuspend", stdout=StringIO())
    assert drain().jobs == []
    call_command("rqresume", stdout=StringIO())
    assert drain().jobs == [job]


def test_drain_and_clear_queues_on_redis_cluster(cluster_jq, key_prefix):
    # The three queues live on three masters: one worker takes them in turn,
    # and clearing finds each queue's keys on its own node.
    parent = get_queue("emails").enqueue(tasks.add, 1, 2)
    child = get_queue("low").enqueue(tasks.add, 3, 4, depends_on=parent)
    get_queue("default").enqueue(tasks.fail, "on a cluster")
    with pytest.raises(FailedJobsError, match="on a cluster"):
        drain()
    assert child.return_value(refresh=True) == 7
    get_queue("low").enqueue_in(3600, tasks.add, 5, 6)

    def queue_keys():
        return list(cluster_jq.scan_iter(match=f"{key_prefix}{{*"))

    assert len(queue_keys()) > 5
    assert clear_queues() > 0
    assert queue_keys() == []
    assert get_queue("default").failed_job_registry.count == 0


# -- inline mode (JOBQUEUE_ASYNC = False) -------------------------------------------------


@pytest.fixture
def inline_without_redis(settings, key_prefix):
    """Inline mode with every queue pointing at a port where no Redis listens."""
    settings.JOBQUEUE_ASYNC = False
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    settings.JOBQUEUE_QUEUES = {
        name: {"URL": "redis://127.0.0.1:1/0"} for name in ("default", "high", "low")
    }


def test_inline_mode_needs_no_redis_and_drain_finds_nothing(inline_without_redis):
    with isolated_queues(), capture_jobs() as captured:
        job = enqueue(tasks.add, 2, 3)
        failed = get_queue("low").enqueue(tasks.fail, "inline")
        assert job.get_status() == "finished"
        assert drain().jobs == []  # they ran already; and Redis was never asked
        captured.assert_enqueued(tasks.add, args=[2, 3], queue="default")
        captured.assert_enqueued(tasks.fail, queue="low")
    assert failed.get_status() == "failed"
    assert clear_queues() == 0


def test_inline_mode_does_not_touch_redis(jq, settings, prefixed_keys):
    settings.JOBQUEUE_ASYNC = False
    with isolated_queues():
        enqueue(tasks.add, 1, 1)
        assert drain().jobs == []
    assert prefixed_keys() == []


# -- capture and assertions -----------------------------------------------------------------


def test_assert_enqueued_filters(jq):
    with capture_jobs() as captured:
        enqueue(tasks.add, 1, 2)
        enqueue(tasks.add, 1, 2)
        get_queue("low").enqueue(tasks.echo, "a", key="v")
        tasks.low_add.delay(5, 5)
    assert [job.func_name for job in captured.jobs] == [
        "tests.django.tasks.add",
        "tests.django.tasks.add",
        "tests.django.tasks.echo",
        "tests.django.tasks.low_add",
    ]
    matched = captured.assert_enqueued(tasks.add, args=[1, 2], queue="default", count=2)
    assert len(matched) == 2 and all(job.get_status() == "queued" for job in matched)
    captured.assert_enqueued("tests.django.tasks.echo", kwargs={"key": "v"})
    captured.assert_enqueued(tasks.echo, args=("a",), kwargs={"key": "v"}, queue="low")
    captured.assert_enqueued(tasks.low_add, queue="low", count=1)  # @job functions too
    captured.assert_enqueued(queue="low", count=2)
    captured.assert_not_enqueued(tasks.add, queue="low")
    captured.assert_not_enqueued(tasks.add, args=[2, 1])
    captured.assert_not_enqueued(queue="high")
    assert captured.enqueued_jobs("low") == captured.jobs[2:]


def test_failure_messages_show_what_was_enqueued(jq):
    with capture_jobs() as captured:
        enqueue(tasks.add, 1, 2)
        get_queue("low").enqueue(tasks.echo, "a", key="v")
    with pytest.raises(AssertionError) as caught:
        captured.assert_enqueued(tasks.add, args=[2, 2], queue="default")
    assert str(caught.value) == (
        "Expected at least 1 enqueued job(s) of tests.django.tasks.add with args=[2, 2] "
        "on queue 'default', found 0.\n"
        "Enqueued while capturing (2):\n"
        "  default: tests.django.tasks.add(1, 2)\n"
        "  low: tests.django.tasks.echo('a', key='v')"
    )
    with pytest.raises(AssertionError, match=r"Expected 2 enqueued job.*found 1"):
        captured.assert_enqueued(tasks.add, count=2)
    with pytest.raises(AssertionError) as caught:
        captured.assert_not_enqueued(tasks.echo)
    assert str(caught.value).startswith(
        "Expected no enqueued job of tests.django.tasks.echo on any queue, found 1.\n"
        "Enqueued while capturing (2):"
    )
    with capture_jobs() as empty, pytest.raises(AssertionError, match="Nothing was enqueued"):
        empty.assert_enqueued()


def test_module_functions_use_the_innermost_capture(jq):
    with pytest.raises(RuntimeError, match="No job capture is active"):
        assert_enqueued(tasks.add)
    with capture_jobs() as outer:
        enqueue(tasks.add, 1, 1)
        with capture_jobs() as inner:
            enqueue(tasks.echo, 1)
            assert_enqueued(tasks.echo)
            assert_not_enqueued(tasks.add)
            assert [job.func_name for job in enqueued_jobs()] == ["tests.django.tasks.echo"]
        assert_enqueued(tasks.add)
        assert_enqueued(tasks.echo)
        assert enqueued_jobs("default") == outer.jobs
    enqueue(tasks.add, 9, 9)  # after the block: recorded nowhere
    assert len(outer.jobs) == 2 and len(inner.jobs) == 1
    outer.reset()
    assert outer.jobs == []


def test_jobs_enqueued_by_drained_jobs_are_recorded(jq):
    with capture_jobs() as captured:
        enqueue(testing_tasks.enqueue_add, 1, 2, queue="high")
        captured.assert_not_enqueued(tasks.add)
        drain()
    captured.assert_enqueued(tasks.add, args=[1, 2], queue="high")


# -- transactions -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_enqueues_in_a_transaction_are_recorded_on_commit(jq):
    with capture_jobs() as captured:
        with transaction.atomic():
            job = enqueue(tasks.add, 1, 2)
            with pytest.raises(AssertionError) as caught:
                captured.assert_enqueued(tasks.add)
            message = str(caught.value)
            assert "Nothing was enqueued." in message
            assert "Waiting for the transaction to commit (1)" in message
            assert "  default: tests.django.tasks.add(1, 2)" in message
            assert "captureOnCommitCallbacks(execute=True)" in message
            assert drain().waiting_for_commit == [job]
        assert captured.assert_enqueued(tasks.add) == [job]
        with pytest.raises(Rollback), transaction.atomic():
            enqueue(tasks.echo, "rolled back")
            raise Rollback
    captured.assert_not_enqueued(tasks.echo)
    assert [j.id for j in drain().jobs] == [job.id]


@pytest.mark.django_db
def test_in_a_testcase_transaction_enqueues_need_captured_on_commit_callbacks(
    jq, django_capture_on_commit_callbacks
):
    # pytest-django's django_db, like TestCase, wraps the test in a transaction.
    with capture_jobs() as captured:
        enqueue(tasks.add, 1, 2)
        captured.assert_not_enqueued()
        assert drain().jobs == []
        with django_capture_on_commit_callbacks(execute=True):
            job = enqueue(tasks.add, 3, 4)
        captured.assert_enqueued(tasks.add, args=[3, 4], count=1)
    assert drain().jobs == [job]


@pytest.mark.django_db
def test_drain_in_a_testcase_transaction_runs_what_the_jobs_enqueue(
    jq, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(testing_tasks.create_user_then_enqueue, "ann")
    with capture_jobs() as captured:
        result = drain()
    assert [job.func_name for job in result.finished] == [
        "tests.django.testing_tasks.create_user_then_enqueue",
        "tests.django.tasks.echo",
    ]
    captured.assert_enqueued(tasks.echo, args=["ann"])
    assert User.objects.filter(username="ann").exists()


# -- clearing -----------------------------------------------------------------------------------


def test_clear_queues_deletes_only_the_configured_queues_keys(jq, key_prefix, prefixed_keys):
    enqueue(tasks.add, 1, 1)
    get_queue("low").enqueue(tasks.fail)
    get_queue("high").enqueue_in(3600, tasks.add, 2, 2)
    drain("low", raise_on_failure=False)  # a failed job, a stats hash
    jq.set(key_prefix + "unrelated", "kept")
    jq.set(key_prefix + "{elsewhere}:queue", "kept")  # a queue not in JOBQUEUE_QUEUES
    jq.set("another-app:{default}:queue", "kept")  # another prefix
    before = prefixed_keys()
    for kind in ("{default}:queue", "{low}:failed", "{low}:stats:", "{high}:scheduled"):
        assert any(kind in key for key in before), kind
    assert clear_queues() > 0
    after = prefixed_keys()
    assert not [k for k in after if any(f"{{{q}}}" in k for q in ("default", "high", "low"))]
    assert key_prefix + "unrelated" in after
    assert key_prefix + "{elsewhere}:queue" in after
    assert jq.get("another-app:{default}:queue") == b"kept"
    assert all(get_queue(name).count == 0 for name in ("default", "high", "low"))
    # The queues work as before.
    job = get_queue("high").enqueue_in(0.1, tasks.add, 1, 2)
    time.sleep(0.2)
    assert drain().jobs == [job]


def test_clear_queues_by_name_and_isolated_queues(jq):
    high = get_queue("high").enqueue(tasks.add, 1, 1)
    low = get_queue("low").enqueue(tasks.add, 1, 1)
    clear_queues("high")
    assert get_queue("high").fetch_job(high.id) is None
    assert low.get_status() == "queued"
    with isolated_queues("low"):
        assert get_queue("low").count == 0
        get_queue("low").enqueue(tasks.add, 2, 2)
    assert get_queue("low").count == 0


# -- Django's TestCase ----------------------------------------------------------------------------


@override_settings(JOBQUEUE_KEY_PREFIX=f"jqtest:{uuid.uuid4().hex}:")
class MixinTests(JobQueueTestMixin, TestCase):
    def test_a_queues_start_empty_and_enqueues_are_recorded(self):
        self.assertEqual(get_queue().count, 0)
        with self.captureOnCommitCallbacks(execute=True):
            job = enqueue(tasks.add, 20, 22)
        self.assertJobEnqueued(tasks.add, args=[20, 22], queue="default")
        self.assertJobNotEnqueued(tasks.echo)
        result = self.drain_jobs()
        self.assertEqual(result.finished, [job])
        self.assertEqual(job.return_value(refresh=True), 42)
        with self.captureOnCommitCallbacks(execute=True):
            get_queue("low").enqueue(tasks.add, 1, 1)  # left behind: cleared on the way out
        self.assertEqual(get_queue("low").count, 1)

    def test_b_a_later_test_finds_nothing_left_behind(self):
        # unittest runs the methods in name order: test_a_... left a job on "low".
        self.assertEqual(get_queue("low").count, 0)
        self.assertEqual(self.jobqueue.jobs, [])

    def test_without_captured_on_commit_callbacks_nothing_is_enqueued(self):
        enqueue(tasks.add, 1, 2)
        with self.assertRaisesMessage(AssertionError, "Waiting for the transaction to commit"):
            self.assertJobEnqueued(tasks.add)

    def test_failures_fail_the_test(self):
        with self.captureOnCommitCallbacks(execute=True):
            enqueue(tasks.fail, "in a TestCase")
        with self.assertRaisesMessage(AssertionError, "ValueError: in a TestCase"):
            self.drain_jobs()


# -- the pytest fixture, in a pytest of its own ---------------------------------------------


def test_the_jobqueue_fixture(pytester, monkeypatch, redis_url, key_prefix, tmp_path, redis_conn):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.django.subprocess_settings")
    monkeypatch.setenv("JQ_TEST_REDIS_URL", redis_url)
    monkeypatch.setenv("JQ_TEST_KEY_PREFIX", key_prefix)
    monkeypatch.setenv("JQ_TEST_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    leftover = f"{key_prefix}{{default}}:job:leftover"
    redis_conn.hset(leftover, "status", "queued")
    pytester.makeconftest('pytest_plugins = ["django_jobqueue.testing"]')
    pytester.makepyfile(
        test_user=textwrap.dedent(
            f"""
            import pytest
            import redis

            from django_jobqueue import enqueue, get_queue
            from tests.django import tasks

            def test_starts_clean_and_drains(jobqueue):
                assert not redis.Redis.from_url({redis_url!r}).exists({leftover!r})
                job = enqueue(tasks.add, 1, 2)
                jobqueue.assert_enqueued(tasks.add, args=[1, 2])
                assert jobqueue.drain().finished == [job]
                get_queue("low").enqueue(tasks.add, 5, 5)

            def test_after_a_test_queues_are_empty(jobqueue):
                assert get_queue("low").count == 0

            def test_a_failed_job_fails_the_test(jobqueue):
                enqueue(tasks.fail, "seen by the user")
                jobqueue.drain()

            def test_an_assertion_shows_what_was_enqueued(jobqueue):
                enqueue(tasks.echo, "this one")
                jobqueue.assert_enqueued(tasks.add)

            def test_tests_without_the_fixture_leave_redis_alone():
                get_queue("high").enqueue(tasks.add, 1, 1)
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*FailedJobsError: 1 job(s) failed while draining*",
            "*ValueError: seen by the user*",
            "*Expected at least 1 enqueued job(s) of tests.django.tasks.add*",
            "*default: tests.django.tasks.echo('this one')*",
        ]
    )
    assert redis_conn.llen(f"{key_prefix}{{high}}:queue") == 1  # no fixture: left alone
    assert redis_conn.llen(f"{key_prefix}{{low}}:queue") == 0


def test_the_plugin_is_harmless_without_django(pytester, monkeypatch):
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makeconftest('pytest_plugins = ["django_jobqueue.testing"]')
    pytester.makepyfile(
        test_plain="""
        def test_unrelated():
            assert True

        def test_with_the_fixture(jobqueue):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:django", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)  # the test without the fixture ran as usual
    result.stdout.fnmatch_lines(["*The jobqueue fixture needs Django settings*"])
