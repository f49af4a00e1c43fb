"""The scheduler: releases scheduled jobs when due and fires periodic (cron) jobs.

It runs inside workers, not as a process of its own. Every worker may carry
one; a lock in Redis (``<prefix>scheduler``) lets exactly one of them be
active per Redis connection and key prefix. The active one renews the lock on
every tick, about once a second; the others try to take it about once a
second, so when the active worker dies its lock expires after
:data:`LOCK_TTL` seconds and another worker takes over.

Correctness does not rest on the lock: moving due jobs is one atomic script
per batch that only moves jobs still scheduled, and a periodic occurrence is
enqueued by one script that compares-and-sets the entry's watermark in Redis.
Two schedulers active at once (a paused process whose lock expired) therefore
do some work twice but never enqueue anything twice. The lock only keeps N
workers from doing the same work N times.

Periodic entries come from two places: a fixed list given when the scheduler
is built, and optionally a *source*, a callable the active scheduler calls
every :data:`RELOAD_INTERVAL` seconds for the current set of changing
entries (the Django layer reads them from the ``PeriodicJob`` table). An
entry that changes keeps its record in Redis, so the compare-and-set above
still fires each occurrence once; one whose timing changed starts afresh.

A host calls :meth:`Scheduler.tick` when the previous tick asked to be called
again (it returns the seconds to wait) and :meth:`Scheduler.release` when it
stops; :class:`~.worker.Worker` and :class:`~.pool.WorkerPool` do both.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from . import hooks, scripts, utils
from .connection import resolve_connection
from .corrupt import damage, execute, fetch_jobs
from .cron import CronEntry
from .errors import SchedulerNotFound
from .job import JobStatus
from .keys import keyspace
from .queue import Queue
from .registry import ScheduledJobRegistry
from .utils import as_shown, float_or_none, text_members

logger = logging.getLogger("django_jobqueue.scheduler")

#: Seconds the lock lives unless renewed: how long a dead scheduler's work waits
#: for another worker to take over (plus up to :data:`ACQUIRE_INTERVAL`).
LOCK_TTL = 5.0
#: Seconds between two looks for due jobs by the active scheduler, at most: a
#: job scheduled after one look and due before the next is that much late.
POLL_INTERVAL = 1.0
#: Seconds between two attempts of an inactive scheduler to take the lock.
ACQUIRE_INTERVAL = 1.0
#: Scheduled jobs moved per atomic step.
BATCH_SIZE = 500
#: Seconds between two calls of the active scheduler's entry source: how long
#: a change made there (an entry added, changed, paused, deleted) takes to apply.
RELOAD_INTERVAL = 5.0

#: What a source of changing entries is: called with no argument, it returns
#: the entries now wanted, or None when nothing changed since its last call
#: (so an unchanged set costs the scheduler nothing but the call).
EntrySource = Callable[[], Iterable[CronEntry] | None]


class Scheduler:
    """Moves due jobs of every queue under one prefix and fires periodic entries.

    Args:
        connection: the Redis client.
        prefix: the key prefix.
        cron: the periodic entries (:class:`~.cron.CronEntry`) to fire.
        name: shown as the lock's holder (the worker's name).
        queue_factory: ``name -> Queue`` used to build cron jobs (so that
            they get the queue's serializer and default timeout); a plain
            :class:`Queue` on ``connection`` by default.
        source: an :data:`EntrySource`, called by the active scheduler every
            ``reload_interval`` seconds (and at once when it becomes active);
            its entries run beside ``cron``'s. One named like an entry of
            ``cron`` is left out, with a warning. A source that raises is
            logged and its last entries are kept.
        lock_ttl, poll_interval, acquire_interval, reload_interval: see the
            module constants.
    """

    def __init__(
        self,
        connection: Any = None,
        prefix: str | None = None,
        cron: Iterable[CronEntry] = (),
        name: str | None = None,
        serializer: Any = None,
        queue_factory: Callable[[str], Queue] | None = None,
        lock_ttl: float = LOCK_TTL,
        poll_interval: float = POLL_INTERVAL,
        acquire_interval: float = ACQUIRE_INTERVAL,
        batch_size: int = BATCH_SIZE,
        source: EntrySource | None = None,
        reload_interval: float = RELOAD_INTERVAL,
    ):
        self.connection = resolve_connection(connection)
        self.keys = keyspace(prefix)
        self.name = name or uuid.uuid4().hex
        #: The fixed entries (``cron=``); :attr:`cron` adds the source's.
        self.fixed = list(cron)
        self.cron = list(self.fixed)
        names = [entry.name for entry in self.cron]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"Periodic entries need unique names; repeated: "
                f"{', '.join(duplicates)} (give each a 'name')."
            )
        self.serializer = serializer
        self._queue_factory = queue_factory
        self._queues: dict[str, Queue] = {}
        self.lock_ttl = lock_ttl
        self.poll_interval = poll_interval
        self.acquire_interval = acquire_interval
        self.batch_size = batch_size
        self.source = source
        self.reload_interval = reload_interval
        #: When the source is next called (UNIX time); 0: at the next tick.
        self._next_reload = 0.0
        #: Names of source entries already warned about (clashing with a fixed one).
        self._clashes_told: set[str] = set()
        self.is_active = False
        self._token = f"{self.name} {uuid.uuid4().hex}"
        #: entry name -> when it next needs a look (UNIX time); a hint only:
        #: the record in Redis decides. None (an expression with no occurrence
        #: ahead, or an entry not seen yet) means a look on every tick.
        self._next_look: dict[str, float | None] = {}
        self.log = logger

    def __repr__(self) -> str:
        return f"Scheduler({self.name!r}, entries={len(self.cron)})"

    def queue(self, name: str) -> Queue:
        queue = self._queues.get(name)
        if queue is None:
            if self._queue_factory is not None:
                queue = self._queue_factory(name)
            else:
                queue = Queue(
                    name, self.connection, serializer=self.serializer, prefix=self.keys.prefix
                )
            self._queues[name] = queue
        return queue

    # -- the tick --------------------------------------------------------------

    def tick(self, timestamp: float | None = None) -> float:
        """Do what is due, if this scheduler is (or becomes) the active one.

        Returns:
            seconds until the next tick is wanted.
        """
        now = utils.now() if timestamp is None else timestamp
        if not self.hold():
            return self.acquire_interval
        wait = self.poll_interval
        if self.source is not None:
            if now >= self._next_reload or now < self._next_reload - self.reload_interval:
                self.reload()
                self._next_reload = now + self.reload_interval
            wait = min(wait, self._next_reload - now)
        next_due = self.enqueue_due(now)
        if next_due is not None:
            wait = min(wait, next_due - now)
        next_cron = self.run_cron(now)
        if next_cron is not None:
            wait = min(wait, next_cron - now)
        return max(wait, 0.0)

    def hold(self) -> bool:
        """Take or renew the lock; returns whether this scheduler is the active one."""
        reply = scripts.scheduler_hold(
            self.connection, self.keys, self._token, int(self.lock_ttl * 1000)
        )
        active = bool(reply)
        if active != self.is_active:
            if active:
                self.log.info(
                    "Scheduler %s: active (scheduled and periodic jobs are handled here)", self.name
                )
                self._next_look.clear()  # others may have fired meanwhile: look afresh
                self._next_reload = 0.0  # and the source may have changed: read it now
            else:
                self.log.warning("Scheduler %s: another worker's scheduler took over", self.name)
        self.is_active = active
        return active

    def reload(self) -> bool:
        """Read the source's entries now; returns whether the entries changed.

        Entries that are new, changed or gone lose their cached next look
        (so a changed expression applies from its next occurrence, not the
        old one's); the others keep theirs.
        """
        if self.source is None:
            return False
        try:
            wanted = self.source()
        except Exception:
            self.log.exception("Scheduler %s: the periodic entry source failed", self.name)
            return False
        if wanted is None:
            return False
        fixed = {entry.name for entry in self.fixed}
        dynamic: dict[str, CronEntry] = {}
        for entry in wanted:
            if entry.name in fixed or entry.name in dynamic:
                if entry.name not in self._clashes_told:
                    self._clashes_told.add(entry.name)
                    self.log.warning(
                        "Periodic entry %s is defined twice; the first definition is kept",
                        entry.name,
                    )
                continue
            dynamic[entry.name] = entry
        before = {entry.name: entry for entry in self.cron if entry.name not in fixed}
        if before == dynamic:
            return False
        for name in set(before) | set(dynamic):
            if before.get(name) != dynamic.get(name):
                self._next_look.pop(name, None)
        self.cron = self.fixed + list(dynamic.values())
        added = sorted(set(dynamic) - set(before))
        gone = sorted(set(before) - set(dynamic))
        changed = sorted(n for n in set(before) & set(dynamic) if before[n] != dynamic[n])
        self.log.info(
            "Scheduler %s: periodic entries reloaded (added: %s; changed: %s; removed: %s)",
            self.name,
            ", ".join(added) or "none",
            ", ".join(changed) or "none",
            ", ".join(gone) or "none",
        )
        return True

    def release(self) -> None:
        """Give up the lock (at shutdown), so another worker takes over at once."""
        if not self.is_active:
            return
        self.is_active = False
        try:
            scripts.scheduler_release(self.connection, self.keys, self._token)
        except Exception:  # the lock expires by itself
            self.log.warning("Scheduler %s: could not release the lock", self.name)

    # -- scheduled jobs -----------------------------------------------------------

    def enqueue_due(self, now: float) -> float | None:
        """Move the due jobs of every known queue; returns when the next one is due.

        One round trip reads the earliest due time of every queue; only the
        queues with due jobs are then changed, one atomic batch at a time.
        """
        queues = self.keys.queues
        members = damage.guard(queues, self.connection.smembers, queues, default=set())
        names = sorted(text_members(members)[0])
        if not names:
            return None
        heads = self._heads(names)
        due = [name for name, score in heads.items() if score is not None and score <= now]
        for name in due:
            registry = ScheduledJobRegistry(name, self.connection, prefix=self.keys.prefix)
            # A queue's key of the wrong type is logged once and passed over
            # (see corrupt.py); the other queues' jobs still come due.
            moved = damage.guard(
                registry.key,
                registry.enqueue_due,
                timestamp=now,
                batch=self.batch_size,
                default=0,
            )
            if moved:
                self.log.debug("%s: %d scheduled job(s) due", name, moved)
        if due:
            heads.update(self._heads(due))
        upcoming = [score for score in heads.values() if score is not None and score > now]
        return min(upcoming) if upcoming else None

    def _heads(self, names: list[str]) -> dict[str, float | None]:
        pipe = self.connection.pipeline(transaction=False)
        keys = [self.keys.registry(name, JobStatus.SCHEDULED) for name in names]
        for key in keys:
            pipe.zrange(key, 0, 0, withscores=True)
        replies = execute(pipe, keys, default=[])
        return {name: (head[0][1] if head else None) for name, head in zip(names, replies)}

    # -- periodic jobs ---------------------------------------------------------------

    def run_cron(self, now: float) -> float | None:
        """Handle every entry that needs it; returns when the next one does."""
        upcoming = None
        for entry in self.cron:
            look = self._next_look.get(entry.name)
            if look is None or look <= now:
                try:
                    look = self.run_entry(entry, now)
                except Exception:
                    # A broken entry (its queue's Redis, a bug) must not stop the others.
                    self.log.exception("Periodic entry %s failed; trying again later", entry.name)
                    look = now + 60
                self._next_look[entry.name] = look
            if look is not None and (upcoming is None or look < upcoming):
                upcoming = look
        return upcoming

    def run_entry(self, entry: CronEntry, now: float) -> float | None:
        """Fire ``entry`` if one of its occurrences is due; returns its next occurrence.

        An entry seen for the first time (or whose timing changed) starts from
        ``now``: a cron entry waits for its next occurrence, an interval entry
        runs at once. After that, the due occurrence is the latest one since
        the watermark; if it is late (see :meth:`CronEntry.is_late`) the
        entry's ``missed`` policy decides whether it runs.
        """
        queue = self.queue(entry.queue)
        record = self.connection.hmget(
            self.keys.cron(entry.queue, entry.name), ["occurrence", "schedule"]
        )
        watermark_text, signature = (as_shown(v) for v in record)
        start = float(int(now))
        watermark = float_or_none(watermark_text)
        if watermark is None or signature != entry.signature:
            fire = entry.cron is None
            why = "new entry" if watermark is None else "its schedule changed"
            # The watermark as stored: cron_fire.lua sets the new one only if
            # it is still that one, whatever bytes another program wrote.
            self._fire(entry, queue, record[0] or "", start, fire, now, why)
            return entry.next_run(start, now)
        occurrence = entry.due(watermark, now)
        if occurrence is not None:
            fire, why = True, "due"
            if entry.is_late(occurrence, watermark, now):
                fire = entry.missed == "run_once"
                why = (
                    "missed while no scheduler ran: running it once"
                    if fire
                    else "missed while no scheduler ran: skipped (missed='skip')"
                )
                self.log.warning(
                    "Periodic entry %s: occurrence(s) up to %s %s",
                    entry.name,
                    utils.to_datetime(occurrence),
                    why,
                )
            self._fire(entry, queue, record[0], occurrence, fire, now, why)
            watermark = occurrence
        return entry.next_run(watermark, now)

    def _fire(
        self,
        entry: CronEntry,
        queue: Queue,
        expected: str | bytes,
        occurrence: float,
        fire: bool,
        now: float,
        why: str,
    ) -> int:
        job = None
        fields: list[Any] = []
        job_id = ""
        if fire and entry.paused:
            fire = False
            self.log.info("Periodic entry %s: paused, occurrence skipped", entry.name)
        if fire:
            try:
                job = make_job(entry, queue, occurrence)
            except Exception as exc:
                # Record the occurrence anyway: retrying each second would only
                # fail again; the error shows in the dashboard and rqstats.
                self.log.error("Periodic entry %s: cannot build its job: %s", entry.name, exc)
                self.connection.hset(
                    self.keys.cron(entry.queue, entry.name), "error", f"{type(exc).__name__}: {exc}"
                )
                fire = False
            else:
                job.created_at = job.enqueued_at = now
                fields = job.to_fields()
                job_id = job.id
                queue.register()
        reply = scripts.cron_fire(
            self.connection,
            self.keys,
            entry.queue,
            entry.name,
            expected,
            _occurrence_text(occurrence),
            entry.signature,
            fire,
            now,
            job_id or "-",
            entry.ttl,
            fields,
        )
        if reply == 1 and job is not None:
            job.set_status(JobStatus.QUEUED)
            job.unsaved = False
            self.log.info(
                "Periodic entry %s: enqueued job %s on %s (%s)",
                entry.name,
                job.id,
                entry.queue,
                why,
            )
            hooks.emit("job_enqueued", job=job, queue=queue)
        elif reply == 3:
            self.log.info("Periodic entry %s: paused, occurrence skipped", entry.name)
        elif reply == 0:
            self.log.debug("Periodic entry %s: another scheduler handled it", entry.name)
        return int(reply)


def make_job(entry: CronEntry, queue: Queue, occurrence: float | None = None) -> Any:
    """Build (not store) the job of one run of ``entry`` on ``queue``."""
    meta: dict[str, Any] = {"cron": entry.name}
    if occurrence is not None:
        meta["occurrence"] = occurrence
    return queue.create_job(
        entry.func,
        args=entry.args,
        kwargs=entry.kwargs,
        timeout=entry.timeout,
        result_ttl=entry.result_ttl,
        ttl=entry.ttl,
        failure_ttl=entry.failure_ttl,
        description=entry.description,
        meta=meta,
    )


def _occurrence_text(occurrence: float) -> str:
    # Watermarks are whole seconds, written one way, so the compare-and-set in
    # cron_fire.lua compares equal strings.
    return str(int(occurrence))


# -- reading and changing entries from outside the scheduler (dashboard, rqstats) ---------


def scheduler_holder(connection: Any, prefix: str | None = None) -> str | None:
    """The name of the worker whose scheduler is active, or None."""
    value = as_shown(resolve_connection(connection).get(keyspace(prefix).scheduler))
    return value.rsplit(" ", 1)[0] if value else None


def entry_state(
    connection: Any, entry: CronEntry, prefix: str | None = None, now: float | None = None
) -> dict[str, Any]:
    """What the dashboard and ``rqstats`` show of one entry.

    Keys: ``next_run``, ``last_run`` (UNIX times or None), ``last_job`` (id),
    ``last_status`` (the last job's status, ``None`` when it expired),
    ``paused``, ``error``.
    """
    ks = keyspace(prefix)
    now = utils.now() if now is None else now
    fields = {
        as_shown(k): as_shown(v)
        for k, v in connection.hgetall(ks.cron(entry.queue, entry.name)).items()
    }
    next_run = _next_run(entry, fields.get("occurrence"), fields.get("schedule"), now)
    last_job = fields.get("last_job")
    status = None
    if last_job:
        status = as_shown(connection.hget(ks.job(entry.queue, last_job), "status"))
    return {
        "next_run": next_run,
        "last_run": float_or_none(fields.get("last_run")),
        "last_job": last_job,
        "last_status": status,
        "paused": fields.get("paused") == "1" or entry.paused,
        "error": fields.get("error"),
    }


def _next_run(
    entry: CronEntry, watermark: str | None, signature: str | None, now: float
) -> float | None:
    seen = float_or_none(watermark)
    if seen is None or signature != entry.signature:
        # Not seen by a scheduler yet (or its timing just changed): the
        # scheduler starts it afresh (see Scheduler.run_entry).
        return float(int(now)) if entry.cron is None else entry.next_run(now, now)
    return entry.next_run(seen, now)


def run_now(entry: CronEntry, queue: Queue) -> Any:
    """Enqueue one run of ``entry`` now, outside its schedule; returns the job.

    The schedule is not touched: the next occurrence still runs.
    """
    job = make_job(entry, queue)
    job.meta["manual"] = True
    queue.enqueue_job(job)
    queue.connection.hset(
        queue.keys.cron(entry.queue, entry.name),
        mapping={"last_job": job.id, "last_run": repr(utils.now())},
    )
    return job


def skip_next(
    connection: Any, entry: CronEntry, prefix: str | None = None, now: float | None = None
) -> float | None:
    """Mark the entry's next occurrence as handled, so it does not run; returns it.

    Uses the same compare-and-set as the scheduler, so it cannot slip between
    the scheduler's read and write. None when the entry never runs again.
    """
    ks = keyspace(prefix)
    now = utils.now() if now is None else now
    for _ in range(5):  # the scheduler moved the watermark meanwhile: read again
        record = connection.hmget(ks.cron(entry.queue, entry.name), ["occurrence", "schedule"])
        watermark_text, signature = (as_shown(v) for v in record)
        target = _next_run(entry, watermark_text, signature, now)
        if target is None:
            return None
        reply = scripts.cron_fire(
            connection,
            ks,
            entry.queue,
            entry.name,
            watermark_text or "",
            _occurrence_text(target),
            entry.signature,
            False,
            now,
            "-",
            None,
            [],
        )
        if reply:
            return target
    raise RuntimeError(f"Periodic entry {entry.name}: the watermark kept changing.")


def set_paused(connection: Any, entry: CronEntry, paused: bool, prefix: str | None = None) -> None:
    """Pause (no job is enqueued; occurrences pass unrun) or resume an entry.

    Occurrences that pass while paused are recorded as handled, so resuming
    does not run them late.
    """
    key = keyspace(prefix).cron(entry.queue, entry.name)
    if paused:
        connection.hset(key, "paused", "1")
    else:
        connection.hdel(key, "paused")


def upcoming_jobs(queues: Iterable[Queue], limit: int = 10) -> list[dict[str, Any]]:
    """The next ``limit`` scheduled jobs of ``queues``, soonest first.

    Each is a dict: ``queue``, ``id``, ``runs_at`` (UNIX time), ``job`` (the
    :class:`~.job.Job`, None when its hash is gone). One pipeline per
    connection reads the heads of the registries, one more fetches the jobs.
    """
    queues = list(queues)
    by_connection: dict[int, list[Queue]] = {}
    for queue in queues:
        by_connection.setdefault(id(queue.connection), []).append(queue)
    heads: list[tuple[float, Queue, str]] = []
    for group in by_connection.values():
        pipe = group[0].connection.pipeline(transaction=False)
        keys = [queue.keys.registry(queue.name, JobStatus.SCHEDULED) for queue in group]
        for key in keys:
            pipe.zrange(key, 0, limit - 1, withscores=True)
        for queue, entries in zip(group, execute(pipe, keys, default=[])):
            heads += [(score, queue, as_shown(job_id)) for job_id, score in entries]
    heads.sort(key=lambda head: head[0])
    heads = heads[:limit]
    rows: list[dict[str, Any]] = []
    for queue in queues:
        mine = [(score, job_id) for score, q, job_id in heads if q is queue]
        if not mine:
            continue
        found = fetch_jobs(
            [job_id for _, job_id in mine],
            queue.connection,
            queue.serializer,
            origin=queue.name,
            prefix=queue.keys.prefix,
            job_class=queue.job_class,
        )
        rows += [
            {"queue": queue.name, "id": job_id, "runs_at": score, "job": job}
            for (score, job_id), job in zip(mine, found)
        ]
    rows.sort(key=lambda row: row["runs_at"])
    return rows


# -- RQ's scheduler API ----------------------------------------------------------------


class _either_way:
    """A method that receives the class when called on it, the instance when called on one."""

    def __init__(self, func: Callable[..., Any]):
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        return functools.partial(self.func, owner if instance is None else instance)


class SchedulerStatus(StrEnum):
    STARTED = "started"
    WORKING = "working"
    STOPPED = "stopped"


#: Seconds after which an RQScheduler that holds some of its queues' locks
#: tries again for the others (RQ's ``DEFAULT_SCHEDULER_FALLBACK_PERIOD``).
FALLBACK_PERIOD = 120


class RQScheduler:
    """RQ's scheduler: moves the due jobs of the queues whose lock it holds.

    Workers here carry a :class:`Scheduler` of their own (one lock per key
    prefix, periodic jobs too); this class is RQ's public surface for code
    that runs or inspects RQ's kind: one lock per queue (named by
    :meth:`get_locking_key`, held as the scheduler's name for ``interval``
    + 60 seconds and renewed by :meth:`heartbeat`), a metadata hash per
    scheduler (:attr:`key`, :meth:`fetch`), and :meth:`start` to run
    :meth:`work` in a forked process. Both kinds may run side by side:
    moving due jobs is one atomic script that only moves jobs still
    scheduled, so no job is enqueued twice.

    Args:
        queues: :class:`Queue` objects or queue names (or one of either).
        connection: the Redis client.
        interval: seconds between two rounds of :meth:`work`.
        logging_level: when given, the level of the ``django_jobqueue.scheduler``
            logger (RQ sets its own logger's); ``date_format`` and
            ``log_format`` are accepted and left to the logging configuration.
        serializer: the serializer of the queues' jobs.
        name: the scheduler's name (a random hex string by default).
        prefix: the key prefix.
    """

    Status = SchedulerStatus

    def __init__(
        self,
        queues: Queue | str | Iterable[Queue | str],
        connection: Any = None,
        interval: float = 1,
        logging_level: str | int | None = None,
        date_format: str | None = None,
        log_format: str | None = None,
        serializer: Any = None,
        name: str | None = None,
        prefix: str | None = None,
    ):
        queues = [queues] if isinstance(queues, (Queue, str)) else list(queues)
        if prefix is None:
            prefix = next((q.keys.prefix for q in queues if isinstance(q, Queue)), None)
        self.keys = keyspace(prefix)
        self._queue_names = {q.name if isinstance(q, Queue) else q for q in queues}
        self._acquired_locks: set[str] = set()
        self._scheduled_job_registries: list[ScheduledJobRegistry] = []
        self.lock_acquisition_time: datetime | None = None
        self.connection = resolve_connection(connection)
        self.serializer = serializer
        self.name = name or uuid.uuid4().hex
        self.hostname = socket.gethostname()
        self.created_at = utils.utcnow()
        self.pid = 0  # set by register_birth(), in the process that runs work()
        self.last_heartbeat: datetime | None = None
        self.interval = interval
        self._stop_requested = False
        self._status = SchedulerStatus.STOPPED
        self._process: Any = None
        self.log = logger
        if logging_level is not None:
            self.log.setLevel(logging_level)

    def __repr__(self) -> str:
        return f"RQScheduler({self.name!r}, queues={sorted(self._queue_names)})"

    @property
    def acquired_locks(self) -> set[str]:
        """The names of the queues whose lock this scheduler holds."""
        return self._acquired_locks

    @property
    def status(self) -> SchedulerStatus:
        return self._status

    @property
    def key(self) -> str:
        """The hash describing this scheduler while it runs."""
        return self.keys.queue_scheduler(self.name)

    @property
    def lock_ttl(self) -> int:
        return int(self.interval) + 60

    @_either_way
    def get_locking_key(self_or_cls: Any, name: str) -> str:
        """The key of queue ``name``'s lock (under this scheduler's prefix, or the default one)."""
        keys = self_or_cls.keys if isinstance(self_or_cls, RQScheduler) else keyspace()
        return keys.scheduler_lock(name)

    @property
    def should_reacquire_locks(self) -> bool:
        """Whether some queue's lock is not held and the last try is old enough to try again."""
        if self._queue_names == self._acquired_locks:
            return False
        if self.lock_acquisition_time is None:
            return True
        age = (datetime.now() - self.lock_acquisition_time).total_seconds()
        return age > FALLBACK_PERIOD

    def acquire_locks(self, auto_start: bool = False) -> set[str]:
        """Take or renew the lock of each queue; returns the names of those now held.

        With ``auto_start``, a scheduler that holds a lock and whose process
        is not running starts it (:meth:`start`).
        """
        held = set()
        for name in self._queue_names:
            if scripts.lock_hold(
                self.connection, self.get_locking_key(name), self.name, self.lock_ttl * 1000
            ):
                held.add(name)
        self._scheduled_job_registries = []
        self._acquired_locks = held
        self.lock_acquisition_time = datetime.now()
        if held and auto_start and (self._process is None or not self._process.is_alive()):
            self.start()
        return held

    def release_locks(self) -> None:
        """Give up the locks this scheduler still holds (another's are left alone)."""
        for name in self._acquired_locks:
            scripts.lock_release(self.connection, self.get_locking_key(name), self.name)
        self._acquired_locks = set()

    def prepare_registries(self, queue_names: Iterable[str] | None = None) -> None:
        """The scheduled registries to look at: of ``queue_names``, else of the queues held."""
        names = list(queue_names or self._acquired_locks)
        self._scheduled_job_registries = [
            ScheduledJobRegistry(
                name, self.connection, serializer=self.serializer, prefix=self.keys.prefix
            )
            for name in names
        ]

    def enqueue_scheduled_jobs(self) -> int:
        """Move the due jobs of the queues held into their queues; returns how many entered."""
        self._status = SchedulerStatus.WORKING
        try:
            if not self._scheduled_job_registries and self._acquired_locks:
                self.prepare_registries()
            moved = 0
            for registry in self._scheduled_job_registries:
                moved += registry.enqueue_due(utils.now())
            return moved
        finally:
            self._status = SchedulerStatus.STARTED

    def heartbeat(self) -> None:
        """Renew the metadata hash and the locks held; drop those another scheduler took.

        A lock that expired meanwhile is taken again.
        """
        self.last_heartbeat = utils.utcnow()
        names = sorted(self._acquired_locks)
        pipe = self.connection.pipeline()
        pipe.hset(self.key, "last_heartbeat", utils.utcformat(self.last_heartbeat))
        pipe.expire(self.key, self.lock_ttl)
        pipe.execute()
        lost = set()
        for name in names:
            outcome = scripts.lock_hold(
                self.connection, self.get_locking_key(name), self.name, self.lock_ttl * 1000
            )
            if not outcome:
                lost.add(name)
            elif outcome == 2:
                self.log.warning(
                    "Scheduler %s: the lock of %s had expired; taken again", self.name, name
                )
        if lost:
            self.log.warning(
                "Scheduler %s: another scheduler took the locks of %s",
                self.name,
                ", ".join(sorted(lost)),
            )
            self._acquired_locks -= lost
            self._scheduled_job_registries = []

    # -- the record in Redis --------------------------------------------------------

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "hostname": self.hostname,
            "pid": str(self.pid),
            "queues": ",".join(sorted(self._queue_names)),
            "created_at": utils.utcformat(self.created_at),
            "last_heartbeat": utils.utcformat(self.last_heartbeat or utils.utcnow()),
        }

    def restore(self, raw: dict) -> None:
        data = {as_shown(k): as_shown(v) for k, v in raw.items()}
        self.name = data["name"]
        self.hostname = data.get("hostname", "")
        self.pid = int(data.get("pid") or 0)
        self._queue_names = set(data["queues"].split(",")) if data.get("queues") else set()
        self.created_at = utils.utcparse(data["created_at"])
        beat = data.get("last_heartbeat")
        self.last_heartbeat = utils.utcparse(beat) if beat else None

    def save(self, pipeline: Any = None) -> None:
        """Write the metadata hash, living ``interval`` + 60 seconds unless renewed."""
        pipe = pipeline if pipeline is not None else self.connection.pipeline()
        pipe.hset(self.key, mapping=self.to_dict())
        pipe.expire(self.key, self.lock_ttl)
        if pipeline is None:
            pipe.execute()

    def register_birth(self) -> None:
        """Record this process as the scheduler's (again, after a restart, is fine)."""
        self.pid = os.getpid()
        self.last_heartbeat = utils.utcnow()
        self.save()

    def register_death(self) -> bool:
        """Delete the metadata hash; returns whether it was there."""
        return bool(self.connection.delete(self.key))

    @classmethod
    def fetch(cls, name: str, connection: Any = None, prefix: str | None = None) -> RQScheduler:
        """The scheduler ``name`` as its metadata hash describes it.

        Raises:
            SchedulerNotFound: no running scheduler has that name.
        """
        connection = resolve_connection(connection)
        raw = connection.hgetall(keyspace(prefix).queue_scheduler(name))
        if not raw:
            raise SchedulerNotFound(f"No scheduler named {name!r} is running.")
        scheduler = cls([], connection, name=name, prefix=prefix)
        scheduler.restore(raw)
        return scheduler

    # -- running ---------------------------------------------------------------------

    def request_stop(self, signum: Any = None, frame: Any = None) -> None:
        self._stop_requested = True

    def stop(self) -> None:
        """Release the locks, say so in Redis and stop."""
        self.log.info("Scheduler %s: stopping", self.name)
        self.release_locks()
        self._status = SchedulerStatus.STOPPED
        self.register_death()

    def start(self) -> Any:
        """Run :meth:`work` in a forked process; returns the process."""
        self._status = SchedulerStatus.STARTED
        context = multiprocessing.get_context("fork")
        self._process = context.Process(target=_run_rq_scheduler, args=(self,), name="Scheduler")
        self._process.start()
        return self._process

    def work(self) -> None:
        """Every ``interval`` seconds: take missing locks when due, heartbeat, move due jobs.

        Returns after SIGINT or SIGTERM (or :meth:`request_stop`).
        """
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        self.register_birth()
        try:
            while not self._stop_requested:
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
                time.sleep(self.interval)
        finally:
            self.stop()


def _run_rq_scheduler(scheduler: RQScheduler) -> None:
    # redis-py's pool sees the fork and opens connections of its own.
    scheduler.log.info("Scheduler %s started, pid %s", scheduler.name, os.getpid())
    scheduler.work()


__all__ = [
    "ACQUIRE_INTERVAL",
    "LOCK_TTL",
    "POLL_INTERVAL",
    "RELOAD_INTERVAL",
    "EntrySource",
    "RQScheduler",
    "Scheduler",
    "SchedulerStatus",
    "entry_state",
    "make_job",
    "run_now",
    "scheduler_holder",
    "set_paused",
    "skip_next",
    "upcoming_jobs",
]
