"""Stopping a job that runs too long, from inside the process that runs it."""

from __future__ import annotations

import signal
import threading
from typing import Any

from .errors import JobTimeoutException


class DeathPenalty:
    """Raise :class:`JobTimeoutException` in the running job after ``timeout`` seconds.

    Uses SIGALRM, so it only arms in the main thread; elsewhere (a worker run in
    a thread by a test, say) it does nothing and the forking worker's parent is
    the only guard.
    """

    def __init__(self, timeout: float | None, job_id: str):
        self.timeout = timeout
        self.job_id = job_id
        self._armed = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        raise JobTimeoutException(
            f"Job {self.job_id} exceeded its timeout of {self.timeout} seconds."
        )

    def __enter__(self) -> DeathPenalty:
        if (
            self.timeout
            and self.timeout > 0
            and threading.current_thread() is threading.main_thread()
        ):
            self._previous = signal.signal(signal.SIGALRM, self._handle)
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
            self._armed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous or signal.SIG_DFL)
            self._armed = False
