"""Settings for ``manage.py`` run in a subprocess by the tests.

Everything comes from the environment the test sets: ``JQ_TEST_REDIS_URL``
(every queue), ``JQ_TEST_KEY_PREFIX`` and ``JQ_TEST_DATABASE_URL``.
"""

import os

import environ

from tests.settings import *  # noqa: F403

_url = os.environ["JQ_TEST_REDIS_URL"]

JOBQUEUE_QUEUES = {name: {"URL": _url} for name in ("default", "high", "low")}
JOBQUEUE_KEY_PREFIX = os.environ["JQ_TEST_KEY_PREFIX"]
DATABASES = {"default": environ.Env().db("JQ_TEST_DATABASE_URL")}
