"""``manage.py rqempty QUEUE``: delete every job waiting in a queue."""

from django.core.management.base import BaseCommand

from ._base import configured_queues


class Command(BaseCommand):
    help = "Delete every queued job of the given queues (running and ended jobs stay)."

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="+", metavar="queue")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args, **options):
        queues = configured_queues(options["queues"])
        if options["interactive"]:
            names = ", ".join(q.name for q in queues)
            answer = input(f"Delete every queued job of {names}? Type 'yes' to continue: ")
            if answer != "yes":
                self.stdout.write("Nothing deleted.")
                return
        for queue in queues:
            self.stdout.write(f"{queue.name}: {queue.empty()} job(s) deleted")
