"""get_worker() with django-rq's arguments, and RQ's work(with_scheduler=)."""

from __future__ import annotations

import pytest

from django_jobqueue import Job, SimpleWorker, get_queue, get_worker
from django_jobqueue.engine import JSONSerializer, WorkerPool
from django_jobqueue.queues import DjangoQueue
from django_jobqueue.workers import get_worker_class
from tests.django import tasks


class OtherJob(Job):
    pass


class OtherQueue(DjangoQueue):
    pass


class OtherWorker(SimpleWorker):
    pass


def test_get_worker_with_django_rq_classes(jq):
    worker = get_worker(
        job_class="tests.django.test_workers.OtherJob",
        queue_class="tests.django.test_workers.OtherQueue",
        worker_class="tests.django.test_workers.OtherWorker",
    )
    assert type(worker) is OtherWorker and worker.job_class is OtherJob
    assert type(worker.queues[0]) is OtherQueue and worker.queues[0].job_class is OtherJob


def test_jobs_are_loaded_as_the_job_class(jq):
    job = get_queue().enqueue(tasks.add, 1, 2)
    seen = []

    class Recording(OtherJob):
        def perform(self):
            seen.append(type(self))
            return super().perform()

    worker = get_worker(worker_class="simple", job_class=Recording)
    assert worker.work(burst=True, logging_level=None)
    assert seen == [Recording] and job.latest_result().return_value == 3


def test_get_worker_serializer_is_signed_like_every_serializer(jq):
    serializer = get_worker(serializer=JSONSerializer).serializer
    assert isinstance(serializer.inner, JSONSerializer)


def test_get_worker_class_by_name_path_or_settings(settings):
    assert get_worker_class("simple") is SimpleWorker
    assert get_worker_class("tests.django.test_workers.OtherWorker") is OtherWorker
    assert get_worker_class() is WorkerPool
    settings.RQ = {"WORKER_CLASS": "tests.django.test_workers.OtherWorker"}
    assert get_worker_class() is OtherWorker


@pytest.mark.parametrize("with_scheduler", [True, False])
def test_work_takes_with_scheduler(jq, with_scheduler):
    worker = get_worker(worker_class="simple", scheduler=not with_scheduler)
    worker.work(burst=True, with_scheduler=with_scheduler, logging_level=None)
    assert (worker.scheduler is not None) is with_scheduler


def test_work_without_with_scheduler_keeps_the_workers_own(jq):
    worker = get_worker(worker_class="simple", scheduler=False)
    worker.work(burst=True, logging_level=None)
    assert worker.scheduler is None
