"""A forked work horse hands its success to the worker, which records it."""

from __future__ import annotations

import os
import time

from django_jobqueue.engine import Worker, hooks

from . import jobs


def test_a_result_larger_than_the_pipe_buffer_arrives_whole(queue, make_worker):
    big = os.urandom(3 * 2**20)  # pipes hold 64 KiB: the parent must read while waiting
    job = queue.enqueue(jobs.echo, big)
    make_worker([queue], cls=Worker).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert job.return_value(refresh=True) == {"args": [big], "kwargs": {}}


def test_successful_horses_open_no_connection_of_their_own(queue, make_worker, redis_conn):
    worker = make_worker([queue], cls=Worker)
    queue.enqueue(jobs.add, 0, 0)
    worker.work(burst=True)  # the worker's own connections are made now
    for i in range(20):
        queue.enqueue(jobs.add, i, 1)
    before = redis_conn.info("stats")["total_connections_received"]
    worker.work(burst=True)
    opened = redis_conn.info("stats")["total_connections_received"] - before
    assert opened <= 3, f"{opened} connections for 20 jobs"
    assert queue.finished_job_registry.count == 21


def test_jobs_still_record_their_own_failures_and_the_hook_sees_the_result(queue, make_worker):
    seen = []

    class Watch(hooks.Hooks):
        def job_finished(self, job, result, worker):
            seen.append((job.id, result, os.getpid()))

    watch = Watch()
    hooks.register(watch)
    try:
        ok = queue.enqueue(jobs.add, 2, 3)
        bad = queue.enqueue(jobs.fail, "nope")
        make_worker([queue], cls=Worker).work(burst=True)
    finally:
        hooks.unregister(watch)
    assert ok.get_status(refresh=True) == "finished" and ok.return_value() == 5
    assert bad.get_status(refresh=True) == "failed"
    assert "nope" in bad.exc_info
    # Recorded by the worker, so its hook runs in the worker after the record.
    assert seen == [(ok.id, 5, os.getpid())]


def test_a_job_that_closes_its_descriptors_neither_spins_nor_hangs_the_worker(queue, make_worker):
    job = queue.enqueue(jobs.close_fds_and_sleep, 0.5)
    worker = make_worker([queue], cls=Worker)
    cpu = time.process_time()
    worker.work(burst=True)
    assert time.process_time() - cpu < 0.3  # no busy loop on the closed pipe
    # Its report went with the pipe: the worker records the death instead.
    assert job.get_status(refresh=True) == "failed"
    assert "died unexpectedly (exit code 0)" in job.exc_info
