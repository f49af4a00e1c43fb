"""What an execution model is, and what it may ask of the worker that uses it.

The seam runs one way: a worker holds an :class:`Execution` and calls it; the
execution sees the worker only through :class:`Host`, the few methods declared
here, and never imports the worker. A new model (threads, asyncio) is one
module with one subclass, registered in :data:`.EXECUTIONS`.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ..job import Job
from ..perform import Success


class Host(Protocol):
    """The worker as an execution sees it."""

    name: str
    log: logging.Logger
    #: The worker's Redis client.
    connection: Any
    #: Seconds between heartbeats; a job that runs longer must not starve them.
    heartbeat_interval: float
    #: Seconds between two looks at stop requests while a job runs.
    stop_poll_interval: float
    #: Called in the process that ran a job that raised (see perform.call_exception_handlers).
    exception_handlers: list

    @property
    def current_job(self) -> Job | None: ...

    def perform(self, job: Job) -> str | None:
        """Run ``job`` in this process and record its outcome."""

    def run_in_horse(self, job: Job, enforce_timeout: bool = True) -> Success | str | None:
        """In a work-horse: run ``job``; a success is handed back, a failure recorded."""

    def horse_needs_worker(self) -> bool:
        """Whether a spawned work-horse must rebuild the worker to run a job."""

    def horse_options(self) -> dict:
        """The keywords that rebuild the worker in a spawned work-horse."""

    def record_result(self, job: Job, success: Success) -> str | None:
        """Record a success that another process handed back."""

    def heartbeat(self) -> None:
        """Tell Redis the worker and its job are alive, now."""

    def heartbeat_if_due(self) -> None:
        """Heartbeat (and flush counts) when an interval has passed."""

    def schedule_if_due(self) -> None:
        """Let the worker's scheduler keep time while a job runs."""

    def stop_requested(self, job: Job) -> bool:
        """Whether someone asked to abort ``job``; takes the request away."""

    def command_waiting(self) -> bool:
        """Whether a command was announced for the worker (a local read, no round trip)."""


class Execution:
    """Decides where a dequeued job runs, and how it is interrupted.

    A worker calls :meth:`check` and :meth:`setup` once before its loop, :meth:`run` for each
    job, :meth:`interrupt` on a cold shutdown while a job runs, and
    :meth:`teardown` once at the end.
    """

    #: The name the worker registers and ``rqworker --worker-class`` takes.
    name = ""
    #: How the worker's start-up line describes it.
    description = ""
    #: Whether each job runs in a process of its own (the worker then shows
    #: busy and idle in its registration as each job starts and ends).
    process_per_job = False

    def check(self, host: Host) -> None:
        """Raise when this model cannot run jobs for ``host`` as configured.

        Called when the worker starts, before it registers or takes a job.
        """

    def setup(self, host: Host) -> None:
        """Called once before the worker's loop starts."""

    def run(self, host: Host, job: Job) -> str | None:
        """Run the job to its end, recorded; returns its new status."""
        raise NotImplementedError

    def interrupt(self, host: Host) -> None:
        """Stop the running job now: the worker was shut down cold.

        Called from the worker's signal handler. Whatever the job was doing,
        its failure is recorded as a cold shutdown and the worker then stops.
        """
        raise NotImplementedError

    def teardown(self, host: Host) -> None:
        """Called once when the worker's loop ends."""
