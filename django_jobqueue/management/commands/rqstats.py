"""``manage.py rqstats``: how many jobs each queue holds, and who works on it."""

import json
import time

from django.core.management.base import BaseCommand

from ...engine.stats import queue_stats
from ._base import configured_queues

COLUMNS = ("queued", "started", "deferred", "scheduled", "finished", "failed", "canceled",
           "workers")


class Command(BaseCommand):
    help = "Show job counts per queue."

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", metavar="queue", help="queues (default: all)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--interval", type=float,
                            help="refresh every N seconds, in place, until interrupted")

    def handle(self, *args, **options):
        queues = configured_queues(options["queues"])
        if not options["interval"]:
            self._show(queues, options["json"])
            return
        try:
            while True:
                if not options["json"]:
                    self.stdout.write("\x1b[2J\x1b[H", ending="")  # clear screen, cursor home
                self._show(queues, options["json"])
                self.stdout.flush()
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass

    def _show(self, queues, as_json):
        rows = queue_stats(queues)
        if as_json:
            self.stdout.write(json.dumps({"queues": rows}))
            return
        width = max([len("queue")] + [len(r["name"]) for r in rows])
        header = "queue".ljust(width) + "".join(c.rjust(11) for c in COLUMNS)
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in rows:
            self.stdout.write(row["name"].ljust(width)
                              + "".join(str(row[c]).rjust(11) for c in COLUMNS))
