"""``manage.py rqresume``: undo ``rqsuspend``."""

from django.core.management.base import BaseCommand

from ...engine.stats import resume
from ._base import configured_queues


class Command(BaseCommand):
    help = "Resume workers suspended by rqsuspend."

    def handle(self, *args, **options):
        for queue in configured_queues():
            resume(queue.connection, queue.keys)
        self.stdout.write("Workers resumed.")
