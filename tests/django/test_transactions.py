"""Transaction-aware enqueueing: jobs reach Redis only when the transaction commits.

Runs on the test database (SQLite by default); ``test_postgres.py`` runs the
tests marked ``also_postgres`` again against PostgreSQL.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from django_jobqueue import enqueue, get_queue, get_worker
from tests.django import tasks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.also_postgres]


class Rollback(Exception):
    pass


def test_database_vendor():
    # test_postgres.py runs this module on PostgreSQL and says which vendor to expect.
    from django.db import connection

    expected = os.environ.get("JQ_TEST_EXPECT_DB_VENDOR")
    assert connection.vendor == (expected or connection.vendor)
    assert connection.vendor in ("sqlite", "postgresql")


def run_worker(*queues):
    return get_worker(*queues, worker_class="simple").work(burst=True, logging_level=None)


def test_enqueue_waits_for_commit(jq):
    queue = get_queue()
    with transaction.atomic():
        job = enqueue(tasks.add, 1, 2)
        assert job.id
        assert job.get_status() == "pending_commit"
        assert job.get_status(refresh=False) == "pending_commit"
        assert not jq.exists(job.key)
        assert queue.count == 0
        assert queue.fetch_job(job.id) is None
        assert run_worker() is False  # a worker sees nothing yet
    assert job.get_status() == "queued"
    assert queue.job_ids == [job.id]
    assert queue.fetch_job(job.id).get_status() == "queued"
    assert run_worker() is True
    assert job.get_status() == "finished"
    assert job.return_value(refresh=True) == 3


def test_rolled_back_enqueue_never_reaches_redis(jq, prefixed_keys):
    with pytest.raises(Rollback):
        with transaction.atomic():
            job = enqueue(tasks.add, 1, 2)
            delayed = tasks.low_add.delay(1, 2)
            raise Rollback
    assert get_queue().count == 0
    assert get_queue("low").count == 0
    assert get_queue().fetch_job(job.id) is None
    assert get_queue("low").fetch_job(delayed.id) is None
    assert not any(job.id in key or delayed.id in key for key in prefixed_keys())
    assert run_worker("default", "low") is False


def test_set_rollback_discards_the_job(jq):
    with transaction.atomic():
        job = enqueue(tasks.add, 1, 2)
        transaction.set_rollback(True)
    assert get_queue().fetch_job(job.id) is None
    assert get_queue().count == 0


def test_enqueue_call_waits_for_commit(jq):
    with transaction.atomic():
        job = get_queue("high").enqueue_call(tasks.add, args=(2, 2), job_id="call-job")
        assert job.id == "call-job"
        assert job.get_status() == "pending_commit"
        assert get_queue("high").count == 0
    assert get_queue("high").job_ids == ["call-job"]
    assert job.get_status() == "queued"


def test_delay_waits_for_commit(jq):
    with transaction.atomic():
        delayed = tasks.low_add.delay(5, 5)
        assert delayed.get_status() == "pending_commit"
        assert get_queue("low").count == 0
    assert get_queue("low").job_ids == [delayed.id]
    assert get_queue("low").fetch_job(delayed.id).timeout == 42


@pytest.mark.parametrize("how", ["enqueue_at", "enqueue_in"])
def test_scheduled_enqueue_waits_for_commit(jq, how):
    queue = get_queue()
    with transaction.atomic():
        if how == "enqueue_at":
            job = queue.enqueue_at(datetime.now(UTC) + timedelta(hours=1), tasks.add, 1, 2)
        else:
            job = queue.enqueue_in(timedelta(hours=1), tasks.add, 1, 2)
        assert job.get_status() == "pending_commit"
        assert job.id not in queue.scheduled_job_registry
    assert job.get_status() == "scheduled"
    assert job.id in queue.scheduled_job_registry
    assert queue.count == 0


@pytest.mark.parametrize("how", ["enqueue_at", "enqueue_in"])
def test_rolled_back_scheduled_enqueue_is_dropped(jq, how):
    queue = get_queue()
    with pytest.raises(Rollback):
        with transaction.atomic():
            if how == "enqueue_at":
                job = queue.enqueue_at(datetime.now(UTC) + timedelta(hours=1), tasks.add)
            else:
                job = queue.enqueue_in(60, tasks.add, 1, 2)
            raise Rollback
    assert job.id not in queue.scheduled_job_registry
    assert queue.scheduled_job_registry.count == 0
    assert queue.fetch_job(job.id) is None


def test_only_the_rolled_back_savepoint_is_dropped(jq):
    with transaction.atomic():
        kept = enqueue(tasks.add, 1, 1)
        with pytest.raises(Rollback):
            with transaction.atomic():
                dropped = enqueue(tasks.add, 2, 2)
                raise Rollback
        assert get_queue().count == 0
    assert get_queue().job_ids == [kept.id]
    assert get_queue().fetch_job(dropped.id) is None


def test_parent_and_child_in_one_transaction(jq):
    queue = get_queue()
    with transaction.atomic():
        parent = queue.enqueue(tasks.add, 1, 2)
        child = get_queue("low").enqueue(tasks.add, 3, 4, depends_on=parent)
        assert child.get_status() == "pending_commit"
    assert parent.get_status() == "queued"
    assert child.get_status() == "deferred"
    assert child.id in get_queue("low").deferred_job_registry
    assert parent.dependent_ids == [child.id]
    run_worker("default")
    assert parent.get_status() == "finished"
    assert child.get_status() == "queued"  # released by the parent
    run_worker("low")
    assert child.get_status() == "finished"
    assert child.return_value(refresh=True) == 7


def test_child_by_id_of_parent_in_the_same_transaction(jq):
    with transaction.atomic():
        parent = enqueue(tasks.add, 1, 2, job_id="the-parent")
        child = enqueue(tasks.add, 5, 5, depends_on="the-parent")
    assert child.get_status() == "deferred"
    run_worker()
    assert parent.get_status() == "finished"
    assert child.get_status() == "finished"


def test_jobs_are_pushed_in_enqueue_order_on_commit(jq, log_of):
    with transaction.atomic():
        for tag in ("a", "b", "c"):
            get_queue().enqueue(tasks.record, tag)
    run_worker()
    assert log_of() == ["a", "b", "c"]


def test_commit_mode_immediate_pushes_at_once(jq, settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    with pytest.raises(Rollback):
        with transaction.atomic():
            job = enqueue(tasks.add, 1, 2)
            assert job.get_status() == "queued"
            assert get_queue().job_ids == [job.id]
            raise Rollback
    assert get_queue().job_ids == [job.id]  # not undone by the rollback


def test_outside_a_transaction_the_job_is_pushed_at_once(jq):
    job = enqueue(tasks.add, 1, 2)
    assert job.get_status() == "queued"
    assert get_queue().job_ids == [job.id]


def test_enqueue_errors_are_raised_at_enqueue_time_not_at_commit(jq):
    from django_jobqueue.engine import EnqueueError

    with transaction.atomic():
        with pytest.raises(EnqueueError):
            enqueue(lambda: None)
        with pytest.raises(ValueError):
            enqueue(tasks.add, 1, 2, job_id="not a valid id")
    assert get_queue().count == 0


def test_job_sees_rows_written_in_its_transaction(jq):
    from django.contrib.auth.models import User

    with transaction.atomic():
        User.objects.create(username="before-enqueue")
        job = enqueue(tasks.create_user, "from-job")
    run_worker()
    assert job.get_status() == "finished"
    assert job.return_value(refresh=True) == 2
    assert set(User.objects.values_list("username", flat=True)) == {"before-enqueue", "from-job"}


@pytest.mark.django_db(transaction=False)
def test_test_case_transaction_needs_captured_on_commit_callbacks(
    jq, django_capture_on_commit_callbacks
):
    # A plain django_db test runs inside a transaction that never commits;
    # capturing the on_commit callbacks (execute=True) pushes the jobs.
    job = enqueue(tasks.add, 1, 2)
    assert job.get_status() == "pending_commit"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        other = enqueue(tasks.add, 3, 4)
    assert len(callbacks) == 1
    assert other.get_status() == "queued"
    assert get_queue().job_ids == [other.id]


def test_a_job_canceled_before_the_commit_is_never_pushed(jq):
    queue = get_queue()
    with transaction.atomic():
        job = queue.enqueue(tasks.add, 1, 2)
        job.cancel()
        assert job.get_status() == "canceled"
    assert len(queue) == 0 and queue.fetch_job(job.id) is None


# --- Redis unreachable when the transaction commits -------------------------------------------


@pytest.fixture
def own_redis(settings, key_prefix):
    """The queues on a Redis of this test's own, which the test may stop and restart."""
    from tests.redis_rigs import RedisServer

    server = RedisServer().start()
    settings.JOBQUEUE_QUEUES = {name: {"URL": server.url} for name in ("default", "low")}
    settings.JOBQUEUE_KEY_PREFIX = key_prefix
    yield server
    server.stop()


@pytest.fixture
def failed_pushes():
    """What ``job_enqueue_failed`` was sent with, as a list of its keyword arguments."""
    from django_jobqueue.signals import job_enqueue_failed

    sent = []

    def receiver(sender, **kwargs):
        sent.append({"sender": sender, **kwargs})

    job_enqueue_failed.connect(receiver)
    yield sent
    job_enqueue_failed.disconnect(receiver)


def test_redis_down_at_commit_runs_the_other_callbacks_logs_and_signals(
    own_redis, failed_pushes, caplog
):
    import redis

    ran = []
    with caplog.at_level("ERROR", logger="django_jobqueue"):
        with transaction.atomic():  # does not raise: its rows are committed
            transaction.on_commit(lambda: ran.append("before"))
            job = get_queue("low").enqueue(tasks.add, 1, 2)
            transaction.on_commit(lambda: ran.append("after"))
            own_redis.stop()
    assert ran == ["before", "after"]
    [record] = [r for r in caplog.records if r.name.startswith("django_jobqueue")]
    assert (record.name, record.levelname) == ("django_jobqueue.queue", "ERROR")
    message = record.getMessage()
    assert job.id in message and "tests.django.tasks.add" in message and "'low'" in message
    assert "job_enqueue_failed" in message
    [sent] = failed_pushes
    assert sent["job"] is job and sent["queue"].name == "low"
    assert isinstance(sent["exception"], redis.exceptions.ConnectionError)


@pytest.mark.parametrize("how", ["enqueue_call", "enqueue_job"])
def test_a_job_whose_push_failed_can_be_enqueued_again(own_redis, failed_pushes, how):
    with transaction.atomic():
        job = enqueue(tasks.add, 4, 5)
        own_redis.stop()
    own_redis.restart()  # same port, empty
    # Not "pending_commit": the job is not in Redis.
    assert not job.connection.exists(job.key) and not job.is_queued
    [sent] = failed_pushes
    lost, queue = sent["job"], sent["queue"]
    if how == "enqueue_call":  # from what a receiver stored, in any process
        get_queue(queue.name).enqueue_call(
            lost.func_name, args=lost.args, kwargs=lost.kwargs, job_id=lost.id
        )
    else:
        queue.enqueue_job(lost)
    assert job.get_status() == "queued"
    assert run_worker() is True
    assert job.return_value(refresh=True) == 9


def test_a_failing_receiver_does_not_break_the_other_callbacks(own_redis, caplog):
    from django_jobqueue.signals import job_enqueue_failed

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    job_enqueue_failed.connect(broken)
    ran = []
    try:
        with caplog.at_level("ERROR", logger="django_jobqueue"):
            with transaction.atomic():
                job = enqueue(tasks.add, 1, 2)
                transaction.on_commit(lambda: ran.append("after"))
                own_redis.stop()
    finally:
        job_enqueue_failed.disconnect(broken)
    assert ran == ["after"]
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("django_jobqueue")]
    assert any("receiver" in m and "receiver bug" in m and job.id in m for m in messages)


def test_get_queue_commit_mode_immediate_does_not_wait(jq):
    queue = get_queue(commit_mode="auto")  # django-rq's name for "immediate"
    with transaction.atomic():
        job = queue.enqueue(tasks.add, 1, 2)
        assert jq.exists(job.key)


def test_get_queue_commit_mode_on_commit_waits_whatever_the_settings(jq, settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    queue = get_queue(commit_mode="on_db_commit")
    with transaction.atomic():
        job = queue.enqueue(tasks.add, 1, 2)
        assert not jq.exists(job.key)
    assert jq.exists(job.key)


def test_rq_autocommit_true_enqueues_at_once(jq, settings):
    settings.RQ = {"AUTOCOMMIT": True}
    with transaction.atomic():
        job = get_queue().enqueue(tasks.add, 1, 2)
        assert jq.exists(job.key)
