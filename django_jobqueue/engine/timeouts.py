"""Stopping a job that runs too long, from inside the process that runs it."""

from __future__ import annotations

import signal
import threading
from typing import Any

from .errors import JobTimeoutException

try:
    # signal.getsignal turns the handler into a Handlers member when it can;
    # on Python 3.11 that costs a raised and caught ValueError per call for a
    # function, and it is asked once per job.
    from _signal import getsignal as _getsignal  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other interpreters
    _getsignal = signal.getsignal

#: The penalty armed now, if any (one per process: SIGALRM is per process).
_armed: DeathPenalty | None = None
#: The SIGALRM handler found when ours was installed, called when no job is armed.
_previous: Any = None


def _on_alarm(signum: int, frame: Any) -> None:
    if _armed is not None:
        _armed.expire()
    elif callable(_previous):
        _previous(signum, frame)


class DeathPenalty:
    """Raise :class:`JobTimeoutException` in the running job after ``timeout`` seconds.

    Uses SIGALRM, so it only arms in the main thread; elsewhere (a worker run in
    a thread by a test, say) it does nothing and the forking worker's parent is
    the only guard.

    The SIGALRM handler is installed once and stays: a worker arms and disarms
    the timer for every job, and swapping handlers each time cost more than
    running a small job. Outside a job the handler passes the signal to the
    handler it replaced (if that one was a function), and a handler installed
    by someone else since is noticed and replaced at the next arming.
    """

    def __init__(self, timeout: float | None, job_id: str):
        self.timeout = timeout
        self.job_id = job_id
        self._armed = False

    def expire(self) -> None:
        raise JobTimeoutException(
            f"Job {self.job_id} exceeded its timeout of {self.timeout} seconds."
        )

    def __enter__(self) -> DeathPenalty:
        global _armed, _previous
        if (
            self.timeout
            and self.timeout > 0
            and threading.current_thread() is threading.main_thread()
        ):
            if _getsignal(signal.SIGALRM) is not _on_alarm:
                _previous = signal.signal(signal.SIGALRM, _on_alarm)
            _armed = self
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
            self._armed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        global _armed
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _armed = None
            self._armed = False
