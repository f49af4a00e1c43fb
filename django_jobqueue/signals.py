"""Django signals sent as jobs move, and the settings-cache receiver.

``job_enqueued(sender=Queue class, job, queue)``, ``job_started(sender=Job class,
job, worker)``, ``job_finished(..., job, result, worker)`` and
``job_failed(..., job, exc_info, worker)`` are sent from the engine's hooks, in
the process where the event happens (the worker's, or the web process for
enqueues and inline jobs).

``job_enqueue_failed(sender=Queue class, job, queue, exception)`` is sent when a
job enqueued inside ``transaction.atomic()`` could not be pushed to Redis once
the transaction committed (Redis unreachable, for one): the job is then not in
Redis, and lost unless a receiver enqueues it again.
"""

from django.core.signals import setting_changed
from django.dispatch import Signal, receiver

from . import conf, connections
from .engine import hooks

job_enqueued = Signal()
job_started = Signal()
job_finished = Signal()
job_failed = Signal()
job_enqueue_failed = Signal()


class SignalHooks(hooks.Hooks):
    def job_enqueued(self, job, queue):
        job_enqueued.send(sender=type(queue), job=job, queue=queue)

    def job_started(self, job, worker):
        job_started.send(sender=type(job), job=job, worker=worker)

    def job_finished(self, job, result, worker):
        job_finished.send(sender=type(job), job=job, result=result, worker=worker)

    def job_failed(self, job, exc_info, worker):
        job_failed.send(sender=type(job), job=job, exc_info=exc_info, worker=worker)


_hooks = SignalHooks()


def connect() -> None:
    hooks.register(_hooks)


@receiver(setting_changed)
def _settings_changed(setting, **kwargs):
    """Settings changed (``override_settings``): forget what was built from them."""
    # RQ_QUEUES, RQ and CACHES (USE_REDIS_CACHE): django-rq's settings, read as fallbacks.
    others = ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "RQ_QUEUES", "RQ", "CACHES")
    if setting.startswith("JOBQUEUE_") or setting in others:
        conf.clear_cache()
        connections.clear()
        conf.configure_engine()
