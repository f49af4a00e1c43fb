"""Stopping a job that runs too long, from inside the process that runs it.

:class:`DeathPenalty` (RQ's ``UnixSignalDeathPenalty``) raises
:class:`~.errors.JobTimeoutException` in the job with SIGALRM; it is what
workers use unless ``Worker.death_penalty_class`` names another.
:class:`TimerDeathPenalty` raises it from a timer thread instead, for jobs run
outside the main thread. A class of one's own subclasses
:class:`BaseDeathPenalty` and defines ``setup_death_penalty()`` and
``cancel_death_penalty()``; it is made as ``cls(timeout, exception, job_id=...)``
and used as a context manager around the job.
"""

from __future__ import annotations

import ctypes
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


class BaseDeathPenalty:
    """Raise ``exception`` in the job once ``timeout`` seconds have passed.

    Entering arms it (:meth:`setup_death_penalty`), leaving disarms it
    (:meth:`cancel_death_penalty`); a timeout of None, 0 or less arms nothing.
    Exceptions raised in the body go through.
    """

    def __init__(
        self,
        timeout: float | None,
        exception: type[BaseException] = JobTimeoutException,
        job_id: str | None = None,
        **kwargs: Any,
    ):
        self.timeout = timeout
        self.exception = exception
        self.job_id = job_id

    @property
    def armed_for(self) -> float | None:
        """The timeout to arm, None when there is none."""
        return self.timeout if self.timeout and self.timeout > 0 else None

    def message(self) -> str:
        what = f"Job {self.job_id}" if self.job_id else "The job"
        return f"{what} exceeded its timeout of {self.timeout} seconds."

    def __enter__(self) -> BaseDeathPenalty:
        self.setup_death_penalty()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.cancel_death_penalty()
        except JobTimeoutException:  # fired between the body's end and here: the job is done
            pass

    def setup_death_penalty(self) -> None:
        raise NotImplementedError

    def cancel_death_penalty(self) -> None:
        raise NotImplementedError


#: The penalty armed now, if any (one per process: SIGALRM is per process).
_armed: DeathPenalty | None = None
#: The SIGALRM handler found when ours was installed, called when no job is armed.
_previous: Any = None


def _on_alarm(signum: int, frame: Any) -> None:
    if _armed is not None:
        _armed.expire()
    elif callable(_previous):
        _previous(signum, frame)


class DeathPenalty(BaseDeathPenalty):
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

    def __init__(
        self,
        timeout: float | None,
        exception: type[BaseException] = JobTimeoutException,
        job_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(timeout, exception, job_id)
        self._armed = False

    def expire(self) -> None:
        raise self.exception(self.message())

    def handle_death_penalty(self, signum: int, frame: Any) -> None:
        """RQ's name for what SIGALRM does: raise the timeout in the job."""
        self.expire()

    def setup_death_penalty(self) -> None:
        global _armed, _previous
        timeout = self.armed_for
        if timeout and threading.current_thread() is threading.main_thread():
            if _getsignal(signal.SIGALRM) is not _on_alarm:
                _previous = signal.signal(signal.SIGALRM, _on_alarm)
            _armed = self
            signal.setitimer(signal.ITIMER_REAL, timeout)
            self._armed = True

    def cancel_death_penalty(self) -> None:
        global _armed
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _armed = None
            self._armed = False


#: RQ's name for the SIGALRM penalty.
UnixSignalDeathPenalty = DeathPenalty


class TimerDeathPenalty(BaseDeathPenalty):
    """Raise the timeout in the thread that armed it, from a timer thread.

    For jobs run outside the main thread, where SIGALRM cannot reach. The
    exception is raised asynchronously: it lands at the job's next Python
    bytecode, not inside a blocking C call (a long ``time.sleep()`` is only
    interrupted when it returns).
    """

    def __init__(
        self,
        timeout: float | None,
        exception: type[BaseException] = JobTimeoutException,
        job_id: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(timeout, exception, job_id)
        self._target = threading.get_ident()
        self._timer: threading.Timer | None = None
        # An asynchronous exception is given as a class: this one carries the message.
        message = self.message()

        def init(exc: BaseException, *args: Any) -> None:
            BaseException.__init__(exc, message)

        self._raised = type(
            exception.__name__,
            (exception,),
            {
                "__init__": init,
                "__module__": exception.__module__,
                "__qualname__": exception.__qualname__,
            },
        )

    def handle_death_penalty(self) -> None:
        set_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
        found = set_async(ctypes.c_ulong(self._target), ctypes.py_object(self._raised))
        if found > 1:  # never more than one thread: undo
            set_async(ctypes.c_ulong(self._target), None)

    def setup_death_penalty(self) -> None:
        timeout = self.armed_for
        if timeout:
            self._target = threading.get_ident()
            self._timer = threading.Timer(timeout, self.handle_death_penalty)
            self._timer.daemon = True
            self._timer.start()

    def cancel_death_penalty(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def get_default_death_penalty_class() -> type[BaseDeathPenalty]:
    """SIGALRM's penalty where the platform has SIGALRM, else the timer's."""
    return DeathPenalty if hasattr(signal, "SIGALRM") else TimerDeathPenalty


__all__ = [
    "BaseDeathPenalty",
    "DeathPenalty",
    "JobTimeoutException",
    "TimerDeathPenalty",
    "UnixSignalDeathPenalty",
    "get_default_death_penalty_class",
]
