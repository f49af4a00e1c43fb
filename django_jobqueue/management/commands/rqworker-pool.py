"""``manage.py rqworker-pool``: django-rq's pool command, a ``rqworker`` of the pool kind.

``rqworker`` already runs a pool by default; this name is kept so that
django-rq deployments (``rqworker-pool --num-workers 4 high default``) work
unchanged. ``--num-workers`` is ``rqworker --processes``.
"""

from .rqworker import Command as WorkerCommand


class Command(WorkerCommand):
    help = "Run a pool of worker processes (rqworker --worker-class pool; django-rq's name)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--num-workers", "-n", type=int, dest="processes", help="same as --processes"
        )

    def handle(self, *args, **options):
        return super().handle(*args, **{**options, "worker_class": "pool"})
