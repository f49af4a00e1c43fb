"""How a job's runs ended, read as RQ's ``Result`` objects.

The outcome scripts (``scripts/finish.lua``, ``scripts/fail.lua``) record the
latest outcome in the job's hash: its status, ``ended_at``, the serialized
return value, the traceback, or the :class:`~.retry.Retry` a run returned
(``returned_retry``). A :class:`Result` is read from those fields.
RQ keeps a stream of every run's result; this engine keeps the latest one
only, so :meth:`Result.all` returns at most one.
"""

from __future__ import annotations

import time
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .retry import Retry
from .utils import as_str, to_datetime
from .vocabulary import JobStatus

if TYPE_CHECKING:
    from .job import Job

#: Seconds between two looks at a job while :meth:`Result.fetch_latest` waits.
POLL_INTERVAL = 0.1

#: The hash fields a result is read from.
_FIELDS = ("status", "ended_at", "result", "exc_info", "worker", "returned_retry")


class Result:
    """The outcome of one run of a job.

    Attributes:
        id: identifies the outcome: its end time in milliseconds, as
            ``"<ms>-0"`` (the shape of RQ's stream entry ids).
        type: a :class:`Result.Type`.
        job_id: the job's id.
        created_at: when the run ended (an aware UTC datetime).
        return_value: what the function returned (SUCCESSFUL results), or
            the :class:`~.retry.Retry` it returned (RETRIED results of such a
            run, and MAX_RETRIES_EXCEEDED ones).
        exc_string: the traceback (FAILED results, RETRIED ones after an
            error, and STOPPED ones that have one); None after a returned Retry.
        worker_name: the worker that ran it.
    """

    class Type(IntEnum):
        SUCCESSFUL = 1
        FAILED = 2
        STOPPED = 3
        RETRIED = 4
        #: The job returned a Retry once it had been retried ``max`` times that way.
        MAX_RETRIES_EXCEEDED = 5

    def __init__(
        self,
        job_id: str,
        type: Result.Type,
        created_at: datetime,
        return_value: Any = None,
        exc_string: str | None = None,
        worker_name: str | None = None,
    ):
        self.job_id = job_id
        self.type = type
        self.created_at = created_at
        self.return_value = return_value
        self.exc_string = exc_string
        self.worker_name = worker_name
        self.id = f"{int(created_at.timestamp() * 1000)}-0"

    def __repr__(self) -> str:
        return f"Result(id={self.id!r}, type={self.type.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and (self.job_id, self.id, self.type) == (
            other.job_id,
            other.id,
            other.type,
        )

    def __hash__(self) -> int:
        return hash((self.job_id, self.id, self.type))

    @classmethod
    def fetch_latest(cls, job: Job, serializer: Any = None, timeout: float = 0) -> Result | None:
        """The latest outcome of ``job``, or None if it has none (yet, or any more).

        Args:
            job: the job.
            serializer: reads the return value; the job's own by default.
            timeout: seconds to wait for an outcome when there is none yet
                (0: do not wait).
        """
        deadline = time.monotonic() + timeout
        while True:
            result = cls._read(job, serializer)
            if result is not None or time.monotonic() >= deadline:
                return result
            # The outcome scripts publish nothing per job (the only channel
            # is a queue's wake-up for idle workers), so there is nothing to
            # block on in Redis: a waiter looks again, one HMGET each time.
            time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0)))

    @classmethod
    def all(cls, job: Job, serializer: Any = None) -> list[Result]:
        """Every outcome kept for ``job``, newest first: here the latest one only, or none."""
        result = cls._read(job, serializer)
        return [] if result is None else [result]

    @classmethod
    def count(cls, job: Job) -> int:
        return len(cls.all(job))

    @classmethod
    def _read(cls, job: Job, serializer: Any) -> Result | None:
        if job.detached:  # ran inline and lives in this object only
            return _from_job(job)
        status, ended_at, raw, exc_info, worker, returned = job.connection.hmget(
            job.key, list(_FIELDS)
        )
        return _build(
            job,
            as_str(status),
            ended_at,
            raw,
            as_str(exc_info),
            as_str(worker),
            serializer,
            Retry.loads(returned),
        )


def _build(
    job: Job,
    status: str | None,
    ended_at: Any,
    raw: bytes | None,
    exc_info: str | None,
    worker: str | None,
    serializer: Any,
    returned: Retry | None = None,
) -> Result | None:
    created_at = to_datetime(ended_at)
    if created_at is None or status is None:
        return None
    if returned is not None:  # fail.lua keeps it only for a run that returned it
        if status == JobStatus.FAILED:
            kind = Result.Type.MAX_RETRIES_EXCEEDED
        elif status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED):
            kind = Result.Type.RETRIED
        else:
            return None
        return Result(job.id, kind, created_at, returned, worker_name=worker)
    if status == JobStatus.FINISHED:
        loads = (serializer or job.serializer).loads
        value = loads(raw) if raw is not None else None
        return Result(job.id, Result.Type.SUCCESSFUL, created_at, value, worker_name=worker)
    if status == JobStatus.FAILED:
        return Result(
            job.id, Result.Type.FAILED, created_at, exc_string=exc_info, worker_name=worker
        )
    if status == JobStatus.STOPPED:
        return Result(
            job.id, Result.Type.STOPPED, created_at, exc_string=exc_info, worker_name=worker
        )
    if exc_info is not None and status in (
        JobStatus.QUEUED,
        JobStatus.SCHEDULED,
        JobStatus.STARTED,
    ):
        # fail.lua keeps the traceback of a run that will be retried.
        return Result(
            job.id, Result.Type.RETRIED, created_at, exc_string=exc_info, worker_name=worker
        )
    return None


def _from_job(job: Job) -> Result | None:
    """The latest outcome of a job run inline, from the object itself."""
    status, ended_at = job.get_status(refresh=False), job.ended_at
    if status == JobStatus.FINISHED and ended_at is not None:
        return Result(
            job.id, Result.Type.SUCCESSFUL, ended_at, job.result, worker_name=job.worker_name
        )
    stamp = ended_at.timestamp() if ended_at else None
    return _build(job, status, stamp, None, job.exc_info, job.worker_name, None, job.returned_retry)


__all__ = ["Result"]
