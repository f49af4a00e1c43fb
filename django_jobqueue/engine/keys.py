"""Every Redis key the engine uses, built in one place.

All of one queue's keys carry the queue name as a hash tag (``{name}``), so
that on Redis Cluster a queue, its registries and its jobs live in one slot and
each Lua script can touch them atomically. Keys shared by all queues (the queue
and worker sets) are only ever written outside those scripts.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .vocabulary import DEFAULT_PREFIX, REGISTRIES, STATS_TTL

#: Queue names and job ids: letters, digits and ``_.:@+-``. Never braces (hash
#: tags), whitespace or ``/`` (a dashboard URL holds them as one path segment).
#: Always used with ``fullmatch``: ``$`` would let a final newline through.
#: Width of a priority band in the scores of a queue's priority set: a job of
#: priority p (-100..100, 0 = the list) scores (100 - p) * PRIORITY_BAND plus
#: its push number, so positive priorities score below 100 * PRIORITY_BAND and
#: negative ones above (``scripts/_lib.lua`` uses the same layout).
PRIORITY_BAND = 10**13

_NAME = re.compile(r"[\w.:@+-]+")


def validate_queue_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"Invalid queue name {name!r}: use letters, digits and '_.:@+-' characters, "
            "such as 'default' or 'high'."
        )
    return name


def validate_job_id(job_id: str) -> str:
    if not isinstance(job_id, str):  # TypeError, as in RQ
        raise TypeError(f"A job id is a string, not {type(job_id).__name__} ({job_id!r}).")
    if not _NAME.fullmatch(job_id) or len(job_id) > 200:
        raise ValueError(
            f"Invalid job id {job_id!r}: use up to 200 letters, digits and '_.:@+-' characters."
        )
    return job_id


class KeySpace:
    """Names the keys under one prefix."""

    def __init__(self, prefix: str = DEFAULT_PREFIX):
        if "{" in prefix or "}" in prefix:
            raise ValueError("The key prefix must not contain '{' or '}': they are hash tags.")
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"KeySpace({self.prefix!r})"

    # Keys shared by all queues.
    @property
    def queues(self) -> str:
        return f"{self.prefix}queues"

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    def worker(self, name: str) -> str:
        return f"{self.prefix}worker:{name}"

    @property
    def suspended(self) -> str:
        return f"{self.prefix}suspended"

    @property
    def scheduler(self) -> str:
        """The scheduler lock: names the one scheduler that is active under this prefix."""
        return f"{self.prefix}scheduler"

    def queue_scheduler(self, name: str) -> str:
        """The hash describing RQ-style scheduler ``name`` (host, pid, queues, heartbeat)."""
        return f"{self.prefix}scheduler:{name}"

    # Keys of RQ's cron API (cron_scheduler.py and its two registries):
    # monitoring records that belong to no queue. They share the hash tag
    # ``{#cron}`` ('#' is never in a queue name, so no queue's keys collide) so
    # that one MULTI may write several of them on Redis Cluster too.
    @property
    def cron_schedulers(self) -> str:
        """The sorted set of live cron schedulers' names, scored by their last heartbeat."""
        return f"{self.prefix}{{#cron}}:schedulers"

    def cron_scheduler(self, name: str) -> str:
        """The hash describing the cron scheduler ``name`` (host, pid, its cron jobs)."""
        return f"{self.prefix}{{#cron}}:scheduler:{name}"

    @property
    def cron_job_names(self) -> str:
        """The sorted set of cron job names, scored by when each last enqueued a job."""
        return f"{self.prefix}{{#cron}}:names"

    def cron_job_history(self, name: str) -> str:
        """The sorted set of the ids of the jobs the cron jobs named ``name`` enqueued."""
        return f"{self.prefix}{{#cron}}:history:{name}"

    # Keys of one queue, all in the queue's hash slot.
    def tag(self, queue: str) -> str:
        return f"{self.prefix}{{{queue}}}"

    def queue(self, queue: str) -> str:
        return f"{self.tag(queue)}:queue"

    def priority(self, queue: str) -> str:
        """The sorted set holding a queue's waiting jobs of non-zero priority."""
        return f"{self.tag(queue)}:priority"

    def registry(self, queue: str, kind: str) -> str:
        if kind not in REGISTRIES:
            names = tuple(str(name) for name in REGISTRIES)
            raise ValueError(f"Unknown registry {kind!r}; expected one of {names}.")
        return f"{self.tag(queue)}:{kind}"

    def selection(self, queue: str, kind: str, token: str) -> str:
        """The ids a "requeue/delete all" confirmed, beside their registry (same slot)."""
        if not token or not token.isalnum():
            raise ValueError(f"Invalid selection token {token!r}.")
        return f"{self.registry(queue, kind)}:selection:{token}"

    def scheduler_lock(self, queue: str) -> str:
        """Names the :class:`~.scheduler.RQScheduler` that handles ``queue``."""
        return f"{self.tag(queue)}:scheduler-lock"

    def maintenance_lock(self, queue: str) -> str:
        """The lock of ``Queue.acquire_maintenance_lock`` (RQ's registry cleaning lock)."""
        return f"{self.tag(queue)}:maintenance-lock"

    def job_prefix(self, queue: str) -> str:
        return f"{self.tag(queue)}:job:"

    def job(self, queue: str, job_id: str) -> str:
        return f"{self.tag(queue)}:job:{job_id}"

    def results(self, queue: str, job_id: str) -> str:
        """The stream of the results recorded for a job through ``Result.create`` and co.

        Beside the job, in its slot: deleting the job deletes it
        (``delete_job`` in ``scripts/_lib.lua``, ``scripts/empty.lua``).
        """
        return f"{self.tag(queue)}:results:{job_id}"

    def cron(self, queue: str, name: str) -> str:
        """The hash recording the runs of periodic entry ``name``, whose jobs go to ``queue``.

        It lives in the queue's slot so that one script can record an
        occurrence and enqueue its job together.
        """
        return f"{self.tag(queue)}:cron:{name}"

    def rate_limit(self, queue: str, key: str) -> str:
        """The hash holding rate limit ``key``'s concurrency on ``queue``.

        Its jobs' sets are beside it: ``<this>:allowed`` (the jobs holding a
        slot) and ``<this>:waiting`` (those waiting for one, oldest first).
        ``scripts/_lib.lua`` builds the same names from the queue list's key.
        """
        return f"{self.tag(queue)}:rl:{key}"

    def unique(self, queue: str, key: str) -> str:
        """The lock of unique key ``key`` on ``queue`` (see :mod:`.unique`).

        A string holding the id of the job that holds the key, set to expire
        after the job's ``unique_for``; beside the queue, in its slot, so that
        the enqueue script checks and takes it in the step that stores the job.
        """
        return f"{self.tag(queue)}:unique:{key}"

    def rate_limit_keys(self, queue: str) -> str:
        """The set of rate limit keys in use on ``queue`` (for sweeps and listings)."""
        return f"{self.tag(queue)}:rl-keys"

    def group(self, queue: str, name: str) -> str:
        """The set of the ids of group ``name``'s jobs on ``queue`` (see :mod:`.group`).

        One set per queue the group spans, in that queue's slot, so that one
        script can store a job and make it a member together.
        """
        return f"{self.tag(queue)}:group:{name}"

    @property
    def groups(self) -> str:
        """The set of the names of the groups that have (or had) jobs."""
        return f"{self.prefix}groups"

    @property
    def group_cleaning(self) -> str:
        """The lock that lets one worker at a time sweep the groups (see :mod:`.group`)."""
        return f"{self.prefix}clean_groups"

    def pending(self, queue: str, job_id: str) -> str:
        """The set of the parents a deferred job still waits for, when it keeps them
        in a set rather than in its ``pending`` field (a batch's callbacks: see
        ``scripts/release.lua``)."""
        return f"{self.tag(queue)}:pending:{job_id}"

    def batch(self, queue: str, batch_id: str) -> str:
        """The hash of batch ``batch_id`` (see :mod:`.batches`), in its queue's slot.

        It is also the parent that holds the batch's callback jobs back until
        the batch is closed, so it has a ``status`` field as a job has.
        """
        return f"{self.tag(queue)}:batch:{batch_id}"

    def batch_jobs(self, queue: str, batch_id: str) -> str:
        """The set of the ids of batch ``batch_id``'s jobs, beside the batch's hash."""
        return f"{self.tag(queue)}:batch:{batch_id}:jobs"

    @property
    def batches(self) -> str:
        """The hash of batch ids to the queue each lives on, to find a batch by its id."""
        return f"{self.prefix}batches"

    def wake_channel(self, queue: str) -> str:
        return f"{self.tag(queue)}:wake"

    def worker_channel(self, name: str) -> str:
        """Where a command for worker ``name`` is announced (see ``worker_command``)."""
        return f"{self.prefix}worker:{name}:wake"

    def stats(self, queue: str, minute: int) -> str:
        """The hash counting a queue's finished and failed jobs in one minute.

        ``minute`` is the UNIX time divided by 60, rounded down.
        """
        return f"{self.tag(queue)}:stats:{minute}"

    def metrics(self, queue: str) -> str:
        """The hash of a queue's cumulative counts since it was first used.

        Jobs ``started``, ``finished`` and ``failed``, and a histogram of job
        durations (``le:<bound>`` cumulative buckets, ``duration_count``,
        ``duration_sum``), as the Prometheus endpoint exposes them. Workers
        add to it about once a second (see :mod:`.tally`); it never expires.
        """
        return f"{self.tag(queue)}:metrics"

    def split_job_key(self, key: str | bytes) -> tuple[str, str]:
        """Return ``(queue, job_id)`` of a job key made by :meth:`job`."""
        if isinstance(key, bytes):
            key = key.decode()
        head = self.prefix + "{"
        if not key.startswith(head):
            raise ValueError(f"{key!r} is not a job key under prefix {self.prefix!r}.")
        queue, sep, job_id = key[len(head) :].partition("}:job:")
        if not sep:
            raise ValueError(f"{key!r} is not a job key.")
        return queue, job_id


@lru_cache(maxsize=64)
def keyspace(prefix: str | None = None) -> KeySpace:
    return KeySpace(DEFAULT_PREFIX if prefix is None else prefix)


__all__ = [
    "DEFAULT_PREFIX",
    "REGISTRIES",
    "STATS_TTL",
    "KeySpace",
    "keyspace",
    "validate_job_id",
    "validate_queue_name",
]
