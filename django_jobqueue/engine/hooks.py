"""Points where other code can watch jobs move, without the engine knowing who.

Subclass :class:`Hooks`, override the methods you need and :func:`register` an
instance. A hook that raises is logged and otherwise ignored: watching a job
must never change what happens to it. The Django layer turns these into signals.
"""

from __future__ import annotations

import logging
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


_registered: list[Hooks] = []


def register(hooks: Hooks) -> None:
    if hooks not in _registered:
        _registered.append(hooks)


def unregister(hooks: Hooks) -> None:
    if hooks in _registered:
        _registered.remove(hooks)


def emit(event: str, **kwargs: Any) -> None:
    for hooks in _registered:
        try:
            getattr(hooks, event)(**kwargs)
        except Exception:
            logger.exception("Hook %r failed on %s", hooks, event)
