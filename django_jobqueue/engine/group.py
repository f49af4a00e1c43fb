"""Groups: many jobs tracked under one name, as RQ's ``rq.group.Group``.

``Group.create(connection)`` names a group; ``group.enqueue_many(queue, [...])``
enqueues calls made by :meth:`Queue.prepare_data` as its members, and
``group.get_jobs()`` reads them back, wherever they are in their lives. A
group lasts as long as one of its jobs does: when the last one is deleted or
expires, ``Group.fetch`` raises :class:`NoSuchGroupError` and ``Group.all``
leaves it out.

Where the members live (Redis Cluster): a job lives in its queue's hash slot
(``{queue}``, see :mod:`.keys`), and a group may span queues, so a group has
one set of members per queue, ``<prefix>{queue}:group:<name>``, in that
queue's slot. Enqueueing a job and making it a member happen in one MULTI on
that slot, so a stored job of a group is always a member, and deleting the
job (one script) takes it out of the set in the same step. The group's
queues are found from the set of queue names (one EXISTS per queue, in one
round trip); the set of group names, ``<prefix>groups``, lies in its own
slot and is written before the members, so it never misses a group that has
some.

A member whose job expired (its result or failure TTL ran out) is forgotten by
:meth:`Group.cleanup`, which :meth:`Group.get_jobs` runs first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from . import hooks, scripts
from .connection import resolve_connection
from .errors import InvalidJobOperation, NoSuchGroupError
from .job import Job
from .keys import keyspace, validate_job_id
from .utils import as_shown, text_members

if TYPE_CHECKING:
    from .queue import EnqueueData, Queue

#: Jobs enqueued per MULTI transaction by :meth:`Group.enqueue_many`.
BATCH = 1000


class Group:
    """A name for a set of jobs, on one or more queues.

    Args:
        connection: a ``redis.Redis`` client (that of the queues used).
        name: the group's name (letters, digits and ``_.:@+-``); a random
            hex id when None.
        prefix: the key prefix of the queues used (that of :class:`Queue`).
        serializer: the serializer of those queues, to read their jobs' meta.
    """

    #: The set of the names of the groups that have jobs, under the default
    #: prefix (a group made with ``prefix=`` uses ``group.keys.groups``).
    REDIS_GROUP_KEY = keyspace().groups
    #: The lock of :meth:`acquire_maintenance_lock`, under the default prefix.
    REDIS_GROUP_CLEANING_KEY = keyspace().group_cleaning

    def __init__(
        self,
        connection: Any = None,
        name: str | None = None,
        *,
        prefix: str | None = None,
        serializer: Any = None,
    ):
        self.name = validate_job_id(name) if name else uuid4().hex
        self.connection = resolve_connection(connection)
        self.keys = keyspace(prefix)
        self.serializer = serializer

    def __repr__(self) -> str:
        return f"Group(id={self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and (self.name, self.keys) == (other.name, other.keys)

    def __hash__(self) -> int:
        return hash((self.name, self.keys.prefix))

    @classmethod
    def create(cls, connection: Any = None, name: str | None = None, **kwargs: Any) -> Group:
        """A new group (nothing is stored until jobs are enqueued in it)."""
        return cls(connection, name, **kwargs)

    @classmethod
    def fetch(cls, name: str, connection: Any = None, **kwargs: Any) -> Group:
        """The group ``name``.

        Raises:
            NoSuchGroupError: none of its jobs is left (or it never had any).
        """
        group = cls(connection, name, **kwargs)
        if not group.queue_names():
            raise NoSuchGroupError(f"No group {name!r}: it has no job left.")
        return group

    @classmethod
    def all(cls, connection: Any = None, **kwargs: Any) -> list[Group]:
        """Every group that has jobs; names of groups left without any are forgotten."""
        connection = resolve_connection(connection)
        ks = keyspace(kwargs.get("prefix"))
        names, junk = text_members(connection.smembers(ks.groups))
        if junk:  # bytes that are not UTF-8 name no group: only another program wrote them
            connection.srem(ks.groups, *junk)
        groups = [cls(connection, name, **kwargs) for name in sorted(names)]
        kept = _with_members(connection, groups)
        gone = [g.name for g in groups if g not in kept]
        if gone:
            connection.srem(ks.groups, *gone)
            # A group may have got members meanwhile (its name was added before
            # them): name it again rather than lose it.
            refilled = _with_members(connection, [g for g in groups if g.name in gone])
            if refilled:
                connection.sadd(ks.groups, *(g.name for g in refilled))
                kept.update(refilled)
        return [group for group in groups if group in kept]

    @classmethod
    def acquire_maintenance_lock(
        cls, connection: Any, timeout: float, prefix: str | None = None
    ) -> bool:
        """Whether the caller may sweep the groups now (:meth:`clean_registries`).

        The lock is taken for ``timeout`` seconds (at least 1 ms) and never
        released: the groups are swept at most once per ``timeout`` however
        many workers ask.
        """
        milliseconds = max(int(timeout * 1000), 1)
        key = keyspace(prefix).group_cleaning
        return bool(resolve_connection(connection).set(key, 1, nx=True, px=milliseconds))

    @classmethod
    def clean_registries(cls, connection: Any = None, **kwargs: Any) -> None:
        """Forget the expired members of every group, then the groups left empty."""
        for group in cls.all(connection, **kwargs):
            group.cleanup()
        cls.all(connection, **kwargs)

    def key_for(self, queue: str) -> str:
        """The Redis set of this group's job ids on ``queue``."""
        return self.keys.group(queue, self.name)

    @property
    def key(self) -> str:
        """The Redis set of this group's job ids on queue ``default`` (see :meth:`key_for`)."""
        return self.key_for("default")

    @classmethod
    def get_key(cls, name: str, queue: str = "default", prefix: str | None = None) -> str:
        """The Redis set of group ``name``'s job ids on ``queue``.

        RQ keeps one set per group; here each queue the group spans has its
        own, in that queue's cluster slot.
        """
        return keyspace(prefix).group(queue, validate_job_id(name))

    def queue_names(self) -> list[str]:
        """The names of the queues that hold jobs of this group."""
        return _with_members(self.connection, [self]).get(self, [])

    def enqueue_many(
        self, queue: Queue, job_datas: Iterable[EnqueueData], pipeline: Any = None
    ) -> list[Job]:
        """Enqueue calls made by :meth:`Queue.prepare_data` on ``queue``, as members.

        Each job and its membership are stored in one MULTI transaction (per
        :data:`BATCH` jobs), so a job is never stored outside its group. A
        call whose parents have not all finished is refused (its enqueue takes
        more steps than a transaction holds), before anything is stored.

        Args:
            queue: the queue the jobs go to; a group may span several queues.
            job_datas: the calls.
            pipeline: a redis-py pipeline of the queue's server: the jobs are
                queued on it, and stored when the caller executes it.

        Returns:
            The jobs, each with ``group_id`` set to this group's name.
        """
        if queue.keys.prefix != self.keys.prefix:
            raise ValueError(
                f"Queue {queue.name!r} uses the key prefix {queue.keys.prefix!r}: "
                f"create the group with prefix={queue.keys.prefix!r}."
            )
        if queue.in_memory:
            raise InvalidJobOperation(
                f"Queue {queue.name!r} keeps its jobs in memory only: groups live in Redis."
            )
        jobs = []
        for data in job_datas:
            job = queue.create_job(data.func, data.args, data.kwargs, options=data.options)
            job.group_id = self.name
            jobs.append(job)
        if not jobs:
            return jobs
        # Named before any member is stored: Group.all() never misses a group with members.
        self.connection.sadd(self.keys.groups, self.name)
        if not queue.is_async:  # each job runs as it is enqueued; nothing waits for it
            for job in jobs:
                queue.enqueue_job(job)
            scripts.group_join(queue.connection, queue.keys, queue.name, self.name, _ids(jobs))
            return jobs
        scripts.preload(queue.connection, "group_join")
        if pipeline is not None:
            self._queue_on(pipeline, queue, jobs)
            return jobs
        for start in range(0, len(jobs), BATCH):
            batch = jobs[start : start + BATCH]
            with queue.connection.pipeline(transaction=True) as pipe:  # MULTI ... EXEC
                self._queue_on(pipe, queue, batch)
                replies = pipe.execute(raise_on_error=False)
            self._settle(queue, batch, replies)
        return jobs

    def _queue_on(self, pipe: Any, queue: Queue, jobs: list[Job]) -> None:
        for job in jobs:
            queue.enqueue_job_on(pipe, job)
        scripts.group_join(pipe, queue.keys, queue.name, self.name, _ids(jobs))

    def _settle(self, queue: Queue, jobs: list[Job], replies: list[Any]) -> None:
        """Report the transaction's outcome: hooks for the stored jobs, the first refusal."""
        *enqueued, joined = replies[-len(jobs) - 1 :]
        if isinstance(joined, Exception):
            # Only if the script vanished between preload and EXEC (SCRIPT FLUSH):
            # the jobs are stored, so make them members now.
            scripts.group_join(queue.connection, queue.keys, queue.name, self.name, _ids(jobs))
        error = None
        for job, reply in zip(jobs, enqueued):
            if isinstance(reply, Exception):
                job.stored = False
                error = error or scripts.script_error(reply, job.id, queue=queue.name)
            else:
                hooks.emit("job_enqueued", job=job, queue=queue)
        if error is not None:
            raise error

    def get_jobs(self) -> list[Job]:
        """This group's jobs, oldest first (members that expired are forgotten first)."""
        self.cleanup()
        jobs: list[Job] = []
        for queue in self.queue_names():
            ids = [as_shown(i) for i in self.connection.smembers(self.key_for(queue))]
            found = Job.fetch_many(
                ids, self.connection, self.serializer, origin=queue, prefix=self.keys.prefix
            )
            jobs += [job for job in found if job is not None]
        return sorted(jobs, key=lambda job: (job.created_at or 0, job.id))

    def cleanup(self) -> None:
        """Forget the members whose job no longer exists (expired, or gone by other means)."""
        for queue in self.queue_names():
            scripts.group_clean(self.connection, self.keys, queue, self.name)

    def delete_job(self, job_id: str, pipeline: Any = None) -> None:
        """Take a job out of this group; the job itself is left as it is.

        (Deleting a job, with ``job.delete()``, takes it out of its group too.)
        """
        for queue in self.queue_names():
            if self.connection.sismember(self.key_for(queue), job_id):
                if pipeline is not None:
                    scripts.preload(self.connection, "group_leave")
                scripts.group_leave(
                    self.connection if pipeline is None else pipeline,
                    self.keys,
                    queue,
                    self.name,
                    job_id,
                )


def _ids(jobs: list[Job]) -> list[str]:
    return [job.id for job in jobs]


def _with_members(connection: Any, groups: list[Group]) -> dict[Group, list[str]]:
    """The groups that have a set of members on some queue, with those queues' names."""
    if not groups:
        return {}
    ks = groups[0].keys
    queues = sorted(text_members(connection.smembers(ks.queues))[0])
    pipe = connection.pipeline(transaction=False)
    for group in groups:
        for queue in queues:
            pipe.exists(group.key_for(queue))
    found = iter(pipe.execute()) if queues else iter(())
    result: dict[Group, list[str]] = {}
    for group in groups:
        names = [queue for queue in queues if next(found)]
        if names:
            result[group] = names
    return result
