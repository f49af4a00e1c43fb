"""Progress a running job reports about itself, and the estimate readers make of it.

A job calls ``get_current_job().set_progress(done, total, note)`` as often as
it likes: the value is kept in memory and written to the job hash (one
``progress`` field, through ``set_field.lua``, so a deleted job is never
brought back) at most once per :data:`THROTTLE` seconds. The last value is
written when the job's function returns or raises, before the outcome is
recorded, so readers of a finished or failed job see where it got to.

Progress belongs to one attempt: it carries the ``started_at`` of the attempt
that reported it, and a job that was retried or requeued shows none until the
new attempt reports again. Nothing else ever rewrites the field.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import scripts
from .utils import as_str, now, to_datetime, truncate
from .vocabulary import JobStatus

logger = logging.getLogger("django_jobqueue.worker")

#: Seconds between two writes of one job's progress; calls in between only
#: update the value kept in memory.
THROTTLE = 0.1
#: Seconds to wait after a failed write (Redis unreachable) before trying again:
#: each try may wait for the client's connect timeouts and retries, which a job
#: reporting in a tight loop should not pay every 100 ms.
RETRY_AFTER = 30.0
#: The job hash field progress is stored in.
FIELD = "progress"
#: Longest note kept, in characters.
NOTE_LIMIT = 200
#: Job statuses whose stored progress is a leftover of an earlier attempt.
WAITING = frozenset({JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED})

#: Monotonic clock of the throttle (tests replace it).
clock = time.monotonic


def _number(value: Any, what: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"set_progress() takes {what} as a number, not {type(value).__name__} "
            f"({value!r}); for example {example}."
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"set_progress() takes {what} as a finite number, 0 or more, not {value!r}."
        )
    return value


@dataclass(frozen=True)
class Progress:
    """How far one attempt of a job got, as it last reported.

    ``done`` may exceed ``total``: totals are often estimates (rows counted
    before more arrived), and a report should never fail a job whose real work
    went fine. The percentage then stays at 100 and there is no ETA.
    """

    #: Units of work done so far.
    done: float
    #: Units of work in all; None when the job cannot tell.
    total: float | None
    #: Free text from the job ("copying invoices"), at most :data:`NOTE_LIMIT` characters.
    note: str
    #: UNIX time of the report.
    updated: float
    #: UNIX time the reporting attempt started (None when the job never started).
    started: float | None

    @classmethod
    def report(
        cls, done: Any, total: Any = None, note: Any = "", *, started: float | None = None
    ) -> Progress:
        """A new report, checked: raises TypeError or ValueError with what to pass instead."""
        done = _number(done, "done", "set_progress(40, 100)")
        if total is not None:
            total = _number(total, "total", "set_progress(40, 100), or total=None when unknown")
        if note is None:
            note = ""
        if not isinstance(note, str):
            raise TypeError(
                f"set_progress(note=...) takes a string, not {type(note).__name__}; "
                "format the value into the text yourself."
            )
        return cls(done, total, truncate(note, NOTE_LIMIT), now(), started)

    # -- storage ---------------------------------------------------------------------------

    def dumps(self) -> str:
        data = {"done": self.done, "total": self.total, "note": self.note, "at": self.updated}
        data["start"] = self.started
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: Any, started: float | None) -> Progress | None:
        """The stored report, or None when there is none or it cannot be read.

        ``started`` is the job's ``started_at``: it is stored with the report
        (``"start"``) and a report of another attempt is dropped.
        """
        if not raw:
            return None
        try:
            data = json.loads(raw)
            done, total, at = data["done"], data.get("total"), float(data["at"])
            note = as_str(data.get("note")) or ""
            start = data.get("start")
            start = None if start is None else float(start)
            _number(done, "done", "")
            if total is not None:
                _number(total, "total", "")
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if start is not None and (started is None or abs(start - started) > 1e-3):
            return None  # an earlier attempt's
        return cls(done, total, note, at, start)

    # -- what readers want -----------------------------------------------------------------

    @property
    def fraction(self) -> float | None:
        """0.0 to 1.0; None without a total. A total of 0 counts as all done."""
        if self.total is None:
            return None
        if self.total == 0:
            return 1.0
        return min(self.done / self.total, 1.0)

    @property
    def percent(self) -> int | None:
        """Whole percent, rounded down (99.9 % is not done yet); None without a total."""
        fraction = self.fraction
        return None if fraction is None else math.floor(fraction * 100 + 1e-9)

    @property
    def updated_at(self) -> datetime | None:
        return to_datetime(self.updated)

    @property
    def started_at(self) -> datetime | None:
        return to_datetime(self.started)

    @property
    def eta_timestamp(self) -> float | None:
        """UNIX time the job should end at the rate it kept since it started.

        None when that cannot be told: no total, nothing done yet, all done
        already, or no start time.
        """
        if self.total is None or self.started is None or self.done <= 0 or self.done >= self.total:
            return None
        elapsed = self.updated - self.started
        if elapsed <= 0:
            return None
        return self.started + elapsed * self.total / self.done

    @property
    def eta(self) -> datetime | None:
        """:attr:`eta_timestamp` as an aware UTC datetime."""
        return to_datetime(self.eta_timestamp)

    def describe(self) -> str:
        """One line for people: ``42% (420/1000)``, or ``420 done`` without a total."""
        done = _short(self.done)
        if self.total is None:
            return f"{done} done"
        return f"{self.percent}% ({done}/{_short(self.total)})"


def _short(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def visible(progress: Progress | None, status: Any) -> Progress | None:
    """``progress`` unless the job waits for a new attempt (then it is a leftover)."""
    if progress is None or as_str(status) in WAITING:
        return None
    return progress


class ProgressWriter:
    """Writes one job's reports, at most one round trip per :data:`THROTTLE` seconds.

    A failed write never fails the job: progress is advisory, and a Redis
    outage is the worker's to ride out when it records the outcome.
    """

    def __init__(self, connection: Any, key: str, job_id: str):
        self.connection = connection
        self.key = key
        self.job_id = job_id
        self.pending: Progress | None = None
        self.next_write = -math.inf
        self.writes = 0
        self.gone = False
        self._warned = False

    def offer(self, progress: Progress) -> None:
        """Keep ``progress``; write it now if the last write is old enough."""
        self.pending = progress
        if clock() >= self.next_write:
            self.flush()

    def flush(self) -> None:
        """Write the kept report, if any (the job is ending: no throttle)."""
        progress, self.pending = self.pending, None
        if progress is None or self.gone:
            return
        started = clock()
        try:
            written = scripts.set_field(self.connection, self.key, FIELD, progress.dumps())
        except Exception as exc:  # a Redis outage, a cluster failing over...
            self.pending = progress
            self.next_write = started + RETRY_AFTER
            if not self._warned:
                self._warned = True
                logger.warning(
                    "Job %s: its progress could not be written (%s: %s); will retry.",
                    self.job_id,
                    type(exc).__name__,
                    exc,
                )
            return
        self.writes += 1
        self.next_write = started + THROTTLE
        if not written:
            self.gone = True  # deleted meanwhile: set_field did not bring it back


def fetch_progress(connection: Any, job_keys: list[str]) -> list[Progress | None]:
    """The visible progress of several jobs, in one pipeline (for lists of running jobs)."""
    if not job_keys:
        return []
    pipe = connection.pipeline(transaction=False)
    for key in job_keys:
        pipe.hmget(key, [FIELD, "started_at", "status"])
    found = []
    for raw, started, status in pipe.execute():
        started_at = float(started) if started else None
        found.append(visible(Progress.loads(raw, started_at), status))
    return found
