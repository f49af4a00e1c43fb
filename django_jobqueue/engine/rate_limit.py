"""Concurrency rate limits (RQ's ``RateLimit``): at most N jobs of a key queued or running.

``queue.enqueue(f, rate_limit=RateLimit("reports", concurrency=2))``: while
two jobs of the key ``reports`` are queued or running on that queue, the next
one waits, with the status ``rate_limited``, in the queue's rate_limited
registry. When a job of the key ends (finished, failed, stopped, canceled,
deleted, or waits again: scheduled for a retry), its slot is freed and the
oldest waiting job enters the queue, in the same script. A job waiting for a
slot is never lost and never in two places: every move is one Lua script.

A limit is per queue: its keys carry the queue's hash tag (see
:mod:`.keys`), so that one script can move a job between the limit, the
registry and the queue on Redis Cluster too. The same key on two queues is
two limits.

A failure, a stop or a retry that waits frees the slot in the script that
records it (fail.lua), which may take the job it lets in as the worker's
next one: an abandoned job's slot comes back in the step that fails it. A
success frees it right after finish.lua, in a second script (see
:mod:`.outcome`); a process that dies between the two leaves a slot held by
an ended job: every worker sweeps its queues' limits every 30 seconds
(:meth:`RateLimitRegistry.cleanup`), freeing such slots.

``concurrency_key=`` and ``concurrency_limit=`` are another spelling of
``rate_limit=RateLimit(key, limit)`` (see :mod:`.options`): one machinery,
since a concurrency limit per key is exactly what this one is.
"""

from __future__ import annotations

from typing import Any

from . import scripts
from .connection import resolve_connection
from .keys import keyspace, validate_job_id, validate_queue_name
from .utils import as_shown, now, text_members
from .vocabulary import JobStatus


class RateLimit:
    """At most ``concurrency`` jobs enqueued with this ``key`` queued or running at once.

    Args:
        key: names the limit on its queue (letters, digits and ``_.:@+-``).
        concurrency: how many of its jobs may be queued or running, 1 or more.
            Every producer of a key should give the same value: the last one
            enqueued sets it for the jobs it admits.

    Raises:
        ValueError: an empty or malformed key, or a concurrency below 1.
    """

    def __init__(self, key: str, concurrency: int):
        if not key:
            raise ValueError("A RateLimit needs a key naming the jobs it limits.")
        try:
            validate_job_id(key)
        except ValueError:
            raise ValueError(
                f"Invalid rate limit key {key!r}: use up to 200 letters, digits and '_.:@+-'."
            ) from None
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(
                f"concurrency must be a whole number of at least 1, not {concurrency!r}."
            )
        self.key = key
        self.concurrency = concurrency

    def __repr__(self) -> str:
        return f"RateLimit({self.key!r}, concurrency={self.concurrency})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RateLimit) and (self.key, self.concurrency) == (
            other.key,
            other.concurrency,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.concurrency))


class _KeysKey:
    """:attr:`RateLimitRegistry.rl_keys_key`: the instance's set, or on the class
    (as RQ reads it) that of queue ``default`` under the default prefix."""

    def __get__(self, registry: RateLimitRegistry | None, owner: type) -> str:
        if registry is None:
            return keyspace(None).rate_limit_keys("default")
        return registry.keys.rate_limit_keys(registry.queue_name)


class RateLimitRegistry:
    """The jobs of one rate limit on one queue: those holding a slot and those waiting.

    Args:
        key: the limit's key.
        connection: the Redis client.
        queue: the queue's name (default ``"default"``).
        prefix: the key prefix (the engine's default when None).
    """

    #: The set of the rate limit keys in use on the queue (see :meth:`all`).
    rl_keys_key = _KeysKey()

    def __init__(
        self, key: str, connection: Any = None, *, queue: str = "default", prefix: str | None = None
    ):
        self.key = key
        self.connection = resolve_connection(connection)
        self.queue_name = validate_queue_name(queue)
        self.keys = keyspace(prefix)

    def __repr__(self) -> str:
        return f"RateLimitRegistry({self.key!r}, queue={self.queue_name!r})"

    @classmethod
    def all(
        cls, connection: Any = None, *, queue: str = "default", prefix: str | None = None
    ) -> list[RateLimitRegistry]:
        """The limits in use on ``queue`` (those with a job holding a slot or waiting)."""
        connection = resolve_connection(connection)
        names = text_members(connection.smembers(keyspace(prefix).rate_limit_keys(queue)))[0]
        return [cls(name, connection, queue=queue, prefix=prefix) for name in sorted(names)]

    @classmethod
    def from_job(cls, job: Any) -> RateLimitRegistry:
        """The registry of ``job``'s rate limit (the job must have one)."""
        if not job.rate_limit_key:
            raise ValueError(f"Job {job.id} has no rate limit.")
        return cls(job.rate_limit_key, job.connection, queue=job.origin, prefix=job.keys.prefix)

    @property
    def config_key(self) -> str:
        """The hash recording the limit's concurrency."""
        return self.keys.rate_limit(self.queue_name, self.key)

    @property
    def allowed_key(self) -> str:
        """The sorted set of the jobs holding a slot (queued or running)."""
        return f"{self.config_key}:allowed"

    @property
    def rate_limited_key(self) -> str:
        """The sorted set of the jobs waiting for a slot, oldest first."""
        return f"{self.config_key}:waiting"

    @property
    def concurrency(self) -> int:
        """The concurrency last recorded for the limit; 0 when it has no job."""
        value = self.connection.hget(self.config_key, "concurrency")
        return int(value) if value else 0

    def get_allowed_job_ids(self) -> list[str]:
        """The ids of the jobs holding a slot, in the order they took it."""
        return [as_shown(i) for i in self.connection.zrange(self.allowed_key, 0, -1)]

    def get_rate_limited_job_ids(self) -> list[str]:
        """The ids of the jobs waiting for a slot, the next to enter first."""
        waiting = [as_shown(i) for i in self.connection.zrange(self.rate_limited_key, 0, -1)]
        if not waiting:
            return []
        # Ids of jobs canceled or deleted while waiting stay until passed over.
        registry = self.keys.registry(self.queue_name, JobStatus.RATE_LIMITED)
        pipe = self.connection.pipeline(transaction=False)
        for job_id in waiting:
            pipe.zscore(registry, job_id)
        return [job_id for job_id, score in zip(waiting, pipe.execute()) if score is not None]

    def get_allowed_job_count(self) -> int:
        return int(self.connection.zcard(self.allowed_key))

    def get_rate_limited_job_count(self) -> int:
        return len(self.get_rate_limited_job_ids())

    def register(self, concurrency: int, pipeline: Any = None) -> None:
        """Record the limit's concurrency and name it among the queue's limits.

        Enqueueing a job with ``rate_limit=`` does this itself; this is for
        code that fills the sets by hand (with :meth:`add_to_rate_limited`).

        Args:
            concurrency: how many of its jobs may be queued or running.
            pipeline: a redis-py pipeline to queue the writes on (run when
                the caller executes it); None: written now, in one MULTI.
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(
                f"concurrency must be a whole number of at least 1, not {concurrency!r}."
            )
        pipe = self.connection.pipeline(transaction=True) if pipeline is None else pipeline
        pipe.sadd(self.rl_keys_key, self.key)
        pipe.hset(self.config_key, "concurrency", concurrency)
        if pipeline is None:
            pipe.execute()

    def add_to_rate_limited(
        self, job_id: str, pipeline: Any = None, timestamp: float | None = None
    ) -> None:
        """Make ``job_id`` wait for a slot: into the waiting set and the queue's
        rate_limited registry, in one script. The job's own status is left as
        it is (the caller sets it to ``rate_limited``).

        Args:
            job_id: the job.
            pipeline: a redis-py pipeline to queue it on; None: now.
            timestamp: its rank among the waiting jobs (lowest is let in
                first); None: after those waiting.
        """
        validate_job_id(job_id)
        client = self.connection if pipeline is None else pipeline
        if pipeline is not None:
            scripts.preload(self.connection, "rate_limit_wait")
        scripts.rate_limit_wait(
            client, self.keys, self.queue_name, self.key, job_id, now(), timestamp
        )

    def acquire_and_enqueue(self, concurrency: int | None = None) -> list[str]:
        """Let the oldest waiting jobs into the queue while the limit has free slots.

        Args:
            concurrency: the limit to fill up to; None: the one recorded.

        Returns:
            The ids let in, oldest first.
        """
        return self._release("", concurrency, mode="fill")[1]

    def release_and_enqueue(self, job_id: str) -> list[str]:
        """Free ``job_id``'s slot, whatever its status, then admit waiting jobs.

        For the code that ends the job (see :func:`release_slot`); code that
        does not own its outcome calls :meth:`release_stale_and_enqueue`.
        Returns the ids let in.
        """
        return self._release(job_id, mode="force")[1]

    def release_stale_and_enqueue(self, job_id: str) -> list[str]:
        """Free ``job_id``'s slot unless it still needs it (it is queued or
        running), then admit waiting jobs. A job that held no slot, or keeps
        it, changes nothing. Returns the ids let in."""
        return self._release(job_id)[1]

    def cancel(self, job_id: str, pipeline: Any = None) -> list[str]:
        """Forget a job that was canceled or deleted: off the waiting jobs, and
        its slot (if it held one) freed for the oldest waiting job.

        Args:
            job_id: the job.
            pipeline: a redis-py pipeline: only its removal from the waiting
                jobs is queued on it; its slot, if any, is freed by the next
                :meth:`cleanup`.

        Returns:
            The ids let in; always [] with a pipeline.
        """
        if pipeline is not None:
            pipeline.zrem(self.rate_limited_key, job_id)
            return []
        return self._release(job_id, mode="cancel")[1]

    def cleanup(self) -> int:
        """Free the slots of every job that no longer needs one, admit waiting
        jobs, and forget the limit when it has no job left. Returns the slots freed."""
        return self._release("")[0]

    def _release(
        self, job_id: str, concurrency: int | None = None, mode: str = "stale"
    ) -> tuple[int, list[str]]:
        reply = scripts.rate_limit_release(
            self.connection, self.keys, self.queue_name, self.key, job_id, now(), concurrency, mode
        )
        return int(reply[0]), [as_shown(i) for i in reply[1:]]


def release_slot(job: Any) -> list[str]:
    """After ``job``'s outcome is recorded: free its slot unless it is queued or
    running again (an immediate retry), and admit waiting jobs.

    Both the status ``job`` holds (set with the outcome) and the one stored
    must say the job no longer needs its slot.

    Returns the ids let in; [] for a job without a rate limit.
    """
    if not job.rate_limit_key or not job.store.in_redis:
        return []
    if job.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.STARTED):
        return []
    return RateLimitRegistry.from_job(job).release_stale_and_enqueue(job.id)


def sweep(connection: Any, queue: str, prefix: str | None = None) -> int:
    """:meth:`RateLimitRegistry.cleanup` for every limit on ``queue``; returns slots freed."""
    return sum(
        registry.cleanup()
        for registry in RateLimitRegistry.all(connection, queue=queue, prefix=prefix)
    )


__all__ = ["RateLimit", "RateLimitRegistry", "release_slot", "sweep"]
