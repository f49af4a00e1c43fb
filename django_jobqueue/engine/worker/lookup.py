"""Workers read back from their registrations, the way RQ's ``Worker`` API does it.

:class:`~.base.BaseWorker` inherits these: ``Worker.all()``, ``Worker.count()``,
``Worker.find_by_key()`` and ``worker.refresh()`` build or update worker objects
from the hashes live workers write on each heartbeat. A worker found this way
is a read model: it reflects the registration as of the worker's last
heartbeat, and calling ``work()`` on it would start a second worker of the same
name. Pages and commands that only show workers use :mod:`..live` instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..connection import resolve_connection
from ..errors import NoSuchJobError
from ..keys import keyspace
from ..live import all_workers
from ..utils import as_int, as_str, to_datetime

if TYPE_CHECKING:
    from ..job import Job
    from ..queue import Queue
    from .base import BaseWorker


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class WorkerLookup:
    """Class methods that find workers, and the per-worker reads that go with them."""

    # Set by BaseWorker.__init__; declared for the type checker.
    connection: Any
    key: str
    name: str
    state: str
    keys: Any
    serializer: Any
    job_class: type[Job] | None
    successful_job_count: int
    failed_job_count: int
    total_working_time: float
    version: str
    python_version: str
    hostname: str
    ip_address: str
    pid: int
    _birth: float
    #: When register_death() ran (None while the worker lives).
    death_date: datetime | None = None
    #: (queue, job id) its registration names, for a worker read back from Redis.
    _registered_job: tuple[str, str] | None = None
    #: Its last heartbeat, for a worker read back from Redis.
    last_heartbeat: datetime | None = None

    # -- finding workers -----------------------------------------------------

    @classmethod
    def all(
        cls,
        connection: Any = None,
        queue: Queue | None = None,
        prefix: str | None = None,
        **kwargs: Any,
    ) -> list[Any]:
        """Every live worker (pools count as one), optionally only those serving ``queue``.

        Args:
            connection: the Redis client; ``queue``'s by default.
            queue: keep only workers listening on this queue.
            prefix: the key prefix; ``queue``'s by default.
            kwargs: passed to the worker class (``job_class``, ``serializer``...).
        """
        if queue is not None:
            connection = connection or queue.connection
            prefix = prefix if prefix is not None else queue.keys.prefix
        connection = resolve_connection(connection)
        workers = [
            cls._from_registration(fields, connection, prefix, **kwargs)
            for fields in all_workers(connection, prefix)
        ]
        found = [w for w in workers if w is not None]
        if queue is not None:
            found = [w for w in found if queue.name in w.queue_names]
        return found

    @classmethod
    def count(
        cls, connection: Any = None, queue: Queue | None = None, prefix: str | None = None
    ) -> int:
        """How many live workers there are (serving ``queue``, when given)."""
        return len(cls.all(connection, queue, prefix))

    @classmethod
    def all_keys(cls, connection: Any = None, prefix: str | None = None) -> list[str]:
        """The registration keys of the live workers."""
        ks = keyspace(prefix)
        return [ks.worker(w["name"]) for w in all_workers(connection, prefix) if w.get("name")]

    @classmethod
    def find_by_key(
        cls, worker_key: str, connection: Any = None, prefix: str | None = None, **kwargs: Any
    ) -> Any:
        """The worker registered under ``worker_key``, or None when it is gone.

        A worker that is gone is also dropped from the set of workers.

        Raises:
            ValueError: ``worker_key`` is not a worker key under ``prefix``.
        """
        ks = keyspace(prefix)
        head = ks.worker("")
        if not worker_key.startswith(head) or len(worker_key) == len(head):
            raise ValueError(f"{worker_key!r} is not a worker key (those start with {head!r}).")
        connection = resolve_connection(connection)
        raw = connection.hgetall(worker_key)
        if not raw:
            connection.srem(ks.workers, worker_key[len(head) :])
            return None
        fields = {as_str(k): as_str(v) for k, v in raw.items()}
        fields.setdefault("name", worker_key[len(head) :])
        return cls._from_registration(fields, connection, prefix, **kwargs)

    @classmethod
    def _from_registration(
        cls, fields: dict[str, Any], connection: Any, prefix: str | None, **kwargs: Any
    ) -> Any:
        queues = [q for q in (fields.get("queues") or "").split(",") if q]
        if not queues or not fields.get("name"):
            return None  # not a registration this code wrote
        kwargs.setdefault("scheduler", False)
        kwargs.setdefault("prepare_for_work", False)
        make: Any = cls  # a BaseWorker subclass: its constructor takes these
        worker: BaseWorker = make(
            queues, connection=connection, name=fields["name"], prefix=prefix, **kwargs
        )
        worker._apply_registration(fields)
        return worker

    # -- one worker ------------------------------------------------------------

    def refresh(self) -> None:
        """Read this worker's registration again (as of its last heartbeat)."""
        raw = self.connection.hgetall(self.key)
        if raw:
            self._apply_registration({as_str(k): as_str(v) for k, v in raw.items()})

    def _apply_registration(self, fields: dict[str, Any]) -> None:
        self.state = fields.get("state") or self.state
        self._birth = _float(fields.get("birth"), self._birth)
        self.successful_job_count = as_int(fields.get("successful"), 0)
        self.failed_job_count = as_int(fields.get("failed"), 0)
        self.total_working_time = _float(fields.get("total_working_time"))
        self.version = fields.get("version") or self.version
        self.python_version = fields.get("python_version") or self.python_version
        self.hostname = fields.get("hostname") or self.hostname
        self.ip_address = fields.get("ip_address") or self.ip_address
        self.pid = as_int(fields.get("pid"), self.pid)
        self.last_heartbeat = to_datetime(fields.get("last_heartbeat"))
        job_id = fields.get("current_job")
        self._registered_job = (fields.get("current_queue") or "", job_id) if job_id else None

    @property
    def birth_date(self) -> datetime | None:
        """When the worker registered (its ``work()`` began)."""
        return to_datetime(self._birth)

    def get_state(self) -> str:
        return self.state

    def set_state(self, state: str) -> None:
        """Set the state its registration shows (written at once when registered)."""
        self.state = state
        if self.connection.exists(self.key):
            self.connection.hset(self.key, "state", state)

    def get_current_job_id(self) -> str | None:
        """The id of the job this worker runs now (as of its last heartbeat, when read back)."""
        job = getattr(self, "current_job", None)
        if job is not None:
            return job.id
        return self._registered_job[1] if self._registered_job else None

    def get_current_job(self) -> Job | None:
        """The job this worker runs now, or None."""
        job = getattr(self, "current_job", None)
        if job is not None:
            return job
        if self._registered_job is None:
            return None
        from ..job import Job

        queue, job_id = self._registered_job
        try:
            return (self.job_class or Job).fetch(
                job_id,
                self.connection,
                self.serializer,
                origin=queue or None,
                prefix=self.keys.prefix,
            )
        except NoSuchJobError:
            return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkerLookup) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


__all__ = ["WorkerLookup"]
