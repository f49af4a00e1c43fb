"""What a step of a chain does when it starts: take its predecessor's result.

A step of a :class:`~.chain.Chain` carries a ``chain`` field in its hash:
``{"step": n, "of": total, "prev": <job key>, "next": <job key>}`` (no
``prev`` on the first step, no ``next`` on the last). Ordinary jobs have no
such field, and pay nothing for it: :meth:`.job.Job.perform` looks at one
attribute, None for them.

The step is released by the engine's dependency mechanism when its
predecessor ends, however it ended (it waits with ``allow_failure``); the
result is read here, in the process that runs the step, when it starts, so
nothing is copied when the predecessor ends:

- predecessor finished: its result, read and loaded with the step's
  serializer, becomes the step's first positional argument;
- predecessor failed, stopped or canceled: :class:`ChainStopped` is raised
  before the function is imported, and :func:`stop` (called by
  :func:`.perform.run_job`) cancels this step and every step after it;
- predecessor gone (its result expired, or it was deleted) or its result
  unreadable: :class:`ChainResultLost`, a failure that is not retried.

Kept apart from :mod:`.chain`, which builds chains out of jobs, so that
:mod:`.job` and :mod:`.perform` can use it without an import cycle.
"""

from __future__ import annotations

import json
from typing import Any

from . import scripts
from .errors import ChainResultLost, ChainStopped, InvalidJobOperation, NoSuchJobError
from .payloads import SignatureError, loads_value
from .utils import as_int, as_str
from .vocabulary import JobStatus

#: The hash field that makes a job a step of a chain.
FIELD = "chain"

#: Statuses of a predecessor that stop the chain (ended without finishing).
STOPPING = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})


def loads(raw: Any) -> dict | None:
    """The ``chain`` field as stored; None when it is unreadable (the job then runs plain)."""
    try:
        link = json.loads(raw)
    except ValueError:
        return None
    return link if isinstance(link, dict) else None


def dumps(link: dict) -> str:
    return json.dumps(link, separators=(",", ":"))


def describe(job: Any, key: str, number: Any) -> str:
    """``step 2 of the chain (job <id> on queue 'q')`` for messages."""
    queue, job_id = job.keys.split_job_key(key)
    return f"step {number} of the chain (job {job_id} on queue {queue!r})"


def previous_result(job: Any) -> Any:
    """The result of the step before ``job``, loaded; one round trip.

    Raises:
        ChainStopped: the predecessor failed, was stopped or canceled.
        ChainResultLost: its result is gone, unreadable, or not there yet.
    """
    link = job.chain
    prev = link["prev"]
    number = as_int(link.get("step"), 2) - 1
    where = describe(job, prev, number)
    status, raw = job.connection.hmget(prev, ["status", "result"])
    status = as_str(status)
    if status == JobStatus.FINISHED and raw is not None:
        try:
            return loads_value(job.serializer, raw, job.keys.split_job_key(prev)[1], "result")
        except SignatureError:
            raise ChainResultLost(
                f"The result of {where} is not signed for that job: it was tampered with in "
                "Redis (copied from another job, say) or written with another signing key, "
                "so it was not loaded."
            ) from None
        except Exception as exc:
            raise ChainResultLost(
                f"The result of {where} cannot be read with this step's serializer "
                f"({type(exc).__name__}: {exc})."
            ) from None
    if status == JobStatus.FINISHED:
        raise ChainResultLost(f"{where[0].upper()}{where[1:]} finished but kept no result.")
    if status in STOPPING:
        how = "failed" if status == JobStatus.FAILED else f"was {status}"
        raise ChainStopped(f"Not run: {where} {how}, so the chain stopped there.")
    if status is None:
        raise ChainResultLost(
            f"The result of {where} is gone: it expired (its result_ttl ran out) or the job "
            "was deleted before this step started. Give the steps of a chain a result_ttl "
            "longer than the wait of the step after them."
        )
    raise ChainResultLost(
        f"{where[0].upper()}{where[1:]} has not finished (it is {status}): this step was "
        "started before its predecessor ended (requeued or enqueued by hand?)."
    )


def stop(job: Any, reason: str) -> JobStatus | None:
    """Cancel ``job`` (a step that is running) and the steps after it; returns its status.

    The later steps are canceled last first, so that none of them is released
    by the cancel of the one before it. Each keeps (this one gets back) its
    predecessor in its ``pending`` field, so that :meth:`.chain.Chain.requeue`
    makes it wait for it again. Returns None when the job was no longer there
    to cancel (deleted or canceled meanwhile).
    """
    for step in reversed(later_steps(job)):
        try:
            step.cancel()
        except (InvalidJobOperation, NoSuchJobError):  # ended, or gone, meanwhile
            pass
    scripts.set_field(job.connection, job.key, "pending", json.dumps([job.chain["prev"]]))
    try:
        job.cancel()
    except (InvalidJobOperation, NoSuchJobError):
        return None
    job.exc_info = reason  # in memory only: for the worker's line about the job
    return JobStatus.CANCELED


def later_steps(job: Any) -> list[Any]:
    """Handles on the steps after ``job`` (read one by one: a rare path), nearest first."""
    steps = []
    key = job.chain.get("next") if job.chain else None
    seen = {job.key}
    while key and key not in seen:
        seen.add(key)
        queue, job_id = job.keys.split_job_key(key)
        raw, failure_ttl = job.connection.hmget(key, [FIELD, "failure_ttl"])
        step = type(job)(
            job_id,
            job.connection,
            origin=queue,
            serializer=job.serializer,
            prefix=job.keys.prefix,
        )
        step.failure_ttl = as_int(failure_ttl)
        steps.append(step)
        link = loads(raw) if raw is not None else None
        key = link.get("next") if link else None
    return steps


__all__ = ["FIELD", "STOPPING", "dumps", "later_steps", "loads", "previous_result", "stop"]
