"""A spawn worker from the Django layer: its children set Django up before their job."""

from __future__ import annotations

from django.core import checks

from django_jobqueue import get_queue, get_worker


def test_spawn_is_a_worker_class_name_and_its_children_have_django_set_up(jq):
    # is_installed() raises AppRegistryNotReady in a process where Django is not set up.
    job = get_queue().enqueue("django.apps.apps.is_installed", "django_jobqueue")
    worker = get_worker(worker_class="spawn")
    assert worker.kind == "spawn"
    worker.work(burst=True, logging_level=None)
    assert job.latest_result().return_value is True, job.exc_info


def test_jobqueue_worker_class_spawn_passes_the_checks(settings):
    settings.JOBQUEUE_WORKER = {"CLASS": "spawn"}
    assert [m.id for m in checks.run_checks(tags=["django_jobqueue"])] == []


def test_rqworker_takes_worker_class_spawn():
    from django_jobqueue.management.commands.rqworker import check_options

    options = {"processes": None, "max_jobs_per_child": None, "reload": False}
    check_options({**options, "worker_class": "spawn"})  # raises CommandError when unknown
