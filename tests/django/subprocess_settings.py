"""Settings for ``manage.py`` run in a subprocess by the tests.

Everything comes from the environment the test sets: ``JQ_TEST_REDIS_URL``
(every queue), ``JQ_TEST_KEY_PREFIX`` and ``JQ_TEST_DATABASE_URL``; optionally
``JQ_TEST_CRON`` (``JOBQUEUE_CRON`` as JSON) and ``JQ_TEST_CRON_RELOAD``
(``JOBQUEUE_WORKER['CRON_RELOAD_INTERVAL']``).
"""

import json
import os

import environ

from tests.settings import *  # noqa: F403

_url = os.environ["JQ_TEST_REDIS_URL"]

JOBQUEUE_QUEUES = {name: {"URL": _url} for name in ("default", "high", "low")}
JOBQUEUE_KEY_PREFIX = os.environ["JQ_TEST_KEY_PREFIX"]
DATABASES = {"default": environ.Env().db("JQ_TEST_DATABASE_URL")}

# A test may give the worker another key than the process that enqueued.
SECRET_KEY = os.environ.get("JQ_TEST_SECRET_KEY", SECRET_KEY)  # noqa: F405
SECRET_KEY_FALLBACKS = [k for k in os.environ.get("JQ_TEST_SECRET_KEY_FALLBACKS", "").split() if k]

JOBQUEUE_WORKER = {}
if os.environ.get("JQ_TEST_LOG_FORMAT"):
    JOBQUEUE_WORKER["LOG_FORMAT"] = os.environ["JQ_TEST_LOG_FORMAT"]
if os.environ.get("JQ_TEST_CRON_RELOAD"):
    JOBQUEUE_WORKER["CRON_RELOAD_INTERVAL"] = float(os.environ["JQ_TEST_CRON_RELOAD"])
if os.environ.get("JQ_TEST_CRON"):
    JOBQUEUE_CRON = json.loads(os.environ["JQ_TEST_CRON"])
