"""``manage.py rqenqueue app.tasks.report 2024 --queue low``: enqueue a call by name."""

import json

from django.core.management.base import BaseCommand, CommandError

from ...engine.errors import JobQueueError
from ._base import configured_queues


def parse_value(text):
    """JSON when it parses (numbers, lists, true/null...), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class Command(BaseCommand):
    help = "Enqueue a function by its dotted path; arguments are JSON values or strings."

    def add_arguments(self, parser):
        parser.add_argument("func", help="dotted path, e.g. myapp.tasks.send_report")
        parser.add_argument("arguments", nargs="*", metavar="arg", help="positional arguments")
        parser.add_argument("--queue", "-q", default="default")
        parser.add_argument(
            "--kwarg",
            "-k",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="keyword argument (repeatable)",
        )
        parser.add_argument("--timeout", help="job timeout, e.g. 300 or 5m")

    def handle(self, *args, **options):
        from ...engine.utils import import_attribute

        queue = configured_queues([options["queue"]])[0]
        try:
            import_attribute(options["func"])
        except ImportError as exc:
            raise CommandError(f"Cannot import {options['func']!r}: {exc}") from exc
        kwargs = {}
        for item in options["kwarg"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--kwarg takes NAME=VALUE, not {item!r}.")
            kwargs[name] = parse_value(value)
        try:
            job = queue.enqueue_call(
                options["func"],
                args=[parse_value(a) for a in options["arguments"]],
                kwargs=kwargs,
                timeout=options["timeout"],
            )
        except (JobQueueError, ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Enqueued {job.description} on {queue.name} as {job.id}")
