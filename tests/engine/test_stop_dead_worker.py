"""A stop asked for while the job's worker is dead: the recovery honours it.

The dashboard's Stop finds the worker still registered (its registration
outlives it by up to ``worker_ttl`` seconds) and leaves the request there; the
worker never acts on it. The job carries the request too, so the sweep that
recovers the job ends it as stopped instead of retrying it.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from django_jobqueue.engine import Retry, stop_job

from . import jobs
from .conftest import wait_until


@pytest.mark.parametrize("worker_class", ["Worker", "SimpleWorker"])
def test_a_stop_asked_of_a_killed_worker_ends_its_job_as_stopped(
    worker_class, queue, spawn_worker, make_worker, redis_conn
):
    proc = spawn_worker("default", worker_class, worker_ttl=2, new_session=True)
    job = queue.enqueue(jobs.sleep_for, 60, retry=Retry(max=3))
    wait_until(lambda: job.get_status() == "started", message="the job never started")
    os.killpg(proc.pid, signal.SIGKILL)  # the worker and its work-horse
    proc.wait(timeout=10)
    assert stop_job(job) == "stopping"  # its registration is still there
    deadline = redis_conn.zscore(queue.started_job_registry.key, job.id)
    time.sleep(max(deadline - time.time(), 0) + 0.1)
    make_worker(queue).maintain()  # another worker's sweep finds the job abandoned
    job.refresh()
    assert job.get_status() == "stopped"
    assert job.retries_left == 3  # not retried
    assert "stopped on request" in job.exc_info
    assert job.id in queue.failed_job_registry
    assert queue.count == 0
    # Requeued by hand, it runs like any other job: the request does not stick.
    assert job.requeue().get_status(refresh=False) == "queued"
    assert redis_conn.hget(job.key, "stop_requested") is None


def test_a_job_asked_to_stop_is_not_retried_whatever_ends_it(queue, redis_conn, make_worker):
    from django_jobqueue.engine import scripts
    from django_jobqueue.engine.outcome import record_failure

    job = queue.enqueue(jobs.add, 1, 2, retry=Retry(max=3))
    scripts.dequeue(redis_conn, queue.keys, ["default"], time.time(), "w", 60)
    redis_conn.hset(queue.keys.worker("w"), "name", "w")  # a registered (dead) worker
    job.refresh()
    assert stop_job(job) == "stopping"
    # Its pool (or work-horse's parent) records the death of the process running it.
    assert record_failure(job, "Pool child w died unexpectedly", "w") == "stopped"
    assert job.get_status() == "stopped" and job.retries_left == 3
