"""``manage.py rqrequeue``: failed jobs back into their queues, by id or all at once."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from ...engine.bulk import requeue_many
from ._base import configured_queues


class Command(BaseCommand):
    help = (
        "Put failed (or stopped or canceled) jobs back at the end of their queue: "
        "the jobs named by id, or with --all every failed job of the queues."
    )

    def add_arguments(self, parser):
        parser.add_argument("job_ids", nargs="*", metavar="job_id")
        parser.add_argument(
            "-q",
            "--queue",
            action="append",
            dest="queues",
            metavar="QUEUE",
            help="only this queue (repeat for several; default: every configured queue)",
        )
        parser.add_argument(
            "-a", "--all", action="store_true", help="every job in the failed jobs of the queues"
        )

    def handle(self, *args, **options):
        ids, everything = options["job_ids"], options["all"]
        if bool(ids) == everything:
            raise CommandError(
                "Name the jobs to requeue by id, or give --all for every failed job "
                "(of the --queue given, else of every queue), not both."
            )
        queues = configured_queues(options["queues"])
        if everything:
            for queue in queues:
                done, skipped = requeue_many(queue, queue.failed_job_registry.get_job_ids())
                gone = f" ({skipped} had gone meanwhile)" if skipped else ""
                self.stdout.write(f"{queue.name}: {done} failed job(s) requeued{gone}")
            return
        requeued: Counter[str] = Counter()
        problems = []
        for job_id in dict.fromkeys(ids):
            found = next(((q, j) for q in queues if (j := q.fetch_job(job_id)) is not None), None)
            if found is None:
                where = ", ".join(q.name for q in queues)
                problems.append(f"No job {job_id} in {where}.")
                continue
            queue, job = found
            done, _ = requeue_many(queue, [job_id])
            if done:
                requeued[queue.name] += 1
            else:
                problems.append(
                    f"Job {job_id} ({queue.name}) is {job.get_status()}: only failed, "
                    "stopped or canceled jobs can be requeued."
                )
        for name, count in requeued.items():
            self.stdout.write(f"{name}: {count} job(s) requeued")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} of {len(set(ids))} job(s) not requeued.")
