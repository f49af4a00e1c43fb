"""The job-queue engine: plain Python on redis-py, with no Django import.

Everything here can be used with a bare ``redis.Redis`` client; the Django layer
in :mod:`django_jobqueue` only supplies connections and settings.

The map, in the order a job goes through it (``docs/architecture.rst`` says
more, and where to add what):

- enqueue: ``options`` (EnqueueOptions) -> ``job`` (Job; ``retry``,
  ``dependencies``) -> ``serializers``/``payloads`` (signed call) -> ``queue``
- state changes: ``scripts/`` (one Lua script each), keys from ``keys``,
  words from ``vocabulary``
- running: ``worker/`` (base: the one loop; single: Worker, SimpleWorker,
  SpawnWorker; pool: WorkerPool; control: stop_job) -> ``execution/``
  (fork, spawn, inline) -> ``perform`` (run, callbacks, timeouts) ->
  ``outcome`` (every end, one script)
- time: ``scheduler``, ``cron`` (RQ's cron API: ``cron_scheduler`` and its
  two registries) and ``repeat`` (Repeat)
- ``group`` (Group): jobs tracked under one name; ``chain`` (Chain, Step):
  calls run in turn, each given the result of the one before (``chain_link``:
  what a step reads when it starts); ``batches`` (Batch): jobs whose callbacks
  run once, when they have all ended
- reading: ``live`` (workers), ``registry`` and ``bulk`` (jobs), ``stats``,
  ``tally``, ``progress``
- limits and notices: ``rate_limit`` (RateLimit), ``unique`` (unique_for: no
  duplicate while a job waits), ``webhook`` (Webhook)
- around it: ``connection``, ``corrupt`` (bad keys), ``hooks``, ``errors``
"""

from .. import __version__ as VERSION
from .batches import Batch, BatchCompleteError, BatchProgress, BatchStatus, NoSuchBatchError
from .callbacks import Callback
from .chain import Chain, Step
from .connection import get_connection_kwargs
from .cron import CronEntry
from .cron_job_registry import DEFAULT_CRON_JOB_HISTORY_TTL
from .cron_scheduler import CronJob, CronScheduler
from .cron_scheduler_registry import DEFAULT_CRON_SCHEDULER_TTL
from .decorators import job
from .dependencies import Dependency
from .errors import (
    AbandonedJobError,
    ChainResultLost,
    ChainStopped,
    DequeueTimeout,
    DeserializationError,
    DuplicateJobError,
    DuplicateSchedulerError,
    EnqueueError,
    InvalidJobOperation,
    JobQueueError,
    JobTimeoutException,
    NoRepeatsLeft,
    NoSuchGroupError,
    NoSuchJobError,
    PipelineRefused,
    RetryLater,
    SchedulerNotFound,
    SerializationError,
    ShutDownImminentException,
    TimeoutFormatError,
)
from .group import Group
from .hooks import Hooks
from .job import Job, cancel_job, get_current_job, requeue_job
from .keys import DEFAULT_PREFIX, KeySpace
from .live import all_workers
from .options import EnqueueOptions
from .payloads import PayloadTooLarge, SignatureError, SignedSerializer
from .queue import Queue
from .rate_limit import RateLimit, RateLimitRegistry
from .registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    RateLimitedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from .repeat import Repeat
from .results import Result
from .retry import Retry
from .scheduler import Scheduler
from .serializers import JSONSerializer, PickleSerializer
from .vocabulary import (
    DEFAULT_RESULT_TTL,
    DequeueStrategy,
    JobStatus,
    WorkerState,
    WorkerStatus,
)
from .webhook import Webhook
from .worker import (
    HerokuWorker,
    RandomWorker,
    RoundRobinWorker,
    SimpleWorker,
    SpawnWorker,
    Worker,
    WorkerPool,
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
    stop_job,
)

__all__ = [
    "DEFAULT_CRON_JOB_HISTORY_TTL",
    "DEFAULT_CRON_SCHEDULER_TTL",
    "DEFAULT_PREFIX",
    "DEFAULT_RESULT_TTL",
    "VERSION",
    "AbandonedJobError",
    "Batch",
    "BatchCompleteError",
    "BatchProgress",
    "BatchStatus",
    "Callback",
    "CanceledJobRegistry",
    "Chain",
    "ChainResultLost",
    "ChainStopped",
    "CronEntry",
    "CronJob",
    "CronScheduler",
    "DeferredJobRegistry",
    "Dependency",
    "DequeueStrategy",
    "DequeueTimeout",
    "DeserializationError",
    "DuplicateJobError",
    "DuplicateSchedulerError",
    "EnqueueError",
    "EnqueueOptions",
    "FailedJobRegistry",
    "FinishedJobRegistry",
    "Group",
    "HerokuWorker",
    "Hooks",
    "InvalidJobOperation",
    "JSONSerializer",
    "Job",
    "JobQueueError",
    "JobStatus",
    "JobTimeoutException",
    "KeySpace",
    "NoRepeatsLeft",
    "NoSuchBatchError",
    "NoSuchGroupError",
    "NoSuchJobError",
    "PayloadTooLarge",
    "PickleSerializer",
    "PipelineRefused",
    "Queue",
    "RandomWorker",
    "RateLimit",
    "RateLimitRegistry",
    "RateLimitedJobRegistry",
    "Repeat",
    "Result",
    "Retry",
    "RetryLater",
    "RoundRobinWorker",
    "ScheduledJobRegistry",
    "Scheduler",
    "SchedulerNotFound",
    "SerializationError",
    "ShutDownImminentException",
    "SignatureError",
    "SignedSerializer",
    "SimpleWorker",
    "SpawnWorker",
    "StartedJobRegistry",
    "Step",
    "TimeoutFormatError",
    "Webhook",
    "Worker",
    "WorkerPool",
    "WorkerState",
    "WorkerStatus",
    "all_workers",
    "cancel_job",
    "get_connection_kwargs",
    "get_current_job",
    "job",
    "requeue_job",
    "send_command",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
    "stop_job",
]
