"""The engine's words: statuses, registry and state names, and the defaults they come with.

Redis holds these as plain strings (and the Lua scripts spell them out), so
each is a :class:`~enum.StrEnum`: a member equals its string and is written
as it. Nothing here imports anything, so every module can use it.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life, as its hash's ``status`` field holds it."""

    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    DEFERRED = "deferred"
    SCHEDULED = "scheduled"
    CANCELED = "canceled"
    STOPPED = "stopped"
    #: Stored by ``job.save()`` before it was ever enqueued: in no queue and no
    #: registry, waiting for ``queue.enqueue_job(job)`` (RQ's ``created``).
    CREATED = "created"
    #: Waiting for a free slot under its rate limit (see :mod:`.rate_limit`).
    RATE_LIMITED = "rate_limited"
    #: Enqueued inside a database transaction; stored in Redis once it commits.
    PENDING_COMMIT = "pending_commit"


#: Registries kept per queue, each a sorted set of job ids named after the
#: status of the jobs it holds.
REGISTRIES: tuple[JobStatus, ...] = (
    JobStatus.STARTED,
    JobStatus.FINISHED,
    JobStatus.FAILED,
    JobStatus.DEFERRED,
    JobStatus.CANCELED,
    JobStatus.SCHEDULED,
    JobStatus.RATE_LIMITED,
)


class WorkerState(StrEnum):
    """What a worker says it is doing, in its registration's ``state`` field."""

    STARTED = "started"
    IDLE = "idle"
    BUSY = "busy"
    SUSPENDED = "suspended"


#: RQ's name for the same states (``rq.worker.WorkerStatus``).
WorkerStatus = WorkerState


class DequeueStrategy(StrEnum):
    """The order in which a worker looks at its queues for the next job (RQ's names).

    ``default`` is strict priority: the first queue with a job wins, every
    time. ``round_robin`` starts after the queue the last job came from;
    ``random`` shuffles the queues before each job.
    """

    DEFAULT = "default"
    ROUND_ROBIN = "round_robin"
    RANDOM = "random"


#: Prefix of every key unless a queue, job or worker is given another.
DEFAULT_PREFIX = "jobqueue:"

#: Seconds a job may run unless told otherwise.
DEFAULT_TIMEOUT = 180
#: The longest job timeout accepted: a year. Longer ones are mistakes (a
#: timestamp passed as a duration) and would overflow the worker's timer.
MAX_TIMEOUT = 366 * 24 * 3600
#: The longest duration accepted for a ttl, a result's or a failure's: 100
#: years ("forever" is -1). Redis refuses an EXPIRE past about 290,000 years,
#: and a worker must never meet that refusal while recording an outcome.
MAX_TTL = 100 * 365 * 24 * 3600
#: Seconds a successful job's result is kept.
DEFAULT_RESULT_TTL = 500
#: Seconds a failed job is kept, with its traceback, in the failed registry.
DEFAULT_FAILURE_TTL = 365 * 24 * 3600
#: Seconds a queue's per-minute stats hash is kept (workers refresh it as they add to it).
STATS_TTL = 7200
#: Seconds without a heartbeat after which a worker and its job count as dead.
DEFAULT_WORKER_TTL = 420
#: Seconds past a job's timeout before the process running it is killed
#: outright (the job's own SIGALRM fires first; this catches jobs stuck in C code).
KILL_GRACE = 5
