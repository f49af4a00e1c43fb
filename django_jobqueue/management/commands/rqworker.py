"""``manage.py rqworker high low``: serve queues in that priority order."""

from __future__ import annotations

import logging
import os
import signal
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections

from ...engine import hooks
from ...engine.utils import parse_bytes
from ...engine.worker import DEFAULT_WORKER_TTL
from ...queues import get_worker
from ._base import configured_queues

VERBOSITY_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}


class DatabaseHooks(hooks.Hooks):
    """Jobs that use the ORM get fresh connections, as requests do."""

    def job_started(self, job, worker):
        close_old_connections()

    def job_finished(self, job, result, worker):
        close_old_connections()

    def job_failed(self, job, exc_info, worker):
        close_old_connections()


class LiveLine:
    """``rqworker --burst`` on a terminal: one line, redrawn in place, then a summary.

    Called by the worker on every turn of its loop (``worker.on_tick``); it
    redraws at most every ``interval`` seconds, reading the queues' depth then.
    """

    def __init__(self, stream, queues, clock=time.monotonic, interval: float = 0.5):
        self.stream = stream
        self.queues = queues
        self.clock = clock
        self.interval = interval
        self.started = clock()
        self._next = 0.0

    def __call__(self, worker) -> None:
        if self.clock() >= self._next:
            self._next = self.clock() + self.interval
            self._draw(self._line(worker, depth=sum(len(q) for q in self.queues)))

    def finish(self, worker) -> None:
        elapsed = max(self.clock() - self.started, 1e-9)
        done = worker.successful_job_count + worker.failed_job_count
        self._draw(
            f"Done: {done} jobs ({worker.failed_job_count} failed) in {elapsed:.1f} s, "
            f"{done / elapsed:.1f} jobs/s",
            end="\n",
        )

    def _line(self, worker, depth: int) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        done = worker.successful_job_count + worker.failed_job_count
        return (
            f"{done} jobs done ({worker.failed_job_count} failed), "
            f"{done / elapsed:.1f} jobs/s, {depth} queued"
        )

    def _draw(self, text: str, end: str = "") -> None:
        # \r back to the line's start, \x1b[K clears what a longer line left.
        self.stream.write(f"\r{text}\x1b[K{end}", ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = "Run a worker serving the given queues, highest priority first (default: 'default')."

    def add_arguments(self, parser):
        parser.add_argument(
            "queues", nargs="*", metavar="queue", help="queue names in priority order"
        )
        parser.add_argument("--burst", action="store_true", help="exit once every queue is empty")
        parser.add_argument("--name", help="worker name (default: random)")
        parser.add_argument(
            "--worker-class",
            help="'pool' (long-lived children, the default), 'fork' (a child "
            "per job), 'simple' (in process) or a dotted path to a worker "
            "class (default: JOBQUEUE_WORKER['CLASS'])",
        )
        parser.add_argument(
            "--processes", type=int, help="pool children (default: the number of CPUs)"
        )
        parser.add_argument(
            "--max-jobs-per-child", type=int, help="replace a pool child after this many jobs"
        )
        parser.add_argument(
            "--max-memory-per-child",
            help="replace a pool child once its memory passes this, e.g. 500MB",
        )
        parser.add_argument("--max-jobs", type=int, help="exit after this many jobs")
        parser.add_argument(
            "--max-idle-time", type=float, help="exit after this many seconds without a job"
        )
        parser.add_argument(
            "--worker-ttl",
            type=int,
            help="seconds without heartbeat before a job counts as abandoned "
            f"(default: {DEFAULT_WORKER_TTL})",
        )
        scheduler = parser.add_mutually_exclusive_group()
        scheduler.add_argument(
            "--with-scheduler",
            dest="with_scheduler",
            action="store_true",
            default=None,
            help="run the scheduler here too (the default, unless "
            "JOBQUEUE_WORKER['SCHEDULER'] is False): it releases scheduled jobs "
            "and retries and fires JOBQUEUE_CRON; one worker's is active at a time",
        )
        scheduler.add_argument(
            "--without-scheduler",
            dest="with_scheduler",
            action="store_false",
            help="never run the scheduler in this worker",
        )
        parser.add_argument("--pid", metavar="FILE", help="write the worker's PID to FILE")
        parser.add_argument(
            "--reload",
            action="store_true",
            help="restart when Python files change (development only)",
        )

    def handle(self, *args, **options):
        names = options["queues"] or ["default"]
        configured_queues(names)  # fail fast on unknown names
        self._configure_logging(options["verbosity"])
        if options["reload"]:
            from django.utils import autoreload

            autoreload.run_with_reloader(self._run, names, options)
        else:
            self._run(names, options)

    def _run(self, names, options):
        try:
            worker = get_worker(
                *names,
                worker_class=options["worker_class"],
                name=options["name"],
                worker_ttl=options["worker_ttl"],
                processes=options["processes"],
                max_jobs_per_child=options["max_jobs_per_child"],
                max_memory_per_child=parse_bytes(options["max_memory_per_child"]),
                scheduler=options["with_scheduler"],
            )
        except (ImportError, ValueError, TypeError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        # Until the worker's own handlers are in place, a stop signal is only
        # remembered: whoever reads the PID file may signal us at once.
        early = {
            signum: signal.signal(signum, lambda *_: worker.request_stop())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        if options["pid"]:
            with open(options["pid"], "w") as fh:
                fh.write(str(os.getpid()))
        database_hooks = DatabaseHooks()
        hooks.register(database_hooks)
        # Connections must not be shared with forked children.
        connections.close_all()
        live = None
        if options["burst"] and self.stdout.isatty():  # never in logs or pipes
            live = LiveLine(self.stdout, worker.queues)
            worker.on_tick = live
        try:
            worker.work(
                burst=options["burst"],
                max_jobs=options["max_jobs"],
                max_idle_time=options["max_idle_time"],
                logging_level=None,
            )
            if live is not None:
                live.finish(worker)
        finally:
            for signum, handler in early.items():
                signal.signal(signum, handler)
            hooks.unregister(database_hooks)
            if options["pid"]:
                try:
                    os.unlink(options["pid"])
                except OSError:
                    pass

    def _configure_logging(self, verbosity):
        logger = logging.getLogger("django_jobqueue")
        if logger.level == logging.NOTSET:
            logger.setLevel(VERBOSITY_LEVELS.get(verbosity, logging.INFO))
        if not logger.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler(self.stderr._out)  # type: ignore[call-overload]  # OutputWrapper's stream is untyped
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            logger.addHandler(handler)
            logger.propagate = False
