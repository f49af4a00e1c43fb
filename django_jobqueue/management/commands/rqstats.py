"""``manage.py rqstats``: how many jobs each queue holds, who works on it, what comes next."""

import json
import time
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...cron import get_cron_entries
from ...engine.scheduler import entry_state, scheduler_holder, upcoming_jobs
from ...engine.stats import queue_stats
from ...engine.utils import truncate
from ...queues import get_queue
from ._base import configured_queues

COLUMNS = (
    "queued",
    "started",
    "deferred",
    "scheduled",
    "finished",
    "failed",
    "canceled",
    "workers",
)


class Command(BaseCommand):
    help = (
        "Show job counts per queue, the scheduler, the next scheduled jobs and the "
        "periodic jobs (JOBQUEUE_CRON)."
    )

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", metavar="queue", help="queues (default: all)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument(
            "--interval", type=float, help="refresh every N seconds, in place, until interrupted"
        )
        parser.add_argument(
            "--scheduled",
            type=int,
            default=10,
            metavar="N",
            help="list the next N scheduled jobs (default: 10; 0: none)",
        )

    def handle(self, *args, **options):
        queues = configured_queues(options["queues"])
        try:
            entries = get_cron_entries()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if options["queues"]:
            entries = [e for e in entries if e.queue in options["queues"]]
        if not options["interval"]:
            self._show(queues, entries, options)
            return
        try:
            while True:
                if not options["json"]:
                    self.stdout.write("\x1b[2J\x1b[H", ending="")  # clear screen, cursor home
                self._show(queues, entries, options)
                self.stdout.flush()
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass

    def _show(self, queues, entries, options):
        rows = queue_stats(queues)
        scheduler = self._schedulers(queues)
        upcoming = upcoming_jobs(queues, options["scheduled"]) if options["scheduled"] > 0 else []
        cron = [
            (
                entry,
                entry_state(
                    get_queue(entry.queue).connection, entry, get_queue(entry.queue).keys.prefix
                ),
            )
            for entry in entries
        ]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "queues": rows,
                        "schedulers": scheduler,
                        "scheduled": [
                            {
                                "queue": r["queue"],
                                "id": r["id"],
                                "runs_at": r["runs_at"],
                                "func": r["job"].func_name if r["job"] else None,
                            }
                            for r in upcoming
                        ],
                        "cron": [
                            {
                                "name": entry.name,
                                "func": entry.func,
                                "queue": entry.queue,
                                "schedule": entry.schedule,
                                **state,
                            }
                            for entry, state in cron
                        ],
                    }
                )
            )
            return
        width = max([len("queue")] + [len(r["name"]) for r in rows])
        header = "queue".ljust(width) + "".join(c.rjust(11) for c in COLUMNS)
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in rows:
            self.stdout.write(
                row["name"].ljust(width) + "".join(str(row[c]).rjust(11) for c in COLUMNS)
            )
        self.stdout.write("")
        for item in scheduler:
            where = f" (queues {', '.join(item['queues'])})" if len(scheduler) > 1 else ""
            if item["worker"]:
                self.stdout.write(f"Scheduler{where}: active in worker {item['worker']}")
            else:
                self.stdout.write(
                    f"Scheduler{where}: not running (no worker runs it: "
                    "scheduled jobs and retries wait)"
                )
        if upcoming:
            self.stdout.write("")
            self.stdout.write("Next scheduled jobs:")
            self._table(
                ["runs at", "queue", "job", "call"],
                [
                    [
                        _when(r["runs_at"]),
                        r["queue"],
                        r["id"],
                        truncate(r["job"].description, 60) if r["job"] else "(deleted or expired)",
                    ]
                    for r in upcoming
                ],
            )
        if cron:
            self.stdout.write("")
            self.stdout.write("Periodic jobs (JOBQUEUE_CRON):")
            self._table(
                ["name", "schedule", "queue", "next run", "last run", "last outcome"],
                [
                    [
                        entry.name,
                        entry.schedule,
                        entry.queue,
                        "paused" if state["paused"] else _when(state["next_run"]),
                        _when(state["last_run"]),
                        _outcome(state),
                    ]
                    for entry, state in cron
                ],
            )

    def _schedulers(self, queues):
        """Who runs the scheduler, per Redis connection and prefix."""
        seen = {}
        for queue in queues:
            key = (id(queue.connection), queue.keys.prefix)
            if key not in seen:
                seen[key] = {
                    "queues": [],
                    "worker": scheduler_holder(queue.connection, queue.keys.prefix),
                }
            seen[key]["queues"].append(queue.name)
        return list(seen.values())

    def _table(self, header, rows):
        widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
        for line in [header, *rows]:
            self.stdout.write(
                "  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip()
            )


def _when(timestamp):
    if timestamp is None:
        return "-"
    moment = datetime.fromtimestamp(timestamp, timezone.get_current_timezone())
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def _outcome(state):
    if state["error"]:
        return f"error: {truncate(state['error'], 60)}"
    if not state["last_job"]:
        return "-"
    return f"{state['last_status'] or 'expired'} ({state['last_job']})"
