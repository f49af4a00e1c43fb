"""Batches: callbacks that run once when every job has ended (engine/batches.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from django_jobqueue.engine import (
    Batch,
    BatchCompleteError,
    BatchProgress,
    BatchStatus,
    Callback,
    DuplicateJobError,
    Job,
    JobStatus,
    NoSuchBatchError,
    Queue,
    Retry,
    scripts,
)
from django_jobqueue.engine.batches import BATCH_META

from . import batch_jobs
from .conftest import wait_until


@pytest.fixture
def calls(redis_conn, key_prefix):
    return lambda: batch_jobs.calls(redis_conn, key_prefix)


def _create(queue, **kwargs):
    kwargs.setdefault("on_success", batch_jobs.record)
    kwargs.setdefault("on_complete", batch_jobs.record)
    return Batch.create(queue, **kwargs)


def _work(make_worker, queue):
    make_worker([queue]).work(burst=True)


def test_both_callbacks_run_once_when_every_job_finished(queue, make_worker, calls):
    batch = _create(queue, name="b1")
    made = [batch.enqueue(batch_jobs.ok, i) for i in range(3)]
    assert batch.status == BatchStatus.OPEN
    batch.close()
    assert batch.status == BatchStatus.RUNNING
    assert batch.progress == BatchProgress(3, 0, 0, 3)
    _work(make_worker, queue)
    assert sorted(calls()) == ["on_complete:b1", "on_success:b1"]
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.progress == BatchProgress(3, 3, 0, 0)
    assert batch.progress.percent == 100
    assert [job.id for job in batch.jobs] == [job.id for job in made]
    assert all(job.meta[BATCH_META] == "b1" for job in made)
    assert batch.callback_job("on_success").get_status() == JobStatus.FINISHED
    assert batch.callback_job("on_success").result == "b1"  # the callback got the batch id


def test_a_failed_job_fires_on_complete_only_and_a_successful_requeue_fires_on_success(
    queue, make_worker, calls, redis_conn, key_prefix
):
    batch = _create(queue, name="b2")
    batch.enqueue(batch_jobs.ok)
    flaky = batch.enqueue(batch_jobs.fail_until_flag)
    batch.close()
    _work(make_worker, queue)
    assert calls() == ["on_complete:b2"]
    assert batch.status == BatchStatus.FAILED
    assert batch.progress == BatchProgress(2, 1, 1, 0)
    assert batch.callback_job("on_success").get_status() == JobStatus.DEFERRED
    redis_conn.set(f"{key_prefix}test:flag", 1)
    flaky.requeue()
    _work(make_worker, queue)
    assert calls() == ["on_complete:b2", "on_success:b2"]
    assert batch.status == BatchStatus.SUCCEEDED


def test_a_job_retried_by_its_retry_counts_once_it_has_ended(queue, make_worker, calls):
    batch = _create(queue, name="b3")
    batch.enqueue_call(batch_jobs.boom, retry=Retry(max=2))
    batch.close()
    worker = make_worker([queue])
    worker.work(burst=True)
    assert calls() == ["on_complete:b3"]  # once, after the third run failed
    assert batch.progress == BatchProgress(1, 0, 1, 0)


def test_callbacks_wait_for_close_even_when_every_job_has_ended(
    queue, make_worker, calls, redis_conn, key_prefix
):
    batch = _create(queue, name="b4")
    batch.enqueue(batch_jobs.ok)
    _work(make_worker, queue)
    assert calls() == []
    assert batch.status == BatchStatus.OPEN
    assert batch.progress == BatchProgress(1, 1, 0, 0)
    batch.enqueue(batch_jobs.ok)  # still open: taken
    assert batch.closed_at is None
    batch.close()
    # This object says when, without a refresh(), as Redis has it.
    assert batch.closed_at == Batch.fetch("b4", redis_conn, prefix=key_prefix).closed_at
    assert batch.closed_at is not None
    assert batch.close() is False  # twice: nothing more
    _work(make_worker, queue)
    assert sorted(calls()) == ["on_complete:b4", "on_success:b4"]
    assert batch.progress.total == 2


def test_an_empty_batch_fires_both_callbacks_at_close(queue, make_worker, calls):
    batch = _create(queue, name="empty")
    assert batch.close() is True
    _work(make_worker, queue)
    assert sorted(calls()) == ["on_complete:empty", "on_success:empty"]
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.progress == BatchProgress(0, 0, 0, 0)
    assert batch.progress.percent == 100


def test_jobs_may_be_added_while_it_runs_until_it_completes(queue, make_worker, calls):
    batch = _create(queue, name="grow")
    first = batch.enqueue(batch_jobs.ok)
    batch.close()
    later = batch.enqueue(batch_jobs.ok)  # closed but not complete: the callbacks wait for it
    assert batch.progress == BatchProgress(2, 0, 0, 2)
    _work(make_worker, queue)
    assert first.get_status() == later.get_status() == JobStatus.FINISHED
    assert sorted(calls()) == ["on_complete:grow", "on_success:grow"]
    before = queue.count
    with pytest.raises(BatchCompleteError, match="takes no more jobs"):
        batch.enqueue(batch_jobs.ok)
    assert queue.count == before  # nothing stored
    assert batch.progress.total == 2


def test_a_job_added_after_its_batch_ended_but_announced_late_is_still_counted(
    queue, make_worker, calls
):
    """A job that ends between being stored and being announced to the callbacks
    releases them itself through the announcing step."""
    batch = _create(queue, name="late")
    batch.enqueue(batch_jobs.ok)
    batch.close()
    ids = ["j1"]
    callbacks = [batch.callback_key(role) for role in ("on_complete", "on_success")]
    scripts.batch_add(queue.connection, queue.keys, queue.name, "late", callbacks, ids)
    job = queue.enqueue(batch_jobs.ok, job_id="j1")
    _work(make_worker, queue)
    assert job.get_status() == JobStatus.FINISHED
    assert calls() == []  # the job did not know its callbacks yet
    batch._announce([job], callbacks)
    _work(make_worker, queue)
    assert sorted(calls()) == ["on_complete:late", "on_success:late"]


def test_the_with_block_closes_the_batch_unless_it_raised(queue, calls):
    with _create(queue, name="w1") as batch:
        batch.enqueue(batch_jobs.ok)
    assert batch.status == BatchStatus.RUNNING
    with pytest.raises(RuntimeError), _create(queue, name="w2") as other:
        other.enqueue(batch_jobs.ok)
        raise RuntimeError("while adding")
    assert other.status == BatchStatus.OPEN


def test_fetch_finds_a_batch_by_id(queue, redis_conn, key_prefix):
    batch = _create(queue, name="found", description="nightly import")
    fetched = Batch.fetch("found", redis_conn, prefix=key_prefix)
    assert fetched == batch
    assert fetched.description == "nightly import"
    assert fetched.callback_name("on_success") == "tests.engine.batch_jobs.record"
    with pytest.raises(NoSuchBatchError):
        Batch.fetch("nope", redis_conn, prefix=key_prefix)
    batch.delete()
    with pytest.raises(NoSuchBatchError):
        Batch.fetch("found", redis_conn, prefix=key_prefix)
    assert batch.callback_job("on_success") is None


def test_bad_arguments_are_refused_early(queue, make_queue):
    batch = _create(queue, name="dup")
    with pytest.raises(Exception, match="exists already"):
        _create(queue, name="dup")
    with pytest.raises(Exception, match="exists already"):
        _create(make_queue("other"), name="dup")  # unique under the prefix
    with pytest.raises(ValueError, match="depends_on"):
        batch.enqueue_call(batch_jobs.ok, depends_on="x")
    with pytest.raises(Exception, match="lambda"):
        _create(queue, on_success=lambda batch_id: None)
    with pytest.raises(ValueError, match="at most"):
        _create(queue, name="x" * 181)


def test_without_callbacks_the_batch_still_counts(queue, make_worker):
    batch = Batch.create(queue, name="bare")
    batch.enqueue(batch_jobs.ok)
    batch.enqueue(batch_jobs.boom)
    batch.close()
    _work(make_worker, queue)
    assert batch.status == BatchStatus.FAILED
    assert batch.progress == BatchProgress(2, 1, 1, 0)


def test_a_failing_callback_is_retried_by_its_retry_and_runs_to_success_once(
    queue, make_worker, calls
):
    batch = _create(
        queue,
        name="cbr",
        on_complete=Callback(batch_jobs.fail_once_then_record, timeout=5),
        callback_retry=Retry(max=2),
    )
    batch.enqueue(batch_jobs.ok)
    batch.close()
    _work(make_worker, queue)
    complete = batch.callback_job("on_complete")
    assert complete.get_status() == JobStatus.FINISHED
    assert complete.timeout == 5
    assert batch.callback_job("on_success").timeout == queue.default_timeout
    assert sorted(calls()) == ["on_complete:cbr", "on_success:cbr"]


def test_a_close_whose_release_was_lost_is_finished_by_the_deferred_sweep(
    queue, make_worker, calls
):
    batch = _create(queue, name="swept")
    batch.enqueue(batch_jobs.ok)
    _work(make_worker, queue)
    # The closing process dies after closing, before releasing the callbacks.
    scripts.batch_close(queue.connection, queue.keys, queue.name, "swept", time.time())
    assert queue.deferred_job_registry.release_ready(older_than=0) == 2
    _work(make_worker, queue)
    assert sorted(calls()) == ["on_complete:swept", "on_success:swept"]


def test_an_open_batch_is_not_released_by_the_deferred_sweep(queue, make_worker, calls):
    batch = _create(queue, name="open")
    batch.enqueue(batch_jobs.ok)
    _work(make_worker, queue)
    assert queue.deferred_job_registry.release_ready(older_than=0) == 0
    assert batch.status == BatchStatus.OPEN


# -- is_async=False ------------------------------------------------------------------


def test_inline_jobs_run_as_added_and_the_callbacks_run_at_close(make_queue, calls):
    inline = make_queue("inline", is_async=False)
    batch = _create(inline, name="in1")
    job = batch.enqueue(batch_jobs.ok, 7)
    assert job.get_status() == JobStatus.FINISHED
    assert calls() == []
    assert batch.status == BatchStatus.OPEN
    batch.close()
    assert sorted(calls()) == ["on_complete:in1", "on_success:in1"]
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.progress == BatchProgress(1, 1, 0, 0)
    with pytest.raises(BatchCompleteError):
        batch.enqueue(batch_jobs.ok)


def test_inline_failure_runs_on_complete_only(make_queue, calls):
    inline = make_queue("inline", is_async=False)
    with _create(inline, name="in2") as batch:
        batch.enqueue(batch_jobs.ok)
        batch.enqueue(batch_jobs.boom)
    assert calls() == ["on_complete:in2"]
    assert batch.status == BatchStatus.FAILED
    assert batch.progress == BatchProgress(2, 1, 1, 0)


def test_inline_empty_batch_runs_both_at_close(make_queue, calls):
    inline = make_queue("inline", is_async=False)
    _create(inline, name="in3").close()
    assert sorted(calls()) == ["on_complete:in3", "on_success:in3"]


def test_an_in_memory_batch_lives_in_this_process_as_its_jobs_do(
    make_queue, redis_conn, key_prefix, calls
):
    memory = make_queue("mem", is_async=False, in_memory=True)
    batch = Batch.create(memory, name="mem1", on_complete=batch_jobs.ok, on_success=batch_jobs.ok)
    batch.enqueue(batch_jobs.ok, 1)
    failed = batch.enqueue(batch_jobs.boom)
    assert Batch.fetch("mem1") is batch
    assert batch.status == BatchStatus.OPEN
    batch.close()
    assert batch.close() is False
    assert batch.callback_job("on_complete").result == "mem1"  # ran, given the batch id
    assert batch.callback_job("on_success").get_status() == JobStatus.DEFERRED
    assert batch.status == BatchStatus.FAILED
    assert batch.progress == BatchProgress(2, 1, 1, 0)
    assert batch.jobs[1] is failed
    with pytest.raises(BatchCompleteError):
        batch.enqueue(batch_jobs.ok)
    assert not redis_conn.keys(f"{key_prefix}*batch*")  # nothing in Redis
    batch.delete()
    with pytest.raises(NoSuchBatchError):
        Batch.fetch("mem1", redis_conn, prefix=key_prefix)


# -- processes -------------------------------------------------------------------------


def test_racing_workers_fire_each_callback_exactly_once(queue, spawn_worker, calls):
    """Many small batches, their last jobs ended by several worker processes at once."""
    batches = []
    for n in range(15):
        batch = _create(queue, name=f"race{n}")
        batch.enqueue_many([Queue.prepare_data(batch_jobs.ok, (i,)) for i in range(8)])
        batch.close()
        batches.append(batch)
    procs = [spawn_worker("default", "SimpleWorker", burst=True) for _ in range(4)]
    for proc in procs:
        proc.wait(timeout=60)
    wait_until(lambda: len(calls()) >= 30, timeout=20)
    time.sleep(0.5)  # a second firing would show up by now
    expected = sorted(
        f"{role}:race{n}" for n in range(15) for role in ("on_complete", "on_success")
    )
    assert sorted(calls()) == expected
    assert all(batch.status == BatchStatus.SUCCEEDED for batch in batches)


def test_a_worker_killed_mid_job_still_leads_to_one_on_complete(
    queue, spawn_worker, make_worker, calls
):
    batch = _create(queue, name="killed")
    slow = batch.enqueue(batch_jobs.sleep_for, 30)
    batch.enqueue(batch_jobs.ok)
    batch.close()
    proc = spawn_worker("default", "SimpleWorker", worker_ttl=1, new_session=True)
    wait_until(lambda: slow.get_status() == JobStatus.STARTED, timeout=20)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert batch.status == BatchStatus.RUNNING
    registry = queue.started_job_registry
    wait_until(lambda: registry.cleanup(timestamp=time.time() + 10**6), timeout=10, interval=0.1)
    assert slow.get_status() == JobStatus.FAILED
    _work(make_worker, queue)
    registry.cleanup(timestamp=time.time() + 10**6)  # a second sweep changes nothing
    queue.deferred_job_registry.release_ready(older_than=0)
    _work(make_worker, queue)
    assert calls() == ["on_complete:killed"]
    assert batch.status == BatchStatus.FAILED
    assert batch.progress == BatchProgress(2, 1, 1, 0)


def test_a_job_not_in_a_batch_is_untouched(queue, make_worker):
    job = queue.enqueue(batch_jobs.ok)
    _work(make_worker, queue)
    stored = Job.fetch(job.id, queue.connection, prefix=queue.keys.prefix)
    assert BATCH_META not in stored.meta
    assert stored.dependent_ids == []


def test_a_job_whose_storing_failed_is_taken_back_from_the_batch(queue, make_worker, calls):
    queue.enqueue(batch_jobs.sleep_for, 0, job_id="taken")
    batch = _create(queue, name="taken-back")
    batch.enqueue(batch_jobs.ok)
    with pytest.raises(DuplicateJobError):
        batch.enqueue_call(batch_jobs.ok, job_id="taken", unique=True)
    assert batch.progress == BatchProgress(1, 0, 0, 1)
    assert "taken" not in batch.job_ids()
    batch.close()
    _work(make_worker, queue)
    assert sorted(calls()) == ["on_complete:taken-back", "on_success:taken-back"]


def test_a_job_adds_more_work_to_its_own_closed_batch(queue, make_worker, calls):
    batch = _create(queue, name="self-grow")
    parent = batch.enqueue(batch_jobs.add_to_own_batch, 5)
    batch.close()
    worker = make_worker([queue])
    worker.work(burst=True, max_jobs=1)  # only the parent: it added a job, the batch waits
    assert calls() == []
    assert batch.progress == BatchProgress(2, 1, 0, 1)
    worker.work(burst=True)
    child = Job.fetch(parent.result, queue.connection, prefix=queue.keys.prefix)
    assert child.result == 5
    assert sorted(calls()) == ["on_complete:self-grow", "on_success:self-grow"]


def test_ids_reserved_by_a_process_that_died_count_as_deleted_jobs(queue, make_worker, calls):
    batch = _create(queue, name="died")
    callbacks = [batch.callback_key(role) for role in ("on_complete", "on_success")]
    # The adding process reserves an id, then dies before storing the job.
    scripts.batch_add(queue.connection, queue.keys, queue.name, "died", callbacks, ["ghost"])
    batch.enqueue(batch_jobs.ok)
    batch.close()
    _work(make_worker, queue)
    assert calls() == []
    queue.deferred_job_registry.release_ready(older_than=0)
    _work(make_worker, queue)
    assert calls() == ["on_complete:died"]
    assert batch.status == BatchStatus.FAILED
    assert batch.progress == BatchProgress(2, 1, 1, 0)


def test_the_callbacks_keep_their_pending_jobs_in_a_set_not_in_json(queue, redis_conn):
    batch = _create(queue, name="setwise")
    made = batch.enqueue_many([Queue.prepare_data(batch_jobs.ok, (i,)) for i in range(3)])
    key = batch.callback_key("on_success")
    assert redis_conn.hget(key, "pending") is None
    assert redis_conn.hget(key, "pending_set") == b"1"
    pending = queue.keys.pending(queue.name, batch.callback_id("on_success"))
    assert {k.decode() for k in redis_conn.smembers(pending)} == {
        batch.key,
        *(job.key for job in made),
    }


def test_inside_a_job_batch_fetch_uses_the_jobs_connection_and_prefix(queue, make_worker):
    batch = Batch.create(queue, name="reads", on_complete=batch_jobs.read_own_batch)
    batch.enqueue(batch_jobs.ok)
    batch.close()
    _work(make_worker, queue)
    assert batch.callback_job("on_complete").result == [BatchStatus.SUCCEEDED, 1, 1, 0, 0]


def test_the_deferred_sweep_samples_a_large_pending_set(queue, make_worker, calls):
    """A lost release in a batch with many pending jobs is found once few are left."""
    batch = _create(queue, name="big")
    batch.enqueue_many([Queue.prepare_data(batch_jobs.ok, (i,)) for i in range(30)])
    batch.close()
    # Every release lost: the jobs end but the callbacks are never told.
    callbacks = [batch.callback_key(role) for role in ("on_complete", "on_success")]
    for job in batch.jobs:
        for callback in callbacks:
            scripts.remove_dependent(queue.connection, job.key, callback)
    _work(make_worker, queue)
    assert calls() == []
    registry = queue.deferred_job_registry
    sweeps = 0
    while len(calls()) < 2 and sweeps < 50:
        registry.release_ready(older_than=0, batch=10)  # at most 10 parents per set a sweep
        _work(make_worker, queue)
        sweeps += 1
    assert sweeps > 1  # sampled, not read whole
    assert sorted(calls()) == ["on_complete:big", "on_success:big"]


def test_on_complete_counts_a_jobs_first_end_a_requeued_job_is_not_waited_for(
    queue, make_worker, calls, redis_conn, key_prefix
):
    batch = _create(queue, name="first-end")
    flaky = batch.enqueue(batch_jobs.fail_until_flag)
    batch.enqueue(batch_jobs.ok)
    batch.close()
    worker = make_worker([queue])
    worker.work(burst=True, max_jobs=1)
    assert flaky.get_status() == JobStatus.FAILED
    flaky.requeue()  # before the batch completed
    redis_conn.set(f"{key_prefix}test:flag", 1)
    worker.work(burst=True, max_jobs=1)  # the other job: every job has ended once
    assert flaky.get_status() == JobStatus.QUEUED
    assert batch.callback_job("on_complete").get_status() == JobStatus.QUEUED
    assert batch.callback_job("on_success").get_status() == JobStatus.DEFERRED
    worker.work(burst=True)
    assert calls() == ["on_complete:first-end", "on_success:first-end"]


def test_inline_close_after_a_finished_job_expired(make_queue, calls):
    inline = make_queue("inline", is_async=False)
    batch = _create(inline, name="in-expired")
    gone = batch.enqueue(batch_jobs.ok)
    kept = batch.enqueue(batch_jobs.ok)
    inline.connection.delete(gone.key)  # its result_ttl ran out
    batch.close()
    assert sorted(calls()) == ["on_complete:in-expired", "on_success:in-expired"]
    assert batch.progress == BatchProgress(2, 2, 0, 0)
    assert kept.get_status() == JobStatus.FINISHED
