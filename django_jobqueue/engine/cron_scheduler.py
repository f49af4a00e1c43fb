"""RQ's cron API on our engine: :class:`CronJob`, :class:`CronScheduler`, :func:`register`.

This is the second way into periodic jobs, for code written against RQ 3.0's
``rq.cron``; ``JOBQUEUE_CRON`` and :class:`~.cron.CronEntry` are the first.
The names and the documented behaviour are RQ's: register functions with an
``interval`` (seconds) or a ``cron`` expression (read on the process's local
clock, ``TZ``), then :meth:`CronScheduler.start` enqueues them as they fall due.

Why a module of its own and not more of ``cron.py``: ``cron.py`` holds the
expression parser and :class:`~.cron.CronEntry` and touches no Redis, while
this layer needs queues, scripts and keys, which import ``cron.py``. So
``cron.py`` forwards RQ's names here from its module ``__getattr__``:
``from django_jobqueue.engine.cron import CronScheduler`` works as
``from rq.cron import CronScheduler`` does, without an import cycle.

What it takes from our engine:

- the expression parser (:class:`~.cron.CronExpression`, no croniter), with
  the daylight-saving rules of ``docs/scheduling.rst``;
- exactly once: a due job is enqueued by ``cron_fire.lua``, the scheduler's
  compare-and-set of a watermark in Redis, so several schedulers loaded with
  the same configuration enqueue each run once (RQ enqueues it once per
  scheduler). The watermark also survives a restart: an interval job does not
  run again just because its scheduler restarted.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from . import cron_job_registry, cron_scheduler_registry, hooks, scripts, utils, webhook
from .connection import resolve_connection
from .cron import MISSED_AFTER, CronExpression
from .cron_job_registry import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL
from .cron_scheduler_registry import DEFAULT_CRON_SCHEDULER_TTL
from .errors import SchedulerNotFound
from .job import Job
from .keys import KeySpace, keyspace, validate_queue_name
from .options import EnqueueOptions
from .queue import Queue
from .utils import (
    NOT_JSON_SERIALIZABLE,
    as_shown,
    as_str,
    normalize_config_path,
    to_datetime,
    validate_absolute_path,
)
from .vocabulary import DEFAULT_RESULT_TTL, JobStatus

logger = logging.getLogger("django_jobqueue.cron")

#: Seconds :meth:`CronScheduler.calculate_sleep_interval` sleeps at most.
MAX_SLEEP = 60
#: The ``schedule`` field of the Redis records of RQ-style cron jobs (their
#: timing is part of the record's name, see :attr:`CronJob.record_name`).
RECORD_SIGNATURE = "rq-cron"


def now() -> datetime:
    """The current time, aware, in UTC (tests patch this)."""
    return datetime.fromtimestamp(utils.now(), UTC)


def local_timezone() -> str:
    """The IANA name of the process's local timezone: ``TZ``, else ``/etc/localtime``, else UTC."""
    from zoneinfo import ZoneInfo

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    target = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in target:
        candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
            except (ValueError, OSError, KeyError):
                continue
            return name
    return "UTC"


def get_cron_job_history_key(name: str, prefix: str | None = None) -> str:
    """The key of the history of the jobs enqueued by the cron jobs named ``name``."""
    return keyspace(prefix).cron_job_history(name)


def get_cron_job_ids(
    name: str, connection: Any, start: int = 0, end: int = -1, prefix: str | None = None
) -> list[str]:
    """Ids of the jobs the cron jobs named ``name`` enqueued, newest first.

    ``start`` and ``end`` index that order, both included, as in ZRANGE
    (``end=-1``: to the oldest).
    """
    key = get_cron_job_history_key(name, prefix)
    return [as_shown(job_id) for job_id in connection.zrange(key, start, end, desc=True)]


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return NOT_JSON_SERIALIZABLE


def _unjson(value: Any) -> Any:
    if not value or value == NOT_JSON_SERIALIZABLE:
        return value
    return json.loads(value)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class CronJob:
    """A function to enqueue on a schedule: every ``interval`` seconds, or on a ``cron`` expression.

    Args:
        queue_name: the queue its jobs go to.
        func: the function (module-level); or ``func_name``, its dotted path,
            for a description that is only shown (it cannot enqueue).
        args, kwargs: the call's arguments.
        interval: seconds between runs; the first run is at once.
        cron: a five-field expression, read on the local clock (``TZ``) of
            the process that made the CronJob; the first run is its next
            occurrence. Exactly one of ``interval`` and ``cron``.
        job_timeout, result_ttl, ttl, failure_ttl, meta, webhooks: the jobs'
            options, as for ``Queue.enqueue``.
        name: names the cron job in monitoring and its job history (default:
            the dotted path). Several cron jobs may share one.
        timezone: the IANA timezone of ``cron`` (default: the local one).

    Raises:
        ValueError: neither or both of ``interval`` and ``cron``, no function,
            or a bad expression (:class:`~.cron.CronSyntaxError`).
        TypeError: ``webhooks`` is not a list, or an option is unknown.
    """

    def __init__(
        self,
        queue_name: str,
        func: Callable | None = None,
        func_name: str | None = None,
        args: tuple | None = None,
        kwargs: dict | None = None,
        interval: int | None = None,
        cron: str | None = None,
        job_timeout: int | None = None,
        result_ttl: int = DEFAULT_RESULT_TTL,
        ttl: int | None = None,
        failure_ttl: int | None = None,
        meta: dict | None = None,
        webhooks: Sequence[Any] | None = None,
        name: str = "",
        timezone: str | None = None,
    ):
        if interval and cron:
            raise ValueError("Give a CronJob either 'interval' or 'cron', not both.")
        if not interval and not cron:
            raise ValueError("Give a CronJob 'interval' (seconds) or 'cron' (an expression).")
        if webhooks is not None and (
            isinstance(webhooks, (str, bytes)) or not isinstance(webhooks, Sequence)
        ):
            raise TypeError("'webhooks' is a list of Webhook objects.")
        if func is not None:
            self.func: Callable | None = func
            self.func_name = f"{func.__module__}.{func.__qualname__}"
        elif func_name:
            self.func = None
            self.func_name = func_name
        else:
            raise ValueError("Give a CronJob 'func' (or 'func_name' for one only shown).")
        self.name = name or self.func_name
        self.queue_name = validate_queue_name(queue_name)
        self.args = args or ()
        self.kwargs = kwargs or {}
        self.interval = interval
        self.cron = cron
        self.timezone = (timezone or local_timezone()) if cron else None
        self._expression = CronExpression(cron, self.timezone) if cron else None
        options = {
            "job_timeout": job_timeout,
            "result_ttl": result_ttl,
            "ttl": ttl,
            "failure_ttl": failure_ttl,
            "meta": meta,
            "webhooks": list(webhooks) if webhooks else None,
        }
        self.job_options: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        EnqueueOptions.of(**self.job_options)  # a bad option fails here, not at 7 o'clock
        self.latest_enqueue_time: datetime | None = None
        self.next_enqueue_time: datetime | None = None
        if cron:
            self.next_enqueue_time = self.get_next_enqueue_time()
        #: The watermark last read from or written to this job's Redis record;
        #: None until read ('' when there is no record).
        self._watermark: str | None = None

    def __repr__(self) -> str:
        every = f"cron={self.cron!r}" if self.cron else f"interval={self.interval}"
        return f"CronJob({self.name!r}, queue={self.queue_name!r}, {every})"

    @property
    def record_name(self) -> str:
        """The name of this job's record in Redis (its watermark, ``KeySpace.cron``).

        A digest of everything that defines the job, so that schedulers
        loaded with the same definition share one record (and enqueue each
        run once), while different cron jobs that share a ``name`` do not.
        """
        definition = repr(
            (
                self.name,
                self.func_name,
                self.queue_name,
                self.interval,
                self.cron,
                self.timezone,
                self.args,
                self.kwargs,
                sorted(self.job_options.items(), key=lambda item: item[0]),
            )
        )
        return "rq." + hashlib.sha1(definition.encode()).hexdigest()[:20]

    @property
    def job_history_key(self) -> str:
        """The key of this job's history (shared with cron jobs of the same name)."""
        return get_cron_job_history_key(self.name)

    def get_job_ids(self, connection: Any, start: int = 0, end: int = -1) -> list[str]:
        """Ids of the jobs enqueued under this job's name, newest first."""
        return get_cron_job_ids(self.name, connection, start, end)

    # -- timing, in memory, as RQ keeps it ---------------------------------------

    def get_next_enqueue_time(self) -> datetime:
        """When the job runs next: the interval after the last enqueue, or the
        expression's first occurrence after it (after now if it never ran)."""
        if self._expression is not None:
            base = self.latest_enqueue_time or now()
            moment = self._expression.next_after(base.timestamp())
            if moment is not None:
                return datetime.fromtimestamp(moment, UTC)
        elif self.interval and self.latest_enqueue_time is not None:
            return self.latest_enqueue_time + timedelta(seconds=self.interval)
        return datetime.max.replace(tzinfo=UTC)

    def should_run(self) -> bool:
        """Due: an interval job that never ran, or one whose ``next_enqueue_time`` passed."""
        if self.latest_enqueue_time is None and not self.cron:
            return True
        return self.next_enqueue_time is not None and now() >= self.next_enqueue_time

    def set_enqueue_time(self, time: datetime) -> None:
        """Record an enqueue at ``time`` and compute the next one from it."""
        self.latest_enqueue_time = time
        self.next_enqueue_time = self.get_next_enqueue_time()

    # -- enqueueing ------------------------------------------------------------------

    def _build(self, queue: Queue, extra_meta: dict[str, Any]) -> Job:
        if self.func is None:
            raise ValueError(
                f"Cron job {self.name!r} has no function: it was read back for monitoring "
                "and cannot enqueue."
            )
        options = dict(self.job_options)
        options["meta"] = {**(options.get("meta") or {}), **extra_meta}
        return queue.create_job(self.func, args=self.args, kwargs=self.kwargs, **options)

    def enqueue(self, connection: Any, prefix: str | None = None) -> Job:
        """Enqueue one run now, outside the schedule, and add it to the job history.

        The schedule does not change.
        """
        queue = Queue(self.queue_name, connection, prefix=prefix)
        job = queue.enqueue_job(self._build(queue, {"cron": self.name}))
        _record_history(self, connection, queue.keys, job)
        logger.info("Cron job %s: enqueued job %s on %s", self.name, job.id, self.queue_name)
        return job

    def fire(self, connection: Any, moment: float, prefix: str | None = None) -> Job | None:
        """Enqueue the run due at ``moment`` unless another scheduler did; returns the job or None.

        One script compares this job's watermark in Redis with the one last
        read (:meth:`sync`), moves it to ``moment`` and enqueues the job. When
        the watermark moved meanwhile another scheduler enqueued this run:
        nothing is enqueued and the timing is read again from Redis.
        """
        if self._watermark is None:
            self.sync(connection, moment, prefix)
        queue = Queue(self.queue_name, connection, prefix=prefix)
        watermark = repr(moment)
        job = self._build(queue, {"cron": self.name, "occurrence": moment})
        job.created_at = job.enqueued_at = moment
        queue.register()
        reply = scripts.cron_fire(
            connection,
            queue.keys,
            self.queue_name,
            self.record_name,
            self._watermark or "",
            watermark,
            RECORD_SIGNATURE,
            True,
            moment,
            job.id,
            job.ttl,
            job.to_fields(),
        )
        if reply == 0:
            logger.debug("Cron job %s: another scheduler enqueued this run", self.name)
            self.sync(connection, moment, prefix)
            return None
        self._watermark = watermark
        self.set_enqueue_time(datetime.fromtimestamp(moment, UTC))
        if reply != 1:  # recorded but paused
            return None
        job.set_status(JobStatus.QUEUED)
        job.unsaved = False
        hooks.emit("job_enqueued", job=job, queue=queue)
        _record_history(self, connection, queue.keys, job)
        logger.info("Cron job %s: enqueued job %s on %s", self.name, job.id, self.queue_name)
        return job

    def sync(self, connection: Any, moment: float, prefix: str | None = None) -> None:
        """Read this job's timing from its Redis record (what another scheduler, or
        an earlier run of this one, enqueued).

        A cron job whose next occurrence is more than ``MISSED_AFTER``
        seconds past waits for the following one, as RQ's scheduler does
        after a restart; a few seconds late (a scheduler taking over) is not
        missed. An interval job that is overdue runs at once.
        """
        key = keyspace(prefix).cron(self.queue_name, self.record_name)
        self._watermark = as_str(connection.hget(key, "occurrence")) or ""
        if not self._watermark:
            return
        self.set_enqueue_time(datetime.fromtimestamp(float(self._watermark), UTC))
        if (
            self.cron
            and self.next_enqueue_time is not None
            and self.next_enqueue_time.timestamp() < moment - MISSED_AFTER
        ):
            self.next_enqueue_time = self.get_next_after(moment)

    def get_next_after(self, moment: float) -> datetime | None:
        """The expression's first occurrence after ``moment`` (None for an interval job)."""
        if self._expression is None:
            return None
        found = self._expression.next_after(moment)
        return datetime.fromtimestamp(found, UTC) if found is not None else None

    # -- monitoring records -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The job as stored in its scheduler's record: JSON-friendly values only."""
        data: dict[str, Any] = {
            "func_name": self.func_name,
            "name": self.name,
            "queue_name": self.queue_name,
            "args": _json(self.args) if self.args else None,
            "kwargs": _json(self.kwargs) if self.kwargs else None,
            "interval": self.interval,
            "cron": self.cron,
            "timezone": self.timezone,
            "latest_enqueue_time": _iso(self.latest_enqueue_time),
            "next_enqueue_time": _iso(self.next_enqueue_time),
        }
        for option, value in self.job_options.items():
            if option == "meta":
                value = _json(value)
            elif option == "webhooks":
                value = json.dumps([getattr(hook, "to_dict", lambda h=hook: h)() for hook in value])
            data[option] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CronJob:
        """A job read back from :meth:`to_dict`, for monitoring: it has no ``func``.

        Arguments that JSON could not hold read back as :data:`NOT_JSON_SERIALIZABLE`.
        """
        args = _unjson(data.get("args"))
        webhooks = None
        if data.get("webhooks") and data["webhooks"] != NOT_JSON_SERIALIZABLE:
            webhooks = webhook.loads(data["webhooks"]) or None  # unreadable: logged, none
        meta = _unjson(data.get("meta"))
        job = cls(
            queue_name=data["queue_name"],
            func_name=data["func_name"],
            name=data.get("name") or "",
            args=tuple(args) if isinstance(args, list) else args,
            kwargs=_unjson(data.get("kwargs")),
            interval=data.get("interval"),
            cron=data.get("cron"),
            timezone=data.get("timezone"),
            job_timeout=data.get("job_timeout"),
            result_ttl=data.get("result_ttl", DEFAULT_RESULT_TTL),
            ttl=data.get("ttl"),
            failure_ttl=data.get("failure_ttl"),
            meta=meta if isinstance(meta, dict) else None,
            webhooks=webhooks,
        )
        job.latest_enqueue_time = _parse_iso(data.get("latest_enqueue_time"))
        job.next_enqueue_time = _parse_iso(data.get("next_enqueue_time")) or job.next_enqueue_time
        return job


def _record_history(cron_job: CronJob, connection: Any, keys: KeySpace, job: Job) -> None:
    """Add ``job`` to its cron job's history and the name registry, in one MULTI.

    A second atomic step after the enqueue: the history is monitoring, kept
    in its own hash slot (``{#cron}``) because it is read by name, without a
    queue. A crash between the two steps loses one history line, never a run.
    """
    stamp = job.enqueued_at.timestamp() if job.enqueued_at else utils.now()
    key = keys.cron_job_history(cron_job.name)
    with connection.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {job.id: stamp})
        pipe.zremrangebyrank(key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1))
        pipe.expire(key, DEFAULT_CRON_JOB_HISTORY_TTL)
        cron_job_registry.add(cron_job.name, pipe, enqueue_timestamp=stamp, prefix=keys.prefix)
        pipe.execute()


class _StopRequested(Exception):
    """SIGINT or SIGTERM reached :meth:`CronScheduler.start`."""


class CronScheduler:
    """Enqueues registered :class:`CronJob` objects when they are due.

    Args:
        connection: the Redis client.
        logging_level: the level of the ``django_jobqueue.cron`` logger while
            :meth:`start` runs.
        name: unique among running schedulers; default ``host:pid:xxxxxx``.
        prefix: the key prefix.
    """

    def __init__(
        self,
        connection: Any,
        logging_level: str | int = logging.INFO,
        name: str = "",
        prefix: str | None = None,
    ):
        self.connection = resolve_connection(connection)
        self.keys = keyspace(prefix)
        self._cron_jobs: list[CronJob] = []
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.name = name or f"{self.hostname}:{self.pid}:{uuid.uuid4().hex[:6]}"
        self.config_file = ""
        self.created_at = now()
        self.logging_level = logging_level
        self.log = logger

    def __repr__(self) -> str:
        return f"CronScheduler({self.name!r}, jobs={len(self._cron_jobs)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CronScheduler) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    # -- the jobs ------------------------------------------------------------------

    def register(
        self,
        func: Callable,
        queue_name: str,
        args: tuple | None = None,
        kwargs: dict | None = None,
        interval: int | None = None,
        cron: str | None = None,
        job_timeout: int | None = None,
        result_ttl: int = DEFAULT_RESULT_TTL,
        ttl: int | None = None,
        failure_ttl: int | None = None,
        meta: dict | None = None,
        webhooks: Sequence[Any] | None = None,
        name: str = "",
        timezone: str | None = None,
    ) -> CronJob:
        """Add a job to run every ``interval`` seconds or on ``cron``; see :class:`CronJob`."""
        cron_job = CronJob(
            queue_name=queue_name,
            func=func,
            args=args,
            kwargs=kwargs,
            interval=interval,
            cron=cron,
            job_timeout=job_timeout,
            result_ttl=result_ttl,
            ttl=ttl,
            failure_ttl=failure_ttl,
            meta=meta,
            webhooks=webhooks,
            name=name,
            timezone=timezone,
        )
        self._cron_jobs.append(cron_job)
        when = f"every {interval} s" if interval else f"on {cron!r} ({cron_job.timezone})"
        self.log.info("Registered %s to run on %s %s", cron_job.name, queue_name, when)
        return cron_job

    def get_jobs(self) -> list[CronJob]:
        """The registered jobs, in the order registered."""
        return self._cron_jobs

    def enqueue_jobs(self) -> list[CronJob]:
        """Enqueue every due job; returns those this scheduler enqueued.

        A due job that another scheduler enqueued first is left out (see
        :meth:`CronJob.fire`); its timing is brought up to date.
        """
        moment = round(now().timestamp(), 6)
        enqueued = []
        for cron_job in self._cron_jobs:
            if cron_job._watermark is None:
                cron_job.sync(self.connection, moment, self.keys.prefix)
            if cron_job.should_run() and cron_job.fire(self.connection, moment, self.keys.prefix):
                enqueued.append(cron_job)
        return enqueued

    def calculate_sleep_interval(self) -> float:
        """Seconds until the next job is due: 0 when one is overdue, at most :data:`MAX_SLEEP`."""
        upcoming = [job.next_enqueue_time for job in self._cron_jobs if job.next_enqueue_time]
        if not upcoming:
            return MAX_SLEEP
        seconds = (min(upcoming) - now()).total_seconds()
        return max(0, min(seconds, MAX_SLEEP))

    # -- running -----------------------------------------------------------------------

    def _install_signal_handlers(self) -> dict[int, Any]:
        def stop(signum: int, frame: Any) -> None:
            self.log.info("CronScheduler %s: signal %s, stopping", self.name, signum)
            raise _StopRequested()

        return {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(self) -> None:
        """Enqueue due jobs until SIGINT or SIGTERM: sleep, enqueue, heartbeat.

        The scheduler is in the registry while it runs; it leaves it however
        the loop ends.
        """
        self.log.setLevel(self.logging_level)
        self.log.info("CronScheduler %s: starting with %d job(s)", self.name, len(self._cron_jobs))
        previous = self._install_signal_handlers()
        self.register_birth()
        try:
            while True:
                if self.enqueue_jobs():
                    self.save()  # the jobs' new timing, for monitors
                self.heartbeat()
                pause = self.calculate_sleep_interval()
                if pause > 0:
                    time.sleep(pause)
        except (KeyboardInterrupt, _StopRequested):
            self.log.info("CronScheduler %s: stopped", self.name)
        finally:
            try:
                self.register_death()
            except SchedulerNotFound:
                pass
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def load_config_from_file(self, config_path: str) -> None:
        """Register the jobs a configuration module declares with :func:`register`.

        See :func:`read_config` for ``config_path`` and the errors; on an
        error no job of the module is registered.
        """
        self.config_file = config_path
        self.add_jobs(read_config(config_path), config_path)

    def add_jobs(self, jobs: Sequence[CronJob], source: str = "") -> None:
        """Register jobs already built, e.g. by :func:`read_config`."""
        if source:
            self.config_file = source
        self._cron_jobs.extend(jobs)
        self.log.info("Registered %d cron job(s) from %s", len(jobs), source or "code")

    # -- monitoring ------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The key of this scheduler's hash."""
        return self.keys.cron_scheduler(self.name)

    def to_dict(self) -> dict[str, str]:
        """This scheduler as stored in its hash."""
        return {
            "hostname": self.hostname,
            "pid": str(self.pid),
            "name": self.name,
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "config_file": self.config_file or "",
            "cron_jobs": json.dumps([job.to_dict() for job in self._cron_jobs]),
        }

    def save(self, pipeline: Any = None) -> None:
        """Write this scheduler's hash, living :data:`DEFAULT_CRON_SCHEDULER_TTL` seconds."""
        pipe = self.connection.pipeline(transaction=True) if pipeline is None else pipeline
        pipe.hset(self.key, mapping=self.to_dict())
        pipe.expire(self.key, DEFAULT_CRON_SCHEDULER_TTL)
        if pipeline is None:
            pipe.execute()

    def restore(self, raw: dict) -> None:
        """Fill this scheduler from a hash :meth:`save` wrote; bad job data reads as no jobs."""
        data = {as_str(k): as_str(v) for k, v in raw.items()}
        self.hostname = data.get("hostname", "")
        self.pid = int(data.get("pid") or 0)
        self.name = data.get("name") or self.name
        self.created_at = _parse_iso(data.get("created_at")) or self.created_at
        self.config_file = data.get("config_file", "")
        try:
            self._cron_jobs = [
                CronJob.from_dict(item) for item in json.loads(data.get("cron_jobs") or "[]")
            ]
        except (ValueError, KeyError, TypeError) as exc:
            self.log.warning("CronScheduler %s: unreadable cron jobs: %s", self.name, exc)
            self._cron_jobs = []

    @classmethod
    def fetch(cls, name: str, connection: Any, prefix: str | None = None) -> CronScheduler:
        """The scheduler ``name`` as its hash describes it (its jobs have no ``func``).

        Raises:
            SchedulerNotFound: no such hash (never saved, or expired).
        """
        raw = resolve_connection(connection).hgetall(keyspace(prefix).cron_scheduler(name))
        if not raw:
            raise SchedulerNotFound(f"No cron scheduler named {name!r} (or its record expired).")
        scheduler = cls(connection, name=name, prefix=prefix)
        scheduler.restore(raw)
        return scheduler

    @classmethod
    def all(cls, connection: Any, cleanup: bool = True, prefix: str | None = None) -> list:
        """The registered schedulers, dead ones dropped first unless ``cleanup`` is False."""
        if cleanup:
            cron_scheduler_registry.cleanup(connection, prefix=prefix)
        found = []
        for name in cron_scheduler_registry.get_keys(connection, prefix=prefix):
            try:
                found.append(cls.fetch(name, connection, prefix))
            except SchedulerNotFound:
                continue
        return found

    def register_birth(self) -> None:
        """Enter the registry and write this scheduler's hash, in one MULTI."""
        with self.connection.pipeline(transaction=True) as pipe:
            cron_scheduler_registry.register(self, pipe)
            self.save(pipe)
            pipe.execute()

    def register_death(self, pipeline: Any = None) -> None:
        """Leave the registry (the hash expires by itself)."""
        cron_scheduler_registry.unregister(self, pipeline)

    def heartbeat(self) -> None:
        """Move this scheduler's registry score to now and keep its hash alive.

        Either one gone (the host slept past the TTL, a cleanup ran) is
        written again.
        """
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.cron_schedulers, {self.name: time.time()})
            pipe.expire(self.key, DEFAULT_CRON_SCHEDULER_TTL)
            _, kept = pipe.execute()
        if not kept:
            self.save()

    @property
    def last_heartbeat(self) -> datetime | None:
        """When this scheduler last sent a heartbeat (UTC), or None when it is not registered."""
        score = self.connection.zscore(self.keys.cron_schedulers, self.name)
        return to_datetime(score)


# -- configuration modules --------------------------------------------------------------

#: The jobs a configuration module declares with :func:`register`, until a
#: scheduler takes them (:meth:`CronScheduler.load_config_from_file`, :func:`create_cron`).
_job_data_registry: list[dict[str, Any]] = []


def register(
    func: Callable,
    queue_name: str,
    args: tuple | None = None,
    kwargs: dict | None = None,
    interval: int | None = None,
    cron: str | None = None,
    job_timeout: int | None = None,
    result_ttl: int = DEFAULT_RESULT_TTL,
    ttl: int | None = None,
    failure_ttl: int | None = None,
    meta: dict | None = None,
    webhooks: Sequence[Any] | None = None,
    name: str = "",
    timezone: str | None = None,
) -> dict[str, Any]:
    """Declare a cron job in a configuration module; returns the declaration.

    Same arguments as :meth:`CronScheduler.register` (``timezone`` is ours:
    the IANA zone of ``cron``, default the local one). Nothing is checked or
    scheduled until a scheduler loads the module.
    """
    data = {
        "func": func,
        "queue_name": queue_name,
        "args": args,
        "kwargs": kwargs,
        "interval": interval,
        "cron": cron,
        "job_timeout": job_timeout,
        "result_ttl": result_ttl,
        "ttl": ttl,
        "failure_ttl": failure_ttl,
        "meta": meta,
        "webhooks": webhooks,
        "name": name,
        "timezone": timezone,
    }
    _job_data_registry.append(data)
    return data


def read_config(config_path: str) -> list[CronJob]:
    """The jobs a configuration module declares with :func:`register`; no Redis is touched.

    Args:
        config_path: a file path (``app/cron_config.py``, absolute or relative
            to the working directory) or a dotted module path
            (``app.cron_config``).

    Raises:
        ImportError: the module cannot be found or fails to import.
        ValueError, TypeError: a declared job is invalid (all or none: a typo
            stops start-up).
    """
    _job_data_registry.clear()
    try:
        _import_config(config_path)
        declared = list(_job_data_registry)
    finally:
        _job_data_registry.clear()
    return [CronJob(**data) for data in declared]


def create_cron(connection: Any, prefix: str | None = None) -> CronScheduler:
    """A scheduler with the jobs declared so far; they are taken, so a second call gets none."""
    scheduler = CronScheduler(connection, prefix=prefix)
    declared = list(_job_data_registry)
    _job_data_registry.clear()
    for data in declared:
        scheduler.register(**data)
    return scheduler


def _import_config(config_path: str) -> None:
    if os.path.isabs(config_path):
        module_name = "jobqueue_cron_config_" + hashlib.sha1(config_path.encode()).hexdigest()[:12]
        try:
            validate_absolute_path(config_path)
        except OSError as exc:
            raise ImportError(f"Cannot load the cron configuration: {exc}") from None
        spec = importlib.util.spec_from_file_location(module_name, config_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"Cannot load the cron configuration file {config_path!r}.")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ImportError(f"The cron configuration {config_path!r} failed: {exc}") from exc
        return
    dotted = normalize_config_path(config_path)
    try:
        if dotted in sys.modules:
            importlib.reload(sys.modules[dotted])
        else:
            importlib.import_module(dotted)
    except ImportError as exc:
        raise ImportError(f"Cannot import the cron configuration {dotted!r}: {exc}") from exc
    except Exception as exc:
        raise ImportError(f"The cron configuration {dotted!r} failed: {exc}") from exc


__all__ = [
    "DEFAULT_CRON_JOB_HISTORY_LIMIT",
    "DEFAULT_CRON_JOB_HISTORY_TTL",
    "DEFAULT_CRON_SCHEDULER_TTL",
    "DEFAULT_RESULT_TTL",
    "NOT_JSON_SERIALIZABLE",
    "CronJob",
    "CronScheduler",
    "create_cron",
    "get_cron_job_history_key",
    "get_cron_job_ids",
    "local_timezone",
    "read_config",
    "register",
]
