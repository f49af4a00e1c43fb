"""The job class queues and workers load jobs as (django-rq's ``get_job_class``)."""

from __future__ import annotations

from typing import Any

from .engine import Job
from .engine.utils import import_attribute
from .rq_settings import rq_option


def get_job_class(job_class: Any = None) -> type[Job]:
    """``job_class`` (a class or dotted path), else ``RQ['JOB_CLASS']``, else :class:`Job`.

    django-jobqueue has no setting of its own for it: subclassing Job is rarely
    needed (hooks and signals see every job); django-rq's is read so that a
    project that set it keeps its class.
    """
    job_class = job_class or rq_option("JOB_CLASS") or Job
    return import_attribute(job_class) if isinstance(job_class, str) else job_class
