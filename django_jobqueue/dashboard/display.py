"""How the dashboard shows jobs and numbers: durations, calls, progress and list rows.

Everything here formats what a page already read; nothing asks Redis.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ..engine.corrupt import UnreadableJob
from ..engine.job import Job
from ..engine.progress import Progress
from ..engine.utils import as_shown, as_str, now, truncate
from .site import label, url

_repr = reprlib.Repr()
_repr.maxstring = 120
_repr.maxother = 120


def human_duration(seconds: float | None) -> str:
    """A duration for people: "0.012 s", "42 s", "3 min 20 s", "8 h", "365 d".

    Under a minute, fractions of a second are kept (to the millisecond);
    above, the two largest units (rounded to the second).
    """
    if seconds is None:
        return "—"
    if seconds < 60:
        if seconds and seconds < 0.001:
            return _("< 1 ms")
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return _("%(n)s s") % {"n": text}
    units = ((86400, _("%(n)d d")), (3600, _("%(n)d h")), (60, _("%(n)d min")), (1, _("%(n)d s")))
    left = round(seconds)
    counts = []
    for size, unit in units:
        count, left = divmod(left, size)
        counts.append((count, unit))
    # The largest unit present, and the next one when it is not zero.
    first = next(i for i, (count, _unit) in enumerate(counts) if count)
    shown = [counts[first]] + [c for c in counts[first + 1 : first + 2] if c[0]]
    return " ".join(unit % {"n": count} for count, unit in shown)


_BREAK_AFTER = re.compile(r"(?<=[.,(=])")


def breakable(text: str) -> SafeString:
    """``text`` escaped, with line-break opportunities (``<wbr>``) after dots, commas,
    opening brackets and equals signs only: a call wraps between names, never
    inside one (CSS breaks a name only when it is wider than its column)."""
    return mark_safe("<wbr>".join(escape(part) for part in _BREAK_AFTER.split(text)))


def duration(job: Job) -> float | None:
    """How long the job's run took; None before a run has ended.

    A job running again still has its last run's end, before its new start:
    it has none yet (as the ``duration`` the sort reads, see search.lua).
    """
    if job.started_at and job.ended_at and job.ended_at >= job.started_at:
        return (job.ended_at - job.started_at).total_seconds()
    return None


def summary(job: Job, status: str | None) -> tuple[str, str]:
    """``(kind, text)``: the result or the exception, in one line.

    Only reads what the job hash already brought (no extra round trip); a
    value too large to bring for a list row (see ``row_loader``) is named by
    its size.
    """
    omitted = getattr(job, "omitted", {})
    if status in ("failed", "stopped") and "exc_info" in omitted:
        return "error", _("(a traceback of %(size)s: open the job to read it)") % {
            "size": filesizeformat(omitted["exc_info"])
        }
    if status == "finished" and "result" in omitted:
        return "result", _("(a result of %(size)s: open the job to see it)") % {
            "size": filesizeformat(omitted["result"])
        }
    if status == "rate_limited" and job.rate_limit_key:
        return "", _("waits for a slot of %(key)s (at most %(limit)s at once)") % {
            "key": job.rate_limit_key,
            "limit": job.rate_limit_concurrency,
        }
    has_result, exc_info = job.loaded_outcome
    if status in ("failed", "stopped") and exc_info:
        lines = [line for line in exc_info.strip().splitlines() if line.strip()]
        return "error", truncate(lines[-1] if lines else "", 200)
    if status == "finished" and has_result:
        try:
            return "result", truncate(_repr.repr(job.result), 200)
        except Exception as exc:  # a class the web process cannot import, say
            return "error", _("(the result cannot be read: %(error)s)") % {
                "error": f"{type(exc).__name__}: {exc}"
            }
    return "", ""


def progress_context(
    progress: Progress | None, status: str | None = "started"
) -> dict[str, Any] | None:
    """What ``_progress.html`` shows of a job's progress; None when it reported none.

    Only a running job (``status`` "started") gets an ETA: one that stopped,
    failed or finished will not end at that time.
    """
    if progress is None:
        return None
    moment = now()
    eta = progress.eta_timestamp if status == "started" else None
    return {
        "percent": progress.percent,
        "text": progress.describe(),
        "note": progress.note,
        "eta": None if eta is None else progress.eta,
        # Whole seconds: the ``timeuntil`` filter says "0 minutes" for anything short.
        "eta_in": None if eta is None else max(int(eta - moment), 0),
        "updated_at": progress.updated_at,
        "updated_ago": max(int(moment - progress.updated), 0),
    }


def status_of(job: Job | UnreadableJob | None) -> str | None:
    """The status a page read with the job (None for a gone job), without asking Redis."""
    if isinstance(job, UnreadableJob):
        return job.status
    return as_str(job.get_status(refresh=False)) if job is not None else None


def job_row(
    request: Any, queue: Any, job_id: str, job: Job | UnreadableJob | None
) -> dict[str, Any]:
    """One row of a job list."""
    if job is None:
        return {"id": job_id, "missing": True, "url": url(request, "job", queue.name, job_id)}
    if isinstance(job, UnreadableJob):
        # Its page shows the fields as stored; the row says which one is bad.
        return {
            "id": job_id,
            "missing": False,
            "unreadable": truncate(job.reason, 300),
            "url": url(request, "job", queue.name, job_id),
        }
    status = status_of(job)
    kind, text = summary(job, status)
    return {
        "id": job.id,
        "missing": False,
        "url": url(request, "job", queue.name, job.id),
        # A call too large to read for a row is shown by its function's name.
        "description": breakable(
            f"{job.func_name}(\u2026)"
            if "data" in getattr(job, "omitted", {})
            else job.description or job.func_name or ""
        ),
        "status": status,
        "status_label": label(status) if status else _("unknown"),
        "enqueued_at": job.enqueued_at,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
        "duration": duration(job),
        "summary_kind": kind,
        "summary": text,
        # Read from the hash the page already fetched; only running jobs get a bar.
        "progress": progress_context(job.progress) if status == "started" else None,
    }


#: Parent statuses after which a deferred child is released only if it allows
#: failures (``depends_on=Dependency(..., allow_failure=True)``).
_FAILED_PARENT = ("failed", "stopped", "canceled")


def deferred_parents(request: Any, queue: Any, rows: list[dict], jobs: list[Any]) -> None:
    """Add to each row of the Deferred list the parents its job waits on, and whether
    it will wait forever: a parent it still waits for failed, was stopped or
    canceled (and the job does not allow failures), or is gone (its hash was
    deleted or expired, so nothing will ever release the job).

    Reads each parent's status, in one round trip for the page; a parent may be
    on another queue.
    """
    keyed = [(row, job) for row, job in zip(rows, jobs) if isinstance(job, Job)]
    parent_keys = sorted({key for _row, job in keyed for key in job.dependency_keys})
    pipe = queue.connection.pipeline(transaction=False)
    for key in parent_keys:
        pipe.hget(key, "status")
    statuses = dict(zip(parent_keys, (as_shown(s) for s in pipe.execute()))) if parent_keys else {}
    for row, job in keyed:
        pending = set(job.pending_keys)
        parents, stuck = [], []
        for key in job.dependency_keys:
            try:
                parent_queue, parent_id = queue.keys.split_job_key(key)
            except ValueError:  # a key from another prefix: shown as it is
                parent_queue, parent_id = "", key
            status = statuses.get(key)
            waits = key in pending
            blocks = waits and (
                status is None or (status in _FAILED_PARENT and not job.allow_dependency_failures)
            )
            parents.append(
                {
                    "id": parent_id,
                    "queue": parent_queue,
                    "url": url(request, "job", parent_queue, parent_id)
                    if parent_queue and status is not None
                    else None,
                    "status": status or "missing",
                    "status_label": label(status) if status else _("deleted or expired"),
                    "waits": waits,
                    "blocks": blocks,
                }
            )
            if blocks:
                stuck.append(parent_id)
        row["parents"] = parents
        row["stuck"] = stuck
