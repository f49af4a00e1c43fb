"""Every option an enqueue takes, declared once.

``Queue.enqueue``, ``enqueue_call``, ``enqueue_at`` / ``enqueue_in``,
``prepare_data`` with ``enqueue_many``, ``@job`` with ``.delay()``,
``Job.create`` and the Django layer all build an :class:`EnqueueOptions`, so
an option cannot be known to one entry point and reach the function (or be
dropped) through another. Values are checked here, when the call is made,
not by a worker hours later.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .callbacks import NAMES as CALLBACK_NAMES
from .callbacks import Callback
from .keys import validate_job_id
from .rate_limit import RateLimit
from .repeat import Repeat
from .retry import Retry
from .unique import check_unique
from .utils import parse_duration
from .vocabulary import MAX_TIMEOUT, MAX_TTL
from .webhook import check as check_webhooks


@dataclass(frozen=True, slots=True)
class EnqueueOptions:
    """How a job is run and kept, and where it goes first.

    Durations are seconds, a ``timedelta`` or a string such as ``"5m"``; they
    are stored as whole seconds.

    Args:
        timeout: seconds the job may run (-1: no limit; None: the queue's default).
        result_ttl: seconds its result is kept (0: none; -1: forever; None: the default).
        ttl: seconds it may wait in the queue before it is dropped (None or -1: forever).
        failure_ttl: seconds a failed job is kept with its traceback.
        description: shown instead of the call in the dashboard and logs.
        meta: a dict of free-form data kept with the job.
        retry: a :class:`Retry` for failures.
        on_success: a callback ``f(job, connection, result)``: a function, its
            dotted path or a :class:`Callback` (kept as a Callback).
        on_failure: a callback ``f(job, connection, exc_type, exc, tb)``, likewise.
        on_stopped: a callback ``f(job, connection)`` for a job stopped on purpose, likewise.
        priority: -100..100; within a queue, higher runs first.
        job_id: the job's id instead of a generated one.
        depends_on: parent jobs or ids, or a :class:`Dependency`.
        at_front: enter the queue at its front.
        at: when to enter the queue (an aware datetime or UNIX time); None: now.
        unique: with ``job_id``, refuse (:class:`DuplicateJobError`) while any job
            with that id exists, instead of replacing one that waits or has ended.
        rate_limit: a :class:`RateLimit`: at most its concurrency of the jobs
            with its key queued or running on this queue at once.
        concurrency_key: with ``concurrency_limit``, the same as
            ``rate_limit=RateLimit(concurrency_key, concurrency_limit)`` (see
            :mod:`.rate_limit`); give both, or neither.
        concurrency_limit: how many jobs with ``concurrency_key`` may be
            queued or running on this queue at once, 1 or more.
        webhooks: a list of :class:`Webhook`, sent when the job ends.
        repeat: a :class:`Repeat`: run the job again after each success.
        unique_for: seconds (or a timedelta) during which an enqueue of the same
            call on this queue returns the job already waiting (or running)
            instead of adding another (see :mod:`.unique`).
        unique_key: names what makes jobs duplicates (``"report:42"``) instead
            of the call; needs ``unique_for``.
        unique_until: ``"start"`` (the default): a duplicate may be enqueued
            once the job starts; ``"finish"``: only once it has ended.
    """

    timeout: Any = None
    result_ttl: Any = None
    ttl: Any = None
    failure_ttl: Any = None
    description: str | None = None
    meta: dict | None = None
    retry: Any = None
    on_success: Any = None
    on_failure: Any = None
    on_stopped: Any = None
    priority: int = 0
    job_id: str | None = None
    depends_on: Any = None
    at_front: bool = False
    at: Any = None
    unique: bool = False
    repeat: Any = None
    rate_limit: Any = None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    webhooks: Any = None
    unique_for: Any = None
    unique_key: str | None = None
    unique_until: str | None = None

    def __post_init__(self) -> None:
        # Only what differs from the defaults is checked: most enqueues pass little.
        set_ = object.__setattr__
        if self.timeout is not None:
            timeout = parse_duration(self.timeout, allow_forever=True)
            if timeout == 0 or (timeout is not None and timeout > MAX_TIMEOUT):
                raise ValueError(
                    f"timeout={self.timeout!r}: give seconds from 1 to {MAX_TIMEOUT} "
                    "(a year), or -1 for no limit."
                )
            set_(self, "timeout", timeout)
        if self.result_ttl is not None:
            set_(self, "result_ttl", _ttl("result_ttl", self.result_ttl))
        if self.ttl is not None:
            ttl = _ttl("ttl", self.ttl)
            if ttl == 0:
                raise ValueError(
                    "ttl=0 would drop the job before any worker sees it: give the seconds "
                    "it may wait in the queue, or None (the default) to wait forever."
                )
            set_(self, "ttl", ttl)
        if self.failure_ttl is not None:
            set_(self, "failure_ttl", _ttl("failure_ttl", self.failure_ttl))
        if self.description is not None and not isinstance(self.description, str):
            raise TypeError(f"description must be a string, not {type(self.description).__name__}.")
        if self.meta is not None and not isinstance(self.meta, dict):
            raise TypeError(f"meta must be a dict, not {type(self.meta).__name__}.")
        if self.retry is not None and not isinstance(self.retry, Retry):
            raise TypeError("retry must be a Retry(max=..., interval=...).")
        if self.repeat is not None and not isinstance(self.repeat, Repeat):
            raise TypeError("repeat must be a Repeat(times=..., interval=...).")
        if self.priority != 0 and (
            isinstance(self.priority, bool)
            or not isinstance(self.priority, int)
            or not -100 <= self.priority <= 100
        ):
            raise ValueError(
                f"priority must be a whole number from -100 to 100, not {self.priority!r}."
            )
        if self.job_id is not None:
            validate_job_id(self.job_id)
        if not isinstance(self.at_front, bool):
            raise TypeError(f"at_front must be True or False, not {self.at_front!r}.")
        for name in CALLBACK_NAMES:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Callback):
                set_(self, name, Callback(value))
        if self.unique is not False:
            if not isinstance(self.unique, bool):
                raise TypeError(f"unique must be True or False, not {self.unique!r}.")
            if self.job_id is None:
                raise ValueError("unique=True needs a job_id: uniqueness is that of the id.")
            if self.depends_on is not None:
                raise ValueError("unique=True is not supported with job dependencies (depends_on).")
        if self.concurrency_key is not None or self.concurrency_limit is not None:
            set_(self, "rate_limit", _concurrency(self))
        if self.rate_limit is not None:
            if not isinstance(self.rate_limit, RateLimit):
                raise TypeError("rate_limit must be a RateLimit(key, concurrency).")
            if self.unique:
                raise ValueError(
                    "unique=True is not supported for rate-limited jobs (rate_limit= or "
                    "concurrency_key=)."
                )
        if self.webhooks is not None:
            set_(self, "webhooks", tuple(check_webhooks(self.webhooks)) or None)
        if self.unique_for is not None or self.unique_key is not None or self.unique_until:
            set_(self, "unique_for", check_unique(self))
            if self.unique_until is None:
                set_(self, "unique_until", "start")

    @classmethod
    def of(cls, **options: Any) -> EnqueueOptions:
        """Options from keywords, refusing unknown ones with the list of known ones.

        ``job_timeout`` is taken for ``timeout``, as RQ spells it in ``enqueue``.
        """
        if not options:
            return DEFAULTS
        if "job_timeout" in options:
            job_timeout = options.pop("job_timeout")
            if options.get("timeout") is None:
                options["timeout"] = job_timeout
        unknown = sorted(set(options) - NAMES)
        if unknown:
            raise TypeError(
                f"Unknown enqueue option(s) {', '.join(map(repr, unknown))}; the options are "
                f"{', '.join(sorted(NAMES))} (and job_timeout for timeout)."
            )
        return cls(**options)


def _concurrency(options: EnqueueOptions) -> RateLimit:
    """The :class:`RateLimit` that ``concurrency_key``/``concurrency_limit`` spell.

    They are another spelling of ``rate_limit=``, not a second mechanism: one
    set of slots per key, whichever way a job names it. Both spellings at
    once are refused unless they say the same (as after ``replace()``).
    """
    key, limit = options.concurrency_key, options.concurrency_limit
    if key is None:
        raise ValueError(
            f"concurrency_limit={limit!r} needs a concurrency_key naming the jobs it "
            'limits, e.g. concurrency_key="tenant:7".'
        )
    if limit is None:
        raise ValueError(
            f"concurrency_key={key!r} needs a concurrency_limit: how many of its jobs "
            "may run at once (1 or more)."
        )
    if not isinstance(key, str) or not key:
        raise ValueError(f"concurrency_key must be a non-empty string, not {key!r}.")
    try:
        validate_job_id(key)
    except ValueError:
        raise ValueError(
            f"Invalid concurrency_key {key!r}: use up to 200 letters, digits and '_.:@+-'."
        ) from None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"concurrency_limit must be a whole number of at least 1, not {limit!r}.")
    limit_ = RateLimit(key, limit)
    if options.rate_limit is not None and options.rate_limit != limit_:
        raise ValueError(
            "Give either rate_limit= or concurrency_key=/concurrency_limit=, not both: "
            "they are two spellings of the same limit."
        )
    return limit_


#: No option given: shared, since it cannot change.
DEFAULTS = EnqueueOptions()

#: Every option's name.
NAMES = frozenset(field.name for field in dataclasses.fields(EnqueueOptions))

#: Keywords that ``enqueue(f, *args, **kwargs)`` and ``.delay()`` take as options
#: instead of passing them to ``f``: every option but ``timeout`` (spelled
#: ``job_timeout`` there, since functions often take a ``timeout``) and ``at``
#: (``enqueue_at`` / ``delay_at`` take it first).
CALL_KEYWORDS = frozenset(NAMES - {"timeout", "at"} | {"job_timeout"})


def split_call(args: tuple, kwargs: dict) -> tuple[tuple, dict, dict[str, Any]]:
    """Separate the options of an ``enqueue(f, *args, **kwargs)`` call from ``f``'s arguments.

    ``args=`` and ``kwargs=`` pass the function keywords that are option names.
    """
    options = {name: kwargs.pop(name) for name in CALL_KEYWORDS.intersection(kwargs)}
    if "args" in kwargs or "kwargs" in kwargs:
        extra = sorted(set(kwargs) - {"args", "kwargs"})
        if args or extra:
            raise TypeError(
                "With args=/kwargs= pass every argument of the function through "
                f"them (got also {', '.join(map(repr, extra)) or 'positional ones'})."
            )
        args = tuple(kwargs.pop("args", None) or ())
        kwargs = kwargs.pop("kwargs", None) or {}
    return args, kwargs, options


def _ttl(name: str, value: Any) -> int:
    """A ttl option in seconds; over 100 years is refused, as Redis would refuse
    the EXPIRE when the job ends (in the worker, too late to tell anyone)."""
    seconds = parse_duration(value, allow_forever=True)
    assert seconds is not None  # only called for a value given
    if seconds > MAX_TTL:
        raise ValueError(f"{name}={value!r}: more than 100 years; use -1 for 'forever'.")
    return seconds
