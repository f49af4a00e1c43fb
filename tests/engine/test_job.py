"""Job: fetching, status, results, timestamps, meta and the operations on one job."""

from __future__ import annotations

import datetime
import pickle
import re
import time

import pytest

from django_jobqueue.engine import (
    DeserializationError,
    DuplicateJobError,
    InvalidJobOperation,
    Job,
    JobStatus,
    NoSuchJobError,
    Queue,
    Retry,
    Worker,
    get_current_job,
)

from . import jobs
from .conftest import wait_until

UTC = datetime.UTC


def _fetch(job_id, redis_conn, key_prefix, **kwargs):
    return Job.fetch(job_id, connection=redis_conn, prefix=key_prefix, **kwargs)


# -- fetching ------------------------------------------------------------------


def test_fetch_unknown_id_raises(redis_conn, key_prefix, queue):
    with pytest.raises(NoSuchJobError):
        _fetch("no-such-job", redis_conn, key_prefix)
    queue.enqueue(jobs.add, 1, 1)  # with known queues too
    with pytest.raises(NoSuchJobError):
        _fetch("no-such-job", redis_conn, key_prefix)
    with pytest.raises(NoSuchJobError):
        _fetch("no-such-job", redis_conn, key_prefix, origin="default")


def test_no_such_job_error_is_a_lookup_error():
    assert issubclass(NoSuchJobError, LookupError)


def test_fetch_without_origin_searches_every_queue(make_queue, redis_conn, key_prefix):
    make_queue("a").enqueue(jobs.add, 0, 0)
    job = make_queue("b").enqueue(jobs.add, 1, 2)
    fetched = _fetch(job.id, redis_conn, key_prefix)
    assert fetched.origin == "b"
    assert fetched.args == (1, 2)
    assert fetched == job


def test_fetch_with_origin(make_queue, redis_conn, key_prefix):
    job = make_queue("b").enqueue(jobs.add, 1, 2)
    fetched = _fetch(job.id, redis_conn, key_prefix, origin="b")
    assert fetched.origin == "b"
    assert fetched.func_name == "tests.engine.jobs.add"
    with pytest.raises(NoSuchJobError):
        _fetch(job.id, redis_conn, key_prefix, origin="a")


def test_fetch_honours_the_prefix(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2)
    with pytest.raises(NoSuchJobError):
        Job.fetch(job.id, connection=redis_conn, prefix=key_prefix + "other:")


def test_fetch_many(queue, redis_conn, key_prefix):
    a = queue.enqueue(jobs.add, 1, 1)
    b = queue.enqueue(jobs.add, 2, 2)
    found = Job.fetch_many([a.id, "missing", b.id], redis_conn, origin="default", prefix=key_prefix)
    assert [j and j.id for j in found] == [a.id, None, b.id]
    other = Queue("other", connection=redis_conn, prefix=key_prefix).enqueue(jobs.add, 3, 3)
    found = Job.fetch_many([a.id, "missing", other.id], redis_conn, prefix=key_prefix)
    assert [j and (j.id, j.origin) for j in found] == [(a.id, "default"), None, (other.id, "other")]


def test_get_ttl_and_get_result_ttl(queue):
    job = queue.enqueue(jobs.add, 1, 1, ttl=50, result_ttl=7)
    assert (job.get_ttl(), job.get_result_ttl(default_ttl=99)) == (50, 7)
    plain = queue.enqueue(jobs.add, 1, 1)
    assert (plain.get_ttl(), plain.get_result_ttl(default_ttl=99)) == (None, 99)


# -- attributes ----------------------------------------------------------------


def test_attributes_of_a_queued_job(queue, redis_conn, key_prefix):
    before = datetime.datetime.now(UTC)
    job = queue.enqueue(jobs.add, 1, b=2)
    fetched = _fetch(job.id, redis_conn, key_prefix)
    for j in (job, fetched):
        assert j.func_name == "tests.engine.jobs.add"
        assert j.args == (1,)
        assert j.kwargs == {"b": 2}
        assert j.description == "tests.engine.jobs.add(1, b=2)"
        assert j.origin == "default"
        assert j.timeout == 180
        assert j.result_ttl is None  # the worker's default (500 s) applies
        assert j.failure_ttl is None  # the default (a year) applies, as in RQ
        assert j.ttl is None
        assert j.meta == {}
        assert j.started_at is None
        assert j.ended_at is None
        assert j.enqueued_at.tzinfo == UTC
        assert before - datetime.timedelta(seconds=1) <= j.enqueued_at
        assert j.enqueued_at <= datetime.datetime.now(UTC) + datetime.timedelta(seconds=1)
        assert j.result is None
        assert j.exc_info is None
    assert fetched.enqueued_at == job.enqueued_at
    assert fetched.get_status() is JobStatus.QUEUED


def test_job_status_is_a_str_enum():
    values = [s.value for s in JobStatus]
    for name in (
        "queued",
        "started",
        "finished",
        "failed",
        "deferred",
        "scheduled",
        "canceled",
        "stopped",
    ):
        assert name in values
        assert JobStatus(name) == name
    assert JobStatus.QUEUED == "queued"
    assert isinstance(JobStatus.FINISHED, str)
    assert f"{JobStatus.FAILED}" == "failed"


def test_status_predicates_follow_the_job(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    assert job.get_status() == JobStatus.QUEUED
    assert isinstance(job.get_status(), JobStatus)
    assert job.is_queued
    assert not (
        job.is_started or job.is_finished or job.is_failed or job.is_deferred or job.is_canceled
    )
    make_worker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.is_finished and not job.is_queued

    failing = queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    assert failing.get_status() is JobStatus.FAILED
    assert failing.is_failed

    deferred = queue.enqueue(jobs.add, 1, 1, depends_on=failing)
    assert deferred.get_status() is JobStatus.DEFERRED
    assert deferred.is_deferred

    canceled = queue.enqueue(jobs.add, 1, 1)
    canceled.cancel()
    assert canceled.get_status() is JobStatus.CANCELED
    assert canceled.is_canceled

    scheduled = queue.enqueue(jobs.fail, retry=Retry(max=1, interval=3600))
    make_worker([queue]).work(burst=True)
    assert scheduled.get_status() is JobStatus.SCHEDULED
    assert scheduled.is_scheduled


def test_is_started_while_running(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.current_job_id)
    worker = make_worker([queue])
    # Take the job the way the worker does, then look at it before it is performed.
    taken = worker.dequeue()
    assert taken.id == job.id
    assert job.is_started
    assert job.get_status() is JobStatus.STARTED
    fetched = _fetch(job.id, redis_conn, key_prefix)
    assert fetched.started_at is not None and fetched.started_at.tzinfo == UTC
    assert fetched.worker_name == worker.name
    assert job.id in queue.started_job_registry
    worker.execute(taken)
    assert job.is_finished
    assert job.result == job.id


def test_result_is_read_live_by_a_job_obtained_before_the_worker_ran(queue, make_worker):
    job = queue.enqueue(jobs.add, 20, 22)
    assert job.result is None
    assert job.return_value() is None
    make_worker([queue]).work(burst=True)
    assert job.result == 42
    assert job.return_value() == 42
    assert job.return_value(refresh=True) == 42


def test_timestamps_after_the_run(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.sleep_for, 0.05)
    make_worker([queue]).work(burst=True)
    job.refresh()
    for stamp in (job.created_at, job.enqueued_at, job.started_at, job.ended_at):
        assert isinstance(stamp, datetime.datetime)
        assert stamp.tzinfo == UTC
    assert job.created_at <= job.enqueued_at <= job.started_at <= job.ended_at
    assert job.ended_at - job.started_at >= datetime.timedelta(seconds=0.05)
    assert abs(job.ended_at - datetime.datetime.now(UTC)) < datetime.timedelta(seconds=10)


def test_exc_info_of_a_failed_job(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.fail, "bad input")
    make_worker([queue]).work(burst=True)
    assert job.is_failed
    assert job.result is None
    assert job.exc_info.startswith("Traceback (most recent call last)")
    assert "ValueError: bad input" in job.exc_info
    assert 'jobs.py", line' in job.exc_info
    fetched = _fetch(job.id, redis_conn, key_prefix)
    assert fetched.exc_info == job.exc_info
    assert fetched.ended_at is not None


def test_repr(queue):
    job = queue.enqueue(jobs.add, 1, 2)
    assert repr(job) == f"Job({job.id!r}, enqueued_at={job.enqueued_at!r})"
    assert re.fullmatch(
        r"Job\('[0-9a-f-]{36}', enqueued_at=datetime\.datetime\(\d{4}, \d+, \d+, .*"
        r"tzinfo=datetime\.timezone\.utc\)\)",
        repr(job),
    )


def test_refresh_reloads_fields(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 2)
    make_worker([queue]).work(burst=True)
    assert job.get_status(refresh=False) == "queued"
    assert job.ended_at is None
    job.refresh()
    assert job.get_status(refresh=False) == "finished"
    assert job.ended_at is not None
    assert job.worker_name


def test_refresh_of_a_deleted_job_raises(queue):
    job = queue.enqueue(jobs.add, 1, 2)
    job.delete()
    with pytest.raises(NoSuchJobError):
        job.refresh()


def test_meta_and_save_meta(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2, meta={"a": 1})
    job.meta["progress"] = 50
    job.save_meta()
    fetched = _fetch(job.id, redis_conn, key_prefix)
    assert fetched.meta == {"a": 1, "progress": 50}
    assert job.get_meta() == {"a": 1, "progress": 50}


def test_save_meta_of_a_deleted_job_does_not_resurrect_it(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2)
    job.delete()
    job.meta["x"] = 1
    with pytest.raises(NoSuchJobError):
        job.save_meta()
    assert not redis_conn.exists(job.key)


def test_meta_set_from_inside_the_job(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.write_meta, "progress", 100, meta={"before": True})
    make_worker([queue]).work(burst=True)
    assert job.result == job.id
    assert job.get_meta() == {"before": True, "progress": 100}
    assert _fetch(job.id, redis_conn, key_prefix).meta == {"before": True, "progress": 100}


def test_get_current_job_is_none_outside_a_job():
    assert get_current_job() is None


def test_get_current_job_inside_a_job(queue, make_worker):
    job = queue.enqueue(jobs.current_job_id)
    make_worker([queue]).work(burst=True)
    assert job.result == job.id
    assert get_current_job() is None


def test_perform_in_the_caller(queue):
    job = queue.enqueue(jobs.add, 2, 3)
    assert job.perform() == 5
    assert job.is_queued  # performing by hand records nothing


# -- results kept for result_ttl --------------------------------------------------


def test_result_kept_for_default_500_seconds(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2)
    make_worker([queue]).work(burst=True)
    assert 490 <= redis_conn.ttl(job.key) <= 500
    assert job.id in queue.finished_job_registry
    score = redis_conn.zscore(queue.finished_job_registry.key, job.id)
    assert abs(score - (time.time() + 500)) < 10


def test_result_ttl_custom(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2, result_ttl=100)
    make_worker([queue]).work(burst=True)
    assert 90 <= redis_conn.ttl(job.key) <= 100
    assert job.result == 3


def test_result_ttl_zero_keeps_nothing(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2, result_ttl=0)
    worker = make_worker([queue])
    worker.work(burst=True)
    assert worker.successful_job_count == 1
    assert not redis_conn.exists(job.key)
    with pytest.raises(InvalidJobOperation):  # gone, as in RQ
        job.get_status()
    assert job.get_status(refresh=False) is None and not job.is_finished
    assert job.id not in queue.finished_job_registry
    assert queue.finished_job_registry.count == 0
    with pytest.raises(NoSuchJobError):
        _fetch(job.id, redis_conn, key_prefix)


def test_result_ttl_minus_one_keeps_forever(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2, result_ttl=-1)
    make_worker([queue]).work(burst=True)
    assert redis_conn.ttl(job.key) == -1
    assert job.result == 3
    assert job.id in queue.finished_job_registry
    assert queue.finished_job_registry.cleanup(timestamp=time.time() + 10**9) == 0


def test_failed_job_kept_for_one_year_by_default(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    assert job.id in queue.failed_job_registry
    assert 31536000 - 10 <= redis_conn.ttl(job.key) <= 31536000
    assert "ValueError: boom" in job.exc_info


def test_failure_ttl_custom_and_forever(queue, make_worker, redis_conn):
    short = queue.enqueue(jobs.fail, failure_ttl=60)
    forever = queue.enqueue(jobs.fail, failure_ttl=-1)
    make_worker([queue]).work(burst=True)
    assert 50 <= redis_conn.ttl(short.key) <= 60
    assert redis_conn.ttl(forever.key) == -1
    assert {short.id, forever.id} == set(queue.failed_job_registry.get_job_ids())


def test_ttl_expires_a_job_waiting_in_the_queue(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2, ttl=100)
    assert 90 <= redis_conn.ttl(job.key) <= 100
    stale = queue.enqueue(jobs.add, 1, 1, ttl=1)
    redis_conn.delete(stale.key)  # as if its ttl had run out
    worker = make_worker([queue])
    worker.work(burst=True)
    assert worker.successful_job_count == 1
    # Once taken by a worker the waiting ttl no longer applies; the result_ttl does.
    assert 490 <= redis_conn.ttl(job.key) <= 500


# -- operations --------------------------------------------------------------------


def test_requeue_a_failed_job(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.fail_until, 2)
    make_worker([queue]).work(burst=True)
    assert job.is_failed
    assert job.requeue().get_status(refresh=False) == JobStatus.QUEUED
    assert job.is_queued
    assert job.id not in queue.failed_job_registry
    assert queue.job_ids == [job.id]
    assert redis_conn.ttl(job.key) == -1
    assert _fetch(job.id, redis_conn, key_prefix).exc_info is None
    make_worker([queue]).work(burst=True)
    assert job.is_finished
    assert job.result == 2


def test_requeue_a_job_that_has_not_failed_is_refused(queue):
    job = queue.enqueue(jobs.add, 1, 1)
    with pytest.raises(InvalidJobOperation, match="queued"):
        job.requeue()
    with pytest.raises(NoSuchJobError):
        Job("nope", queue.connection, prefix=queue.keys.prefix).requeue()


def test_cancel_a_queued_job(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    other = queue.enqueue(jobs.add, 2, 2)
    job.cancel()
    assert job.is_canceled
    assert queue.job_ids == [other.id]
    assert job.id in queue.canceled_job_registry
    worker = make_worker([queue])
    worker.work(burst=True)
    assert worker.successful_job_count == 1
    assert job.is_canceled
    assert job.result is None


def test_cancel_a_deferred_job_and_requeue_it(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    child.cancel()
    assert child.is_canceled
    assert child.id not in queue.deferred_job_registry
    # Requeued while its parent is still pending, it waits again.
    assert child.requeue().get_status(refresh=False) == JobStatus.DEFERRED
    make_worker([queue]).work(burst=True)
    assert child.is_finished


def test_cancel_a_finished_job_is_refused(queue, make_worker):
    job = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True)
    with pytest.raises(InvalidJobOperation, match="finished"):
        job.cancel()
    assert job.is_finished


def test_canceled_job_releases_dependents_that_allow_failure(queue, make_worker):
    from django_jobqueue.engine import Dependency

    parent = queue.enqueue(jobs.add, 1, 1)
    strict = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    lenient = queue.enqueue(jobs.add, 3, 3, depends_on=Dependency([parent], allow_failure=True))
    parent.cancel()
    assert lenient.is_queued
    assert strict.is_deferred
    make_worker([queue]).work(burst=True)
    assert lenient.result == 6
    assert strict.is_deferred


def test_delete(queue, make_worker, redis_conn):
    queued = queue.enqueue(jobs.add, 1, 1)
    queued.delete()
    assert not redis_conn.exists(queued.key)
    assert queue.job_ids == []
    with pytest.raises(InvalidJobOperation):
        queued.get_status()

    failed = queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    failed.delete()
    assert not redis_conn.exists(failed.key)
    assert failed.id not in queue.failed_job_registry
    assert queue.failed_job_registry.count == 0


def test_delete_of_a_parent_releases_lenient_dependents(queue):
    from django_jobqueue.engine import Dependency

    parent = queue.enqueue(jobs.add, 1, 1)
    lenient = queue.enqueue(jobs.add, 3, 3, depends_on=Dependency(parent, allow_failure=True))
    strict = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    parent.delete()
    assert lenient.is_queued
    assert strict.is_deferred


def test_job_equality_and_hash(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 1)
    fetched = _fetch(job.id, redis_conn, key_prefix)
    assert job == fetched
    assert len({job, fetched}) == 1
    assert job != queue.enqueue(jobs.add, 1, 1)


def test_corrupt_data_reads_as_deserialization_error(queue, redis_conn, key_prefix):
    from django_jobqueue.engine import DeserializationError

    job = queue.enqueue(jobs.add, 1, 1)
    redis_conn.hset(job.key, "data", b"\x00garbage")
    fetched = _fetch(job.id, redis_conn, key_prefix)
    with pytest.raises(DeserializationError, match=job.id):
        fetched.args
    assert fetched.call_string() == "tests.engine.jobs.add(?)"


def test_retry_validation():
    assert Retry(max=3).intervals == [0]
    assert Retry(max=2, interval=[1, 2]).intervals == [1, 2]
    for bad in ({"max": 0}, {"max": True}, {"max": 1, "interval": -1}, {"max": 1, "interval": []}):
        with pytest.raises(ValueError):
            Retry(**bad)
    # As RQ counts: waits from the end of the list by the retries left, the first repeating.
    assert [Retry.delay([1, 5], left) for left in (3, 2, 1)] == [1, 1, 5]
    assert [Retry.delay([1, 2, 3], left) for left in (3, 2, 1)] == [1, 2, 3]
    assert (Retry.delay([], 2), Retry.delay(None, 1)) == (0, 0)
    # RQ's names: the repr, get_interval (the last interval repeats), the keyword.
    assert repr(Retry(max=1)) == "Retry(max=1, interval=0, enqueue_at_front=False)"
    assert repr(Retry(2, [1, 2], True)) == "Retry(max=2, interval=[1, 2], enqueue_at_front=True)"
    assert [Retry.get_interval(n, [1, 5]) for n in range(3)] == [1, 5, 5]
    assert (Retry.get_interval(4, 7), Retry.get_interval(0, [])) == (7, 0)
    with pytest.raises(TypeError):
        Retry(max=1, enqueue_at_front="yes")


def test_number_of_retries_and_the_next_interval(queue, make_worker):
    job = queue.enqueue(jobs.fail, retry=Retry(max=2, interval=[0, 0]))
    assert (job.number_of_retries, job.get_retry_interval()) == (0, 0)
    make_worker([queue]).work(burst=True, max_jobs=1)
    job.refresh()
    assert (job.number_of_retries, job.retries_left) == (1, 1)
    assert queue.enqueue(jobs.add, 1, 1).number_of_retries is None
    spaced = queue.enqueue(jobs.fail, retry=Retry(max=3, interval=[10, 20]))
    assert spaced.get_retry_interval() == 10


def test_retry_is_stored(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.fail, retry=Retry(max=3, interval=[1, 2, 4]))
    fetched = _fetch(job.id, redis_conn, key_prefix)
    assert fetched.retries_left == 3
    assert fetched.retry_max == 3
    assert fetched.retry_intervals == [1, 2, 4]
    with pytest.raises(TypeError):
        queue.enqueue(jobs.fail, retry=3)


def test_a_function_patched_after_its_first_run_is_the_one_that_runs(queue, monkeypatch):
    from django_jobqueue.engine import SimpleWorker

    first = queue.enqueue("tests.engine.jobs.add", 1, 2)
    SimpleWorker([queue]).work(burst=True)
    monkeypatch.setattr(jobs, "add", lambda a, b: "patched")
    second = queue.enqueue("tests.engine.jobs.add", 1, 2)
    SimpleWorker([queue]).work(burst=True)
    assert (first.result, second.result) == (3, "patched")


# -- where a job lives -----------------------------------------------------------


def test_a_job_lives_in_redis_unless_an_in_memory_queue_ran_it(redis_conn, key_prefix):
    from django_jobqueue.engine import Queue
    from django_jobqueue.engine.job import MEMORY, REDIS

    assert Job(connection=redis_conn).store is REDIS
    inline = Queue("inline", redis_conn, is_async=False, in_memory=True, prefix=key_prefix)
    job = inline.enqueue(jobs.add, 1, 2)
    assert job.store is MEMORY and job.detached
    assert job.result == 3
    assert job.get_status() == JobStatus.FINISHED
    assert redis_conn.keys(f"{key_prefix}*") == []
    with pytest.raises(InvalidJobOperation, match="ran inline and was never stored"):
        job.requeue()


# -- RQ's names: save, exists, position, dependencies, scheduled time -------------------


def test_save_stores_what_people_change_and_keeps_the_place(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2)
    job.meta["step"] = 3
    job.description = "adding"
    job.result_ttl = 60
    job.save()
    again = _fetch(job.id, redis_conn, key_prefix)
    assert (again.meta, again.description, again.result_ttl) == ({"step": 3}, "adding", 60)
    assert again.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    job.description = None
    job.save()
    assert _fetch(job.id, redis_conn, key_prefix).description == "tests.engine.jobs.add(1, 2)"


def test_save_of_a_created_job_stores_it_in_no_queue_until_it_is_enqueued(queue, redis_conn):
    job = Job.create(
        jobs.add, (1, 2), connection=redis_conn, origin=queue.name, prefix=queue.keys.prefix
    )
    assert job.get_status(refresh=False) == JobStatus.CREATED  # as RQ: before it is saved too
    job.save()
    assert job.get_status() == JobStatus.CREATED
    stored = Job.fetch(job.id, redis_conn, prefix=queue.keys.prefix)  # found without its queue
    assert (stored.get_status(), stored.args, stored.origin) == (
        JobStatus.CREATED,
        (1, 2),
        queue.name,
    )
    assert queue.count == 0
    assert Worker([queue]).work(burst=True) is False  # nothing for a worker to take
    queue.enqueue_job(stored)
    assert queue.get_job_ids() == [job.id]
    Worker([queue]).work(burst=True)
    assert stored.latest_result().return_value == 3


def test_save_of_a_created_job_keeps_a_job_that_has_its_id_and_honours_ttl(queue, redis_conn):
    queued = queue.enqueue(jobs.add, 1, 2, job_id="taken")
    twin = Job.create(
        jobs.add,
        (5, 6),
        id="taken",
        connection=redis_conn,
        origin=queue.name,
        prefix=queue.keys.prefix,
    )
    with pytest.raises(DuplicateJobError, match="already queued"):
        twin.save()
    assert queue.fetch_job("taken").args == (1, 2) and queue.get_job_ids() == [queued.id]
    brief = Job.create(
        jobs.add,
        (1, 2),
        ttl=30,
        connection=redis_conn,
        origin=queue.name,
        prefix=queue.keys.prefix,
    )
    brief.save()
    assert 0 < redis_conn.ttl(brief.key) <= 30


def test_save_refuses_a_job_that_is_gone(queue):
    stored = queue.enqueue(jobs.add, 1, 2)
    stored.delete()
    with pytest.raises(NoSuchJobError):
        stored.save()


def test_save_script_never_resurrects_a_job(queue, redis_conn):
    from django_jobqueue.engine import scripts

    job = queue.enqueue(jobs.add, 1, 2, description="d")
    assert scripts.save(redis_conn, job.key, {"desc": None, "timeout": 9}) == 1
    assert redis_conn.hmget(job.key, ["desc", "timeout"]) == [None, b"9"]
    gone = queue.keys.job(queue.name, "gone")
    assert scripts.save(redis_conn, gone, {"timeout": 9}) == 0
    assert not redis_conn.exists(gone)


def test_exists(queue):
    job = queue.enqueue(jobs.add, 1, 2)
    prefix = queue.keys.prefix
    assert Job.exists(job.id, queue.connection, prefix=prefix)
    assert Job.exists(job.id, queue.connection, origin="default", prefix=prefix)
    assert not Job.exists(job.id, queue.connection, origin="other", prefix=prefix)
    assert not Job.exists("nope", queue.connection, prefix=prefix)


def test_get_position_follows_priorities(queue):
    a, b = queue.enqueue(jobs.add, 1, 1), queue.enqueue(jobs.add, 2, 2)
    first = queue.enqueue(jobs.add, 3, 3, priority=9)
    last = queue.enqueue(jobs.add, 4, 4, priority=-9)
    assert [j.get_position() for j in (first, a, b, last)] == [0, 1, 2, 3]
    assert [queue.get_job_position(j) for j in (first, a, b, last)] == [0, 1, 2, 3]
    queue.remove(a)
    assert a.get_position() is None
    assert b.get_position() == 1


def test_get_call_string(queue):
    assert queue.enqueue(jobs.add, 1, b=2).get_call_string() == "tests.engine.jobs.add(1, b=2)"


def test_dependencies_are_met(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    assert queue.enqueue(jobs.add, 1, 1).dependencies_are_met()
    assert not child.dependencies_are_met()
    make_worker([queue]).work(burst=True)
    assert child.dependencies_are_met()
    parent.delete()
    assert child.dependencies_are_met()


def test_dependencies_are_met_takes_rqs_keywords(queue):
    first, second = queue.enqueue(jobs.add, 1, 1), queue.enqueue(jobs.add, 2, 2)
    child = queue.enqueue(jobs.add, 3, 3, depends_on=[first, second])
    assert not child.dependencies_are_met(first)
    assert not child.dependencies_are_met(exclude_job_id=first.id)  # second still waits
    second.set_status(JobStatus.FINISHED)  # as the parent's object says, not Redis
    assert child.dependencies_are_met(second, exclude_job_id=first.id, refresh_job_status=False)
    assert not child.dependencies_are_met(second, exclude_job_id=first.id)  # Redis: queued


def test_get_scheduled_time(queue):
    when = datetime.datetime(2100, 1, 1, tzinfo=UTC)
    assert queue.enqueue_at(when, jobs.add, 1, 1).get_scheduled_time() == when
    assert queue.enqueue(jobs.add, 1, 1).get_scheduled_time() is None


def test_cancel_job_and_requeue_job_by_id(queue, redis_conn, key_prefix):
    from django_jobqueue.engine import cancel_job, requeue_job

    job = queue.enqueue(jobs.add, 1, 1)
    cancel_job(job.id, redis_conn, prefix=key_prefix)
    assert job.is_canceled
    with pytest.raises(InvalidJobOperation, match="canceled"):
        cancel_job(job.id, redis_conn, prefix=key_prefix)
    again = requeue_job(job.id, redis_conn, prefix=key_prefix)
    assert again == job and again.get_status() == JobStatus.QUEUED
    with pytest.raises(NoSuchJobError):
        requeue_job("nope", redis_conn, prefix=key_prefix)


@pytest.mark.parametrize("enqueue_dependents", [False, True])
def test_cancel_with_enqueue_dependents_releases_the_chain(enqueue_dependents, queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    job = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    child = queue.enqueue(jobs.add, 3, 3, depends_on=job)
    grandchild = queue.enqueue(jobs.add, 4, 4, depends_on=child)
    job.cancel(enqueue_dependents=enqueue_dependents)
    make_worker([queue]).work(burst=True)
    assert parent.is_finished and job.is_canceled
    ended = JobStatus.FINISHED if enqueue_dependents else JobStatus.DEFERRED
    assert child.get_status() == grandchild.get_status() == ended


def test_cancel_a_running_job_lets_it_end_but_not_its_dependents(queue, spawn_worker, redis_conn):
    parent = queue.enqueue(jobs.sleep_for, 1.5, "done")
    child = queue.enqueue(jobs.add, 2, 2, depends_on=parent)
    spawn_worker("default", "Worker")
    wait_until(lambda: parent.get_status() == JobStatus.STARTED, message="never started")
    parent.cancel()
    assert parent.id in queue.canceled_job_registry
    assert parent.id not in queue.started_job_registry
    # It runs to its end: its result is kept, it stays canceled, the child waits.
    wait_until(lambda: parent.result == "done", timeout=10, message="no result")
    assert parent.get_status() == JobStatus.CANCELED
    after = queue.enqueue(jobs.add, 1, 2)
    wait_until(lambda: after.get_status() == JobStatus.FINISHED, message="the worker stopped")
    assert child.get_status() == JobStatus.DEFERRED
    assert parent.id not in queue.finished_job_registry


def test_last_heartbeat_is_the_running_workers_and_none_otherwise(queue, make_worker):
    job = queue.enqueue(jobs.own_last_heartbeat)
    assert job.last_heartbeat is None  # queued: nobody runs it
    make_worker([queue]).work(burst=True)
    assert abs(job.latest_result().return_value - time.time()) < 5
    assert job.last_heartbeat is None  # finished


# -- RQ's Job API: created jobs, data, meta, status ----------------------------


def test_a_job_not_enqueued_has_no_origin_until_saved_or_enqueued(redis_conn, key_prefix):
    job = Job.create(jobs.add, args=(1, 2), connection=redis_conn, prefix=key_prefix)
    assert job.origin == "" and job.created_at is not None and job.enqueued_at is None
    assert str(job) == f"<Job {job.id}: tests.engine.jobs.add(1, 2)>"
    job.save()  # kept under the default queue until a queue places it
    assert job.origin == "default"
    assert _fetch(job.id, redis_conn, key_prefix) == job

    other = Job.create(jobs.add, args=(3, 4), connection=redis_conn, prefix=key_prefix)
    Queue("other", connection=redis_conn, prefix=key_prefix).enqueue_job(other)
    assert other.origin == "other" and other.get_status() == JobStatus.QUEUED


def test_an_empty_job_has_no_call(redis_conn):
    job = Job("empty-job", connection=redis_conn)
    assert job.created_at is not None and job.origin == ""
    for attr in ("func", "instance", "args", "kwargs", "data"):
        with pytest.raises(DeserializationError):
            getattr(job, attr)
    with pytest.raises(ValueError, match="no function"):
        job.save()


def test_create_refuses_what_is_not_callable(redis_conn):
    with pytest.raises(TypeError, match="not callable"):
        Job.create(42, connection=redis_conn)


def test_data_is_the_call_as_rq_serializes_it(redis_conn, key_prefix):
    job = Job("by-hand", connection=redis_conn)
    job.func_name = "tests.engine.jobs.add"
    assert pickle.loads(job.data) == ("tests.engine.jobs.add", None, (), {})

    job.data = pickle.dumps(("tests.engine.jobs.echo", None, (1, 2), {"x": 3}))
    assert (job.func_name, job.instance, job.args, job.kwargs) == (
        "tests.engine.jobs.echo",
        None,
        (1, 2),
        {"x": 3},
    )
    stored = Job.create(jobs.add, args=(5, 6), connection=redis_conn, prefix=key_prefix)
    stored.save()
    fetched = _fetch(stored.id, redis_conn, key_prefix)
    assert pickle.loads(fetched.data) == ("tests.engine.jobs.add", None, (5, 6), {})
    assert fetched.data == stored.data


def test_data_of_a_signed_job_is_verified_then_signed_anew(redis_conn, key_prefix):
    from django_jobqueue.engine import payloads

    payloads.configure("test-signing-key")
    job = Job.create(jobs.add, args=(1, 2), connection=redis_conn, prefix=key_prefix)
    assert pickle.loads(job.data) == ("tests.engine.jobs.add", None, (1, 2), {})
    job.data = pickle.dumps(("tests.engine.jobs.add", None, (3, 4), {}))
    queue = Queue(connection=redis_conn, prefix=key_prefix)
    queue.enqueue_job(job)
    assert _fetch(job.id, redis_conn, key_prefix).args == (3, 4)  # the new call verifies


def test_unreadable_meta_is_kept_as_it_was_until_changed(redis_conn, key_prefix, queue):
    job = queue.enqueue(jobs.add, 1, 1)
    unreadable = b"cno_such_module_here\nOwner\n."  # a pickle naming a class not importable here
    redis_conn.hset(job.key, "meta", unreadable)
    job.refresh()
    assert job.meta == {"unserialized": unreadable}
    assert job.get_meta() == {"unserialized": unreadable}
    job.save()
    job.save_meta()
    assert redis_conn.hget(job.key, "meta") == unreadable
    job.meta["seen"] = True
    job.save_meta()
    assert pickle.loads(redis_conn.hget(job.key, "meta")) == {
        "unserialized": unreadable,
        "seen": True,
    }


def test_get_status_raises_once_the_job_is_gone(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    assert job.get_status() == JobStatus.QUEUED and job.is_queued
    redis_conn.delete(job.key)
    with pytest.raises(InvalidJobOperation, match="not in Redis"):
        job.get_status()
    assert not job.is_queued and job.get_status(refresh=False) is None


def test_failure_ttl_is_none_unless_given(redis_conn, key_prefix):
    plain = Job.create(jobs.add, args=(1, 1), connection=redis_conn, prefix=key_prefix)
    kept = Job.create(
        jobs.add, args=(1, 1), failure_ttl=15, connection=redis_conn, prefix=key_prefix
    )
    plain.save()
    kept.save()
    assert _fetch(plain.id, redis_conn, key_prefix).failure_ttl is None
    assert _fetch(kept.id, redis_conn, key_prefix).failure_ttl == 15


def test_cancel_of_a_canceled_job_says_so(queue):
    job = queue.enqueue(jobs.add, 1, 1, job_id="twice")
    job.cancel()
    with pytest.raises(InvalidJobOperation, match="Cannot cancel already canceled job: twice"):
        job.cancel()


def test_prepare_for_execution_marks_the_job_started(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1)
    with redis_conn.pipeline() as pipe:
        job.prepare_for_execution("someone", pipe)
        assert job.get_status() == JobStatus.QUEUED  # not before the caller executes
        pipe.execute()
    job.refresh()
    assert job.get_status() == JobStatus.STARTED and job.worker_name == "someone"
    assert job.started_at is not None and job.last_heartbeat is not None
    assert queue.job_ids == [] and job.id in queue.started_job_registry


def test_should_enqueue_at_front(redis_conn):
    job = Job.create(jobs.add, args=(1, 1), connection=redis_conn)
    assert not job.should_enqueue_at_front()
    job.enqueue_at_front = True
    assert job.should_enqueue_at_front()
    job.enqueue_at_front, job.enqueue_at_front_on_retry = False, True
    assert not job.should_enqueue_at_front()  # it never ran: not a retry
    job.ended_at = datetime.datetime.now(UTC)
    assert job.should_enqueue_at_front()


def test_to_dict_is_the_job_field_by_field(queue, make_worker, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2, meta={"a": 1}, description="adding")
    before = job.to_dict()
    assert before["func"] == "tests.engine.jobs.add" and before["desc"] == "adding"
    assert before["status"] == "queued" and before["origin"] == "default"
    assert "meta" in before and "meta" not in job.to_dict(include_meta=False)
    job.meta["b"] = 2
    job.save_meta()
    after = _fetch(job.id, redis_conn, key_prefix).to_dict()
    assert pickle.loads(after.pop("meta")) == {"a": 1, "b": 2}
    before.pop("meta")
    assert after == before
    make_worker([queue]).work(burst=True)
    job.refresh()
    assert pickle.loads(job.to_dict()["result"]) == 3
    assert "result" not in job.to_dict(include_result=False)


def test_a_saved_job_never_enqueued_can_be_canceled(redis_conn, key_prefix):
    job = Job.create(jobs.add, args=(1, 1), connection=redis_conn, prefix=key_prefix)
    with pytest.raises(InvalidJobOperation, match="not in Redis"):
        job.get_status()  # not saved yet
    job.save()
    job.cancel()
    assert job.get_status() == JobStatus.CANCELED
    assert job.id in Queue(connection=redis_conn, prefix=key_prefix).canceled_job_registry


def test_cleanup_keeps_an_ended_job_for_a_while(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1, result_ttl=-1)
    with pytest.raises(InvalidJobOperation, match="only a job that ended"):
        job.cleanup(100)  # still queued
    make_worker([queue]).work(burst=True)
    job.cleanup(100)
    assert 0 < redis_conn.ttl(job.key) <= 100
    due = redis_conn.zscore(queue.finished_job_registry.key, job.id)
    assert 0 < due - time.time() <= 100
    job.cleanup(-1)
    assert redis_conn.ttl(job.key) == -1
    with redis_conn.pipeline() as pipe:
        job.cleanup(50, pipe)
        pipe.execute()
    assert 0 < redis_conn.ttl(job.key) <= 50
    job.cleanup()  # None: nothing
    job.cleanup(0)
    assert not redis_conn.exists(job.key) and job.id not in queue.finished_job_registry


def test_cleanup_of_a_saved_job_never_enqueued_expires_its_hash(redis_conn, key_prefix):
    job = Job.create(jobs.add, args=(1, 1), connection=redis_conn, prefix=key_prefix)
    job.save()
    job.cleanup(100)
    assert 0 < redis_conn.ttl(job.key) <= 100


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"description": "d", "job_timeout": 5, "result_ttl": 7, "ttl": 60, "meta": {"a": 1}},
    ],
)
def test_loading_a_job_without_rare_fields_matches_reading_each_field(queue, monkeypatch, options):
    # Job._load sets the attributes of fields most jobs lack from defaults at
    # once (_RARE_DEFAULTS); reading every field one by one must give the same
    # job. A field added to _load but not to _RARE_FIELDS fails here.
    import importlib

    job_module = importlib.import_module("django_jobqueue.engine.job")
    stored = queue.enqueue(jobs.add, 1, 2, **options)
    fields = queue.connection.hgetall(stored.key)
    assert fields.keys().isdisjoint(job_module._RARE_FIELDS)
    fast = Job.from_hash(stored.id, fields, queue.connection, origin=queue.name)
    monkeypatch.setattr(job_module, "_RARE_FIELDS", frozenset(fields))  # every field read
    slow = Job.from_hash(stored.id, fields, queue.connection, origin=queue.name)
    assert vars(fast).keys() == vars(slow).keys()
    for name, value in vars(slow).items():
        if name not in ("connection", "_loaded"):
            assert vars(fast)[name] == value, name
    assert fast.callback_timeouts is not slow.callback_timeouts  # not shared between jobs
