"""Jobs and callbacks of the batch tests (importable by worker subprocesses).

The callbacks write each call to a Redis list under the job's key prefix, so
a test counts how often each callback ran, whichever process ran it.
"""

from __future__ import annotations

import time

from django_jobqueue.engine import get_current_job


def _calls_key(job) -> str:
    return f"{job.keys.prefix}test:batch-calls"


def record(batch_id: str) -> str:
    job = get_current_job()
    job.connection.rpush(_calls_key(job), f"{job.meta['batch_callback']}:{batch_id}")
    return batch_id


def fail_once_then_record(batch_id: str) -> str:
    """Raise on the first run of this callback job, record on the next."""
    job = get_current_job()
    if job.connection.incr(f"{job.keys.prefix}test:attempts:{job.id}") == 1:
        raise RuntimeError("first run fails")
    return record(batch_id)


def calls(connection, prefix: str) -> list[str]:
    return [c.decode() for c in connection.lrange(f"{prefix}test:batch-calls", 0, -1)]


def ok(value=None):
    return value


def boom():
    raise ValueError("boom")


def fail_until_flag():
    """Fail until the test sets the flag (then a requeued run succeeds)."""
    job = get_current_job()
    if not job.connection.get(f"{job.keys.prefix}test:flag"):
        raise ValueError("flag not set")
    return "ok"


def sleep_for(seconds: float):
    time.sleep(seconds)
    return seconds


def add_to_own_batch(value):
    """A job of a batch that adds one more job to its own batch."""
    from django_jobqueue.engine import Batch

    job = get_current_job()
    batch = Batch.fetch(job.meta["batch"], job.connection, prefix=job.keys.prefix)
    return batch.enqueue(ok, value).id


def read_own_batch(batch_id):
    """A callback that reads its batch with Batch.fetch(batch_id) and nothing else."""
    from django_jobqueue.engine import Batch

    batch = Batch.fetch(batch_id)
    return [batch.status, *batch.progress]
