"""Callbacks: code a job names to run when it succeeds, fails or is stopped.

A callback is given to ``enqueue`` as ``on_success=``, ``on_failure=`` or
``on_stopped=``: a module-level function, its dotted path, or a
:class:`Callback` that also sets how long it may run. Like the job's own
function it is stored by name, and the job's signature binds that name (see
``Job.CODE_FIELDS``), so a name rewritten in Redis is refused, not imported.

They are called as ``on_success(job, connection, result)``,
``on_failure(job, connection, exc_type, exc, traceback)`` and
``on_stopped(job, connection)``.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import EnqueueError, JobTimeoutException
from .timeouts import DeathPenalty
from .utils import parse_duration

if TYPE_CHECKING:
    from .job import Job

#: Seconds a callback may run unless its :class:`Callback` says otherwise.
DEFAULT_CALLBACK_TIMEOUT = 60

#: The options that name a callback, and the job attribute each is stored as.
NAMES = ("on_success", "on_failure", "on_stopped")


class Callback:
    """A callback with its own timeout.

    Args:
        func: a module-level function (or builtin), or its dotted path; a
            builtin may be named alone (``"print"``).
        timeout: seconds (or a ``timedelta``, or ``"5m"``) it may run;
            None: :data:`DEFAULT_CALLBACK_TIMEOUT`.
    """

    __slots__ = ("func", "timeout")

    def __init__(self, func: str | Callable[..., Any], timeout: Any = None):
        if isinstance(func, str):
            if "." not in func and callable(getattr(builtins, func, None)):
                func = f"builtins.{func}"
        elif not (inspect.isfunction(func) or inspect.isbuiltin(func)):
            # Methods and callable objects would need an instance stored beside the name.
            raise EnqueueError(
                f"A callback must be a module-level function or its dotted path, not {func!r}."
            )
        self.func: str | Callable[..., Any] = func
        self.timeout: int = (
            DEFAULT_CALLBACK_TIMEOUT if timeout is None else parse_duration(timeout)  # type: ignore[assignment]
        )
        if self.timeout <= 0:
            raise ValueError(f"A callback's timeout must be positive seconds, not {timeout!r}.")

    @classmethod
    def of(cls, value: Any) -> Callback:
        """``value`` as a Callback: a Callback, a function or a dotted path."""
        return value if isinstance(value, Callback) else cls(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Callback) and (self.func, self.timeout) == (
            other.func,
            other.timeout,
        )

    def __hash__(self) -> int:
        return hash((self.func, self.timeout))

    def __repr__(self) -> str:
        return f"Callback({self.func!r}, timeout={self.timeout})"


def run_callback(
    job: Job,
    name: str,
    *args: Any,
    enforce_timeout: bool = True,
    death_penalty_class: Any = None,
) -> None:
    """Call the job's ``name`` callback, if it has one, under the callback's timeout.

    ``death_penalty_class`` enforces the timeout: ours (:class:`DeathPenalty`,
    the default) or another :class:`~.timeouts.BaseDeathPenalty`, built as RQ
    builds them, ``cls(timeout, JobTimeoutException, job_id=...)``.

    Raises what the callback raises (a timeout as ``JobTimeoutException``),
    and ``TypeError`` for an ``async def`` callback, which would never be awaited.
    """
    callback = job.callback(name)
    if callback is None:
        return
    if inspect.iscoroutinefunction(callback):
        raise TypeError(
            f"The {name} callback of job {job.id} is an async def function; callbacks "
            "are called, not awaited: make it a plain def."
        )
    timeout = job.callback_timeout(name) if enforce_timeout else None
    penalty = (death_penalty_class or DeathPenalty)(timeout, JobTimeoutException, job_id=job.id)
    with penalty:
        callback(job, job.connection, *args)


def execute_success_callback(job: Job, death_penalty_class: Any = None, result: Any = None) -> None:
    """Run the job's ``on_success`` callback with ``result`` under its timeout (RQ's name)."""
    run_callback(job, "on_success", result, death_penalty_class=death_penalty_class)


def execute_failure_callback(job: Job, death_penalty_class: Any = None, *exc_info: Any) -> None:
    """Run the job's ``on_failure`` callback with ``exc_info`` under its timeout (RQ's name)."""
    run_callback(job, "on_failure", *exc_info, death_penalty_class=death_penalty_class)


def execute_stopped_callback(job: Job, death_penalty_class: Any = None) -> None:
    """Run the job's ``on_stopped`` callback under its timeout (RQ's name)."""
    run_callback(job, "on_stopped", death_penalty_class=death_penalty_class)


__all__ = [
    "DEFAULT_CALLBACK_TIMEOUT",
    "Callback",
    "execute_failure_callback",
    "execute_stopped_callback",
    "execute_success_callback",
    "run_callback",
]
