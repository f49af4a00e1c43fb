"""Points where other code can watch jobs move, without the engine knowing who.

Subclass :class:`Hooks`, override the methods you need and :func:`register` an
instance. A hook that raises is logged and otherwise ignored: watching a job
must never change what happens to it. The Django layer turns these into signals.

Most methods are told that something happened. Two wrap a step instead, for
tools that time it (a tracer's span): :meth:`Hooks.job_enqueueing` and
:meth:`Hooks.job_running` return a context manager entered before the step and
left after it, in the process that takes it. The engine asks only the hooks
that override them (kept apart by :func:`register`), so a job pays nothing for
them when none does.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

logger = logging.getLogger("django_jobqueue.hooks")


class Hooks:
    def job_enqueued(self, job: Any, queue: Any) -> None:
        pass

    def job_started(self, job: Any, worker: str) -> None:
        pass

    def job_finished(self, job: Any, result: Any, worker: str) -> None:
        pass

    def job_failed(self, job: Any, exc_info: str, worker: str) -> None:
        pass

    def job_enqueueing(self, job: Any, queue: Any) -> AbstractContextManager | None:
        """A context manager around the storing of a new job, or None.

        Entered before the job's fields are written, so what it adds to
        ``job.meta`` is stored with the job (and read by :meth:`job_running`
        wherever the job runs); left once the job is stored (``job_enqueued``
        was told), or with the error that kept it from being stored. A queue
        with ``is_async=False`` runs the job after leaving it.
        """
        return None

    def job_running(self, job: Any, worker: str) -> AbstractContextManager | None:
        """A context manager around one run of ``job``, or None.

        Entered in the process that runs the job (a forked or spawned
        work-horse, a pool's child, the worker itself, or the caller of
        ``enqueue`` on a queue with ``is_async=False``), before ``job_started``;
        left after the outcome is known there: ``job.get_status(refresh=False)``
        then says finished, failed, stopped, queued or scheduled (to be retried),
        or canceled: a chain's step whose predecessor did not finish, which
        ran nothing (see :mod:`.chain`; neither ``job_finished`` nor
        ``job_failed`` follows).
        A failure is recorded inside it, and ``job_failed`` is told inside it
        while the job's exception is being handled; a success is recorded (and
        ``job_finished`` told) after it was left, by the worker when a
        work-horse handed the success back. Nothing the job
        raises goes through it, only an interrupt of the worker
        (``KeyboardInterrupt``, ``SystemExit``), which it cannot swallow.
        """
        return None

    def process_exiting(self, worker: str) -> None:
        """A process that ran jobs ends now with ``os._exit``, which skips ``atexit``.

        Told in a forked or spawned work-horse after its job, and in a pool's
        child as it ends: what a hook buffered (spans, events) must be sent now.
        """


_registered: list[Hooks] = []
#: The registered hooks that override :meth:`Hooks.job_enqueueing`,
#: :meth:`Hooks.job_running` and :meth:`Hooks.process_exiting`: the engine looks
#: at these lists before each step and, when one is empty, does nothing more.
enqueue_wrappers: list[Hooks] = []
run_wrappers: list[Hooks] = []
exit_watchers: list[Hooks] = []
_OVERRIDERS = {
    "job_enqueueing": enqueue_wrappers,
    "job_running": run_wrappers,
    "process_exiting": exit_watchers,
}


def register(hooks: Hooks) -> None:
    if hooks not in _registered:
        _registered.append(hooks)
        _sort()


def unregister(hooks: Hooks) -> None:
    if hooks in _registered:
        _registered.remove(hooks)
        _sort()


def _sort() -> None:
    for name, overriders in _OVERRIDERS.items():
        overriders[:] = [
            h for h in _registered if getattr(type(h), name) is not getattr(Hooks, name)
        ]


def emit(event: str, **kwargs: Any) -> None:
    for hooks in _registered:
        try:
            getattr(hooks, event)(**kwargs)
        except Exception:
            logger.exception("Hook %r failed on %s", hooks, event)


def enqueueing(job: Any, queue: Any) -> Wrapped:
    """The hooks' context managers around storing ``job`` (see :meth:`Hooks.job_enqueueing`)."""
    return Wrapped(enqueue_wrappers, "job_enqueueing", job, queue)


def running(job: Any, worker: str) -> Wrapped:
    """The hooks' context managers around one run of ``job`` (see :meth:`Hooks.job_running`)."""
    return Wrapped(run_wrappers, "job_running", job, worker)


def process_exiting(worker: str) -> None:
    """Tell the hooks that override :meth:`Hooks.process_exiting` (see there)."""
    for hooks in exit_watchers:
        try:
            hooks.process_exiting(worker)
        except Exception:
            logger.exception("Hook %r failed on process_exiting", hooks)


class Wrapped:
    """Enters each hook's context manager, leaves them in reverse order.

    A hook that raises, asked for its manager, entering or leaving it, is
    logged and left out: a tracer that fails never fails the job. An
    exception passing through is never swallowed, whatever a manager returns.
    """

    def __init__(self, wrappers: list[Hooks], method: str, *args: Any) -> None:
        self.wrappers = list(wrappers)
        self.method = method
        self.args = args
        self.entered: list[AbstractContextManager] = []

    def __enter__(self) -> None:
        for hooks in self.wrappers:
            try:
                manager = getattr(hooks, self.method)(*self.args)
                if manager is not None:
                    manager.__enter__()
                    self.entered.append(manager)
            except Exception:
                logger.exception("Hook %r failed entering %s", hooks, self.method)

    def __exit__(self, *exc: Any) -> None:
        while self.entered:
            manager = self.entered.pop()
            try:
                manager.__exit__(*exc)
            except Exception:
                logger.exception("Hook %r failed leaving %s", manager, self.method)
