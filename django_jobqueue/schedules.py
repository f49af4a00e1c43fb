"""The ``PeriodicJob`` table as the scheduler's source of changing periodic entries.

The engine's :class:`~django_jobqueue.engine.scheduler.Scheduler` knows nothing
of Django: it calls a *source* every few seconds
(``JOBQUEUE_WORKER['CRON_RELOAD_INTERVAL']``) for the entries now wanted.
:class:`DatabaseEntries` is that source for the rows of
:class:`~django_jobqueue.models.PeriodicJob`: one query per call, and None
(nothing to do for the scheduler) while the rows are unchanged.

Only the active scheduler calls it, so one worker per Redis queries the
table. The table may be missing (a project that never ran ``migrate`` for
this app): then a warning is logged once and the scheduler fires
``JOBQUEUE_CRON``'s entries alone, picking the table up once it exists.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections, router, transaction

from .cron import entries_for, setting_names
from .engine.cron import CronEntry
from .models import PeriodicJob

logger = logging.getLogger("django_jobqueue.scheduler")


class DatabaseEntries:
    """An entry source (see :data:`~django_jobqueue.engine.scheduler.EntrySource`).

    Args:
        queue_names: the worker's queues; only rows whose queue is on the same
            Redis as the first one are returned (see
            :func:`~django_jobqueue.cron.entries_for`), as for ``JOBQUEUE_CRON``.
    """

    def __init__(self, queue_names: list[str]):
        self.queue_names = list(queue_names)
        #: The rows' values last read; None before the first good read.
        self._last: list[tuple] | None = None
        #: Whether the failure of the table's read was logged (once until it works again).
        self._told_failure = False
        #: (name, values) of rows already reported as unusable.
        self._told_bad: set[tuple] = set()

    def __call__(self) -> list[CronEntry] | None:
        alias = router.db_for_read(PeriodicJob)
        try:
            rows = read_rows(alias)
        except (DatabaseError, ImproperlyConfigured) as exc:  # the latter: no DATABASES
            if not self._told_failure:
                self._told_failure = True
                logger.warning(
                    "Periodic jobs of the database are not read (%s: %s); JOBQUEUE_CRON's "
                    "entries still run. Run 'manage.py migrate django_jobqueue' if the "
                    "table is missing.",
                    type(exc).__name__,
                    exc,
                )
            return None
        finally:
            _close_connection(alias)
        if self._told_failure:
            self._told_failure = False
            logger.info("Periodic jobs of the database are read again")
        values = [_values(row) for row in rows]
        if values == self._last:
            return None
        self._last = values
        return entries_for(self.queue_names, self._entries(rows))

    def _entries(self, rows: list[PeriodicJob]) -> list[CronEntry]:
        entries, unusable = runnable(rows)
        for row, why in unusable:  # each told once while the row stays as it is
            told = (row.name, _values(row))
            if told not in self._told_bad:
                self._told_bad.add(told)
                log = logger.warning if row.name in setting_names() else logger.error
                log("Periodic job %s of the database is not run: %s", row.name, why)
        return entries


def read_rows(alias: str | None = None) -> list[PeriodicJob]:
    """The PeriodicJob rows, by name; raises DatabaseError when the table cannot be read.

    In a transaction of its own (a savepoint inside the caller's), so that a
    missing table does not spoil the caller's transaction.
    """
    alias = alias or router.db_for_read(PeriodicJob)
    with transaction.atomic(using=alias):
        return list(PeriodicJob.objects.using(alias).order_by("name"))


def runnable(rows: list[PeriodicJob]) -> tuple[list[CronEntry], list[tuple[PeriodicJob, str]]]:
    """The entries a scheduler runs for ``rows`` (paused ones included), and the rows it
    does not run, each with why: a name ``JOBQUEUE_CRON`` has, or a row saved without
    ``full_clean()`` (code, a shell) that does not make an entry."""
    fixed = setting_names()
    entries, unusable = [], []
    for row in rows:
        if row.name in fixed:
            unusable.append((row, "JOBQUEUE_CRON has an entry of that name"))
            continue
        try:
            entries.append(row.as_entry())
        except (TypeError, ValueError) as exc:
            unusable.append((row, str(exc)))
    return entries, unusable


def _values(row: PeriodicJob) -> tuple:
    return tuple(repr(getattr(row, field.attname)) for field in row._meta.concrete_fields)


def _close_connection(alias: str) -> None:
    """Close the connection the read opened: a worker forks children, which must not share it.

    Left open inside a transaction (the caller's, in tests or code that
    ticks a scheduler itself).
    """
    connection = connections[alias]
    if not connection.in_atomic_block:
        connection.close()


def database_source(queue_names: list[str]) -> Any:
    """The source for a worker serving ``queue_names`` (what ``get_worker`` gives its scheduler)."""
    return DatabaseEntries(queue_names)


__all__ = ["DatabaseEntries", "database_source", "read_rows", "runnable"]
