"""Data in Redis that is not as the engine wrote it: reported once, then skipped.

A key holding another type of data than the engine expects (a queue list
that is a string after a stray ``SET``, say) must cost one error per bad key,
not a crashed worker: the scripts pass such keys over and name them (see
``try_call`` in scripts/_lib.lua), and Python code reading a key calls it
through :meth:`Damage.guard`, which retries a bad key with back-off. Each
key is logged once while it stays bad, and once more when it is readable
again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from redis.exceptions import ResponseError

from .utils import as_shown

logger = logging.getLogger("django_jobqueue.worker")

#: Seconds before a bad key is tried again, doubled each time up to MAX_DELAY.
FIRST_DELAY = 1.0
MAX_DELAY = 300.0


def is_wrong_type(exc: BaseException) -> bool:
    return isinstance(exc, ResponseError) and str(exc).startswith("WRONGTYPE")


class Damage:
    """The bad keys this process knows of, with when to try each again."""

    def __init__(self, clock: Any = time.monotonic):
        self.clock = clock
        #: key -> (monotonic time of the next try, current delay)
        self.bad: dict[str, tuple[float, float]] = {}

    def report(self, keys: Iterable[str], detail: str = "") -> None:
        """Note bad keys found elsewhere (a script's reply); each is logged once."""
        for key in keys:
            if key and key not in self.bad:
                logger.error(
                    "Redis key %s holds another type of data than the job queue expects%s; "
                    "it is skipped. Delete it (or restore it) to fix this.",
                    key,
                    f" ({detail})" if detail else "",
                )
                self.bad[key] = (self.clock() + FIRST_DELAY, FIRST_DELAY)

    def skipped(self, key: str) -> bool:
        """Whether ``key`` is bad and not due for another try yet."""
        entry = self.bad.get(key)
        return entry is not None and self.clock() < entry[0]

    def guard(self, key: str, func: Any, *args: Any, default: Any = None, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)``, or ``default`` when ``key`` is of the wrong type.

        A bad key is tried again after 1, 2, 4 ... up to 300 seconds.
        """
        entry = self.bad.get(key)
        if entry is not None and self.clock() < entry[0]:
            return default
        try:
            result = func(*args, **kwargs)
        except ResponseError as exc:
            if not is_wrong_type(exc):
                raise
            if entry is None:
                self.report([key], str(exc))
            else:
                delay = min(entry[1] * 2, MAX_DELAY)
                self.bad[key] = (self.clock() + delay, delay)
            return default
        if entry is not None:
            self.repaired(key)
        return result

    def repaired(self, key: str) -> None:
        if self.bad.pop(key, None) is not None:
            logger.warning("Redis key %s is readable again", key)


#: The process's record (workers, pools, pages and commands share it).
damage = Damage()


def execute(pipe: Any, keys: list[str], default: Any = None) -> list[Any]:
    """Run a pipeline whose commands each touch one key, ``keys`` in order.

    A command that meets a key of the wrong type gives ``default`` (the key is
    reported once); any other error is raised.
    """
    replies = []
    for key, reply in zip(keys, pipe.execute(raise_on_error=False)):
        if isinstance(reply, Exception):
            if not is_wrong_type(reply):
                raise reply
            damage.report([key], str(reply))
            reply = default
        replies.append(reply)
    return replies


class UnreadableJob:
    """A job hash :class:`~.job.Job` refuses to load, kept as stored.

    Something other than this code wrote one of its fields (a ``created_at``
    that is not a number, a ``ttl`` that is not an integer, a name that is not
    UTF-8). A worker fails such a job with the reason; a page shows it as
    unreadable, with ``field`` and ``error`` saying why, instead of failing
    itself, so that a person can see it and delete it.
    """

    def __init__(self, id: str, origin: str, fields: dict, field: str, error: str):
        self.id = id
        self.origin = origin
        #: The hash as read: bytes field names to bytes values.
        self.fields = fields
        #: The field that could not be read ("" when no field alone fails).
        self.field = field
        self.error = error

    def text(self, name: str) -> str | None:
        """A field as text, bytes that are not UTF-8 escaped; None when absent."""
        return as_shown(self.fields.get(name.encode()))

    @property
    def status(self) -> str | None:
        return self.text("status")

    @property
    def func_name(self) -> str | None:
        return self.text("func")

    @property
    def reason(self) -> str:
        """Why it cannot be read, in a line for people."""
        if not self.field:
            return self.error
        return f"{self.field} = {_shown(self.fields.get(self.field.encode()))}: {self.error}"


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def load_job(
    job_class: Any,
    job_id: str,
    fields: dict,
    connection: Any,
    *,
    origin: str,
    serializer: Any = None,
    prefix: str | None = None,
) -> Any:
    """``job_class.from_hash(...)``, or an :class:`UnreadableJob` naming the bad field.

    The field is found by loading each field alone, only once the whole hash
    failed: a readable job costs nothing more.
    """

    def load(some: dict) -> Any:
        return job_class.from_hash(
            job_id, some, connection, origin=origin, serializer=serializer, prefix=prefix
        )

    try:
        return load(fields)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    for name, value in fields.items():
        try:
            load({name: value})
        except Exception as exc:
            field = as_shown(name) or ""
            return UnreadableJob(job_id, origin, fields, field, f"{type(exc).__name__}: {exc}")
    return UnreadableJob(job_id, origin, fields, "", error)


def fail_unnamed(connection: Any, ks: Any, queue: str, raw_id: bytes, when: float) -> None:
    """Fail a job taken from ``queue`` whose id is not UTF-8 text.

    Only another program writes such an id (ids are checked text at
    enqueue). Python cannot make a job of it, but it was taken: it is in the
    started registry. It moves to the failed registry as it is, with the
    reason, for the default failure TTL, in one MULTI (its keys share the
    queue's slot).
    """
    from .vocabulary import DEFAULT_FAILURE_TTL

    text = "InvalidJobOperation: the job's id is not UTF-8 text (another program wrote it)"
    key = ks.job_prefix(queue).encode() + raw_id
    pipe = connection.pipeline(transaction=True)
    pipe.hset(
        key,
        mapping={
            "status": "failed",
            "ended_at": repr(when),
            "duration": "",
            "exc_info": text,
            "exc_line": text,
        },
    )
    pipe.expire(key, DEFAULT_FAILURE_TTL)
    pipe.zrem(ks.registry(queue, "started"), raw_id)
    pipe.zadd(ks.registry(queue, "failed"), {raw_id: when + DEFAULT_FAILURE_TTL})
    pipe.execute()
    logger.error(
        "%s: job %s was not run: its id is not UTF-8 text (another program wrote it); "
        "it is in the failed jobs",
        queue,
        as_shown(raw_id),
    )


def fetch_jobs(
    ids: list[str], connection: Any, serializer: Any, *, origin: str, prefix: str, job_class: Any
) -> list[Any]:
    """``Job.fetch_many`` for pages: a hash that cannot be loaded gives None, not an error.

    (A key that is not a hash, or a field such as ``created_at`` that is not
    a number, written by something else than this code.) One round trip.
    """
    from .keys import keyspace

    ks = keyspace(prefix)
    keys = [ks.job(origin, job_id) for job_id in ids]
    pipe = connection.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    jobs = []
    for job_id, key, fields in zip(ids, keys, execute(pipe, keys, default={})):
        job = None
        if fields:
            job = load_job(
                job_class,
                job_id,
                fields,
                connection,
                origin=origin,
                serializer=serializer,
                prefix=prefix,
            )
            if isinstance(job, UnreadableJob):
                damage.report([key], job.reason)
                job = None
        jobs.append(job)
    return jobs
