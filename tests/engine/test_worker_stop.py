"""Stopping a running job on request (``stop_job``), with real worker subprocesses."""

from __future__ import annotations

import pytest

from django_jobqueue.engine import (
    InvalidJobOperation,
    Job,
    NoSuchJobError,
    Retry,
    all_workers,
    stop_job,
)

from . import jobs
from .conftest import wait_until


def _status(job):
    return job.get_status()


@pytest.mark.parametrize("worker_class", ["Worker", "SimpleWorker", "WorkerPool"])
def test_a_started_job_is_stopped_by_its_worker(
    worker_class, queue, spawn_worker, redis_conn, key_prefix
):
    # Its own session: the clean-up kills the whole group, the pool child running
    # the requeued job below included (a child outlives a killed pool until its job ends).
    proc = spawn_worker("default", worker_class, name=f"stopper-{worker_class}", new_session=True)
    job = queue.enqueue(jobs.sleep_for, 60, retry=Retry(max=3))
    wait_until(lambda: _status(job) == "started", message="the job never started")
    assert stop_job(job) == "stopping"
    wait_until(lambda: _status(job) == "stopped", timeout=10, message="the job was not stopped")
    job.refresh()
    assert "stopped on request" in job.exc_info
    assert job.id in queue.failed_job_registry  # stopped jobs sit with the failed ones
    assert job.retries_left == 3  # a stop is final: no retry was used
    # The worker lives on and takes the next job.
    assert proc.poll() is None
    after = queue.enqueue(jobs.add, 2, 3)
    wait_until(lambda: _status(after) == "finished", message="the worker did not go on")
    (info,) = all_workers(redis_conn, key_prefix)
    assert "stop_job" not in info
    if worker_class == "WorkerPool":  # the request went to the child running the job
        child = redis_conn.hgetall(queue.keys.worker(job.worker_name))
        assert child[b"pool"] == info["name"].encode() and b"stop_job" not in child
    # A stopped job can be requeued.
    assert job.requeue().get_status(refresh=False) == "queued"


def test_stopping_a_job_nobody_runs_records_it_at_once(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2)
    # Taken by a worker that then died (its registration is gone).
    from django_jobqueue.engine import scripts

    scripts.dequeue(redis_conn, queue.keys, ["default"], 1e9, "ghost", 60)
    assert _status(job) == "started"
    assert stop_job(job) == "stopped"
    assert _status(job) == "stopped"
    assert job.id in queue.failed_job_registry
    assert not redis_conn.exists(queue.keys.worker("ghost"))  # no orphan registration


def test_only_started_jobs_can_be_stopped(queue):
    job = queue.enqueue(jobs.add, 1, 2)
    with pytest.raises(InvalidJobOperation, match="queued and cannot be stopped"):
        stop_job(job)
    job.delete()
    with pytest.raises(NoSuchJobError):
        stop_job(Job(job.id, queue.connection, origin="default", prefix=queue.keys.prefix))


def test_a_request_for_another_job_is_ignored(make_worker, queue, redis_conn):
    worker = make_worker([queue], name="w-other")
    worker.register_birth()
    try:
        job = queue.enqueue(jobs.add, 1, 2)
        redis_conn.hset(worker.key, "stop_job", "some-other-job")
        assert not worker.stop_requested(job)
        redis_conn.hset(worker.key, "stop_job", job.id)
        assert worker.stop_requested(job)
        assert not worker.stop_requested(job)  # taken away once seen
    finally:
        worker.register_death()
