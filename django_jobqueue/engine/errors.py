"""Exceptions raised by the engine; all share :class:`JobQueueError`."""


class JobQueueError(Exception):
    """Base class of every error the engine raises on purpose."""


class NoSuchJobError(JobQueueError, LookupError):
    """The job id is unknown: never enqueued, deleted, or expired."""


class NoSuchGroupError(JobQueueError, LookupError):
    """No job of the group is left: never used, or all its jobs were deleted or expired."""


class InvalidJobOperation(JobQueueError):
    """The job is not in a state that allows the operation."""


class DuplicateJobError(InvalidJobOperation):
    """A job with this id is still queued, deferred, scheduled or running."""


class NoRepeatsLeft(InvalidJobOperation, ValueError):
    """The job has no repeat left to run (a ValueError, as in RQ)."""


class JobTimeoutException(JobQueueError):
    """Raised inside a job that ran longer than its timeout."""


class AbandonedJobError(JobQueueError):
    """The worker running the job died or stopped heart-beating."""


class ShutDownImminentException(BaseException):
    """Raised in a job whose platform is about to kill its worker (see HerokuWorker).

    A BaseException, as in RQ, so that job code catching Exception lets it
    through; the job's failure is recorded (and retried by its rules).
    """

    def __init__(self, message: str = "", extra_info: dict | None = None):
        super().__init__(message)
        self.extra_info = extra_info or {}


class DeserializationError(JobQueueError):
    """Stored job data could not be read back."""


class SerializationError(JobQueueError, TypeError):
    """Arguments, result or meta cannot be serialized with the queue's serializer."""


class EnqueueError(JobQueueError, ValueError):
    """The call can never run in a worker; the message says what to do instead."""


class ImportAttributeError(JobQueueError, ImportError, ValueError):
    """A dotted path names no importable attribute (a ValueError too, as in RQ)."""


class TimeoutFormatError(JobQueueError, ValueError):
    """A timeout is neither seconds nor digits with a unit (``"90"``, ``"5m"``, ``"2h"``)."""


class ImportFunctionError(JobQueueError, ImportError):
    """The job's function cannot be imported in the worker."""


class RetryLater(JobQueueError):
    """Raised by a job to ask to run again later, rather than fail.

    With the job's ``retry=Retry(...)`` it uses up one of its retries,
    whatever ``retry_on``/``dont_retry_on`` say (the job asked), and waits
    ``delay`` seconds when given, else the policy's wait; with no retry left
    the job fails. Without a ``retry`` option it is retried up to
    :data:`~.retry.RETRY_LATER_MAX` times (3), waiting ``delay`` seconds (none
    when not given), then fails.
    """

    def __init__(self, delay: float | None = None, message: str = ""):
        if delay is not None and (
            isinstance(delay, bool)
            or not isinstance(delay, (int, float))
            or not 0 <= delay < float("inf")
        ):
            raise ValueError(f"RetryLater(delay=...) takes seconds >= 0 or None, not {delay!r}.")
        self.delay = delay
        super().__init__(
            message
            or (
                "The job asked to be retried"
                + (f" in {delay:g} seconds." if delay is not None else ".")
            )
        )

    def __reduce__(self) -> tuple:
        # Pickled (by a pool child, say) with its delay, not only its message.
        return (type(self), (self.delay, str(self)))


class StopRequested(JobQueueError):
    """Raised in a running job when it is stopped on purpose."""


class SchedulerNotFound(JobQueueError, LookupError):
    """No cron scheduler of that name is registered (or its record expired)."""


class DuplicateSchedulerError(JobQueueError):
    """A cron scheduler of that name is registered already."""


class DequeueTimeout(JobQueueError):
    """``Queue.dequeue_any`` waited its whole timeout without a job (RQ's name)."""

    def __init__(self, timeout: float | None, queue_keys: object = None):
        super().__init__(f"No job came in {timeout} seconds.")
        self.timeout = timeout
        self.queue_keys = queue_keys


class PipelineRefused(InvalidJobOperation, ValueError):
    """The job cannot change on a caller's pipeline: its dependents or rate limit
    are told in a step after it (RQ raises InvalidJobOperation; a ValueError too,
    as this engine raised before)."""


class ChainStopped(JobQueueError):
    """Raised in a chain's step whose predecessor did not finish (see :mod:`.chain`).

    The step does not run: it is canceled, with the steps after it.
    """


class ChainResultLost(JobQueueError):
    """Raised in a chain's step whose predecessor's result cannot be had.

    The predecessor finished but its hash is gone (its ``result_ttl`` ran out,
    or it was deleted) or its result cannot be read: the step fails, without
    retries, since waiting would not bring the result back.
    """
