"""``manage.py rqcron CONFIG``: run RQ-style cron jobs, as django-rq's command does.

The configuration module declares jobs with ``cron.register(func, queue_name,
cron=... | interval=...)`` (``django_jobqueue.engine.cron``, RQ's API); this
command runs a :class:`~django_jobqueue.engine.cron_scheduler.CronScheduler`
over them until SIGINT or SIGTERM. ``JOBQUEUE_CRON`` entries need no such
process: they run in the workers' own scheduler.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...engine.cron_scheduler import CronScheduler, read_config
from ._base import configured_queues

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Command(BaseCommand):
    help = "Run the cron jobs a configuration module registers (RQ's cron API) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("config_path", help="a file path or dotted module path")
        parser.add_argument("--logging-level", "-l", choices=LEVELS, default="INFO")

    def handle(self, *args, **options):
        path = options["config_path"]
        # Read the jobs first (no Redis is touched): their queues say which Redis.
        try:
            jobs = read_config(path)
        except (ImportError, ValueError, TypeError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        if not jobs:
            raise CommandError(f"{path} registers no cron job: call cron.register(...) in it.")
        queues = configured_queues(sorted({job.queue_name for job in jobs}))
        first = queues[0]
        elsewhere = [q.name for q in queues if not _same_redis(q.connection, first.connection)]
        if elsewhere:
            raise CommandError(
                f"Queue(s) {', '.join(elsewhere)} use another Redis than {first.name!r}; "
                "run one rqcron per Redis, each with the jobs of its queues."
            )
        scheduler = CronScheduler(
            first.connection, logging_level=options["logging_level"], prefix=first.keys.prefix
        )
        scheduler.add_jobs(jobs, path)
        self.stdout.write(f"Starting cron scheduler with {len(scheduler.get_jobs())} jobs...")
        scheduler.start()


def _same_redis(a, b) -> bool:
    if a is b:
        return True
    where = ("host", "port", "db", "path")
    ka, kb = a.connection_pool.connection_kwargs, b.connection_pool.connection_kwargs
    return all(ka.get(k) == kb.get(k) for k in where)
