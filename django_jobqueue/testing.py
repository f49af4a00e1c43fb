"""Helpers for the test suites of projects that use django-jobqueue.

Import this module explicitly in tests (nothing here is re-exported from the
package root, and it is never imported by the app itself):

* :func:`drain` runs the queued jobs now, in the test process, and raises
  :class:`FailedJobsError` (an ``AssertionError``) with the traceback of any
  job that failed;
* :func:`capture_jobs` records the jobs enqueued during a block, for
  :func:`assert_enqueued`, :func:`assert_not_enqueued` and
  :func:`enqueued_jobs`;
* :func:`clear_queues` and :func:`isolated_queues` empty the configured queues;
* :class:`JobQueueTestMixin` bundles them for Django's ``TestCase``, and the
  ``jobqueue`` fixture for pytest (``pytest_plugins = ["django_jobqueue.testing"]``
  in the project's root ``conftest.py``).

See ``docs/testing.rst`` for the guide.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

from .conf import get_settings
from .engine.job import Job, JobStatus, callable_name
from .engine.worker import SimpleWorker
from .queues import DjangoQueue, get_queue
from .signals import job_enqueued
from .workers import get_worker

#: Jobs one :func:`drain` runs at most before it concludes that jobs keep
#: enqueueing each other and gives up.
MAX_JOBS = 1000


# -- draining ------------------------------------------------------------------


class FailedJobsError(AssertionError):
    """Jobs failed during :func:`drain`; the message carries their tracebacks.

    It is an ``AssertionError`` so that test runners report it as a test
    failure, not an error in the test's own code. ``result`` is the whole
    :class:`DrainResult`.
    """

    def __init__(self, result: DrainResult):
        self.result = result
        parts = [
            f"{len(result.failed)} job(s) failed while draining: "
            "their tracebacks follow. Pass raise_on_failure=False to drain() "
            "to look at failures in its result instead."
        ]
        for job in result.failed:
            parts.append(
                f"--- {job.origin}: {job.description} (id {job.id}, status "
                f"{job.get_status(refresh=False)})\n{(job.exc_info or '').rstrip()}"
            )
        super().__init__("\n\n".join(parts))


@dataclass
class DrainResult:
    """What one :func:`drain` ran.

    ``jobs`` holds every run in order; a job retried during the drain appears
    once per attempt. ``finished`` and ``failed`` are the runs that ended the
    job; ``retried`` the runs that failed with a retry left (queued again, or
    scheduled: see ``scheduled=True``). ``waiting_for_commit`` lists jobs that
    were enqueued inside a transaction that had not committed when the drain
    started: they are not in Redis yet, so the drain could not run them.
    """

    jobs: list[Job] = field(default_factory=list)
    finished: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)
    retried: list[Job] = field(default_factory=list)
    waiting_for_commit: list[Job] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.jobs)

    def __repr__(self) -> str:
        return (
            f"<DrainResult: {len(self.finished)} finished, {len(self.failed)} failed, "
            f"{len(self.retried)} retried>"
        )

    def _record(self, job: Job, status: str | None) -> None:
        self.jobs.append(job)
        if status == JobStatus.FINISHED:
            self.finished.append(job)
        elif status in (JobStatus.QUEUED, JobStatus.SCHEDULED):
            self.retried.append(job)
        else:  # failed, stopped, or taken from us (None): the job did not succeed
            self.failed.append(job)


class _DrainWorker(SimpleWorker):
    """A burst worker that reports each run to a :class:`DrainResult`."""

    result: DrainResult

    def execute(self, job: Job) -> str | None:
        # In a TestCase the test's transaction never commits, so what a job
        # enqueues would wait for a commit forever. A worker's job runs in its
        # own transactions, which commit by the time it ends: run the
        # on_commit callbacks the job registered when it ends, as they would be.
        if transaction.get_connection().in_atomic_block:
            from django.test import TestCase

            with TestCase.captureOnCommitCallbacks(using=DEFAULT_DB_ALIAS, execute=True):
                status = super().execute(job)
        else:
            status = super().execute(job)
        self.result._record(job, status)
        return status


def drain(
    *queue_names: str,
    scheduled: bool = False,
    raise_on_failure: bool = True,
    max_jobs: int = MAX_JOBS,
) -> DrainResult:
    """Run every queued job now, in this process, until the queues are empty.

    A burst :class:`~django_jobqueue.engine.SimpleWorker` takes the jobs in
    queue order, so the test sees the jobs' effects (database rows, results,
    mails in ``django.core.mail.outbox``) right after the call. Jobs that the
    jobs enqueue, dependents released on the way and scheduled jobs that are
    due run too; job timeouts are enforced as in a worker.

    Args:
        queue_names: the queues to drain; all of ``JOBQUEUE_QUEUES`` by default.
            Queues with ``ASYNC = False`` are skipped: their jobs ran when
            they were enqueued.
        scheduled: also run scheduled jobs (``enqueue_in``, ``delay_at``,
            delayed retries) that are not due yet, as if their time had come.
        raise_on_failure: raise :class:`FailedJobsError` when a job failed for
            good, after the drain is complete.
        max_jobs: give up after this many runs (jobs that keep enqueueing
            each other would otherwise never let the drain end).

    Returns:
        a :class:`DrainResult`.
    """
    names = list(queue_names) or list(get_settings().queues)
    queues = [get_queue(name) for name in names]
    result = DrainResult(waiting_for_commit=_waiting_for_commit())
    groups = _by_connection([q for q in queues if not q.in_memory])
    progress = True
    while progress:
        progress = False
        for group in groups:
            for queue in group:
                _release_scheduled(queue, every=scheduled)
            worker = get_worker(
                *(q.name for q in group), worker_class=_DrainWorker, scheduler=False
            )
            worker.result = result
            left = max_jobs - len(result.jobs)
            if left > 0 and worker.work(burst=True, max_jobs=left, logging_level=None):
                progress = True
        if len(result.jobs) >= max_jobs and any(q.count for q in queues if not q.in_memory):
            raise RuntimeError(
                f"drain() ran {len(result.jobs)} jobs and the queues are still not empty: "
                "jobs probably keep enqueueing each other. Raise max_jobs if that many "
                "is expected."
            )
    if raise_on_failure and result.failed:
        raise FailedJobsError(result)
    return result


def _by_connection(queues: list[DjangoQueue]) -> list[list[DjangoQueue]]:
    """Queues grouped by the Redis they live on: one worker serves one Redis."""
    groups: list[tuple[Any, list[DjangoQueue]]] = []
    for queue in queues:
        where = replace(get_settings().queue(queue.name).connection, kwargs=(), sentinel_kwargs=())
        for place, members in groups:
            if place == where:
                members.append(queue)
                break
        else:
            groups.append((where, [queue]))
    return [members for _, members in groups]


def _release_scheduled(queue: DjangoQueue, every: bool) -> None:
    registry = queue.scheduled_job_registry
    now = time.time()
    if every:
        # Bring every scheduled time forward to now, then release the due ones
        # with the engine's own script (which records enqueued_at = now).
        ids = queue.connection.zrange(registry.key, 0, -1)
        if ids:
            queue.connection.zadd(registry.key, dict.fromkeys(ids, now), xx=True)
    registry.enqueue_due(timestamp=now)


# -- capturing enqueues ----------------------------------------------------------

_captures: list[JobCapture] = []
_captures_lock = threading.Lock()


class JobCapture:
    """Records the jobs enqueued while it is active (see :func:`capture_jobs`).

    A job is recorded when it reaches its queue (or, on an ``ASYNC = False``
    queue, when it runs): through the ``job_enqueued`` signal, which an
    enqueue inside ``transaction.atomic()`` sends only when the transaction
    commits. Jobs enqueued by other threads of this process (a ``live_server``)
    and by jobs run by :func:`drain` are recorded too.
    """

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self.active = False

    def __enter__(self) -> JobCapture:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        if self.active:
            return
        job_enqueued.connect(self._enqueued, dispatch_uid=("django_jobqueue.testing", id(self)))
        with _captures_lock:
            _captures.append(self)
        self.active = True

    def stop(self) -> None:
        if not self.active:
            return
        job_enqueued.disconnect(dispatch_uid=("django_jobqueue.testing", id(self)))
        with _captures_lock:
            _captures.remove(self)
        self.active = False

    def _enqueued(self, sender: Any, job: Job, queue: Any, **kwargs: Any) -> None:
        with self._lock:
            self._jobs.append(job)

    # -- reading ----------------------------------------------------------------

    def enqueued_jobs(self, queue: str | None = None) -> list[Job]:
        """The jobs recorded so far, oldest first; only queue ``queue``'s if given."""
        with self._lock:
            jobs = list(self._jobs)
        return [job for job in jobs if queue is None or job.origin == queue]

    @property
    def jobs(self) -> list[Job]:
        return self.enqueued_jobs()

    def reset(self) -> None:
        """Forget the jobs recorded so far (the capture stays active)."""
        with self._lock:
            self._jobs.clear()

    # -- asserting --------------------------------------------------------------

    def assert_enqueued(
        self,
        func: Any = None,
        args: Sequence | None = None,
        kwargs: dict | None = None,
        queue: str | None = None,
        count: int | None = None,
    ) -> list[Job]:
        """Fail unless jobs matching the filters were enqueued; return them.

        Args:
            func: the function, or its dotted path (``"app.tasks.send"``);
                any function if None.
            args: the positional arguments, all of them, in order.
            kwargs: the keyword arguments, all of them.
            queue: the queue's name.
            count: how many matching jobs there must be exactly; at least
                one if None.
        """
        matched = self._matching(func, args, kwargs, queue)
        if (count is None and not matched) or (count is not None and len(matched) != count):
            wanted = "at least 1" if count is None else str(count)
            raise AssertionError(
                f"Expected {wanted} enqueued job(s) {_describe(func, args, kwargs, queue)}, "
                f"found {len(matched)}.\n{self._report()}"
            )
        return matched

    def assert_not_enqueued(
        self,
        func: Any = None,
        args: Sequence | None = None,
        kwargs: dict | None = None,
        queue: str | None = None,
    ) -> None:
        """Fail if a job matching the filters was enqueued (any job, without filters)."""
        matched = self._matching(func, args, kwargs, queue)
        if matched:
            raise AssertionError(
                f"Expected no enqueued job {_describe(func, args, kwargs, queue)}, "
                f"found {len(matched)}.\n{self._report()}"
            )

    def _matching(
        self, func: Any, args: Sequence | None, kwargs: dict | None, queue: str | None
    ) -> list[Job]:
        name = _func_name(func)
        return [
            job
            for job in self.enqueued_jobs(queue)
            if (name is None or job.func_name == name)
            and (args is None or list(job.args) == list(args))
            and (kwargs is None or job.kwargs == dict(kwargs))
        ]

    def _report(self) -> str:
        jobs = self.enqueued_jobs()
        lines = [f"Enqueued while capturing ({len(jobs)}):" if jobs else "Nothing was enqueued."]
        lines += [f"  {job.origin}: {job.call_string()}" for job in jobs]
        waiting = _waiting_for_commit()
        if waiting:
            lines.append(
                f"Waiting for the transaction to commit ({len(waiting)}), so neither in "
                "Redis nor recorded yet:"
            )
            lines += [f"  {job.origin}: {job.call_string()}" for job in waiting]
            lines.append(
                "  Enqueues inside transaction.atomic() (and inside every TestCase test) "
                "reach the queue on commit: enqueue inside `with "
                "self.captureOnCommitCallbacks(execute=True):` (pytest-django: "
                "django_capture_on_commit_callbacks), or use TransactionTestCase / "
                "@pytest.mark.django_db(transaction=True)."
            )
        return "\n".join(lines)

    # -- conveniences for the pytest fixture and the mixin ------------------------------

    def drain(self, *queue_names: str, **options: Any) -> DrainResult:
        """:func:`drain`."""
        return drain(*queue_names, **options)

    def clear_queues(self, *queue_names: str) -> int:
        """:func:`clear_queues`."""
        return clear_queues(*queue_names)


def capture_jobs() -> JobCapture:
    """A context manager recording the jobs enqueued inside it (a :class:`JobCapture`)::

        with capture_jobs() as captured:
            client.post("/signup/", {"email": "ann@example.com"})
        captured.assert_enqueued("app.tasks.send_welcome", kwargs={"email": "ann@example.com"})

    The module-level :func:`assert_enqueued`, :func:`assert_not_enqueued`
    and :func:`enqueued_jobs` read the innermost active capture.
    """
    return JobCapture()


def _current_capture() -> JobCapture:
    with _captures_lock:
        if _captures:
            return _captures[-1]
    raise RuntimeError(
        "No job capture is active: wrap the code in `with capture_jobs():`, use the "
        "pytest fixture `jobqueue`, or mix JobQueueTestMixin into the TestCase."
    )


def assert_enqueued(
    func: Any = None,
    args: Sequence | None = None,
    kwargs: dict | None = None,
    queue: str | None = None,
    count: int | None = None,
) -> list[Job]:
    """:meth:`JobCapture.assert_enqueued` on the innermost active capture."""
    return _current_capture().assert_enqueued(func, args, kwargs, queue, count)


def assert_not_enqueued(
    func: Any = None,
    args: Sequence | None = None,
    kwargs: dict | None = None,
    queue: str | None = None,
) -> None:
    """:meth:`JobCapture.assert_not_enqueued` on the innermost active capture."""
    _current_capture().assert_not_enqueued(func, args, kwargs, queue)


def enqueued_jobs(queue: str | None = None) -> list[Job]:
    """:meth:`JobCapture.enqueued_jobs` of the innermost active capture."""
    return _current_capture().enqueued_jobs(queue)


def _func_name(func: Any) -> str | None:
    if func is None:
        return None
    return callable_name(func)[0]


def _describe(func: Any, args: Sequence | None, kwargs: dict | None, queue: str | None) -> str:
    parts = [f"of {_func_name(func)}" if func is not None else "of any function"]
    if args is not None:
        parts.append(f"with args={list(args)!r}")
    if kwargs is not None:
        parts.append(f"with kwargs={dict(kwargs)!r}")
    parts.append(f"on queue {queue!r}" if queue is not None else "on any queue")
    return " ".join(parts)


def _waiting_for_commit() -> list[Job]:
    """Jobs whose push waits in the default database's on_commit callbacks.

    The callbacks are closures over their job (see DjangoQueue.enqueue_job);
    this only reads them, to tell people why a job is not there yet.
    """
    connection = transaction.get_connection()
    jobs = []
    for entry in getattr(connection, "run_on_commit", ()):
        for cell in getattr(entry[1], "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, Job) and value.get_status(refresh=False) == (
                JobStatus.PENDING_COMMIT
            ):
                jobs.append(value)
    return jobs


# -- isolation -------------------------------------------------------------------


def clear_queues(*queue_names: str) -> int:
    """Delete every key of the configured queues: jobs, registries, periodic records.

    Only the keys of those queues under ``JOBQUEUE_KEY_PREFIX`` are touched
    (each queue's keys share one hash tag, so one pattern finds them all);
    other data in the same Redis database stays. Queues with ``ASYNC = False``
    are skipped, so that a suite running inline needs no Redis.

    Args:
        queue_names: the queues to clear; all of ``JOBQUEUE_QUEUES`` by default.

    Returns:
        how many keys were deleted.
    """
    deleted = 0
    for name in queue_names or list(get_settings().queues):
        queue = get_queue(name)
        if queue.in_memory:
            continue
        pattern = _glob_escape(queue.keys.tag(name)) + ":*"
        batch: list[bytes] = []
        for key in queue.connection.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += queue.connection.delete(*batch)
                batch.clear()
        if batch:
            deleted += queue.connection.delete(*batch)
    return deleted


@contextmanager
def isolated_queues(*queue_names: str) -> Iterator[None]:
    """Clear the queues (see :func:`clear_queues`) on entering and on leaving."""
    clear_queues(*queue_names)
    try:
        yield
    finally:
        clear_queues(*queue_names)


def _glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


# -- unittest ------------------------------------------------------------------------


class JobQueueTestMixin:
    """For Django's ``TestCase`` or ``TransactionTestCase``: clean queues, recorded enqueues.

    Each test starts and ends with empty queues (set
    ``jobqueue_clear_queues = False`` to keep them) and records the jobs
    it enqueues in ``self.jobqueue``, a :class:`JobCapture`. In a
    ``TestCase`` an enqueue waits for a commit that never comes; enqueue
    inside ``self.captureOnCommitCallbacks(execute=True)``.
    """

    jobqueue_clear_queues = True
    jobqueue: JobCapture

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        if self.jobqueue_clear_queues:
            self.enterContext(isolated_queues())  # type: ignore[attr-defined]
        self.jobqueue = self.enterContext(capture_jobs())  # type: ignore[attr-defined]

    def drain_jobs(self, *queue_names: str, **options: Any) -> DrainResult:
        """:func:`drain`."""
        return drain(*queue_names, **options)

    def assertJobEnqueued(self, func: Any = None, **filters: Any) -> list[Job]:
        """:meth:`JobCapture.assert_enqueued`."""
        return self.jobqueue.assert_enqueued(func, **filters)

    def assertJobNotEnqueued(self, func: Any = None, **filters: Any) -> None:
        """:meth:`JobCapture.assert_not_enqueued`."""
        self.jobqueue.assert_not_enqueued(func, **filters)


# -- pytest ------------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # a unittest-only project: no fixture
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def jobqueue() -> Iterator[JobCapture]:
        """Empty queues before and after the test, and a :class:`JobCapture` of its enqueues.

        The capture also offers ``drain()`` and ``clear_queues()``. Enable it with
        ``pytest_plugins = ["django_jobqueue.testing"]`` in the root ``conftest.py``.
        """
        from django.conf import settings

        if not settings.configured:
            pytest.fail(
                "The jobqueue fixture needs Django settings: set DJANGO_SETTINGS_MODULE "
                "(or pytest-django's --ds / ini option)."
            )
        with isolated_queues(), capture_jobs() as capture:
            yield capture


__all__ = [
    "MAX_JOBS",
    "DrainResult",
    "FailedJobsError",
    "JobCapture",
    "JobQueueTestMixin",
    "assert_enqueued",
    "assert_not_enqueued",
    "capture_jobs",
    "clear_queues",
    "drain",
    "enqueued_jobs",
    "isolated_queues",
]
