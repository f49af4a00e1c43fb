"""Django settings for ``benchmarks.compare``'s peer rows (ours, django-vtasks).

``benchmarks.compare`` sets the environment variables below before Django
starts, in its own process and in the worker processes it runs:

``BENCH_REDIS_URL``
    our queues' Redis (``JOBQUEUE_QUEUES['default']``).
``BENCH_VTASKS_URL``
    django-vtasks' Redis (its ``BROKER_URL``): the same server, another
    database, so its worker's start-up ``SCAN`` does not walk our keys.
``BENCH_PREFIX``
    a fresh key prefix for both sides, so a run can use a shared Redis.

``TASKS`` has two ``django.tasks`` backends: ``jobqueue`` (ours) and
``vtasks`` (django-vtasks' Valkey backend). Everything else is each one's
default: on-commit enqueue (outside a transaction: at once), no ``LOGGING``
(so django-vtasks' per-task INFO lines are dropped, as in a project that
configures none, while our ``rqworker`` logs a line per job to stderr).
"""

import os

_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
_VTASKS_URL = os.environ.get("BENCH_VTASKS_URL", "redis://127.0.0.1:6379/1")
_PREFIX = os.environ.get("BENCH_PREFIX", "bench:")

SECRET_KEY = "benchmark"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django_jobqueue"]
try:
    import django_vtasks  # noqa: F401  (only in the benchmark's Python 3.12+ environment)

    INSTALLED_APPS.append("django_vtasks")
except ImportError:
    pass
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

JOBQUEUE_QUEUES = {"default": {"URL": _REDIS_URL}}
JOBQUEUE_KEY_PREFIX = _PREFIX

TASKS = {
    "default": {"BACKEND": "django_jobqueue.backends.JobQueueBackend"},
    "jobqueue": {"BACKEND": "django_jobqueue.backends.JobQueueBackend"},
    "vtasks": {
        "BACKEND": "django_vtasks.backends.valkey.ValkeyTaskBackend",
        "OPTIONS": {"BROKER_URL": _VTASKS_URL},
    },
}
VTASKS_BACKEND = "vtasks"
VTASKS_QUEUES = ["default"]
VTASKS_VALKEY_PREFIX = _PREFIX + "vt:"
