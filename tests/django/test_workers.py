"""get_worker() and rqworker with django-rq's and RQ's worker arguments; work(with_scheduler=)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from django_jobqueue import Job, SimpleWorker, get_queue, get_worker
from django_jobqueue.engine import JSONSerializer, WorkerPool
from django_jobqueue.management.commands import rqworker
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
    assert serializer.inner is JSONSerializer  # the class, as in RQ


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


# -- RQ's worker keywords, through get_worker() and rqworker --------------------------


def handled(job, exc_type, exc_value, tb):
    """An exception handler by dotted path: notes the job in ``<prefix>handled``."""
    job.connection.rpush(job.keys.prefix + "handled", f"{job.id} {exc_type.__name__}")


def handled_last(job, *exc_info):
    job.connection.rpush(job.keys.prefix + "handled", "last")


def _handled(redis_conn, key_prefix):
    return [v.decode() for v in redis_conn.lrange(key_prefix + "handled", 0, -1)]


@pytest.mark.parametrize("worker_class", ["simple", "fork", "pool"])
def test_get_worker_passes_exception_handlers(jq, key_prefix, worker_class):
    job = get_queue().enqueue(tasks.fail)
    worker = get_worker(
        worker_class=worker_class,
        processes=1,
        scheduler=False,
        exception_handlers=["tests.django.test_workers.handled", handled_last],
    )
    worker.work(burst=True, logging_level=None)
    assert _handled(jq, key_prefix) == [f"{job.id} ValueError", "last"]


def test_rq_exception_handlers_setting_unless_given(jq, key_prefix, settings):
    settings.RQ_EXCEPTION_HANDLERS = ["tests.django.test_workers.handled"]
    job = get_queue().enqueue(tasks.fail)
    get_worker(worker_class="fork", scheduler=False).work(burst=True, logging_level=None)
    assert _handled(jq, key_prefix) == [f"{job.id} ValueError"]
    get_queue().enqueue(tasks.fail)
    get_worker(worker_class="simple", exception_handlers=[]).work(burst=True, logging_level=None)
    assert len(_handled(jq, key_prefix)) == 1  # an explicit list wins, even empty


@pytest.mark.parametrize(
    "bad", ["tests.django.test_workers.nope", "tests.django.test_workers.pytest"]
)
def test_a_bad_exception_handler_is_a_configuration_error(jq, settings, bad):
    settings.RQ_EXCEPTION_HANDLERS = [bad]
    with pytest.raises(ImproperlyConfigured, match="RQ_EXCEPTION_HANDLERS"):
        get_worker()


@pytest.mark.parametrize("worker_class", ["simple", "fork", "pool"])
def test_get_worker_passes_rq_tuning_keywords(jq, worker_class):
    worker = get_worker(
        worker_class=worker_class,
        job_monitoring_interval=0.25,
        maintenance_interval=60,
        disable_default_exception_handler=True,
        log_job_description=False,
    )
    assert (worker.stop_poll_interval, worker.maintenance_interval) == (0.25, 60)
    assert worker.disable_default_exception_handler and not worker.log_job_description
    default = get_worker(worker_class=worker_class, job_monitoring_interval=None)
    assert (default.stop_poll_interval, default.maintenance_interval) == (1.0, 1.0)


def test_default_worker_ttl_takes_the_place_of_the_setting(jq, settings):
    settings.JOBQUEUE_WORKER = {"WORKER_TTL": 100}
    assert get_worker(default_worker_ttl=50).worker_ttl == 50  # django-rq's keyword
    assert get_worker().worker_ttl == 100
    with pytest.raises(ValueError, match="not both"):
        get_worker(worker_ttl=60, default_worker_ttl=50)


def _rqworker_options(*argv):
    command = rqworker.Command()
    return vars(command.create_parser("manage.py", "rqworker").parse_args(list(argv)))


def test_rqworker_passes_rq_worker_options(jq):
    options = _rqworker_options(
        "--worker-class=fork",
        "--exception-handler=tests.django.test_workers.handled",
        "--exception-handler=tests.django.test_workers.handled_last",
        "--disable-default-exception-handler",
        "--disable-job-desc-logging",
        "--maintenance-interval=30",
        "--job-monitoring-interval=0.5",
    )
    worker = rqworker.make_worker(["default"], options)
    assert worker.exception_handlers == [handled, handled_last]
    assert worker.disable_default_exception_handler and not worker.log_job_description
    assert (worker.maintenance_interval, worker.stop_poll_interval) == (30, 0.5)
    plain = rqworker.make_worker(["default"], _rqworker_options())
    assert plain.exception_handlers == [] and plain.log_job_description
    assert not plain.disable_default_exception_handler


def test_rqworker_refuses_a_bad_interval_or_handler(jq):
    with pytest.raises(CommandError, match="--job-monitoring-interval must be a positive"):
        call_command("rqworker", "--burst", "--job-monitoring-interval=0")
    with pytest.raises(CommandError, match="cannot import the exception handler"):
        call_command("rqworker", "--burst", "--exception-handler=tests.django.nope.handler")


def test_rqworker_burst_calls_the_exception_handler(jq, key_prefix):
    job = get_queue().enqueue(tasks.fail)
    call_command(
        "rqworker",
        "--burst",
        "--worker-class=simple",
        "--exception-handler=tests.django.test_workers.handled",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert _handled(jq, key_prefix) == [f"{job.id} ValueError"]
