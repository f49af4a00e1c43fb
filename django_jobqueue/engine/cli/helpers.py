"""What the ``jobqueue`` commands share: where Redis is, classes named by dotted
path, the arguments of ``jobqueue enqueue``, and the ``info`` display.

The names are RQ's (``rq.cli.helpers``), so a settings module or a test written
for ``rq`` reads the same here.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import logging
import logging.config
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import update_wrapper
from shutil import get_terminal_size
from typing import Any

import click
from redis import Redis
from redis.sentinel import Sentinel

from ..job import Job
from ..live import live_workers
from ..queue import Queue
from ..serializers import resolve_serializer
from ..stats import queue_stats
from ..utils import import_attribute, import_class, parse_timeout, utcnow
from ..vocabulary import WorkerStatus
from ..worker import BaseWorker

DEFAULT_WORKER_CLASS = "django_jobqueue.engine.Worker"
DEFAULT_JOB_CLASS = "django_jobqueue.engine.Job"
DEFAULT_QUEUE_CLASS = "django_jobqueue.engine.Queue"
DEFAULT_CONNECTION_CLASS = "redis.Redis"
#: How ``--log-format`` and ``--date-format`` default (RQ's, and the worker's own).
DEFAULT_LOG_FORMAT = "%(asctime)s %(message)s"
DEFAULT_DATE_FORMAT = "%H:%M:%S"

#: The engine's loggers (workers, scheduler, cron) all sit under this one.
logger = logging.getLogger("django_jobqueue")


# -- classes by dotted path -------------------------------------------------------


def import_job_class(path: str) -> type[Job]:
    """The :class:`~..job.Job` subclass ``path`` names; ValueError otherwise."""
    return import_class(path, Job, "job")


def import_queue_class(path: str) -> type[Queue]:
    """The :class:`~..queue.Queue` subclass ``path`` names; ValueError otherwise."""
    return import_class(path, Queue, "queue")


def import_worker_class(path: str) -> type[BaseWorker]:
    """The worker class ``path`` names (Worker, SimpleWorker, WorkerPool...); else ValueError."""
    return import_class(path, BaseWorker, "worker")


# -- where Redis is -----------------------------------------------------------------


def read_config_file(module: str) -> dict[str, Any]:
    """The UPPERCASE names of the settings module ``module`` (a dotted path)."""
    settings = importlib.import_module(module)
    return {name: value for name, value in vars(settings).items() if name.isupper()}


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, str):
        return bool(value)
    text = value.strip().lower()
    if text in ("y", "yes", "t", "true", "1", "on"):
        return True
    if text in ("n", "no", "f", "false", "0", "off", ""):
        return False
    raise ValueError(f"{name} is a boolean: use 'true' or 'false', not {value!r}.")


def get_redis_from_config(settings: Any, connection_class: Any = Redis) -> Any:
    """A Redis client from a settings module's names (or the environment's).

    ``REDIS_URL`` wins; else ``SENTINEL``, a dict with ``INSTANCES`` (host,
    port pairs), ``MASTER_NAME``, ``DB``, ``USERNAME``, ``PASSWORD``,
    ``SOCKET_TIMEOUT``, ``SSL``, ``CONNECTION_KWARGS`` and ``SENTINEL_KWARGS``;
    else ``REDIS_HOST``, ``REDIS_PORT``, ``REDIS_DB``, ``REDIS_PASSWORD``,
    ``REDIS_SSL`` and the ``REDIS_SSL_*`` certificate names.
    """
    if settings.get("REDIS_URL") is not None:
        return connection_class.from_url(settings["REDIS_URL"])
    sentinel = settings.get("SENTINEL")
    if sentinel is not None:
        kwargs = {
            "db": sentinel.get("DB", 0),
            "username": sentinel.get("USERNAME"),
            "password": sentinel.get("PASSWORD"),
            "socket_timeout": sentinel.get("SOCKET_TIMEOUT"),
            "ssl": _flag(sentinel.get("SSL", False), "SENTINEL['SSL']"),
            **sentinel.get("CONNECTION_KWARGS", {}),
        }
        instances = sentinel.get("INSTANCES", [("localhost", 26379)])
        found = Sentinel(instances, sentinel_kwargs=sentinel.get("SENTINEL_KWARGS", {}), **kwargs)
        return found.master_for(sentinel.get("MASTER_NAME", "mymaster"))
    return connection_class(
        host=settings.get("REDIS_HOST", "localhost"),
        port=int(settings.get("REDIS_PORT", 6379)),
        db=int(settings.get("REDIS_DB", 0)),
        password=settings.get("REDIS_PASSWORD"),
        ssl=_flag(settings.get("REDIS_SSL", False), "REDIS_SSL"),
        ssl_ca_certs=settings.get("REDIS_SSL_CA_CERTS"),
        ssl_cert_reqs=settings.get("REDIS_SSL_CERT_REQS", "required"),
        ssl_ca_data=settings.get("REDIS_SSL_CA_DATA"),
        ssl_keyfile=settings.get("REDIS_SSL_KEYFILE"),
        ssl_certfile=settings.get("REDIS_SSL_CERTFILE"),
    )


class CliConfig:
    """The options every command takes: Redis (``--url``, ``--config``), the
    classes to use, the import path and the key prefix.

    A class that cannot be imported is a usage error naming its option. The
    connection is made on first use, from ``url``, else the ``config`` module,
    else the ``REDIS_*`` environment variables.
    """

    def __init__(
        self,
        url: str | None = None,
        config: str | None = None,
        worker_class: str = DEFAULT_WORKER_CLASS,
        job_class: str = DEFAULT_JOB_CLASS,
        queue_class: str = DEFAULT_QUEUE_CLASS,
        connection_class: str = DEFAULT_CONNECTION_CLASS,
        path: Sequence[str] = (),
        prefix: str | None = None,
        **ignored: Any,
    ):
        self.url = url
        self.config = config
        self.prefix = prefix
        for entry in path or ():
            if entry not in sys.path:
                sys.path.append(entry)
        self.worker_class = self._import(import_worker_class, worker_class, "--worker-class")
        self.job_class = self._import(import_job_class, job_class, "--job-class")
        self.queue_class = self._import(import_queue_class, queue_class, "--queue-class")
        self.connection_class = self._import(
            import_attribute, connection_class, "--connection-class"
        )
        self._connection: Any = None

    @staticmethod
    def _import(how: Callable[[str], Any], path: str, option: str) -> Any:
        try:
            return how(path)
        except (ImportError, ValueError) as exc:
            raise click.BadParameter(str(exc), param_hint=option) from None

    @property
    def connection(self) -> Any:
        if self._connection is None:
            if self.url:
                self._connection = self.connection_class.from_url(self.url)
            else:
                settings = read_config_file(self.config) if self.config else os.environ
                self._connection = get_redis_from_config(settings, self.connection_class)
        return self._connection

    def settings(self) -> dict[str, Any]:
        """The ``--config`` module's names (none without one)."""
        return read_config_file(self.config) if self.config else {}

    def queue(self, name: str, serializer: Any = None) -> Queue:
        return self.queue_class(
            name,
            connection=self.connection,
            job_class=self.job_class,
            serializer=serializer,
            prefix=self.prefix,
        )

    def all_queues(self, serializer: Any = None) -> list[Queue]:
        return self.queue_class.all(
            connection=self.connection,
            prefix=self.prefix,
            job_class=self.job_class,
            serializer=serializer,
        )


shared_options = [
    click.option(
        "--url", "-u", envvar="RQ_REDIS_URL", help="Redis URL, e.g. redis://localhost:6379/0."
    ),
    click.option(
        "--config",
        "-c",
        envvar="RQ_CONFIG",
        help="Dotted path of a settings module (REDIS_URL...).",
    ),
    click.option(
        "--worker-class",
        "-w",
        envvar="RQ_WORKER_CLASS",
        default=DEFAULT_WORKER_CLASS,
        help="Dotted path of the worker class.",
    ),
    click.option(
        "--job-class",
        "-j",
        envvar="RQ_JOB_CLASS",
        default=DEFAULT_JOB_CLASS,
        help="Dotted path of the job class.",
    ),
    click.option(
        "--queue-class",
        envvar="RQ_QUEUE_CLASS",
        default=DEFAULT_QUEUE_CLASS,
        help="Dotted path of the queue class.",
    ),
    click.option(
        "--connection-class",
        envvar="RQ_CONNECTION_CLASS",
        default=DEFAULT_CONNECTION_CLASS,
        help="Dotted path of the Redis client class.",
    ),
    click.option(
        "--path", "-P", default=["."], multiple=True, help="Add this directory to the import path."
    ),
    click.option(
        "--serializer",
        "-S",
        default=None,
        help="'pickle' (the default), 'json', 'msgpack' or the dotted path of a serializer.",
    ),
    click.option(
        "--prefix",
        envvar="JOBQUEUE_KEY_PREFIX",
        default=None,
        help="The key prefix of the queues (default: jobqueue:).",
    ),
]

_SHARED = ("url", "config", "worker_class", "job_class", "queue_class", "connection_class")


def pass_cli_config(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the shared options, and a :class:`CliConfig` as first argument.

    The command receives ``serializer`` (resolved: a bad one is a usage error)
    and ``prefix`` too; the other shared options are read through the CliConfig.
    """
    for option in shared_options:
        func = option(func)

    def command(**kwargs: Any) -> Any:
        shared = {name: kwargs.pop(name) for name in _SHARED}
        config = CliConfig(**shared, path=kwargs.pop("path"), prefix=kwargs["prefix"])
        try:
            kwargs["serializer"] = resolve_serializer(kwargs["serializer"])
        except (ImportError, ValueError, TypeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--serializer") from None
        return func(config, **kwargs)

    return update_wrapper(command, func)


# -- jobqueue enqueue: arguments -----------------------------------------------------


def _read_file(value: str) -> str:
    path = value[1:]
    try:
        with open(path) as fh:
            return fh.read()
    except FileNotFoundError:
        raise click.FileError(path, "Not found") from None


def parse_function_arg(argument: str, position: int) -> tuple[str | None, Any]:
    """One argument of ``jobqueue enqueue``: ``(keyword or None, value)``.

    ``text`` and ``name=text`` are strings; ``:json`` and ``name:=json`` are
    JSON; ``%expr`` and ``name%=expr`` are Python literals
    (:func:`ast.literal_eval`). A value ``@path`` is the content of that file.
    ``position`` numbers positional arguments in error messages.
    """
    keyword: str | None = None
    kind, value = "", argument
    if argument[:1] in (":", "%"):
        kind, value = argument[0], argument[1:]
    else:
        name, equals, rest = argument.partition("=")
        if equals and name:
            keyword, value = name, rest
            if name[-1] in ":%" and len(name) > 1:
                keyword, kind = name[:-1], name[-1]
    if value.startswith("@"):
        value = _read_file(value)
    what = keyword or f"{position}. non keyword argument"
    if kind == ":":
        try:
            return keyword, json.loads(value)
        except ValueError:
            raise click.BadParameter(f"Unable to parse {what} as JSON.") from None
    if kind == "%":
        try:
            return keyword, ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise click.BadParameter(
                f"Unable to eval {what} as Python object. Give a literal "
                "(see ast.literal_eval): %42, %'text', %(1, 2), %None."
            ) from None
    return keyword, value


def parse_function_args(arguments: Sequence[str]) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments of a call, from ``jobqueue enqueue``'s words."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for argument in arguments:
        keyword, value = parse_function_arg(argument, len(args) + 1)
        if keyword is None:
            args.append(value)
        elif keyword in kwargs:
            raise click.BadParameter("You can't specify multiple values for the same keyword.")
        else:
            kwargs[keyword] = value
    return args, kwargs


def parse_schedule(schedule_in: str | None, schedule_at: str | None) -> datetime | None:
    """When a job enters its queue: ``--schedule-in 10m`` from now (aware, UTC), or
    ``--schedule-at 2030-01-31T09:00:00`` (naive: the caller reads it as local time).
    """
    if schedule_in is not None and schedule_at is not None:
        raise click.BadArgumentUsage("You can't specify both --schedule-in and --schedule-at")
    if schedule_in is not None:
        try:
            seconds = parse_timeout(schedule_in) or 0
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--schedule-in") from None
        return utcnow() + timedelta(seconds=seconds)
    if schedule_at is not None:
        try:
            return datetime.strptime(schedule_at, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise click.BadParameter(
                f"{schedule_at!r}: use YYYY-MM-DDTHH:MM:SS.", param_hint="--schedule-at"
            ) from None
    return None


# -- logging --------------------------------------------------------------------------


def log_level(level: str | None, verbose: bool, quiet: bool) -> str:
    """The level ``--logging-level``, ``--verbose`` and ``--quiet`` ask for (INFO by default)."""
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet cannot be used together.")
    if verbose:
        return "DEBUG"
    if quiet:
        return "WARNING"
    return (level or "INFO").upper()


@contextlib.contextmanager
def command_logging(
    level: str,
    log_format: str = DEFAULT_LOG_FORMAT,
    date_format: str = DEFAULT_DATE_FORMAT,
    dict_config: dict | None = None,
) -> Iterator[None]:
    """The engine's loggers at ``level`` while a command runs, printed to stderr.

    A ``DICT_CONFIG`` from the settings module is applied first; a handler is
    added only where logging has none (an application's own choice stays).
    """
    if dict_config:
        logging.config.dictConfig(dict_config)
    added = None
    if not logger.handlers and not logging.getLogger().handlers:
        added = logging.StreamHandler(sys.stderr)
        added.setFormatter(logging.Formatter(log_format, date_format))
        logger.addHandler(added)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
        if added is not None:
            logger.removeHandler(added)


# -- jobqueue info ----------------------------------------------------------------------


def _scale(count: int) -> int:
    """The smallest of a few round numbers that ``count`` fits in (the bars' full width)."""
    return next((s for s in (20, 50, 100, 200, 400, 600, 800, 1000) if count <= s), count)


def _state(state: Any, raw: bool) -> str:
    if raw:
        return str(state)
    colour: str | None = {
        WorkerStatus.BUSY: "red",
        WorkerStatus.IDLE: "green",
        WorkerStatus.SUSPENDED: "yellow",
    }.get(state)
    return click.style(str(state), fg=colour) if colour else str(state)


def show_queues(queues: Sequence[Queue], raw: bool, **ignored: Any) -> None:
    """One line per queue: waiting jobs (a bar unless ``raw``), running, finished, failed.

    The counts come from :func:`~..stats.queue_stats` (one round trip).
    """
    rows = queue_stats(queues)
    width = min(20, get_terminal_size().columns - 20)
    ratio = width / _scale(max((row["queued"] for row in rows), default=0))
    for row in rows:
        others = f"{row['started']} executing, {row['finished']} finished, {row['failed']} failed"
        if raw:
            click.echo(f"queue {row['name']} {row['queued']}, {others}")
        else:
            bar = click.style("|" + "\u2588" * int(ratio * row["queued"]), fg="green")
            click.echo(f"{row['name']:<12} {bar} {row['queued']}, {others}")
    if not raw:
        click.echo(f"{len(rows)} queues, {sum(row['queued'] for row in rows)} jobs total")


#: What ``info --by-queue`` shows for a queue no worker serves.
NONE = "\u2013"


def show_workers(
    queues: Sequence[Queue],
    raw: bool,
    by_queue: bool = False,
    connection: Any = None,
    prefix: str | None = None,
    **ignored: Any,
) -> None:
    """The live workers (serving one of ``queues``, when given): one line each, or per queue.

    Read with :func:`~..live.live_workers`: a worker is busy while it runs a
    job, and a pool is one worker with its processes.
    """
    if queues:
        connection, prefix = queues[0].connection, queues[0].keys.prefix
    serving = [q.name for q in queues] or None
    workers = live_workers(connection, prefix, serving=serving)
    if by_queue:
        width = max((len(q.name) for q in queues), default=0) + 1
        for queue in queues:
            listed = ", ".join(
                f"{w.name} ({_state(w.state, raw)})" for w in workers if queue.name in w.queues
            )
            click.echo(f"{queue.name + ':':<{width}} {listed or NONE}")
    else:
        for w in workers:
            where = f"{w.name} ({w.hostname} {w.pid})"
            if w.is_pool:
                where += f" pool of {w.processes}"
            line = (
                f"{_state(w.state, raw)} {', '.join(w.queues)}. "
                f"jobs: {w.successful} finished, {w.failed} failed"
            )
            click.echo(f"worker {where} {line}" if raw else f"{where}: {line}")
    if not raw:
        click.echo(f"{len(workers)} workers, {len(queues)} queues")


def show_both(queues: Sequence[Queue], raw: bool, **kwargs: Any) -> None:
    show_queues(queues, raw)
    if not raw:
        click.echo("")
    show_workers(queues, raw, **kwargs)
    if not raw:
        click.echo("")
        click.echo(f"Updated: {datetime.now()}")


def refresh(interval: float | None, show: Callable[[], None]) -> None:
    """``show()`` once, or every ``interval`` seconds on a cleared screen until Ctrl-C."""
    while True:
        if interval:
            click.clear()
        show()
        if not interval:
            return
        time.sleep(interval)
