"""Worker, job, queue and death-penalty classes that tests of RQ's Worker API
subclass; importable by name, so spawned work-horses rebuild them."""

from __future__ import annotations

import os

from django_jobqueue.engine import Job, Queue, SpawnWorker, Worker
from django_jobqueue.engine.timeouts import DeathPenalty


class TaggedJob(Job):
    pass


class TaggedQueue(Queue):
    pass


class TaggedDeathPenalty(DeathPenalty):
    pass


def job_id_from_environ():
    return os.environ.get("RQ_JOB_ID")


class RecordingMixin:
    """Writes, from wherever it runs the job, the classes it runs it with."""

    def perform_job(self, job, queue, execution=None):
        self.connection.set(
            f"{self.keys.prefix}seen",
            f"{type(self).__name__} {type(job).__name__} {type(queue).__name__} "
            f"{self.death_penalty_class.__name__} {os.getpid()}",
        )
        return super().perform_job(job, queue, execution)


class RecordingWorker(RecordingMixin, Worker):
    pass


class RecordingSpawnWorker(RecordingMixin, SpawnWorker):
    pass


class BrokenPerformWorker(Worker):
    """Its perform_job raises before running anything."""

    def perform_job(self, job, queue, execution=None):
        raise RuntimeError("perform_job broke")


class OddSpawnWorker(SpawnWorker):
    """Its constructor takes an argument of its own first: a spawned horse
    cannot rebuild it, and runs its jobs the plain way."""

    def __init__(self, colour, *args, **kwargs):
        self.colour = colour
        super().__init__(*args, **kwargs)


class OddRecordingSpawnWorker(RecordingMixin, OddSpawnWorker):
    pass
