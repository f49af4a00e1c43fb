"""How a job's runs ended, read as RQ's ``Result`` objects.

The outcome scripts (``scripts/finish.lua``, ``scripts/fail.lua``) record the
latest outcome in the job's hash: its status, ``ended_at``, the serialized
return value, the traceback, or the :class:`~.retry.Retry` a run returned
(``returned_retry``). A :class:`Result` is read from those fields.

RQ's worker writes each run's result to a stream, through
:meth:`Result.create` and its siblings; here those methods write to such a
stream too, beside the job (deleted with it), for code that records results
itself (a worker of its own). A job's results are the entries of that
stream and the outcome its hash holds, newest first. Workers of this engine
record the outcome in the hash only, so a job they ran has one result: the
latest.
"""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .keys import keyspace
from .payloads import dumps_value, loads_value
from .retry import Retry
from .serializers import resolve_serializer
from .utils import as_str, now, to_datetime
from .vocabulary import JobStatus

if TYPE_CHECKING:
    from .job import Job

#: Seconds between two looks at a job while :meth:`Result.fetch_latest` waits.
POLL_INTERVAL = 0.1

#: The hash fields a result is read from.
_FIELDS = ("status", "ended_at", "result", "exc_info", "worker", "returned_retry")

#: Entries :meth:`Result.save` keeps per job, the newest ones (as RQ).
MAX_KEPT = 10

#: What :meth:`Result.create` records as the return value when the job's
#: serializer cannot serialize it (RQ's ``UNSERIALIZABLE_RETURN_VALUE_PAYLOAD``).
UNSERIALIZABLE_RETURN_VALUE_PAYLOAD = "Unserializable return value"


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
        connection: Any = None,
        id: str | None = None,
        created_at: datetime | None = None,
        return_value: Any = None,
        exc_string: str | None = None,
        worker_name: str | None = None,
        serializer: Any = None,
        execution_id: str | None = None,
        execution_started_at: datetime | None = None,
        execution_ended_at: datetime | None = None,
    ):
        self.job_id = job_id
        self.type = type
        self.connection = connection
        self.created_at = created_at or datetime.fromtimestamp(now(), tz=UTC)
        self.return_value = return_value
        self.exc_string = exc_string
        self.worker_name = worker_name
        self.serializer = serializer
        self.execution_id = execution_id
        self.execution_started_at = execution_started_at
        self.execution_ended_at = execution_ended_at
        self.id = id or f"{int(self.created_at.timestamp() * 1000)}-0"

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

    # -- recording (RQ's worker API) ---------------------------------------------------

    @classmethod
    def create(
        cls,
        job: Job,
        type: Result.Type,
        ttl: int | None,
        return_value: Any = None,
        exc_string: str | None = None,
        worker_name: str | None = "",
        pipeline: Any = None,
        execution_id: str | None = None,
        execution_started_at: datetime | None = None,
        execution_ended_at: datetime | None = None,
    ) -> Result:
        """Record a result of ``job`` in its results stream, kept ``ttl`` seconds.

        ``ttl`` -1 keeps the stream for ever, 0 deletes it, None leaves its
        expiry as it is. This is how RQ's worker records each run; workers of
        this engine record the outcome in the job itself (see the module).
        """
        result = cls(
            job.id,
            type,
            connection=job.connection,
            return_value=return_value,
            exc_string=exc_string,
            worker_name=worker_name,
            serializer=job.serializer,
            execution_id=execution_id,
            execution_started_at=execution_started_at,
            execution_ended_at=execution_ended_at,
        )
        result.save(ttl, pipeline=pipeline, key=cls.get_key(job))
        return result

    @classmethod
    def create_failure(
        cls,
        job: Job,
        ttl: int | None,
        exc_string: str | None,
        worker_name: str | None = "",
        pipeline: Any = None,
        execution_id: str | None = None,
        execution_started_at: datetime | None = None,
        execution_ended_at: datetime | None = None,
    ) -> Result:
        """:meth:`create` of a FAILED result with its traceback."""
        return cls.create(
            job,
            cls.Type.FAILED,
            ttl,
            exc_string=exc_string,
            worker_name=worker_name,
            pipeline=pipeline,
            execution_id=execution_id,
            execution_started_at=execution_started_at,
            execution_ended_at=execution_ended_at,
        )

    @classmethod
    def create_retried(
        cls,
        job: Job,
        ttl: int | None,
        return_value: Any = None,
        worker_name: str | None = "",
        execution_id: str | None = None,
        execution_started_at: datetime | None = None,
        execution_ended_at: datetime | None = None,
        pipeline: Any = None,
    ) -> Result:
        """:meth:`create` of a RETRIED result (``return_value``: the Retry the run returned)."""
        return cls.create(
            job,
            cls.Type.RETRIED,
            ttl,
            return_value=return_value,
            worker_name=worker_name,
            pipeline=pipeline,
            execution_id=execution_id,
            execution_started_at=execution_started_at,
            execution_ended_at=execution_ended_at,
        )

    @classmethod
    def create_max_retries_exceeded(
        cls,
        job: Job,
        ttl: int | None,
        return_value: Any = None,
        worker_name: str | None = "",
        execution_id: str | None = None,
        execution_started_at: datetime | None = None,
        execution_ended_at: datetime | None = None,
        pipeline: Any = None,
    ) -> Result:
        """:meth:`create` of a MAX_RETRIES_EXCEEDED result (the Retry returned once too often)."""
        return cls.create(
            job,
            cls.Type.MAX_RETRIES_EXCEEDED,
            ttl,
            return_value=return_value,
            worker_name=worker_name,
            pipeline=pipeline,
            execution_id=execution_id,
            execution_started_at=execution_started_at,
            execution_ended_at=execution_ended_at,
        )

    @classmethod
    def get_key(cls, job: Job | str, queue: str = "default", prefix: str | None = None) -> str:
        """The key of a job's results stream, beside the job in its queue's slot.

        Given an id rather than a :class:`Job`, the job is looked for on
        ``queue`` (``"default"`` unless told) under ``prefix``.
        """
        if not isinstance(job, str):
            return job.keys.results(job.origin, job.id)
        return keyspace(prefix).results(queue, job)

    def save(self, ttl: int | None, pipeline: Any = None, key: str | None = None) -> str:
        """Add this result to its job's stream (the ``MAX_KEPT`` newest are kept); returns its id.

        ``key`` is the stream's (:meth:`get_key`), the ``"default"`` queue's
        by default. With ``pipeline`` the entry is written when the caller
        executes it; :attr:`id` is then an estimate (the time of this call).
        """
        key = key or self.get_key(self.job_id)
        client = pipeline if pipeline is not None else self.connection
        reply = client.xadd(key, self.serialize(), maxlen=MAX_KEPT, approximate=False)
        if pipeline is None:
            self.id = as_str(reply)
            self.created_at = _stream_time(self.id)
        if ttl is not None:
            if ttl == -1:
                client.persist(key)
            else:
                client.expire(key, ttl)
        return self.id

    def serialize(self) -> dict[str, Any]:
        """The stream entry's fields."""
        fields: dict[str, Any] = {"type": int(self.type)}
        if self.worker_name:
            fields["worker_name"] = self.worker_name
        if self.return_value is not None:
            serializer = self.serializer or _default_serializer()
            try:
                fields["return_value"] = dumps_value(
                    serializer, self.return_value, self.job_id, "result"
                )
            except Exception:  # as RQ: the result is recorded, saying why its value is not
                fields["return_value"] = dumps_value(
                    serializer, UNSERIALIZABLE_RETURN_VALUE_PAYLOAD, self.job_id, "result"
                )
        if self.exc_string is not None:
            fields["exc_string"] = zlib.compress(self.exc_string.encode())
        if self.execution_id:
            fields["execution_id"] = self.execution_id
        for name in ("execution_started_at", "execution_ended_at"):
            if (value := getattr(self, name)) is not None:
                fields[name] = repr(value.timestamp())
        return fields

    @classmethod
    def restore(
        cls,
        job_id: str,
        result_id: str,
        fields: dict,
        connection: Any = None,
        serializer: Any = None,
    ) -> Result:
        """A Result from its stream entry."""
        data = {as_str(k): v for k, v in fields.items()}
        raw_value = data.get("return_value")
        serializer = serializer or _default_serializer()
        exc = data.get("exc_string")
        return cls(
            job_id,
            cls.Type(int(data["type"])),
            connection=connection,
            id=result_id,
            created_at=_stream_time(result_id),
            return_value=(
                None if raw_value is None else loads_value(serializer, raw_value, job_id, "result")
            ),
            exc_string=zlib.decompress(exc).decode() if exc else None,
            worker_name=as_str(data.get("worker_name")) or None,
            serializer=serializer,
            execution_id=as_str(data.get("execution_id")),
            execution_started_at=to_datetime(data.get("execution_started_at")),
            execution_ended_at=to_datetime(data.get("execution_ended_at")),
        )

    @classmethod
    def delete_all(cls, job: Job) -> None:
        """Delete the results recorded through :meth:`create`.

        The outcome the job itself holds is its state, not deleted here
        (:meth:`Job.delete` deletes both).
        """
        job.connection.delete(cls.get_key(job))

    # -- reading ----------------------------------------------------------------------

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
            results = cls._collect(job, serializer, latest=True)
            if results or time.monotonic() >= deadline:
                return results[0] if results else None
            # The outcome scripts publish nothing per job (the only channel
            # is a queue's wake-up for idle workers), so there is nothing to
            # block on in Redis: a waiter looks again each time.
            time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0)))

    @classmethod
    def all(cls, job: Job, serializer: Any = None) -> list[Result]:
        """Every result kept for ``job``, newest first (see the module)."""
        return cls._collect(job, serializer, latest=False)

    @classmethod
    def count(cls, job: Job) -> int:
        return len(cls.all(job))

    @classmethod
    def _collect(cls, job: Job, serializer: Any, latest: bool) -> list[Result]:
        """The job's outcome and its recorded results, newest first (the newest if ``latest``)."""
        if job.detached:  # ran inline and lives in this object only
            found = _from_job(job)
            return [] if found is None else [found]
        serializer = serializer or job.serializer
        pipe = job.connection.pipeline(transaction=False)
        pipe.hmget(job.key, list(_FIELDS))
        if latest:
            pipe.xrevrange(cls.get_key(job), count=1)
        else:
            pipe.xrevrange(cls.get_key(job))
        (status, ended_at, raw, exc_info, worker, returned), entries = pipe.execute()
        results = [
            cls.restore(job.id, as_str(entry_id), fields, job.connection, serializer)
            for entry_id, fields in entries
        ]
        outcome = _build(
            job,
            as_str(status),
            ended_at,
            raw,
            as_str(exc_info),
            as_str(worker),
            serializer,
            Retry.loads(returned),
        )
        if outcome is not None:
            results.append(outcome)
            results.sort(key=lambda r: r.created_at, reverse=True)
        return results[:1] if latest else results


def _stream_time(entry_id: str) -> datetime:
    """When a stream entry was added: the milliseconds its id begins with."""
    return datetime.fromtimestamp(int(entry_id.split("-")[0]) / 1000, tz=UTC)


def _default_serializer() -> Any:
    return resolve_serializer(None)


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
        return Result(
            job.id, kind, created_at=created_at, return_value=returned, worker_name=worker
        )
    if status == JobStatus.FINISHED:
        value = (
            None
            if raw is None
            else loads_value(serializer or job.serializer, raw, job.id, "result")
        )
        return Result(
            job.id,
            Result.Type.SUCCESSFUL,
            created_at=created_at,
            return_value=value,
            worker_name=worker,
        )
    if status == JobStatus.FAILED:
        return Result(
            job.id,
            Result.Type.FAILED,
            created_at=created_at,
            exc_string=exc_info,
            worker_name=worker,
        )
    if status == JobStatus.STOPPED:
        return Result(
            job.id,
            Result.Type.STOPPED,
            created_at=created_at,
            exc_string=exc_info,
            worker_name=worker,
        )
    if exc_info is not None and status in (
        JobStatus.QUEUED,
        JobStatus.SCHEDULED,
        JobStatus.STARTED,
    ):
        # fail.lua keeps the traceback of a run that will be retried.
        return Result(
            job.id,
            Result.Type.RETRIED,
            created_at=created_at,
            exc_string=exc_info,
            worker_name=worker,
        )
    return None


def _from_job(job: Job) -> Result | None:
    """The latest outcome of a job run inline, from the object itself."""
    status, ended_at = job.get_status(refresh=False), job.ended_at
    if status == JobStatus.FINISHED and ended_at is not None:
        return Result(
            job.id,
            Result.Type.SUCCESSFUL,
            created_at=ended_at,
            return_value=job.result,
            worker_name=job.worker_name,
        )
    stamp = ended_at.timestamp() if ended_at else None
    return _build(job, status, stamp, None, job.exc_info, job.worker_name, None, job.returned_retry)


__all__ = ["Result"]
