"""A job that raises SystemExit or KeyboardInterrupt itself fails; its worker goes on.

Only a signal delivered to the worker stops it (see test_worker.py for
shutdowns); a job calling ``sys.exit()`` or raising KeyboardInterrupt is a job
failure like any other, in an in-process worker and in a pool child alike.
"""

from __future__ import annotations

import pytest

from django_jobqueue.engine import JobStatus

from . import jobs


def raise_keyboard_interrupt():
    raise KeyboardInterrupt


def raise_system_exit():
    raise SystemExit("leaving")


EXITS = [
    ("sys.exit", (3,), "SystemExit: 3"),
    ("tests.engine.test_job_exits.raise_system_exit", (), "SystemExit: leaving"),
    ("tests.engine.test_job_exits.raise_keyboard_interrupt", (), "KeyboardInterrupt"),
]


def test_an_in_process_worker_fails_the_job_and_goes_on(queue, make_worker):
    failing = [queue.enqueue(func, *args) for func, args, _ in EXITS]
    after = queue.enqueue(jobs.add, 1, 2)
    worker = make_worker(queue)
    assert worker.work(burst=True, logging_level=None)
    for job, (_, _, text) in zip(failing, EXITS):
        job.refresh()
        assert job.get_status() == JobStatus.FAILED
        assert text in job.exc_info
        assert job.id in queue.failed_job_registry
    assert after.get_status() == JobStatus.FINISHED
    assert (worker.successful_job_count, worker.failed_job_count) == (1, 3)


@pytest.mark.parametrize("worker_class", ["SimpleWorker", "Worker", "WorkerPool"])
def test_a_worker_process_fails_the_job_and_goes_on(queue, spawn_worker, worker_class):
    failing = [queue.enqueue(func, *args) for func, args, _ in EXITS]
    after = queue.enqueue(jobs.add, 1, 2)
    proc = spawn_worker("default", worker_class, burst=True, extra=("--processes", "1"))
    output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, output
    assert "crashed" not in output and "died unexpectedly" not in output, output
    for job in failing:
        assert job.get_status() == JobStatus.FAILED
    assert after.get_status() == JobStatus.FINISHED
