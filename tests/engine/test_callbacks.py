"""Callbacks (``on_success``, ``on_failure``, ``on_stopped``) and their timeouts."""

from __future__ import annotations

import time

import pytest

from django_jobqueue.engine import Callback, EnqueueError, Job, JobStatus, Worker
from django_jobqueue.engine.callbacks import DEFAULT_CALLBACK_TIMEOUT, run_callback

from . import jobs

# Callbacks are imported by name, so they live at module level.


def note_status(job, connection, *rest):
    """Writes the status the job has, as the callback sees it, and in Redis."""
    connection.rpush(
        f"{job.keys.prefix}trace:seen",
        f"{job.get_status(refresh=False)}|{connection.hget(job.key, 'status').decode()}",
    )


def explode(job, connection, *rest):
    raise RuntimeError("callback failed")


def dawdle(job, connection, *rest):
    time.sleep(3)


async def async_callback(job, connection, *rest):
    pass


def _seen(queue):
    return [v.decode() for v in queue.connection.lrange(f"{queue.keys.prefix}trace:seen", 0, -1)]


def test_a_callback_is_a_function_a_dotted_path_or_a_builtins_name():
    assert Callback(jobs.add).timeout == DEFAULT_CALLBACK_TIMEOUT
    assert Callback("print").func == "builtins.print"
    assert Callback("tests.engine.jobs.add", timeout="2m").timeout == 120
    with pytest.raises(EnqueueError, match="module-level function"):
        Callback(Job.fetch)


def test_callbacks_are_stored_with_their_timeouts_and_read_back(queue):
    made = queue.enqueue(
        jobs.add, 1, 2, on_success=print, on_failure=Callback("print", 5), on_stopped="print"
    )
    stored = Job.fetch(made.id, queue.connection, prefix=queue.keys.prefix)
    assert stored.success_callback is stored.failure_callback is stored.stopped_callback is print
    assert (stored.success_callback_timeout, stored.failure_callback_timeout) == (60, 5)
    assert queue.enqueue(jobs.add, 1, 2).success_callback is None


def test_a_method_is_refused_as_a_callback(queue):
    with pytest.raises(ValueError):
        queue.enqueue(jobs.add, 1, 2, on_success=Job.fetch)
    assert queue.count == 0


def test_inside_on_success_the_job_counts_as_finished_but_is_recorded_after(queue, make_worker):
    made = queue.enqueue(jobs.add, 1, 2, on_success=note_status)
    make_worker([queue]).work(burst=True)
    # finished for the callback; still started in Redis until it returns
    assert _seen(queue) == ["finished|started"]
    assert made.get_status() == JobStatus.FINISHED
    assert made.id in queue.finished_job_registry


def test_a_failing_on_success_fails_the_job_in_one_place(queue, make_worker):
    made = queue.enqueue(jobs.add, 1, 2, on_success=explode)
    make_worker([queue]).work(burst=True)
    assert made.get_status() == JobStatus.FAILED
    assert "callback failed" in made.exc_info
    assert made.id in queue.failed_job_registry
    assert made.id not in queue.finished_job_registry
    assert made.id not in queue.started_job_registry


def test_on_success_runs_under_its_own_timeout(queue, make_worker):
    made = queue.enqueue(jobs.add, 1, 2, on_success=Callback(dawdle, timeout=1))
    started = time.monotonic()
    make_worker([queue]).work(burst=True)
    assert time.monotonic() - started < 2.5
    assert made.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in made.exc_info


def test_on_failure_sees_the_job_failed_and_its_error_is_only_logged(queue, make_worker):
    queue.enqueue(jobs.fail, "nope", on_failure=note_status)
    make_worker([queue]).work(burst=True)
    assert _seen(queue) == ["failed|failed"]
    broken = queue.enqueue(jobs.fail, "nope", on_failure=explode)
    make_worker([queue]).work(burst=True)
    assert broken.get_status() == JobStatus.FAILED


def test_callbacks_run_in_a_forked_work_horse_too(queue, make_worker):
    made = queue.enqueue(jobs.add, 1, 2, on_success=jobs.on_success_callback)
    make_worker([queue], cls=Worker).work(burst=True)
    assert made.get_status() == JobStatus.FINISHED
    trace = queue.connection.lrange(jobs.trace_key(queue.keys.prefix, "callbacks"), 0, -1)
    assert trace == [f"success:{made.id}:3".encode()]


def test_with_is_async_false_an_on_failure_error_reaches_the_caller(make_queue):
    inline = make_queue("sync", is_async=False)
    assert inline.enqueue(jobs.add, 1, 2, on_success=note_status).result == 3
    with pytest.raises(RuntimeError, match="callback failed"):
        inline.enqueue(jobs.fail, "nope", job_id="sync-fail", on_failure=explode)
    recorded = Job.fetch("sync-fail", inline.connection, prefix=inline.keys.prefix)
    assert recorded.get_status() == JobStatus.FAILED


def test_an_async_def_callback_is_refused_when_run(queue):
    made = queue.enqueue(jobs.add, 1, 2, on_stopped=async_callback)
    with pytest.raises(TypeError, match="async def"):
        run_callback(made, "on_stopped")


def test_on_stopped_runs_when_a_job_is_stopped_on_purpose(queue, make_worker):
    from django_jobqueue.engine.errors import StopRequested
    from django_jobqueue.engine.perform import perform_job

    made = queue.enqueue(jobs.add, 1, 2, on_stopped=note_status)
    made.perform = lambda: (_ for _ in ()).throw(StopRequested("stop"))  # type: ignore[method-assign]
    made.set_status(JobStatus.STARTED)
    queue.connection.hset(made.key, mapping={"status": "started", "worker": "w"})
    assert perform_job(made, "w") == JobStatus.STOPPED
    assert _seen(queue) == ["stopped|stopped"]


def test_prepare_data_keeps_the_callbacks_as_given(queue):
    data = queue.prepare_data(
        jobs.add,
        (1, 2),
        on_success=print,
        on_failure=Callback(jobs.on_failure_callback, timeout=5),
        job_timeout=30,
    )
    (job,) = queue.enqueue_many([data])
    assert data.on_success is print and job.success_callback == data.on_success
    assert data.on_failure == Callback(jobs.on_failure_callback, timeout=5)
    assert job.failure_callback is jobs.on_failure_callback and job.failure_callback_timeout == 5
    assert (data.job_timeout, data.timeout, job.timeout) == (30, 30, 30)
    assert data.on_stopped is None and data.options.on_success == Callback(print)


class _CountingPenalty:
    """A death penalty built as RQ builds them: (timeout, exception class, job_id=...)."""

    made: list = []

    def __init__(self, timeout, exception, job_id=None):
        self.made.append((timeout, exception, job_id))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_execute_callbacks_by_rqs_names(queue):
    from django_jobqueue.engine.callbacks import (
        execute_failure_callback,
        execute_stopped_callback,
        execute_success_callback,
    )
    from django_jobqueue.engine.errors import JobTimeoutException

    job = queue.enqueue(
        jobs.add,
        1,
        2,
        on_success=Callback(jobs.on_success_callback, timeout=7),
        on_failure=jobs.on_failure_callback,
    )
    execute_success_callback(job, _CountingPenalty, 3)
    assert _CountingPenalty.made == [(7, JobTimeoutException, job.id)]
    execute_failure_callback(job, None, ValueError, ValueError("x"), None)  # ours by default
    execute_stopped_callback(job)  # no on_stopped: nothing to run
    seen = queue.connection.lrange(f"{queue.keys.prefix}trace:callbacks", 0, -1)
    assert [v.decode() for v in seen] == [f"success:{job.id}:3", f"failure:{job.id}:ValueError:x"]
    with pytest.raises(TypeError, match="async def"):
        execute_success_callback(queue.enqueue(jobs.add, 1, 1, on_success=async_callback), None, 2)


def test_a_workers_death_penalty_class_runs_callbacks(queue, make_worker):
    from django_jobqueue.engine.callbacks import execute_success_callback

    job = queue.enqueue(jobs.add, 1, 2, on_success=jobs.on_success_callback)
    worker = make_worker([queue])
    execute_success_callback(job, worker.death_penalty_class, 3)
    seen = queue.connection.lrange(f"{queue.keys.prefix}trace:callbacks", 0, -1)
    assert [v.decode() for v in seen] == [f"success:{job.id}:3"]
