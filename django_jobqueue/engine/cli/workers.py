"""``jobqueue worker`` and ``jobqueue worker-pool``: RQ's ``rq worker`` and
``rq worker-pool``, running the engine's :class:`~..worker.Worker` (or the
``--worker-class``) and :class:`~..worker.WorkerPool`.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from redis.exceptions import ConnectionError

from ..suspension import is_suspended
from ..utils import PidFile, import_attribute
from ..vocabulary import DequeueStrategy
from ..worker import SimpleWorker, Worker, WorkerPool
from .cli import main
from .helpers import (
    DEFAULT_DATE_FORMAT,
    DEFAULT_LOG_FORMAT,
    CliConfig,
    command_logging,
    log_level,
    pass_cli_config,
)

logger = logging.getLogger("django_jobqueue.worker")

_logging_options = [
    click.option("--verbose", "-v", is_flag=True, help="Log at DEBUG."),
    click.option("--quiet", "-q", is_flag=True, help="Log at WARNING."),
    click.option("--log-format", default=DEFAULT_LOG_FORMAT, help="Format of the log lines."),
    click.option("--date-format", default=DEFAULT_DATE_FORMAT, help="Format of their time."),
    click.option(
        "--exception-handler",
        "exception_handlers",
        multiple=True,
        help="Dotted path of a function called when a job raises (repeatable).",
    ),
]


def logging_options(func: Any) -> Any:
    for option in reversed(_logging_options):
        func = option(func)
    return func


def import_handlers(paths: tuple[str, ...]) -> list[Any]:
    """The exception handlers ``--exception-handler`` names; a usage error if one is missing."""
    try:
        return [import_attribute(path) for path in paths]
    except (ImportError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--exception-handler") from None


def suspended(connection: Any, prefix: str | None, burst: bool) -> bool:
    """Whether workers are suspended; a Redis that does not answer stops only a burst.

    A long-running worker started before its Redis (containers) waits for it
    in ``work()``, and looks at the suspension there.
    """
    try:
        return is_suspended(connection, prefix=prefix)
    except ConnectionError:
        if burst:
            raise
        return False


@main.command()
@click.option("--burst", "-b", is_flag=True, help="Quit once every queue is empty.")
@click.option("--logging-level", "--logging_level", help="Log at this level (default: INFO).")
@click.option("--name", "-n", help="The worker's name (default: random).")
@click.option("--results-ttl", type=int, help="Seconds results are kept by default.")
@click.option(
    "--worker-ttl", type=int, help="Seconds without a heartbeat before it counts as dead."
)
@click.option("--maintenance-interval", type=float, help="Seconds between registry cleanings.")
@click.option(
    "--job-monitoring-interval",
    type=float,
    help="Seconds between two looks at stop requests while a job runs.",
)
@click.option("--disable-job-desc-logging", is_flag=True, help="Name jobs by id only in the log.")
@click.option("--pid", help="Write the worker's process id to this file.")
@click.option(
    "--disable-default-exception-handler",
    "-d",
    is_flag=True,
    help="Do not log a failed job's traceback (the failure is still recorded).",
)
@click.option("--max-jobs", type=int, help="Quit after this many jobs.")
@click.option("--max-idle-time", type=int, help="Quit after this many seconds without a job.")
@click.option(
    "--with-scheduler", "-s", is_flag=True, help="Also release scheduled jobs and retries."
)
@click.option(
    "--dequeue-strategy",
    "-ds",
    default="default",
    help="The order queues are looked at: default (priority), round_robin or random.",
)
@logging_options
@click.argument("queues", nargs=-1)
@pass_cli_config
def worker(
    cli_config: CliConfig,
    burst: bool,
    logging_level: str | None,
    name: str | None,
    results_ttl: int | None,
    worker_ttl: int | None,
    maintenance_interval: float | None,
    job_monitoring_interval: float | None,
    disable_job_desc_logging: bool,
    pid: str | None,
    disable_default_exception_handler: bool,
    max_jobs: int | None,
    max_idle_time: int | None,
    with_scheduler: bool,
    dequeue_strategy: str,
    verbose: bool,
    quiet: bool,
    log_format: str,
    date_format: str,
    exception_handlers: tuple[str, ...],
    queues: tuple[str, ...],
    serializer: Any,
    prefix: str | None,
    **_: Any,
) -> None:
    """Run a worker on QUEUES, highest priority first (default: --config's QUEUES, or default)."""
    settings = cli_config.settings()
    names = list(queues) or list(settings.get("QUEUES", ["default"]))
    if dequeue_strategy not in {s.value for s in DequeueStrategy}:
        choices = ", ".join(f"`{s.value}`" for s in DequeueStrategy)
        click.secho(f"ERROR: Dequeue Strategy can only be one of {choices}.", err=True, fg="red")
        sys.exit(1)
    level = log_level(logging_level, verbose, quiet)
    handlers = import_handlers(exception_handlers)
    # Only the options given are passed: the rest keep the worker class's defaults.
    given = {
        "name": name or settings.get("NAME"),
        "default_result_ttl": results_ttl,
        "worker_ttl": worker_ttl,
        "maintenance_interval": maintenance_interval,
        "job_monitoring_interval": job_monitoring_interval,
        "exception_handlers": handlers or None,
    }
    options = {key: value for key, value in given.items() if value is not None}
    with command_logging(level, log_format, date_format, settings.get("DICT_CONFIG")):
        try:
            if suspended(cli_config.connection, prefix, burst):
                program = click.get_current_context().find_root().info_name
                click.secho(
                    f'Workers are suspended: to resume job execution run "{program} resume"',
                    fg="red",
                )
                sys.exit(1)
            instance = cli_config.worker_class(
                [cli_config.queue(n, serializer) for n in names],
                connection=cli_config.connection,
                serializer=serializer,
                prefix=prefix,
                job_class=cli_config.job_class,
                queue_class=cli_config.queue_class,
                disable_default_exception_handler=disable_default_exception_handler,
                log_job_description=not disable_job_desc_logging,
                **options,
            )
            with PidFile(pid, keep=True):
                instance.work(
                    burst=burst,
                    logging_level=None,
                    max_jobs=max_jobs,
                    max_idle_time=max_idle_time,
                    with_scheduler=with_scheduler,
                    dequeue_strategy=dequeue_strategy,
                )
        except ConnectionError as exc:
            logger.error("Redis did not answer: %s", exc)
            sys.exit(1)


@main.command("worker-pool")
@click.option("--burst", "-b", is_flag=True, help="Quit once every queue is empty.")
@click.option("--logging-level", "-l", default="INFO", help="Log at this level.")
@click.option("--num-workers", "-n", type=int, default=1, help="How many child processes.")
@logging_options
@click.argument("queues", nargs=-1)
@pass_cli_config
def worker_pool(
    cli_config: CliConfig,
    burst: bool,
    logging_level: str,
    num_workers: int,
    verbose: bool,
    quiet: bool,
    log_format: str,
    date_format: str,
    exception_handlers: tuple[str, ...],
    queues: tuple[str, ...],
    serializer: Any,
    prefix: str | None,
    **_: Any,
) -> None:
    """Run a pool of NUM_WORKERS child processes on QUEUES, highest priority first.

    The children are the pool's own in-process workers: --worker-class may
    only name Worker or SimpleWorker (or a subclass of WorkerPool, which then
    runs instead).
    """
    settings = cli_config.settings()
    names = list(queues) or list(settings.get("QUEUES", ["default"]))
    if num_workers < 1:
        raise click.BadParameter("must be 1 or more.", param_hint="--num-workers")
    kind = cli_config.worker_class
    pool_class = kind if issubclass(kind, WorkerPool) else WorkerPool
    if not issubclass(kind, WorkerPool) and kind not in (Worker, SimpleWorker):
        raise click.BadParameter(
            f"{kind.__qualname__}: a pool runs its own children; give Worker, SimpleWorker "
            "or a WorkerPool subclass (or use `worker` for another worker class).",
            param_hint="--worker-class",
        )
    level = log_level(logging_level, verbose, quiet)
    handlers = import_handlers(exception_handlers)
    with command_logging(level, log_format, date_format, settings.get("DICT_CONFIG")):
        try:
            pool = pool_class(
                [cli_config.queue(n, serializer) for n in names],
                connection=cli_config.connection,
                num_workers=num_workers,
                serializer=serializer,
                prefix=prefix,
                job_class=cli_config.job_class,
                queue_class=cli_config.queue_class,
                exception_handlers=handlers or None,
            )
            pool.work(burst=burst, logging_level=None)
        except ConnectionError as exc:
            logger.error("Redis did not answer: %s", exc)
            sys.exit(1)
