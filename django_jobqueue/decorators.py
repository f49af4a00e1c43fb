"""``@job`` with queues and connections taken from the settings."""

from __future__ import annotations

from .engine.decorators import job as engine_job
from .queues import DjangoQueue


class job(engine_job):
    """``@job``, ``@job("low")``, ``@job("low", timeout=60)``: adds ``.delay()``.

    A queue given by name uses ``JOBQUEUE_QUEUES`` unless ``connection=`` is
    passed; the settings are read at ``.delay()`` time, not at import time.
    """

    queue_class = DjangoQueue
