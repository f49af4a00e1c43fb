"""``jobqueue cron CONFIG``: RQ's ``rq cron``, a :class:`~..cron_scheduler.CronScheduler`
running the jobs a configuration module registers until SIGINT or SIGTERM.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..cron_scheduler import CronScheduler
from .cli import main
from .helpers import CliConfig, command_logging, pass_cli_config

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


@main.command()
@click.option(
    "--logging-level",
    "-l",
    type=click.Choice(LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Log at this level.",
)
@click.argument("config_path")
@pass_cli_config
def cron(
    cli_config: CliConfig, logging_level: str, config_path: str, prefix: str | None, **_: Any
) -> None:
    """Enqueue the cron jobs CONFIG_PATH registers (a file or a dotted module path)."""
    level = logging_level.upper()
    with command_logging(level, dict_config=cli_config.settings().get("DICT_CONFIG")):
        scheduler = CronScheduler(
            connection=cli_config.connection, logging_level=level, prefix=prefix
        )
        try:
            scheduler.load_config_from_file(config_path)
        except (ImportError, ValueError, TypeError) as exc:
            raise click.BadParameter(str(exc), param_hint="CONFIG_PATH") from None
        try:
            scheduler.start()
        except KeyboardInterrupt:
            click.echo("\nShutting down cron scheduler...")
            sys.exit(0)
