"""``manage.py rqsuspend``: workers finish their current job and take no new one."""

from django.core.management.base import BaseCommand, CommandError

from ...engine.stats import suspend
from ._base import configured_queues


class Command(BaseCommand):
    help = "Suspend all workers (they finish the current job, then wait for rqresume)."

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=int, help="resume by itself after this many seconds")

    def handle(self, *args, **options):
        if options["duration"] is not None and options["duration"] <= 0:
            raise CommandError(
                f"--duration must be a positive number of seconds, not {options['duration']}; "
                "leave it out to suspend until rqresume."
            )
        seen = set()
        for queue in configured_queues():
            target = (id(queue.connection), queue.keys.prefix)
            if target not in seen:
                seen.add(target)
                suspend(queue.connection, queue.keys, options["duration"])
        suffix = f" for {options['duration']} seconds" if options["duration"] else ""
        self.stdout.write(f"Workers suspended{suffix}. Run rqresume to resume.")
