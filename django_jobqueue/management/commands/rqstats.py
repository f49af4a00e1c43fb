"""``manage.py rqstats``: how many jobs each queue holds, who works on it (a pool with
its children), how far the running jobs got, what comes next."""

import json
import time
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from ...cron import get_cron_entries
from ...engine.batches import INDEX_READ, unfinished_batches
from ...engine.chain import waiting_steps
from ...engine.corrupt import execute, fetch_jobs
from ...engine.live import live_workers as read_workers
from ...engine.scheduler import entry_state, scheduler_holder, upcoming_jobs
from ...engine.stats import limit_stats, queue_stats
from ...engine.unique import SCAN_CAP, held_counts
from ...engine.utils import as_shown, now, truncate
from ...queues import get_queue
from ...schedules import read_rows, runnable
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
        "Show job counts per queue, the concurrency limits in use, the batches not complete, "
        "the chain steps waiting for their predecessor, the workers (pools with their "
        "children), the running jobs and their progress, the scheduler, the next scheduled "
        "jobs and the periodic jobs (JOBQUEUE_CRON and the PeriodicJob table); with --unique, "
        "the unique keys held."
    )

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", metavar="queue", help="queues (default: all)")
        parser.add_argument(
            "-j", "--json", action="store_true", help="print JSON instead of a table"
        )
        parser.add_argument(
            "-y", "--yaml", action="store_true", help="print YAML instead of a table (needs PyYAML)"
        )
        parser.add_argument(
            "--interval", type=float, help="refresh every N seconds, in place, until interrupted"
        )
        parser.add_argument(
            "--running",
            type=int,
            default=10,
            metavar="N",
            help="list N running jobs with their progress (default: 10; 0: none)",
        )
        parser.add_argument(
            "--scheduled",
            type=int,
            default=10,
            metavar="N",
            help="list the next N scheduled jobs (default: 10; 0: none)",
        )
        parser.add_argument(
            "--batches",
            type=int,
            default=20,
            metavar="N",
            help=(
                "list the N newest batches not complete, with their progress (default: 20; "
                f"0: none); reads at most {INDEX_READ:,} entries of the batch index"
            ),
        )
        parser.add_argument(
            "--unique",
            action="store_true",
            help=(
                "count the unique keys held per queue: walks the whole Redis key space with "
                f"SCAN (a round trip per 1,000 keys), reading at most {SCAN_CAP:,} lock keys "
                "per queue"
            ),
        )

    def handle(self, *args, **options):
        if options["yaml"]:
            try:
                import yaml  # noqa: F401  (optional: only --yaml needs it)
            except ImportError:
                raise CommandError("rqstats --yaml needs PyYAML: pip install PyYAML.") from None
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
                if not (options["json"] or options["yaml"]):
                    self.stdout.write("\x1b[2J\x1b[H", ending="")  # clear screen, cursor home
                self._show(queues, entries, options)
                self.stdout.flush()
                time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass

    def _show(self, queues, entries, options):
        rows = queue_stats(queues)
        limits = limit_stats(queues)
        scheduler = self._schedulers(queues)
        workers = live_workers(queues)
        upcoming = upcoming_jobs(queues, options["scheduled"]) if options["scheduled"] > 0 else []
        running = running_jobs(queues, options["running"]) if options["running"] > 0 else []
        batches = unfinished_batches(queues, options["batches"]) if options["batches"] > 0 else None
        chains = [
            {"queue": q.name, **steps._asdict()} for q, steps in zip(queues, waiting_steps(queues))
        ]
        unique = (
            [{"queue": q.name, **count._asdict()} for q, count in zip(queues, held_counts(queues))]
            if options["unique"]
            else None
        )
        # The table's rows are read on each refresh: they change at run time.
        table, table_error = _table_entries(options["queues"])
        cron = [
            (
                entry,
                source,
                entry_state(
                    get_queue(entry.queue).connection, entry, get_queue(entry.queue).keys.prefix
                ),
            )
            for entries_of, source in ((entries, "setting"), (table, "database"))
            for entry in entries_of
        ]
        if options["json"] or options["yaml"]:
            self.stdout.write(
                _dump(
                    options,
                    {
                        "queues": rows,
                        "limits": limits,
                        "batches": None if batches is None else _batches_json(batches),
                        "chains": chains,
                        "unique": unique,
                        "workers": workers,
                        "schedulers": scheduler,
                        "running": [_running_json(r) for r in running],
                        "scheduled": [
                            {
                                "queue": r["queue"],
                                "id": r["id"],
                                "runs_at": r["runs_at"],
                                "func": r["job"].func_name if r["job"] else None,
                                # Which run comes at runs_at: above 1, a retry.
                                "attempt": r["job"].attempt if r["job"] else None,
                            }
                            for r in upcoming
                        ],
                        "cron": [
                            {
                                "name": entry.name,
                                "func": entry.func,
                                "queue": entry.queue,
                                "schedule": entry.schedule,
                                # JOBQUEUE_CRON, or a row of the PeriodicJob table.
                                "source": source,
                                **state,
                            }
                            for entry, source, state in cron
                        ],
                        # Why the PeriodicJob table could not be read (None: it was).
                        "cron_table_error": table_error,
                    },
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
        if limits:
            self.stdout.write("")
            self.stdout.write("Concurrency limits (running, queued: holding a slot):")
            self._table(
                ["queue", "key", "limit", "running", "queued", "waiting"],
                [
                    [r["queue"], r["key"], r["limit"], r["running"], r["queued"], r["waiting"]]
                    for r in limits
                ],
            )
        if batches is not None and (batches.batches or batches.more or batches.indexed):
            self._batches(batches)
        waiting = [r for r in chains if r["waiting"] or r["read"] < r["deferred"]]
        if waiting:
            self.stdout.write("")
            self.stdout.write("Chain steps waiting for their predecessor:")
            self._table(
                ["queue", "waiting", "deferred jobs read"],
                [
                    [r["queue"], _at_least(r["waiting"], r["read"] < r["deferred"]), _read(r)]
                    for r in waiting
                ],
            )
        if unique is not None:
            self._unique(unique)
        if workers:
            self.stdout.write("")
            self.stdout.write("Workers:")
            moment = now()
            self._table(
                [
                    "name",
                    "state",
                    "pid",
                    "host",
                    "queues",
                    "current job",
                    "ok",
                    "failed",
                    "heartbeat",
                ],
                [
                    _worker_line(w, moment, indent)
                    for worker in workers
                    for w, indent in [(worker, ""), *((c, "  ") for c in worker["children"])]
                ],
            )
        if running:
            self.stdout.write("")
            self.stdout.write("Running jobs:")
            moment = now()
            self._table(
                ["queue", "job", "progress", "eta", "note or call"],
                [
                    [
                        r["queue"],
                        r["id"],
                        r["progress"].describe() if r["progress"] else "-",
                        _eta(r["progress"], moment),
                        _note(r),
                    ]
                    for r in running
                ],
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
                ["runs at", "queue", "job", "attempt", "call"],
                [
                    [
                        _when(r["runs_at"]),
                        r["queue"],
                        r["id"],
                        _attempt(r["job"]),
                        truncate(r["job"].description, 60) if r["job"] else "(deleted or expired)",
                    ]
                    for r in upcoming
                ],
            )
        if cron:
            self.stdout.write("")
            self.stdout.write("Periodic jobs (JOBQUEUE_CRON, then the database's):")
            self._table(
                ["name", "schedule", "queue", "from", "next run", "last run", "last outcome"],
                [
                    [
                        entry.name,
                        entry.schedule,
                        entry.queue,
                        source,
                        "paused" if state["paused"] else _when(state["next_run"]),
                        _when(state["last_run"]),
                        _outcome(state),
                    ]
                    for entry, source, state in cron
                ],
            )
        if table_error:
            self.stdout.write("")
            self.stdout.write(
                f"Periodic jobs of the database not read ({table_error}); run "
                "'manage.py migrate django_jobqueue' if the table is missing."
            )

    def _batches(self, listing):
        self.stdout.write("")
        self.stdout.write("Batches not complete, newest first:")
        if listing.batches:
            self._table(
                [
                    "batch",
                    "queue",
                    "status",
                    "done",
                    "total",
                    "finished",
                    "failed",
                    "pending",
                    "created",
                ],
                [
                    [
                        batch.id,
                        batch.queue.name,
                        status,
                        f"{progress.percent}%",
                        progress.total,
                        progress.finished,
                        progress.failed,
                        progress.pending,
                        _when(batch.created_at),
                    ]
                    for batch, status, progress in listing.batches
                ],
            )
        else:
            self.stdout.write("  none")
        if listing.more:
            self.stdout.write(f"  and {listing.more} more not complete (see --batches N)")
        if listing.indexed is not None:
            self.stdout.write(
                f"  (read {listing.read} of the {listing.indexed} batches in the index: "
                "batches not read are not shown)"
            )

    def _unique(self, rows):
        self.stdout.write("")
        found = [r for r in rows if r["keys"]]
        if not found:
            self.stdout.write("Unique keys held: none (no lock key found)")
            return
        self.stdout.write("Unique keys held (keys: lock keys found, held or expiring):")
        self._table(
            ["queue", "held", "keys"],
            [
                [r["queue"], _at_least(r["held"], r["capped"]), _at_least(r["keys"], r["capped"])]
                for r in found
            ],
        )

    def _schedulers(self, queues):
        """Who runs the scheduler, per Redis connection and prefix."""
        seen: dict[tuple[int, str], Any] = {}
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


def _at_least(count, capped):
    """A count, with "+" when it stopped at a cap (a lower bound)."""
    return f"{count}+" if capped else str(count)


def _read(row):
    if row["read"] < row["deferred"]:
        return f"{row['read']} of {row['deferred']}"
    return str(row["read"])


def _batches_json(listing):
    return {
        "listed": [
            {
                "id": batch.id,
                "queue": batch.queue.name,
                "status": status,
                "description": batch.description,
                "created_at": batch.created_at,
                "closed_at": batch.closed_at,
                **progress._asdict(),
                "percent": progress.percent,
            }
            for batch, status, progress in listing.batches
        ],
        "more": listing.more,
        "complete": listing.complete,
        "index_read": listing.read,
        "index_size": listing.indexed,
    }


def _attempt(job):
    """The run a scheduled job waits for: "1", or "3 (retry)" for one that ran before."""
    if job is None:
        return "-"
    attempt = job.attempt
    return f"{attempt} (retry)" if attempt > 1 else str(attempt)


def live_workers(queues):
    """The live workers that serve any of ``queues``, by name, as plain dicts.

    A pool is one worker, with its live children in ``children`` (an empty
    list for other workers). Read per connection and prefix by
    :func:`~django_jobqueue.engine.live.live_workers`: which job a worker
    runs and whether it is busy come from the started registries, not from
    its registration (as of its last heartbeat).
    """
    groups: dict[tuple[int, str], tuple[Any, set[str]]] = {}
    for queue in queues:
        key = (id(queue.connection), queue.keys.prefix)
        groups.setdefault(key, (queue, set()))[1].add(queue.name)
    found = []
    for queue, served in groups.values():
        for worker in read_workers(queue.connection, queue.keys.prefix, serving=served):
            row = _worker_json(worker)
            if worker.is_pool:
                row["processes"] = worker.processes
            row["children"] = [_worker_json(c) for c in worker.children]
            found.append(row)
    return sorted(found, key=lambda w: w["name"])


def _worker_json(worker):
    """One :class:`~django_jobqueue.engine.live.WorkerRecord` as JSON."""
    return {
        "name": worker.name,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "execution": worker.execution,
        "state": worker.state,
        "queues": list(worker.queues),
        "current_job": worker.current_job,
        "current_queue": worker.current_queue,
        "successful": worker.successful,
        "failed": worker.failed,
        "birth": worker.birth,
        "last_heartbeat": worker.last_heartbeat,
    }


def _worker_line(worker, moment, indent):
    state = worker["state"] or "-"
    if "processes" in worker:
        busy = sum(1 for c in worker["children"] if c["current_job"])
        state = f"{state} (pool of {len(worker['children'])}, {busy} busy)"
    job = worker["current_job"]
    beat = worker["last_heartbeat"]
    return [
        indent + worker["name"],
        state,
        worker["pid"] if worker["pid"] is not None else "-",
        worker["hostname"] or "-",
        ",".join(worker["queues"]),
        f"{job} ({worker['current_queue']})" if job else "-",
        worker["successful"],
        worker["failed"],
        "-" if beat is None else f"{_span(max(int(moment - beat), 0))} ago",
    ]


def running_jobs(queues, limit):
    """Up to ``limit`` started jobs of ``queues``, each a dict: ``queue``, ``id``,
    ``job`` (None when its hash is gone) and ``progress`` (None when it reported none).

    One pipeline per connection reads the started registries, then one per
    queue fetches the jobs (their hashes carry the progress).
    """
    by_connection: dict[int, list] = {}
    for queue in queues:
        by_connection.setdefault(id(queue.connection), []).append(queue)
    heads = []
    for group in by_connection.values():
        pipe = group[0].connection.pipeline(transaction=False)
        keys = [queue.keys.registry(queue.name, "started") for queue in group]
        for key in keys:
            pipe.zrange(key, 0, limit - 1)
        # A key of the wrong type (see engine/corrupt.py) shows as empty.
        for queue, ids in zip(group, execute(pipe, keys, default=[])):
            heads += [(queue, as_shown(job_id)) for job_id in ids]
    heads = heads[:limit]
    rows = []
    for queue in queues:
        ids = [job_id for q, job_id in heads if q is queue]
        if not ids:
            continue
        found = fetch_jobs(
            ids,
            queue.connection,
            queue.serializer,
            origin=queue.name,
            prefix=queue.keys.prefix,
            job_class=queue.job_class,
        )
        rows += [
            {
                "queue": queue.name,
                "id": job_id,
                "job": job,
                "progress": job.progress if job is not None else None,
            }
            for job_id, job in zip(ids, found)
        ]
    return rows


def _running_json(row):
    job, progress = row["job"], row["progress"]
    return {
        "queue": row["queue"],
        "id": row["id"],
        "func": job.func_name if job else None,
        "started_at": job.started_at.timestamp() if job and job.started_at else None,
        "progress": None
        if progress is None
        else {
            "done": progress.done,
            "total": progress.total,
            "percent": progress.percent,
            "note": progress.note,
            "updated_at": progress.updated,
            "eta": progress.eta_timestamp,
        },
    }


def _eta(progress, moment):
    eta = progress.eta_timestamp if progress else None
    if eta is None:
        return "-"
    return f"{_when(eta)} (in {_span(max(int(eta - moment), 0))})"


def _span(seconds):
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _note(row):
    if row["job"] is None:
        return "(deleted or expired)"
    if row["progress"] and row["progress"].note:
        return truncate(row["progress"].note, 60)
    return truncate(row["job"].description, 60)


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


def _dump(options, data):
    """``data`` as JSON, or as YAML with ``--yaml`` (the same keys and values)."""
    if options["yaml"]:
        import yaml

        # Through JSON, so that both print the same plain values (enums as strings).
        return yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False).rstrip("\n")
    return json.dumps(data)


def _table_entries(queue_names: list[str]) -> tuple[list[Any], str | None]:
    """The periodic jobs of the PeriodicJob table a scheduler runs (of ``queue_names``
    when given), and why the table could not be read (None when it was)."""
    try:
        entries, _unusable = runnable(read_rows())
    except (DatabaseError, ImproperlyConfigured) as exc:  # the latter: no DATABASES
        return [], f"{type(exc).__name__}: {exc}"
    return [e for e in entries if not queue_names or e.queue in queue_names], None
