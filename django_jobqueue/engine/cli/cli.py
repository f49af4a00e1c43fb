"""The ``jobqueue`` command group and its queue commands: empty, requeue, info,
suspend, resume and enqueue (RQ's ``rq`` subcommands, with RQ's options).

The workers' commands are in :mod:`.workers`, ``cron`` in :mod:`.cli_cron`.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from redis.exceptions import ConnectionError

from ... import __version__
from ..bulk import BATCH_SIZE, requeue_many
from ..errors import JobQueueError
from ..retry import Retry
from ..suspension import resume as resume_workers
from ..suspension import suspend as suspend_workers
from ..utils import get_call_string
from .helpers import (
    CliConfig,
    parse_function_args,
    parse_schedule,
    pass_cli_config,
    refresh,
    show_both,
    show_queues,
    show_workers,
)


@click.group(name="jobqueue")
@click.version_option(__version__)
def main() -> None:
    """Queues, jobs and workers of django-jobqueue's engine, as RQ's `rq` command has them."""


@main.command()
@click.option("--all", "-a", "all_queues", is_flag=True, help="Empty every queue.")
@click.argument("queues", nargs=-1)
@pass_cli_config
def empty(
    cli_config: CliConfig, all_queues: bool, queues: tuple[str, ...], serializer: Any, **_: Any
) -> None:
    """Delete the waiting jobs of the given queues."""
    if all_queues:
        chosen = cli_config.all_queues(serializer)
    else:
        chosen = [cli_config.queue(name, serializer) for name in queues]
    if not chosen:
        click.echo("Nothing to do")
        sys.exit(0)
    for queue in chosen:
        click.echo(f"{queue.empty()} jobs removed from {queue.name} queue")


@main.command()
@click.option("--all", "-a", "all_jobs", is_flag=True, help="Requeue every failed job.")
@click.option("--queue", required=True, help="The queue whose failed jobs to requeue.")
@click.argument("job_ids", nargs=-1)
@pass_cli_config
def requeue(
    cli_config: CliConfig,
    all_jobs: bool,
    queue: str,
    job_ids: tuple[str, ...],
    serializer: Any,
    **_: Any,
) -> None:
    """Put failed jobs back at the end of their queue (by id, or --all)."""
    chosen = cli_config.queue(queue, serializer)
    ids = chosen.failed_job_registry.get_job_ids() if all_jobs else list(dict.fromkeys(job_ids))
    if not ids:
        click.echo("Nothing to do")
        sys.exit(0)
    click.echo(f"Requeueing {len(ids)} jobs from failed queue")
    failed = 0
    # requeue_many (as manage.py rqrequeue): one round trip per batch of ids.
    with click.progressbar(length=len(ids)) as bar:
        for start in range(0, len(ids), BATCH_SIZE):
            batch = ids[start : start + BATCH_SIZE]
            failed += requeue_many(chosen, batch)[1]
            bar.update(len(batch))
    if failed:
        click.secho(f"Unable to requeue {failed} jobs from failed job registry", fg="red")


@main.command()
@click.option("--interval", "-i", type=float, help="Show again every N seconds (default: once).")
@click.option("--raw", "-r", is_flag=True, help="Only the numbers, no bar charts.")
@click.option("--only-queues", "-Q", is_flag=True, help="Show only the queues.")
@click.option("--only-workers", "-W", is_flag=True, help="Show only the workers.")
@click.option("--by-queue", "-R", is_flag=True, help="List the workers by queue.")
@click.argument("queues", nargs=-1)
@pass_cli_config
def info(
    cli_config: CliConfig,
    interval: float | None,
    raw: bool,
    only_queues: bool,
    only_workers: bool,
    by_queue: bool,
    queues: tuple[str, ...],
    prefix: str | None,
    **_: Any,
) -> None:
    """Queues and workers at a glance."""
    try:
        chosen = [cli_config.queue(name) for name in queues] or cli_config.all_queues()
        options = {"by_queue": by_queue, "connection": cli_config.connection, "prefix": prefix}
        if only_queues:
            refresh(interval, lambda: show_queues(chosen, raw))
        elif only_workers:
            refresh(interval, lambda: show_workers(chosen, raw, **options))
        else:
            refresh(interval, lambda: show_both(chosen, raw, **options))
    except ConnectionError as exc:
        click.echo(exc)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo()
        sys.exit(0)


@main.command()
@click.option("--duration", type=int, help="Seconds to stay suspended (default: until resume).")
@pass_cli_config
def suspend(cli_config: CliConfig, duration: int | None, prefix: str | None, **_: Any) -> None:
    """Workers finish their current job and take no new one until `resume`."""
    if duration is not None and duration < 1:
        click.echo("Duration must be an integer greater than 1")
        sys.exit(1)
    suspend_workers(cli_config.connection, duration, prefix=prefix)
    if duration:
        click.echo(
            f"Suspending workers for {duration} seconds. No new jobs will be started "
            "during that time, then they resume by themselves"
        )
    else:
        click.echo(
            "Suspending workers. No new jobs will be started. But current jobs will be completed"
        )


@main.command()
@pass_cli_config
def resume(cli_config: CliConfig, prefix: str | None, **_: Any) -> None:
    """Let workers suspended by `suspend` take jobs again."""
    resume_workers(cli_config.connection, prefix=prefix)
    click.echo("Resuming workers.")


@main.command()
@click.option("--queue", "-q", default="default", help="The queue's name.")
@click.option("--timeout", help="Seconds (or 5m, 2h) the job may run before it is stopped.")
@click.option("--result-ttl", help="Seconds its result is kept.")
@click.option("--ttl", help="Seconds it may wait in the queue before it is dropped.")
@click.option("--failure-ttl", help="Seconds a failed job is kept.")
@click.option("--description", help="Shown instead of the call.")
@click.option(
    "--depends-on", multiple=True, help="Id of a job that must finish first (repeatable)."
)
@click.option("--job-id", help="The job's id.")
@click.option("--at-front", is_flag=True, help="Enter the queue at its front.")
@click.option("--retry-max", default=0, type=int, help="Retries after a failure.")
@click.option(
    "--retry-interval", multiple=True, type=int, default=[0], help="Seconds before each retry."
)
@click.option("--schedule-in", help="Enter the queue after this long (10s, 5m, 2d).")
@click.option("--schedule-at", help="Enter the queue at this local time, as 2030-05-27T21:45:00.")
@click.option("--quiet", is_flag=True, help="Print only errors.")
@click.argument("function")
@click.argument("arguments", nargs=-1)
@pass_cli_config
def enqueue(
    cli_config: CliConfig,
    queue: str,
    timeout: str | None,
    result_ttl: str | None,
    ttl: str | None,
    failure_ttl: str | None,
    description: str | None,
    depends_on: tuple[str, ...],
    job_id: str | None,
    at_front: bool,
    retry_max: int,
    retry_interval: tuple[int, ...],
    schedule_in: str | None,
    schedule_at: str | None,
    quiet: bool,
    function: str,
    arguments: tuple[str, ...],
    serializer: Any,
    **_: Any,
) -> None:
    """Enqueue FUNCTION (a dotted path) with ARGUMENTS.

    An argument is a string (abc), JSON after a colon (:[1, 2]) or a Python
    literal after a percent sign (%(1, 2)); name=abc, name:=JSON and
    name%=literal are keyword arguments; a value @file is that file's content.
    """
    args, kwargs = parse_function_args(arguments)
    call = get_call_string(function, args, kwargs)
    when = parse_schedule(schedule_in, schedule_at)
    if when is not None and when.tzinfo is None:
        when = when.astimezone()  # --schedule-at is the local time, as in RQ
    try:
        job = cli_config.queue(queue, serializer).enqueue_call(
            function,
            args=args,
            kwargs=kwargs,
            timeout=timeout,
            result_ttl=result_ttl,
            ttl=ttl,
            failure_ttl=failure_ttl,
            description=description,  # None: the job describes itself (cut to a length)
            depends_on=list(depends_on) or None,
            job_id=job_id,
            at_front=at_front,
            at=when,
            retry=Retry(retry_max, list(retry_interval)) if retry_max > 0 else None,
        )
    except (JobQueueError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        click.echo(f"Enqueued {click.style(call, fg='blue')} with job-id '{job.id}'.")
