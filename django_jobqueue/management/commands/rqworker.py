"""``manage.py rqworker high low``: serve queues in that priority order."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections
from django.utils import autoreload

from ...conf import LOG_FORMATS, get_settings
from ...engine import hooks
from ...engine.execution import EXECUTIONS
from ...engine.utils import PidFile, import_attribute, parent_death_signal, parse_bytes
from ...engine.worker import DEFAULT_WORKER_TTL
from ...logutils import JSONFormatter
from ...workers import WORKER_CLASSES, get_worker
from ._base import configured_queues

VERBOSITY_LEVELS = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG, 3: logging.DEBUG}
#: How a ``--reload`` child tells its supervisor that a file changed (Django's code too).
RELOAD_EXIT_CODE = 3
#: Names the supervisor's PID in the environment of a ``--reload`` child.
SUPERVISOR_ENV = "DJANGO_JOBQUEUE_RELOAD_SUPERVISOR"

logger = logging.getLogger("django_jobqueue.worker")


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


def check_options(options) -> None:
    """Refuse option values that cannot work, with one line saying what would."""
    for option in (
        "processes",
        "max_jobs_per_child",
        "maintenance_interval",
        "job_monitoring_interval",
    ):
        value = options.get(option)
        if value is not None and value <= 0:
            flag = "--" + option.replace("_", "-")
            raise CommandError(f"{flag} must be a positive number, not {value}.")
    kind = options["worker_class"]
    if options["reload"]:
        if kind is None:
            # Jobs run in this process, so the reloader watches every module they import.
            options["worker_class"] = "simple"
        elif kind == "pool":
            raise CommandError(
                "--reload cannot restart a pool's children when code changes: "
                "use --worker-class simple (the default with --reload) or fork."
            )
    if kind is None or kind in WORKER_CLASSES or kind in EXECUTIONS:
        return
    try:
        import_attribute(kind)
    except (ImportError, ValueError) as exc:
        why = f" (cannot import it: {exc})" if "." in kind else ""
        raise CommandError(
            f"Unknown --worker-class {kind!r}{why}: choose {', '.join(WORKER_CLASSES)} "
            "or the dotted path of a worker class."
        ) from None


def make_worker(names, options):
    try:
        return get_worker(
            *names,
            worker_class=options["worker_class"],
            name=options["name"],
            worker_ttl=options["worker_ttl"],
            processes=options["processes"],
            max_jobs_per_child=options["max_jobs_per_child"],
            max_memory_per_child=parse_bytes(options["max_memory_per_child"]),
            scheduler=options["with_scheduler"],
            job_class=options["job_class"],
            queue_class=options["queue_class"],
            serializer=options["serializer"],
            # RQ's: None for an option not given (the worker's default, or
            # RQ_EXCEPTION_HANDLERS for the handlers).
            exception_handlers=options["exception_handlers"] or None,
            disable_default_exception_handler=options["disable_default_exception_handler"] or None,
            log_job_description=False if options["disable_job_desc_logging"] else None,
            maintenance_interval=options["maintenance_interval"],
            job_monitoring_interval=options["job_monitoring_interval"],
        )
    except (ImportError, ValueError, TypeError, ImproperlyConfigured) as exc:
        raise CommandError(str(exc)) from exc


def supervise() -> int:
    """``rqworker --reload``: run the command again in a child, again after each reload.

    The child exits with :data:`RELOAD_EXIT_CODE` when a file changed; any other
    exit ends the supervisor with the child's code, so a worker that stopped
    or crashed is never replaced by a process doing nothing. SIGTERM is
    passed on to the child (a warm shutdown); Ctrl-C reaches it from the
    terminal directly.
    """
    env = {
        **os.environ,
        autoreload.DJANGO_AUTORELOAD_ENV: "true",
        SUPERVISOR_ENV: str(os.getpid()),
    }
    args = autoreload.get_child_arguments()
    state: dict = {"child": None, "stopping": False}

    def forward(signum, frame):
        state["stopping"] = True
        if state["child"] is not None:
            state["child"].send_signal(signum)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
    }
    try:
        while True:
            state["child"] = subprocess.Popen(args, env=env, close_fds=False)
            code = state["child"].wait()
            if code != RELOAD_EXIT_CODE or state["stopping"]:
                return code if code >= 0 else 128 - code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def die_with_supervisor() -> None:
    """A reloading child gets SIGTERM (a warm shutdown) if its supervisor is killed."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if not supervisor:
        return
    set_death_signal = parent_death_signal(signal.SIGTERM)
    if set_death_signal is not None:
        set_death_signal()
    if os.getppid() != int(supervisor):  # it died before that took effect
        raise SystemExit(1)


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
        # django-rq's: classes built on ours, and the worker's serializer.
        parser.add_argument("--job-class", help="dotted path of a Job subclass to load jobs as")
        parser.add_argument(
            "--queue-class", help="dotted path of a django_jobqueue.Queue subclass for the queues"
        )
        parser.add_argument(
            "--serializer",
            help="'pickle', 'json', 'msgpack' or a dotted path (default: each queue's)",
        )
        # RQ's ``rq worker`` options.
        parser.add_argument(
            "--exception-handler",
            action="append",
            dest="exception_handlers",
            metavar="DOTTED.PATH",
            help="call this handler when a job raises (repeat for several, called in order; "
            "default: RQ_EXCEPTION_HANDLERS)",
        )
        parser.add_argument(
            "--disable-default-exception-handler",
            action="store_true",
            help="do not log a failed job's traceback (the failure is still recorded)",
        )
        parser.add_argument(
            "--disable-job-desc-logging",
            action="store_true",
            help="name jobs by id only in the log (their description shows their arguments)",
        )
        parser.add_argument(
            "--maintenance-interval",
            type=float,
            metavar="SECONDS",
            help="seconds between registry cleanings (default: 1)",
        )
        parser.add_argument(
            "--job-monitoring-interval",
            type=float,
            metavar="SECONDS",
            help="seconds between two looks at stop requests and commands while a job runs "
            "(default: 1)",
        )
        parser.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            help="'text' (lines for people) or 'json' (one JSON object per line, for "
            "log collectors; default: JOBQUEUE_WORKER['LOG_FORMAT'])",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="restart when a Python file changes; jobs run in-process unless "
            "--worker-class fork (development only)",
        )

    def handle(self, *args, **options):
        names = options["queues"] or ["default"]
        check_options(options)
        if options["reload"] and os.environ.get(autoreload.DJANGO_AUTORELOAD_ENV) != "true":
            configured_queues(names, reachable=False)  # fail fast on unknown names
            raise SystemExit(supervise())
        # A long-running worker waits for a Redis that is not up yet (it logs
        # that once); a burst has nothing to wait for and stops at once.
        configured_queues(names, reachable=True if options["burst"] else "wait")
        self._configure_logging(
            options["verbosity"], options["log_format"] or get_settings().worker["LOG_FORMAT"]
        )
        worker = make_worker(names, options)
        if options["reload"]:
            self._serve_reloading(worker, options)
        else:
            self._serve(worker, options)

    def _serve_reloading(self, worker, options):
        """The child of ``--reload``: the worker in the main thread, a watcher in another.

        When a watched file changes, the worker finishes its current job and
        this process exits with code 3, for :func:`supervise` to start a fresh
        one. If the worker stops for any other reason, so does the process.
        """
        die_with_supervisor()
        reloader = autoreload.get_reloader()
        changed: list[str] = []

        def on_change(sender, file_path, **kwargs):
            if sender is not reloader:
                return None
            if not changed:
                changed.append(str(file_path))
                logger.info("%s changed: reloading after the current job", file_path)
                worker.request_stop()
            return True  # handled: Django's own reload would end only this thread

        autoreload.file_changed.connect(on_change, weak=False)
        watcher = threading.Thread(
            target=reloader.run, args=(threading.main_thread(),), name="reloader", daemon=True
        )
        watcher.start()
        try:
            self._serve(worker, options)
        finally:
            reloader.stop()
            autoreload.file_changed.disconnect(on_change)
        if changed:
            raise SystemExit(RELOAD_EXIT_CODE)

    def _serve(self, worker, options):
        # Until the worker's own handlers are in place, a stop signal is only
        # remembered: whoever reads the PID file may signal us at once.
        early = {
            signum: signal.signal(signum, lambda *_: worker.request_stop())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        database_hooks = DatabaseHooks()
        hooks.register(database_hooks)
        # Connections must not be shared with forked children.
        connections.close_all()
        live = None
        if options["burst"] and self.stdout.isatty():  # never in logs or pipes
            live = LiveLine(self.stdout, worker.queues)
            worker.on_tick = live
        try:
            with PidFile(options["pid"]):
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

    def _configure_logging(self, verbosity, log_format="text"):
        """Log to stderr unless LOGGING says where.

        JSON is asked for explicitly, so it wins over the root logger's handlers.
        """
        logger = logging.getLogger("django_jobqueue")
        if logger.level == logging.NOTSET:
            logger.setLevel(VERBOSITY_LEVELS.get(verbosity, logging.INFO))
        if logger.handlers:
            return
        if log_format == "json" or not logging.getLogger().handlers:
            handler = logging.StreamHandler(self.stderr._out)  # type: ignore[call-overload]  # OutputWrapper's stream is untyped
            if log_format == "json":
                handler.setFormatter(JSONFormatter())
            else:
                handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            logger.addHandler(handler)
            logger.propagate = False
