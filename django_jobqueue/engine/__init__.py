"""The job-queue engine: plain Python on redis-py, with no Django import.

Everything here can be used with a bare ``redis.Redis`` client; the Django layer
in :mod:`django_jobqueue` only supplies connections and settings.

The map, in the order a job goes through it (``docs/architecture.rst`` says
more, and where to add what):

- enqueue: ``options`` (EnqueueOptions) -> ``job`` (Job; ``retry``,
  ``dependencies``) -> ``serializers``/``payloads`` (signed call) -> ``queue``
- state changes: ``scripts/`` (one Lua script each), keys from ``keys``,
  words from ``vocabulary``
- running: ``worker/`` (base: the one loop; single: Worker, SimpleWorker;
  pool: WorkerPool; control: stop_job) -> ``execution/`` (fork, inline) ->
  ``perform`` (run, callbacks, timeouts) -> ``outcome`` (every end, one script)
- time: ``scheduler``, ``cron`` and ``repeat`` (Repeat)
- ``group`` (Group): jobs tracked under one name
- reading: ``live`` (workers), ``registry`` and ``bulk`` (jobs), ``stats``,
  ``tally``, ``progress``
- around it: ``connection``, ``corrupt`` (bad keys), ``hooks``, ``errors``
"""

from .callbacks import Callback
from .cron import CronEntry
from .decorators import job
from .dependencies import Dependency
from .errors import (
    AbandonedJobError,
    DeserializationError,
    DuplicateJobError,
    EnqueueError,
    InvalidJobOperation,
    JobQueueError,
    JobTimeoutException,
    NoRepeatsLeft,
    NoSuchGroupError,
    NoSuchJobError,
    SerializationError,
)
from .group import Group
from .hooks import Hooks
from .job import Job, get_current_job
from .keys import DEFAULT_PREFIX, KeySpace
from .live import all_workers
from .options import EnqueueOptions, UnsupportedOption
from .payloads import PayloadTooLarge, SignatureError, SignedSerializer
from .queue import Queue
from .registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from .repeat import Repeat
from .results import Result
from .retry import Retry
from .scheduler import Scheduler
from .serializers import JSONSerializer, PickleSerializer
from .vocabulary import JobStatus
from .worker import SimpleWorker, Worker, WorkerPool, stop_job

__all__ = [
    "DEFAULT_PREFIX",
    "AbandonedJobError",
    "Callback",
    "CanceledJobRegistry",
    "CronEntry",
    "DeferredJobRegistry",
    "Dependency",
    "DeserializationError",
    "DuplicateJobError",
    "EnqueueError",
    "EnqueueOptions",
    "FailedJobRegistry",
    "FinishedJobRegistry",
    "Group",
    "Hooks",
    "InvalidJobOperation",
    "JSONSerializer",
    "Job",
    "JobQueueError",
    "JobStatus",
    "JobTimeoutException",
    "KeySpace",
    "NoRepeatsLeft",
    "NoSuchGroupError",
    "NoSuchJobError",
    "PayloadTooLarge",
    "PickleSerializer",
    "Queue",
    "Repeat",
    "Result",
    "Retry",
    "ScheduledJobRegistry",
    "Scheduler",
    "SerializationError",
    "SignatureError",
    "SignedSerializer",
    "SimpleWorker",
    "StartedJobRegistry",
    "UnsupportedOption",
    "Worker",
    "WorkerPool",
    "all_workers",
    "get_current_job",
    "job",
    "stop_job",
]
