"""A job: one call of an importable function, stored as a Redis hash.

The function is stored by name and imported by the worker, so anything that
cannot be found again by name (lambdas, nested functions, functions of a
script's ``__main__``) is refused when the job is created, not when a worker
meets it hours later.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import reprlib
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from operator import attrgetter
from typing import Any

from redis.exceptions import ResponseError

from . import chain_link, scripts
from . import rate_limit as rate_limits
from . import webhook as webhooks
from .callbacks import DEFAULT_CALLBACK_TIMEOUT
from .callbacks import NAMES as CALLBACK_NAMES
from .connection import resolve_connection
from .errors import (
    DeserializationError,
    EnqueueError,
    InvalidJobOperation,
    NoSuchJobError,
    PipelineRefused,
    SerializationError,
)
from .keys import PRIORITY_BAND, KeySpace, keyspace, validate_job_id
from .options import EnqueueOptions
from .parents import locate, register, satisfies
from .payloads import (
    SignatureError,
    SignedSerializer,
    binding,
    check_size,
    dumps_value,
    loads_value,
)
from .progress import Progress, ProgressWriter, visible
from .results import Result
from .retry import MAX_RETRIES, Retry, RetryRules
from .serializers import Serializer, resolve_serializer
from .unique import content_key, holds
from .utils import as_int, as_str, import_attribute, json_strings, now, to_datetime, truncate
from .vocabulary import (
    DEFAULT_FAILURE_TTL,
    DEFAULT_RESULT_TTL,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKER_TTL,
    MAX_TIMEOUT,
    MAX_TTL,
    JobStatus,
)

_current_job: contextvars.ContextVar[Job | None] = contextvars.ContextVar(
    "current_job", default=None
)


def get_current_job() -> Job | None:
    """The job being performed by this thread, or None outside a job."""
    return _current_job.get()


_describe = reprlib.Repr()
_describe.maxstring = 80
_describe.maxother = 80


def callable_name(func: Any, what: str = "function") -> tuple[str, Any]:
    """Return ``(dotted name, instance)`` for something a worker can call again.

    Raises EnqueueError for callables a worker could never import.
    """
    if isinstance(func, str):
        if not func or func.startswith(".") or ".." in func or "." not in func:
            raise EnqueueError(f"{func!r} is not a dotted path: use 'package.module.function'.")
        _check_importable(func, what)
        return func, None
    if inspect.ismethod(func):
        owner = func.__self__
        if isinstance(owner, type):  # a classmethod: importable through its class
            return _checked_name(func, owner, f"{owner.__qualname__}.{func.__name__}", what), None
        _check_module(type(owner).__module__, func, what)
        return func.__name__, owner
    if inspect.isfunction(func) or inspect.isbuiltin(func):
        if func.__name__ == "<lambda>":
            raise EnqueueError(
                f"A lambda cannot be used as a job {what}: workers import {what}s by name. "
                "Define it with def at module level and pass that."
            )
        return _checked_name(func, func, func.__qualname__, what), None
    if callable(func):
        _check_module(type(func).__module__, func, what)
        return "__call__", func
    raise TypeError(f"{func!r} is not callable: pass a function or its dotted path.")


def _check_importable(path: str, what: str) -> None:
    """Refuse a dotted path a worker could not import (import_attribute caches the lookup)."""
    try:
        target = import_attribute(path)
    except Exception as exc:  # a missing name, or a module that fails to import
        raise EnqueueError(
            f"Cannot import job {what} {path!r} ({type(exc).__name__}: {exc}); workers would "
            "fail on it too. "
            "Check the spelling, or that the module is on the path of this process too."
        ) from None
    if not callable(target) or inspect.ismodule(target):
        raise EnqueueError(
            f"{path!r} names a {type(target).__name__}, not a function: give the dotted "
            f"path of the {what} itself, such as 'myapp.tasks.send_report'."
        )


def _check_module(module: str | None, func: Any, what: str) -> None:
    if module == "__main__":
        raise EnqueueError(
            f"Functions from the __main__ module cannot be processed by workers: move "
            f"{getattr(func, '__qualname__', func)!r} into a module and import it from there."
        )
    if not module:
        raise EnqueueError(
            f"{getattr(func, '__qualname__', func)!r} has no module (was it defined in an "
            "interactive shell?), so workers cannot import it: define it in a module of your "
            "project (such as myapp/tasks.py) and import it from there."
        )


def _checked_name(func: Any, owner: Any, qualname: str, what: str) -> str:
    module = getattr(owner, "__module__", None)
    _check_module(module, func, what)
    code = getattr(func, "__code__", None)
    if code is not None and code.co_filename.startswith("<"):
        # "<console>", "<stdin>", "<string>": typed into a shell (manage.py
        # shell, also with -c or a pipe) or made by exec(), so no file of the
        # module holds it and a worker's import cannot find it.
        raise EnqueueError(
            f"{qualname!r} was defined in an interactive shell or by exec() "
            f"({code.co_filename}), so workers cannot import it: define it in a module "
            "of your project (such as myapp/tasks.py) and import it from there."
        )
    if "<locals>" in qualname:
        raise EnqueueError(
            f"{qualname!r} is defined inside another function, so workers cannot import it. "
            f"Move it to module level to use it as a job {what}."
        )
    name = f"{module}.{qualname}"
    # Workers import by name: make sure the name leads back to this function
    # (cheap, the module is already imported).
    found: Any = sys.modules.get(module or "")
    for attr in qualname.split("."):
        found = getattr(found, attr, None)
    if found is not None and found != func:
        raise EnqueueError(
            f"{name!r} does not lead back to {func!r}: workers import job {what}s by name, "
            "so pass the module-level object itself."
        )
    return name


class Job:
    """One call of a function, as stored in Redis.

    Jobs are made by :meth:`Queue.enqueue` and read back with :meth:`Job.fetch`;
    creating one directly does not store it.
    """

    #: Attributes naming code a worker imports. A signed call binds them with
    #: the job id (see :mod:`.payloads`), so a job hash whose function or
    #: callback was rewritten in Redis is refused before anything is imported.
    #: A new field that names something to import or call belongs here (the
    #: Retry rules, which name exception classes, are bound apart: see
    #: :meth:`_call_binding`).
    CODE_FIELDS = ("func_name", "on_success", "on_failure", "on_stopped")

    # The Retry's rules beyond RQ's arguments (see the retry_rules property):
    # kept as stored (a signed call binds that text), parsed only when a run
    # fails. Class-level defaults: a job without rules spends nothing on them.
    _retry_rules_text: bytes | str | None = None
    _retry_rules: Any = None

    # The unique key (see :mod:`.unique`), class-level too: most jobs have none.
    #: The key that makes jobs duplicates of this one on its queue, if it has one.
    unique_key: str | None = None
    #: When it stops holding that key: ``"start"`` or ``"finish"``.
    unique_until: str | None = None
    #: Seconds the key is held at most, from the enqueue.
    unique_for: int | None = None
    #: True on a job an enqueue returned instead of adding a duplicate of it.
    is_duplicate = False

    def __init__(
        self,
        id: str | None = None,
        connection: Any = None,
        *,
        origin: str = "",
        serializer: Any = None,
        prefix: str | None = None,
    ):
        #: Whether the id was picked by the caller (it may then clash with a live job).
        self.id_chosen = id is not None
        self.id = validate_job_id(id) if id is not None else str(uuid.uuid4())
        self.connection = resolve_connection(connection)
        self.serializer: Serializer = resolve_serializer(serializer)
        self.keys: KeySpace = keyspace(prefix)
        #: The job's queue; "" until it is enqueued or saved, as in RQ.
        self.origin = origin
        self.func_name: str | None = None
        self._description: str | None = None
        self._data: bytes | None = None
        self._instance: Any = None
        self._args: tuple | None = None
        self._kwargs: dict | None = None
        self._loaded = False
        self._status: JobStatus | None = None
        # The timestamp properties' storage (UNIX seconds), set directly: cheaper.
        self._created_at: float | None = now()
        self._enqueued_at: float | None = None
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self.timeout: int | None = DEFAULT_TIMEOUT
        #: None: the worker's default (500 s unless the worker says otherwise).
        self.result_ttl: int | None = None
        #: None: the default (:data:`DEFAULT_FAILURE_TTL`, a year).
        self.failure_ttl: int | None = None
        self.ttl: int | None = None
        # Created on first use (see the meta property): most jobs carry none,
        # and every container a job allocates adds to the cyclic GC's work
        # when thousands are enqueued or run in a row.
        self._meta: dict | None = None
        #: The stored meta this process could not read (see :meth:`_read_meta`).
        self._meta_unread: bytes | None = None
        self._result: Any = None
        self._result_raw: bytes | None = None
        self._latest_result: Result | None = None
        self._exc_info: str | None = None
        self.worker_name: str | None = None
        # Replaced, never changed in place: an empty tuple costs no allocation.
        self._dependency_keys: Sequence[str] = ()
        self._dependent_keys: Sequence[str] = ()
        self._pending_keys: Sequence[str] = ()
        #: The parents (jobs or ids) given to create(), until enqueue_job locates them.
        self._declared_parents: Sequence[Any] = ()
        self.allow_dependency_failures = False
        self.enqueue_at_front = False
        self.retries_left: int | None = None
        self.retry_intervals: Sequence[float] = ()
        self.retry_max: int | None = None
        #: Retried without a wait, it goes back to the front of its queue.
        self.enqueue_at_front_on_retry = False
        #: Runs that ended by returning a :class:`~.retry.Retry` and were retried
        #: (counted apart from ``retries_left``, which only raised errors use up).
        self.returned_retries = 0
        #: The Retry the latest run returned, if it ended that way.
        self.returned_retry: Retry | None = None
        #: Runs still to come after a success (see :mod:`.repeat`); None: not repeated.
        self.repeats_left: int | None = None
        #: Seconds before each run still to come; the last value repeats.
        self.repeat_intervals: list[int] | None = None
        #: The name of the :class:`~.group.Group` the job belongs to, if any.
        self.group_id: str | None = None
        #: Where the job stands in a :class:`~.chain.Chain` (see :mod:`.chain_link`);
        #: None for a job that is no chain's step.
        self.chain: dict | None = None
        self.on_success: str | None = None
        self.on_failure: str | None = None
        self.on_stopped: str | None = None
        #: Seconds each callback may run, by option name, when not the default.
        self.callback_timeouts: dict[str, int] = {}
        #: Where the job's state lives: its hash in Redis, or only this object
        #: (see :class:`JobStore`).
        self.store: JobStore = REDIS
        #: Not written to Redis yet (waiting for a transaction to commit).
        self.unsaved = False
        #: Whether this job was ever written to Redis or read from it (a job
        #: gone since then has ended; one never stored was a mistake).
        self.stored = False
        #: -100..100; within a queue, higher runs first (0 is the plain FIFO list).
        self.priority = 0
        #: The options the job was created with; None for a job read from Redis.
        self.options: EnqueueOptions | None = None
        self._progress: Progress | None = None
        self._progress_writer: ProgressWriter | None = None
        #: The rate limit the job counts against (see :mod:`.rate_limit`), or None.
        self.rate_limit_key: str | None = None
        self.rate_limit_concurrency: int | None = None
        #: The :class:`~.webhook.Webhook` objects sent when the job ends.
        self.webhooks: list[webhooks.Webhook] = []

    # -- creation and loading ------------------------------------------------

    @classmethod
    def create(
        cls,
        func: Any,
        args: Iterable = (),
        kwargs: dict | None = None,
        *,
        connection: Any = None,
        origin: str = "",
        id: str | None = None,
        serializer: Any = None,
        prefix: str | None = None,
        options: EnqueueOptions | None = None,
        **option_kwargs: Any,
    ) -> Job:
        """Build a job in memory, checking that a worker will be able to run it.

        The job's options come as keywords (those of :class:`EnqueueOptions`)
        or as ``options``; ``depends_on``, ``at_front`` and ``at`` are kept
        for :meth:`Queue.enqueue_job` to place the job when it is stored.
        """
        if options is None:
            options = EnqueueOptions.of(**option_kwargs)
        elif option_kwargs:
            raise TypeError("Pass the job's options as keywords or as options=, not both.")
        if kwargs is None:
            kwargs = {}
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"args must be a tuple or list, not {type(args).__name__}.")
        if not isinstance(kwargs, dict):
            raise TypeError(f"kwargs must be a dict, not {type(kwargs).__name__}.")
        if id is not None and options.job_id is not None and id != options.job_id:
            raise TypeError("Give the job's id once: id= or job_id=.")
        job = cls(
            id if id is not None else options.job_id,
            connection,
            origin=origin,
            serializer=serializer,
            prefix=prefix,
        )
        job.options = options
        job.func_name, job._instance = callable_name(func)
        if options.depends_on is not None:
            job._declared_parents, job.allow_dependency_failures, _ = split_depends_on(
                options.depends_on
            )
        for name in CALLBACK_NAMES:
            callback = getattr(options, name)
            if callback is not None:
                setattr(job, name, callable_name(callback.func, "callback")[0])
                if callback.timeout != DEFAULT_CALLBACK_TIMEOUT:
                    job.callback_timeouts[name] = callback.timeout
        if options.retry is not None and not options.retry.rules.is_default:
            job.retry_rules = options.retry.rules  # before signing: the call binds them
        job._args, job._kwargs = tuple(args), dict(kwargs)
        job._loaded = True
        job._data = job._dumps(
            (job._instance, job._args, job._kwargs),
            f"the arguments of {job.func_name}",
            bound=job._call_binding(),
        )
        check_size(job._data, f"The arguments of {job.func_name}")
        if options.description is not None:
            check_size(options.description.encode(), f"The description of {job.func_name}")
            job._description = options.description
        if options.timeout is not None:
            job.timeout = options.timeout
        if options.result_ttl is not None:
            job.result_ttl = options.result_ttl
        if options.failure_ttl is not None:
            job.failure_ttl = options.failure_ttl
        job.ttl = options.ttl
        if options.meta is not None:
            job.meta = options.meta
            check_size(
                job._dumps(options.meta, "meta", field="meta"), f"The meta of {job.func_name}"
            )
        if options.retry is not None:
            job.retries_left = job.retry_max = options.retry.max
            job.retry_intervals = options.retry.intervals
            job.enqueue_at_front_on_retry = options.retry.enqueue_at_front
        if options.repeat is not None:
            job.repeats_left = options.repeat.times
            job.repeat_intervals = list(options.repeat.intervals)
        job.priority = options.priority
        if options.rate_limit is not None:
            job.rate_limit_key = options.rate_limit.key
            job.rate_limit_concurrency = options.rate_limit.concurrency
        if options.webhooks:
            job.webhooks = list(options.webhooks)
        if options.unique_for is not None:
            job.unique_for, job.unique_until = options.unique_for, options.unique_until
            job.unique_key = options.unique_key or content_key(
                job.func_name, job._instance, job._args, job._kwargs
            )
        job.created_at = now()
        job._status = JobStatus.CREATED  # in memory only, until it is saved or enqueued
        return job

    @classmethod
    def fetch(
        cls,
        id: str,
        connection: Any = None,
        serializer: Any = None,
        *,
        origin: str | None = None,
        prefix: str | None = None,
    ) -> Job:
        """Read a job back from Redis.

        Args:
            id: the job id.
            origin: the job's queue, when known; otherwise every known queue is
                looked at (one more round trip).

        Raises:
            NoSuchJobError: no queue holds a job with this id.
        """
        job = cls(id, connection, origin=origin or "default", serializer=serializer, prefix=prefix)
        if origin is not None:
            fields = job.connection.hgetall(job.key)
        else:
            fields = job._find_origin()
        if not fields:
            raise NoSuchJobError(f"No job with id {id!r}.")
        job._load(fields)
        return job

    @classmethod
    def fetch_many(
        cls,
        ids: Sequence[str],
        connection: Any = None,
        serializer: Any = None,
        *,
        origin: str | None = None,
        prefix: str | None = None,
    ) -> list[Job | None]:
        """Read several jobs of one queue in one round trip; None for missing ones.

        Without ``origin`` each job is looked for on every known queue, as
        :meth:`fetch` does: one round trip per job more.
        """
        connection = resolve_connection(connection)
        if origin is None:
            return [cls._fetch_or_none(i, connection, serializer, prefix) for i in ids]
        ks = keyspace(prefix)
        pipe = connection.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(ks.job(origin, as_str(job_id)))
        jobs: list[Job | None] = []
        for job_id, fields in zip(ids, pipe.execute()):
            if fields:
                job = cls(
                    as_str(job_id), connection, origin=origin, serializer=serializer, prefix=prefix
                )
                job._load(fields)
                jobs.append(job)
            else:
                jobs.append(None)
        return jobs

    @classmethod
    def _fetch_or_none(
        cls, job_id: str, connection: Any, serializer: Any, prefix: str | None
    ) -> Job | None:
        try:
            return cls.fetch(as_str(job_id), connection, serializer=serializer, prefix=prefix)
        except NoSuchJobError:
            return None

    @classmethod
    def from_hash(
        cls,
        id: str,
        fields: dict,
        connection: Any,
        *,
        origin: str,
        serializer: Any = None,
        prefix: str | None = None,
    ) -> Job:
        job = cls(id, connection, origin=origin, serializer=serializer, prefix=prefix)
        job._load(fields)
        return job

    def _find_origin(self) -> dict:
        queues = sorted(as_str(q) for q in self.connection.smembers(self.keys.queues))
        if not queues:
            return {}
        pipe = self.connection.pipeline(transaction=False)
        for queue in queues:
            pipe.hgetall(self.keys.job(queue, self.id))
        found = [(q, f) for q, f in zip(queues, pipe.execute()) if f]
        if not found:
            return {}
        # Generated ids are unique; a hand-picked id reused on two queues finds
        # the most recently created job.
        queue, fields = max(found, key=lambda qf: float(qf[1].get(b"created_at", 0) or 0))
        self.origin = queue
        return fields

    def _load(self, fields: dict) -> None:
        # Hashes come from Redis with bytes keys; others (tests, callers) are converted.
        if not isinstance(next(iter(fields), b""), bytes):
            fields = {k.encode() if isinstance(k, str) else k: v for k, v in fields.items()}
        get = fields.get
        self.stored = True
        self.func_name = as_str(get(b"func"))
        self._description = as_str(get(b"desc"))
        self._data = get(b"data")
        self._loaded = False
        self._status = _STATUS_BY_VALUE.get(get(b"status"))
        self._created_at = _float(get(b"created_at"))
        self._enqueued_at = _float(get(b"enqueued_at"))
        self._started_at = _float(get(b"started_at"))
        self._ended_at = _float(get(b"ended_at"))
        # Bounded as at enqueue: a worker's timer cannot take a timeout rewritten to 10**12.
        self.timeout = min(as_int(get(b"timeout"), DEFAULT_TIMEOUT), MAX_TIMEOUT)
        # Bounded too: Redis refuses an EXPIRE of 10**20 while the outcome is recorded.
        self.result_ttl = _ttl(get(b"result_ttl"))
        self.failure_ttl = _ttl(get(b"failure_ttl"))
        self.ttl = _ttl(get(b"ttl"))
        # A unique job's key (see :mod:`.unique`): the attributes are class-level
        # None, so a job without one (or loaded afresh) sets nothing.
        unique_key = get(b"unique_key")
        if unique_key is not None or self.unique_key is not None:
            self.unique_key = as_str(unique_key)
            self.unique_until = as_str(get(b"unique_until"))
            self.unique_for = as_int(get(b"unique_for"))
        self._meta = self._read_meta(get(b"meta")) or None
        self._result_raw = get(b"result")
        self._result = None
        self._exc_info = as_str(get(b"exc_info"))
        self.worker_name = as_str(get(b"worker"))
        if fields.keys().isdisjoint(_RARE_FIELDS):
            # Most jobs have none of the fields below: their attributes get
            # their defaults at once, instead of each field being looked up,
            # converted and found missing (a sixth of a worker's time per job).
            self.__dict__.update(_RARE_DEFAULTS)
            self.callback_timeouts = {}
            self.webhooks = []
            if self._retry_rules_text is not None:
                self._retry_rules_text = self._retry_rules = None
            return
        self._dependency_keys = _key_list(get(b"deps"))
        self._dependent_keys = _key_list(get(b"dependents"))
        self._pending_keys = _key_list(get(b"pending"))
        self.allow_dependency_failures = get(b"allow_failure") == b"1"
        self.enqueue_at_front = get(b"at_front") == b"1"
        # A count past what Redis's HINCRBY takes (only another program writes
        # one) is no count: the job is not retried, and the fail script does
        # not count it down.
        left = as_int(get(b"retries_left"))
        self.retries_left = left if left is None or abs(left) <= MAX_RETRIES else None
        self.retry_max = as_int(get(b"retry_max"))
        self.retry_intervals = _json_list(get(b"retry_intervals"))
        self.enqueue_at_front_on_retry = get(b"retry_at_front") == b"1"
        rules = get(b"retry_rules")
        if rules or self._retry_rules_text is not None:
            self._retry_rules_text, self._retry_rules = rules, _UNPARSED if rules else None
        self.returned_retries = as_int(get(b"returned_retries"), 0)
        self.returned_retry = Retry.loads(get(b"returned_retry"))
        self.repeats_left = as_int(get(b"repeats_left"))
        self.repeat_intervals = list(_json_list(get(b"repeat_intervals"))) or None
        self.group_id = as_str(get(b"group"))
        chain = get(b"chain")
        self.chain = None if chain is None else chain_link.loads(chain)
        self.on_success = as_str(get(b"on_success"))
        self.on_failure = as_str(get(b"on_failure"))
        self.on_stopped = as_str(get(b"on_stopped"))
        try:
            self.callback_timeouts = json.loads(get(b"callback_timeouts") or "{}")
        except ValueError:  # unreadable: callback_timeout() falls back to the default
            self.callback_timeouts = {}
        self.priority = as_int(get(b"priority"), 0)
        self._progress = Progress.loads(get(b"progress"), self.started_timestamp())
        self.rate_limit_key = as_str(get(b"rl_key"))
        self.rate_limit_concurrency = as_int(get(b"rl_concurrency"))
        self.webhooks = webhooks.loads(get(b"webhooks"))

    def to_fields(self) -> list[Any]:
        """The hash fields written when the job is enqueued.

        The script adds status, created_at, enqueued_at and ttl; the queue is
        part of the key, so it is not repeated inside.
        """
        values = {
            "func": self.func_name,
            "data": self._data,
            # Defaults are not written: a job hash holds only what differs.
            "desc": self._description,
            "timeout": None if self.timeout == DEFAULT_TIMEOUT else self.timeout,
            "result_ttl": self.result_ttl,
            "failure_ttl": self.failure_ttl,
            "meta": self._meta_field(),
            "deps": json.dumps(self._dependency_keys) if self._dependency_keys else None,
            "pending": json.dumps(self._pending_keys) if self._pending_keys else None,
            "allow_failure": "1" if self.allow_dependency_failures else None,
            "at_front": "1" if self.enqueue_at_front else None,
            "retries_left": self.retries_left,
            "retry_max": self.retry_max,
            "retry_intervals": (
                json.dumps(list(self.retry_intervals)) if self.retry_intervals else None
            ),
            "retry_at_front": "1" if self.enqueue_at_front_on_retry else None,
            "retry_rules": self._retry_rules_text,
            "repeats_left": self.repeats_left,
            "repeat_intervals": (
                json.dumps(self.repeat_intervals) if self.repeat_intervals is not None else None
            ),
            "group": self.group_id,
            "chain": chain_link.dumps(self.chain) if self.chain else None,
            "on_success": self.on_success,
            "on_failure": self.on_failure,
            "on_stopped": self.on_stopped,
            "callback_timeouts": (
                json.dumps(self.callback_timeouts) if self.callback_timeouts else None
            ),
            "priority": self.priority or None,
            "rl_key": self.rate_limit_key,
            "rl_concurrency": self.rate_limit_concurrency if self.rate_limit_key else None,
            "webhooks": webhooks.dumps(self.webhooks) if self.webhooks else None,
        }
        flat: list[Any] = []
        for name, value in values.items():
            if value is not None:
                flat += [name, value]
        if self.unique_key is not None:
            flat += [
                "unique_key",
                self.unique_key,
                "unique_until",
                self.unique_until,
                "unique_for",
                self.unique_for,
            ]
        return flat

    def to_dict(self, include_meta: bool = True, include_result: bool = True) -> dict[str, Any]:
        """The job as its hash holds it, field by field (RQ's name; our field names).

        With the status, times (UNIX seconds), worker and queue besides the
        fields :meth:`to_fields` lists; ``include_meta`` and
        ``include_result`` (the serialized result and the traceback) as in RQ.
        """
        pairs = self.to_fields()
        fields: dict[str, Any] = dict(zip(pairs[::2], pairs[1::2]))
        fields["origin"] = self.origin
        if self._status is not None:
            fields["status"] = str(self._status)
        for name in ("created_at", "enqueued_at", "started_at", "ended_at"):
            if (stamp := getattr(self, f"_{name}")) is not None:
                fields[name] = stamp
        if self.worker_name:
            fields["worker"] = self.worker_name
        if include_result:
            if self._result_raw is not None:
                fields["result"] = self._result_raw
            if self._exc_info is not None:
                fields["exc_info"] = self._exc_info
        if not include_meta:
            fields.pop("meta", None)
        return fields

    # -- serialization -------------------------------------------------------

    def _call_binding(self) -> bytes:
        """What a signed call binds besides its bytes: the job id and the names of its code.

        And the Retry rules when the job has some: they name exception classes
        a worker imports; and a chain step's link (see below). A job without
        them binds what it always did, so jobs signed before they existed
        still verify.
        """
        bound = binding(self.id, *_code_fields(self))
        rules = self._retry_rules_text
        if rules:
            bound += b"retry_rules" + binding(rules if isinstance(rules, str) else rules.decode())
        # A chain step's link names the job whose result becomes its first
        # argument: a writer who could add or redirect it would choose that
        # argument. Jobs outside a chain bind what they always did.
        link = getattr(self, "chain", None)
        if link:
            bound += b"chain" + binding(json.dumps(link, sort_keys=True, separators=(",", ":")))
        return bound

    def _dumps(
        self, value: Any, what: str, bound: bytes | None = None, field: str | None = None
    ) -> bytes:
        """``value`` serialized: a call signed with ``bound``, or this job's ``field``."""
        try:
            if field is not None:
                return dumps_value(self.serializer, value, self.id, field)
            if bound is not None and isinstance(self.serializer, SignedSerializer):
                return self.serializer.dumps(value, bound)
            return self.serializer.dumps(value)
        except Exception as exc:
            raise SerializationError(
                f"Cannot serialize {what} with the {getattr(self.serializer, 'name', 'chosen')} "
                f"serializer ({type(exc).__name__}: {exc}). Pass plain data such as ids, strings "
                "and numbers, and load objects inside the job."
            ) from exc

    def _load_data(self) -> None:
        if self._loaded:
            return
        if self._data is None:
            raise DeserializationError(f"Job {self.id} has no stored call data.")
        serializer = self.serializer
        try:
            if isinstance(serializer, SignedSerializer):
                instance, args, kwargs = serializer.loads(self._data, self._call_binding())
            else:
                instance, args, kwargs = serializer.loads(self._data)
        except SignatureError as exc:
            raise SignatureError(
                f"Refused to run job {self.id} ({self.func_name}): its stored call was "
                "tampered with in Redis or written with another signing key, so nothing was "
                f"imported or unpickled. {exc}"
            ) from None
        except Exception as exc:
            raise DeserializationError(
                f"Could not read the stored call of job {self.id}: {type(exc).__name__}: {exc}"
            ) from exc
        self._instance, self._args, self._kwargs = instance, tuple(args), dict(kwargs)
        self._loaded = True

    @property
    def args(self) -> tuple:
        self._load_data()
        return self._args  # type: ignore[return-value]

    @property
    def kwargs(self) -> dict:
        self._load_data()
        return self._kwargs  # type: ignore[return-value]

    @property
    def instance(self) -> Any:
        self._load_data()
        return self._instance

    @property
    def func(self) -> Callable:
        """The callable itself, imported by name once the signed call is verified."""
        if self.instance is not None:  # reading the instance verifies the call first
            return getattr(self.instance, self.func_name)  # type: ignore[arg-type]
        return import_attribute(self.func_name)  # type: ignore[arg-type]

    def callback(self, name: str) -> Callable | None:
        """The ``on_success`` or ``on_failure`` callback, imported once the signed call is verified.

        The call's signature binds the callbacks' names, so one rewritten in
        Redis raises :class:`SignatureError` here instead of being imported.
        """
        path = getattr(self, name)
        if not path:
            return None
        self._load_data()
        return import_attribute(path)

    @property
    def description(self) -> str:
        """The description given at enqueue, else the call with its arguments."""
        return self._description if self._description is not None else self.call_string()

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    @property
    def data(self) -> bytes:
        """The call as RQ's ``(func_name, instance, args, kwargs)``, serialized (RQ's name).

        Made with the job's serializer, unsigned: a signed call is verified
        first, and setting ``data`` signs the call anew (see :mod:`.payloads`).

        Raises:
            DeserializationError: the job has no function, or its stored call
                cannot be read.
        """
        if self.func_name is None:
            raise DeserializationError(f"Job {self.id} has no function, so no call data.")
        if self._loaded or self._data is not None:
            call = (self.func_name, self.instance, self.args, self.kwargs)
        else:
            call = (self.func_name, None, (), {})
        return self._plain_serializer().dumps(call)

    @data.setter
    def data(self, value: bytes) -> None:
        try:
            func_name, instance, args, kwargs = self._plain_serializer().loads(value)
        except Exception as exc:
            raise DeserializationError(f"Cannot read call data for job {self.id}: {exc}") from exc
        self.func_name = func_name
        self._instance, self._args, self._kwargs = instance, tuple(args), dict(kwargs)
        self._loaded = True
        self._data = self._dumps(
            (self._instance, self._args, self._kwargs),
            f"the arguments of {func_name}",
            bound=self._call_binding(),
        )

    def _plain_serializer(self) -> Any:
        """The job's serializer without its signature (see :class:`SignedSerializer`)."""
        serializer = self.serializer
        return serializer.inner if isinstance(serializer, SignedSerializer) else serializer

    def call_string(self) -> str:
        try:
            args = [_describe.repr(a) for a in self.args]
            args += [f"{k}={_describe.repr(v)}" for k, v in self.kwargs.items()]
        except DeserializationError:
            args = ["?"]
        return truncate(f"{self.func_name}({', '.join(args)})", 500)

    # -- state ---------------------------------------------------------------

    @property
    def queue_name(self) -> str:
        """The queue whose keys hold the job: its ``origin``, else ``"default"``.

        A job not enqueued yet has no origin (as in RQ); saved, it is kept
        under the default queue until :meth:`Queue.enqueue_job` places it.
        """
        return self.origin or DEFAULT_QUEUE_NAME

    @property
    def key(self) -> str:
        return self.keys.job(self.queue_name, self.id)

    def __str__(self) -> str:
        return f"<Job {self.id}: {self.description}>"

    def __repr__(self) -> str:
        return f"Job({self.id!r}, enqueued_at={self.enqueued_at!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and (self.id, self.origin) == (other.id, other.origin)

    def __hash__(self) -> int:
        return hash((self.id, self.origin))

    @property
    def detached(self) -> bool:
        """Whether the job ran inline and is kept only in this process (never in Redis)."""
        return not self.store.in_redis

    def get_status(self, refresh: bool = True) -> JobStatus | None:
        """The job's status, read from Redis unless ``refresh`` is False.

        Raises:
            InvalidJobOperation: the job is gone from Redis (deleted, or expired
                with its result), as in RQ; ``refresh=False`` then returns the
                status last known, and the ``is_*`` properties are all False.
        """
        if refresh and self.store.in_redis and not self.unsaved and self._read_status() is None:
            raise InvalidJobOperation(
                f"Job {self.id} is not in Redis (deleted or expired, or never stored)."
            )
        return self._status

    def _read_status(self) -> JobStatus | None:
        """The status read fresh (None: the job is gone); the job object's own in memory."""
        if not self.unsaved and (stored := self.store.read(self, "status")) is not None:
            status = as_str(stored[0])
            self._status = JobStatus(status) if status else None
        return self._status

    def set_status(self, status: JobStatus | str) -> None:
        self._status = status if type(status) is JobStatus else JobStatus(status)

    is_queued = property(lambda self: self._read_status() == JobStatus.QUEUED)
    is_started = property(lambda self: self._read_status() == JobStatus.STARTED)
    is_finished = property(lambda self: self._read_status() == JobStatus.FINISHED)
    is_failed = property(lambda self: self._read_status() == JobStatus.FAILED)
    is_deferred = property(lambda self: self._read_status() == JobStatus.DEFERRED)
    is_scheduled = property(lambda self: self._read_status() == JobStatus.SCHEDULED)
    is_canceled = property(lambda self: self._read_status() == JobStatus.CANCELED)
    is_stopped = property(lambda self: self._read_status() == JobStatus.STOPPED)
    is_rate_limited = property(lambda self: self._read_status() == JobStatus.RATE_LIMITED)

    def holds_unique_key(self) -> bool:
        """Whether the job holds its unique key now (see :mod:`.unique`): it was
        enqueued with ``unique_for``, the window has not run out, and it waits
        to run, or runs with ``unique_until="finish"``. One round trip."""
        return self.unique_key is not None and holds(self)

    @property
    def has_rate_limit(self) -> bool:
        """Whether the job counts against a rate limit (see :mod:`.rate_limit`)."""
        return bool(self.rate_limit_key and self.rate_limit_concurrency)

    def send_webhooks(self, status: str, *, exc_string: str | None = None) -> None:
        """Send the job's webhooks for ``status`` (see :mod:`.webhook`); never raises."""
        webhooks.send_webhooks(self, status, exc_string=exc_string)

    # Timestamps are stored as UNIX seconds and shown as aware UTC datetimes.
    def _ts(name: str) -> property:  # type: ignore[misc]
        attr = "_" + name

        def get(self):
            return to_datetime(getattr(self, attr, None))

        def set(self, value):
            if hasattr(value, "timestamp"):
                value = value.timestamp()
            setattr(self, attr, value)

        return property(get, set)

    created_at = _ts("created_at")
    enqueued_at = _ts("enqueued_at")
    started_at = _ts("started_at")
    ended_at = _ts("ended_at")
    del _ts

    def refresh(self) -> None:
        """Reload every field from Redis."""
        fields = self.store.read_all(self)
        if fields is None:
            return
        if not fields:
            raise NoSuchJobError(f"No job with id {self.id!r}.")
        self._load(fields)

    @property
    def result(self) -> Any:
        """The return value once the job finished, else None (asks Redis until then)."""
        if (
            self._result_raw is None
            and (stored := self.store.read(self, "status", "result")) is not None
        ):
            status, raw = stored
            if status is not None:
                self._status = JobStatus(as_str(status))
            self._result_raw = raw
        if self._result_raw is not None and self._result is None:
            self._result = loads_value(self.serializer, self._result_raw, self.id, "result")
        return self._result

    def set_result(self, result: Any, raw: bytes | None) -> None:
        """Keep the return value and its serialized form, as the job's outcome recorded them."""
        self._result, self._result_raw = result, raw

    def return_value(self, refresh: bool = False) -> Any:
        """What the latest run returned: None before one ended, or when it did not succeed.

        The latest result is that of :meth:`latest_result` (the outcome a
        worker recorded, or one recorded through ``Result.create``); once
        found it is kept, unless ``refresh``.
        """
        if refresh or self._latest_result is None:
            self._latest_result = self.latest_result()
        latest = self._latest_result
        if latest is None or latest.type != Result.Type.SUCCESSFUL:
            return None
        return latest.return_value

    def latest_result(self, timeout: float = 0) -> Result | None:
        """How the latest run ended, as a :class:`~.results.Result`; None before any run ended.

        Args:
            timeout: seconds to wait for a run to end when none has yet (0: do not wait).
        """
        return Result.fetch_latest(self, timeout=timeout)

    def results(self) -> list[Result]:
        """The results kept, newest first: the outcome the job holds, and those recorded
        through ``Result.create`` (see :mod:`.results`)."""
        return Result.all(self)

    @property
    def exc_info(self) -> str | None:
        """The traceback of the last failure, as text."""
        if self._exc_info is None and (stored := self.store.read(self, "exc_info")) is not None:
            self._exc_info = as_str(stored[0])
        return self._exc_info

    @exc_info.setter
    def exc_info(self, value: str | None) -> None:
        self._exc_info = value

    @property
    def meta(self) -> dict:
        """Free-form data kept with the job (``save_meta`` stores it)."""
        if self._meta is None:
            self._meta = {}
        return self._meta

    @meta.setter
    def meta(self, value: dict) -> None:
        self._meta = value

    def get_meta(self, refresh: bool = True) -> dict:
        """:attr:`meta`, read fresh from Redis unless ``refresh`` is False."""
        if refresh and (stored := self.store.read(self, "meta")) is not None:
            self.meta = self._read_meta(stored[0])
        return self.meta

    def save_meta(self) -> None:
        """Store ``job.meta``; the job must still exist."""
        self.store.write(self, "meta", self._meta_field() or self._dumps({}, "meta", field="meta"))

    def _read_meta(self, raw: bytes | None) -> dict:
        """Stored meta as a dict; ``{"unserialized": raw}`` when it cannot be read here.

        Meta written by another process may hold objects this one cannot
        import: as in RQ, the raw bytes are kept under ``"unserialized"`` and
        written back as they were by :meth:`save` and :meth:`save_meta` until
        the meta is changed.
        """
        self._meta_unread = None
        if not raw:
            return {}
        try:
            return loads_value(self.serializer, raw, self.id, "meta")
        except Exception:
            self._meta_unread = raw
            return {"unserialized": raw}

    def _meta_field(self) -> bytes | None:
        """The meta as stored: None for none, the bytes read if unreadable and unchanged."""
        if not self._meta:
            return None
        if self._meta_unread is not None and self._meta == {"unserialized": self._meta_unread}:
            return self._meta_unread
        return self._dumps(self._meta, "meta", field="meta")

    def save(self) -> None:
        """Store the fields people change after enqueueing: meta, description, TTLs, timeout.

        The job's place (queue or registry), status and call are left as they
        are. A job that was never enqueued (from :meth:`create`) is stored
        whole, as RQ does, with status ``created``: in no queue and no
        registry, so no worker takes it until :meth:`Queue.enqueue_job` puts
        it in one. Its ``ttl``, if any, is that hash's expiry.

        Raises:
            DuplicateJobError: a never-enqueued job's id belongs to a job that
                is in a queue or registry (that job is kept).
            NoSuchJobError: the job is gone (deleted or expired).
        """
        if not self.store.in_redis:
            return
        if not self.stored:
            if self.func_name is None:
                raise ValueError(f"Job {self.id} has no function to call, so it cannot be saved.")
            self._save_created()
            return
        if self.unsaved:
            raise InvalidJobOperation(
                f"Job {self.id} is stored when its transaction commits; save it after that."
            )
        values = {
            "desc": self._description,
            "timeout": None if self.timeout == DEFAULT_TIMEOUT else self.timeout,
            "result_ttl": self.result_ttl,
            "failure_ttl": self.failure_ttl,
            "meta": self._meta_field(),
        }
        if not scripts.save(self.connection, self.key, values):
            raise NoSuchJobError(f"No job with id {self.id!r}.")

    def _save_created(self) -> None:
        self.origin = self.queue_name
        if self._created_at is None:
            self._created_at = now()
        fields = ["status", JobStatus.CREATED.value, "created_at", repr(self._created_at)]
        try:
            scripts.save_created(self.connection, self.key, self.ttl, [*fields, *self.to_fields()])
        except ResponseError as exc:
            raise scripts.script_error(exc, self.id, queue=self.origin) from None
        # Job.fetch() without an origin looks for the job among the known queues.
        self.connection.sadd(self.keys.queues, self.origin)
        self._status = JobStatus.CREATED
        self.stored = True

    @classmethod
    def exists(
        cls,
        job_id: str,
        connection: Any = None,
        *,
        origin: str | None = None,
        prefix: str | None = None,
    ) -> bool:
        """Whether a job with this id is in Redis (on queue ``origin``, else on any queue)."""
        job = cls(job_id, connection, origin=origin or "default", prefix=prefix)
        if origin is not None:
            return bool(job.connection.exists(job.key))
        return bool(job._find_origin())

    @property
    def number_of_retries(self) -> int | None:
        """How many times the job was retried so far (RQ's name).

        Both kinds count: retries after an error (``retry=Retry(...)`` at
        enqueue) and runs that returned a :class:`~.retry.Retry`. None when
        the job has no ``retry`` option and never returned a Retry.
        """
        raised = None
        if self.retry_max is not None and self.retries_left is not None:
            raised = self.retry_max - self.retries_left
        if not self.returned_retries:
            return raised
        return (raised or 0) + self.returned_retries

    @number_of_retries.setter
    def number_of_retries(self, value: int | None) -> None:
        # The retries after an error are retry_max - retries_left: the rest were returned.
        raised = 0
        if self.retry_max is not None and self.retries_left is not None:
            raised = self.retry_max - self.retries_left
        self.returned_retries = max((value or 0) - raised, 0)

    @property
    def retry_rules(self) -> RetryRules | None:
        """The ``retry=Retry(...)`` option's rules beyond RQ's arguments
        (backoff, cap, jitter, exception classes); None when it has none."""
        if self._retry_rules is _UNPARSED:
            self._retry_rules = RetryRules.loads(self._retry_rules_text, self.id)
        return self._retry_rules

    @retry_rules.setter
    def retry_rules(self, rules: RetryRules | None) -> None:
        self._retry_rules = rules
        self._retry_rules_text = rules.dumps() if rules is not None else None

    @property
    def attempt(self) -> int:
        """Which run of the job this is, from 1: retries so far plus one.

        While the job waits for a retry, the run to come; once it ended, its
        last run. Both kinds of retries count (see :attr:`number_of_retries`);
        repeats (see :mod:`.repeat`) do not.
        """
        return (self.number_of_retries or 0) + 1

    def get_retry_interval(self) -> float:
        """Seconds the next retry after an error would wait (0 without retries left).

        Taken from the end of ``retry_intervals`` by ``retries_left``, as RQ
        does (see :meth:`Retry.delay`); then, with ``Retry(backoff=...,
        max_interval=...)``, grown and capped for the retry it is. This is
        the wait before jitter: ``Retry(jitter=True)`` draws the actual one
        between half of it and all of it.
        """
        if not self.retries_left:
            return 0
        wait = Retry.delay(self.retry_intervals, self.retries_left)
        rules = self.retry_rules
        if rules is None:
            return wait
        return rules.grow(wait, (self.retry_max or self.retries_left) - self.retries_left + 1)

    def get_ttl(self) -> int | None:
        """Seconds the job may wait in its queue before it is dropped; None: no limit."""
        return self.ttl

    def get_result_ttl(self, default_ttl: int | None = None) -> int | None:
        """Seconds the result is kept: the job's own ``result_ttl``, else ``default_ttl``."""
        return default_ttl if self.result_ttl is None else self.result_ttl

    def get_position(self) -> int | None:
        """Where this job waits in its queue (0: taken next), or None when it is not waiting."""
        conn, keys = self.connection, self.keys
        queue, prio = keys.queue(self.queue_name), keys.priority(self.queue_name)
        split = 100 * PRIORITY_BAND  # below: before the list; above: after it
        pipe = conn.pipeline(transaction=False)
        pipe.lpos(queue, self.id)
        pipe.zscore(prio, self.id)
        pipe.zcount(prio, "-inf", f"({split}")
        pipe.llen(queue)
        index, score, ahead, length = pipe.execute()
        if index is not None:
            return ahead + index
        if score is None:
            return None
        if score < split:
            return conn.zcount(prio, "-inf", f"({score!r}")
        return ahead + length + conn.zcount(prio, split, f"({score!r}")

    def get_call_string(self) -> str:
        """The call as text, such as ``tasks.add(1, 2)`` (RQ's name for :meth:`call_string`)."""
        return self.call_string()

    def dependencies_are_met(
        self,
        parent_job: Job | None = None,
        pipeline: Any = None,
        exclude_job_id: str | None = None,
        refresh_job_status: bool = True,
    ) -> bool:
        """Whether every parent has finished (or ended, with ``allow_failure``), or is gone.

        A parent that no longer exists counts as met, as when the job was
        enqueued (see :func:`.dependencies.locate`). RQ's keywords: the parent
        ``exclude_job_id`` is not looked at; ``parent_job``'s status is taken
        from the object when ``refresh_job_status`` is False. ``pipeline`` is
        accepted and not used: the statuses are read at once.
        """
        keys = [k for k in self._dependency_keys if not _names_job(k, exclude_job_id)]
        if not keys:
            return True
        known: dict[str, str | None] = {}
        if parent_job is not None and not refresh_job_status:
            status = parent_job.get_status(refresh=False)
            known[parent_job.key] = None if status is None else str(status)
        pipe = self.connection.pipeline(transaction=False)
        asked = [k for k in keys if k not in known]
        for key in asked:
            pipe.hget(key, "status")
        known.update(zip(asked, (as_str(s) for s in pipe.execute())))
        ok = {None, JobStatus.FINISHED.value}
        if self.allow_dependency_failures:
            ok |= {s.value for s in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)}
        return all(known[key] in ok for key in keys)

    @property
    def last_heartbeat(self) -> datetime | None:
        """When the worker running this job last said it was alive; None when not running.

        Workers beat about once a second while a job runs (renewing its lease
        in the started registry in the same round trip), so a time much older
        than that means the worker is gone or stuck.
        """
        if not self.store.in_redis:
            return None
        status, worker, own = self.connection.hmget(
            self.key, ["status", "worker", "last_heartbeat"]
        )
        if as_str(status) != JobStatus.STARTED or not worker:
            return None
        beat = self.connection.hget(self.keys.worker(as_str(worker)), "last_heartbeat")
        # A job marked started by prepare_for_execution() for no registered worker
        # carries the time it was marked.
        return to_datetime(beat if beat is not None else own)

    def get_scheduled_time(self) -> datetime | None:
        """When a scheduled job (or a retry waiting its delay) enters its queue; else None."""
        score = self.connection.zscore(
            self.keys.registry(self.queue_name, JobStatus.SCHEDULED), self.id
        )
        return to_datetime(score)

    # -- progress ------------------------------------------------------------

    @property
    def progress(self) -> Progress | None:
        """How far the current attempt got, as last read or reported; None if it never said.

        Read from the hash this job was loaded from (see :meth:`get_progress`
        to ask Redis again). A job waiting for a retry shows none.
        """
        return visible(self._progress, self._status)

    def get_progress(self, refresh: bool = True) -> Progress | None:
        """:attr:`progress`, read fresh from Redis (one round trip) unless ``refresh`` is False."""
        if (
            refresh
            and not self.unsaved
            and (stored := self.store.read(self, "progress", "started_at", "status")) is not None
        ):
            raw, started, status = stored
            self.started_at = _float(started)
            self._status = JobStatus(as_str(status)) if status else None
            self._progress = Progress.loads(raw, self.started_timestamp())
        return self.progress

    def started_timestamp(self) -> float | None:
        """:attr:`started_at` as stored (UNIX seconds), without making a datetime.

        It tells one attempt's progress from another's, and gives a run's
        duration when the run is recorded.
        """
        return getattr(self, "_started_at", None)

    def set_progress(self, done: float, total: float | None = None, note: str = "") -> None:
        """Report how far this job got, from inside it: ``done`` units of ``total``.

        Cheap enough to call for every item: at most one write per 100 ms
        reaches Redis, and the last report is written when the job ends.

        Args:
            done: units done so far, 0 or more (may exceed ``total``, which is
                then taken as a mere estimate).
            total: units in all, or None when unknown (no percentage, no ETA).
            note: a short text for people, shown beside the bar.
        """
        self._progress = Progress.report(done, total, note, started=self.started_timestamp())
        if not self.unsaved:
            self.store.report_progress(self, self._progress)

    # -- dependencies --------------------------------------------------------

    @property
    def dependency_keys(self) -> Sequence[str]:
        """Keys of the parent jobs (set when the job is enqueued)."""
        return self._dependency_keys

    @dependency_keys.setter
    def dependency_keys(self, keys: Sequence[str]) -> None:
        self._dependency_keys = keys

    @property
    def pending_keys(self) -> Sequence[str]:
        """Keys of the parents it still waited for when it was enqueued (it is deferred)."""
        return self._pending_keys

    @pending_keys.setter
    def pending_keys(self, keys: Sequence[str]) -> None:
        self._pending_keys = keys

    def add_dependent(self, key: str) -> None:
        """Note a child waiting on this job (in-memory queues link their jobs themselves)."""
        self._dependent_keys = [*self._dependent_keys, key]

    @property
    def dependency_ids(self) -> list[str]:
        """Ids of the parent jobs: those located at enqueue, else those given to create()."""
        if self._dependency_keys:
            return [self.keys.split_job_key(k)[1] for k in self._dependency_keys]
        return [p.id if isinstance(p, Job) else p for p in self._declared_parents]

    @property
    def _dependency_ids(self) -> list[str]:
        """RQ's private name for :attr:`dependency_ids`, for code written against it.

        Setting it replaces the parents given to :meth:`create` (ids), to be
        located by :meth:`register_dependency` or :meth:`Queue.enqueue_job`.
        """
        return self.dependency_ids

    @_dependency_ids.setter
    def _dependency_ids(self, ids: Sequence[str]) -> None:
        self._declared_parents = list(Dependency(list(ids)).jobs) if ids else []
        self._dependency_keys = ()

    @property
    def dependency(self) -> Job | None:
        """The first parent job, None without parents or when it is gone (RQ's name)."""
        parents = self._parent_jobs()
        return parents[0] if parents else None

    @property
    def dependent_ids(self) -> list[str]:
        """Ids of jobs waiting on this one (read fresh from Redis)."""
        return [self.keys.split_job_key(k)[1] for k in self._refresh_dependent_keys()]

    def dependent_keys(self, refresh: bool = True) -> list[str]:
        """Keys of the jobs waiting on this one, for cross-queue use.

        Read fresh from Redis unless ``refresh`` is False: then those last
        read, or reported by the step that last moved the job (:meth:`move_to`).
        """
        return list(self._refresh_dependent_keys() if refresh else self._dependent_keys)

    def _refresh_dependent_keys(self) -> Sequence[str]:
        """Dependents are added after the job is written, so they are re-read each time."""
        if (stored := self.store.read(self, "dependents")) is not None:
            self._dependent_keys = _json_list(stored[0])
        return self._dependent_keys

    def _related(self, keys: Sequence[str]) -> list[Job | None]:
        jobs = []
        for key in keys:
            queue, job_id = self.keys.split_job_key(key)
            jobs.append(
                Job.fetch_many(
                    [job_id],
                    self.connection,
                    self.serializer,
                    origin=queue,
                    prefix=self.keys.prefix,
                )[0]
            )
        return jobs

    def register_dependency(self, pipeline: Any = None) -> None:
        """Find the parents given to :meth:`create` and tell those not done of this job.

        :meth:`Queue.enqueue_job` does this itself, after storing the job
        deferred; this is RQ's name for code that builds jobs by hand. The
        parents found are the job's :attr:`dependency_ids` (and are stored by
        :meth:`save`); each one not finished (nor ended, with
        ``allow_failure``) lists the job among its dependents. With
        ``pipeline``, they are told when the caller executes it.

        Raises:
            NoSuchJobError: a parent id that no queue holds.
        """
        if not self._declared_parents:
            return
        found = locate(self.connection, self.keys, list(self._declared_parents))
        self._dependency_keys = [key for key, _ in found]
        waiting = [
            key for key, status in found if not satisfies(status, self.allow_dependency_failures)
        ]
        if pipeline is None:
            register(self.connection, self.keys, self.key, waiting, self.allow_dependency_failures)
            return
        scripts.preload(self.connection, "add_dependent")  # a caller's pipeline cannot load it
        for key in waiting:
            scripts.add_dependent(pipeline, self.keys, key, self.key)

    def _parent_jobs(self) -> list[Job | None]:
        if self._dependency_keys or not self._declared_parents:
            return self._related(self._dependency_keys)
        return [
            Job._fetch_or_none(
                p.id if isinstance(p, Job) else p,
                self.connection,
                self.serializer,
                self.keys.prefix,
            )
            for p in self._declared_parents
        ]

    def fetch_dependencies(self, watch: bool = False, pipeline: Any = None) -> list[Job]:
        """The parent jobs still in Redis (those gone are left out, as in RQ).

        Args:
            watch: WATCH the parents' hashes on ``pipeline`` (a redis-py
                pipeline), so that a transaction the caller then runs on it
                fails if a parent changed meanwhile.
            pipeline: the pipeline to WATCH on; the jobs are read with the
                job's own connection.
        """
        if watch and pipeline is not None and self._dependency_keys:
            pipeline.watch(*self._dependency_keys)
        return [job for job in self._parent_jobs() if job is not None]

    def fetch_dependents(self) -> list[Job | None]:
        """The jobs waiting on this one, None for those that are gone."""
        return self._related(self._refresh_dependent_keys())

    # -- operations ----------------------------------------------------------

    def perform(self) -> Any:
        """Call the function in this process and return what it returns.

        A chain's later step gets its predecessor's result as its first
        positional argument, read here (see :mod:`.chain_link`).
        """
        token = _current_job.set(self)
        try:
            args = self.args
            if self.chain is not None and "prev" in self.chain:  # a chain's later step
                args = (chain_link.previous_result(self), *args)
            result = self.func(*args, **self.kwargs)
            if inspect.iscoroutine(result):  # an async def job: awaited here, as the job
                result = self._await(result)
            return result
        finally:
            _current_job.reset(token)
            if self._progress_writer is not None:
                self._progress_writer.flush()  # the last report, before the outcome

    def requeue(self, at_front: bool = False) -> Job:
        """Put a failed, stopped or canceled job back in its queue; returns the job, as in RQ.

        Its new status (``queued``, or ``deferred``/``rate_limited`` when it
        must wait again) is ``job.get_status(refresh=False)``.
        """
        self._status = JobStatus(self.store.requeue(self, at_front))
        return self

    def retry(self, queue: Any = None, pipeline: Any = None) -> JobStatus:
        """Use up one of the job's retries now, wherever the job is (RQ's name).

        The job goes to the scheduled registry for :meth:`get_retry_interval`
        seconds, or, without a wait, into its queue (at the front with
        ``Retry(enqueue_at_front=True)``). Workers do this themselves when a
        job raises; this is for code that decides on its own that a job must
        run again. ``queue`` is accepted for RQ's signature: the job stays on
        its own queue. With ``pipeline`` the move happens when the caller
        executes it.

        Raises:
            InvalidJobOperation: the job has no retries left.
            NoSuchJobError: the job is gone (with ``pipeline``: at execute).
        """
        if not self.retries_left:
            raise InvalidJobOperation(f"Job {self.id} has no retries left.")
        interval = self.get_retry_interval()
        if self.retry_rules is not None:  # Retry(jitter=True) draws the actual wait
            interval = self.retry_rules.spread(interval)
        left = self.retries_left - 1
        timestamp = now()
        where = JobStatus.SCHEDULED if interval else JobStatus.QUEUED
        status = self.move_to(
            where,
            timestamp + interval,
            pipeline=pipeline,
            at_front=self.enqueue_at_front_on_retry,
            fields=["retries_left", left],
        )
        self.retries_left = left
        return status

    def prepare_for_execution(self, worker_name: str, pipeline: Any = None) -> None:
        """Mark the job as started by ``worker_name``, wherever it was (RQ's name).

        Workers do this themselves as they take a job; the job leaves its
        queue or registry for the started registry, with a heartbeat
        deadline :data:`DEFAULT_WORKER_TTL` seconds away, in the same step.
        """
        timestamp = now()
        self.move_to(
            JobStatus.STARTED,
            timestamp + DEFAULT_WORKER_TTL,
            pipeline=pipeline,
            fields=["worker", worker_name, "last_heartbeat", repr(timestamp)],
        )
        self.worker_name = worker_name
        self.started_at = timestamp

    def move_to(
        self,
        where: JobStatus,
        value: float = 0,
        *,
        pipeline: Any = None,
        at_front: bool = False,
        fields: Sequence[Any] = (),
    ) -> JobStatus:
        """Move the job from wherever it is to ``where``, in one step; returns its status.

        The step under :meth:`retry`, :meth:`prepare_for_execution` and
        :func:`.job_lifecycle.record_job_failure` (see ``scripts/move.lua``):
        ``where`` is ``queued`` (``at_front``), ``scheduled`` (``value``: when
        due), ``started`` (``value``: the heartbeat deadline) or ``failed``
        (``value``: seconds to keep it); ``fields`` are set on the job's hash
        too. It tells no dependent and frees no rate-limit slot. With
        ``pipeline``, done when the caller executes it (the status returned
        is then ``where``; a rate limit may yet make a queued job wait).

        Raises:
            NoSuchJobError: the job is gone (with ``pipeline``: at execute).
        """
        client = self.connection if pipeline is None else pipeline
        if pipeline is not None:  # a caller's pipeline cannot load a missing script
            scripts.preload(self.connection, "move")
        try:
            reply = scripts.move(
                client, self.keys, self.queue_name, self.id, now(), where, value, at_front, fields
            )
        except ResponseError as exc:
            raise scripts.script_error(exc, self.id) from None
        if pipeline is not None:
            self._status = where
        else:
            self._status = JobStatus(as_str(reply[0]))
            if where == JobStatus.FAILED:  # the dependents, read in the same step
                self._dependent_keys = _json_list(reply[1])
        return self._status

    def should_enqueue_at_front(self) -> bool:
        """Whether the job enters its queue at the front (RQ's name).

        ``at_front`` as enqueued, or, once the job ran (it has ``ended_at``),
        ``Retry(enqueue_at_front=True)``.
        """
        return bool(
            self.enqueue_at_front or (self.enqueue_at_front_on_retry and self.ended_at is not None)
        )

    def cancel(
        self,
        pipeline: Any = None,
        enqueue_dependents: bool = False,
        remove_from_dependencies: bool = False,
    ) -> None:
        """Cancel a job that is queued, deferred, scheduled or running.

        A running job is not interrupted (as in RQ; :func:`~.worker.stop_job`
        aborts one): it is canceled at once, and when it ends it stays
        canceled, its result (if any) kept and its dependents left deferred.

        Args:
            pipeline: a redis-py pipeline: the cancel is done when the caller
                executes it (errors show there). Refused (ValueError) for a
                job with dependents or a rate limit, whose release takes
                steps after the cancel, and with ``enqueue_dependents``.
            enqueue_dependents: release the job's dependents as if it had
                finished (each still waits for its other dependencies);
                otherwise only those that allow a failed parent are released.
            remove_from_dependencies: also take the job off its parents'
                lists of dependents (:attr:`dependent_ids`).

        Raises:
            InvalidJobOperation: the job already ended (or was canceled).
            NoSuchJobError: the job is gone.
        """
        if self.unsaved:
            # Not in Redis yet: the commit hook sees the status and leaves it out.
            self._status = JobStatus.CANCELED
            return
        if pipeline is not None:
            if enqueue_dependents:
                raise ValueError(
                    f"Job {self.id}: cancel(enqueue_dependents=True) releases the dependents "
                    "once the cancel is done, which a caller's pipeline does not allow: "
                    "cancel without pipeline=."
                )
            self.refuse_pipeline("canceled")
        parents = self._stored_dependency_keys() if remove_from_dependencies else ()
        self.store.cancel(self, enqueue_dependents, pipeline)
        for parent_key in parents:
            client = self.connection if pipeline is None else pipeline
            if pipeline is not None:
                scripts.preload(self.connection, "remove_dependent")
            scripts.remove_dependent(client, parent_key, self.key)

    def delete(
        self, pipeline: Any = None, remove_from_queue: bool = True, delete_dependents: bool = False
    ) -> None:
        """Remove the job from Redis: its data, its queue and every registry.

        Its dependents are told, as when a parent fails: those that allow
        a failed parent and wait for no other enter their queue; the others
        stay deferred (``delete_dependents`` deletes them).

        Args:
            pipeline: a redis-py pipeline: the delete is done when the caller
                executes it. Refused (ValueError) for a job with dependents
                or a rate limit, whose release takes steps after the delete.
            remove_from_queue: RQ's keyword, always True here: the id leaves
                its queue with its hash, so no worker meets an id without a job.
            delete_dependents: delete the jobs waiting on this one first.
        """
        if delete_dependents:
            for dependent in self.fetch_dependents():
                if dependent is not None:
                    dependent.delete(pipeline)
        if pipeline is not None:
            self.refuse_pipeline("deleted")
        self.store.delete(self, pipeline)

    def cleanup(
        self, ttl: int | None = None, pipeline: Any = None, remove_from_queue: bool = True
    ) -> None:
        """Keep an ended job (or one saved, never enqueued) ``ttl`` more seconds (RQ's name).

        ``ttl`` 0 deletes it at once (:meth:`delete`), -1 (any negative) keeps
        it until deleted, None does nothing. Its registry entry follows, so
        the registries list it until then. With ``pipeline`` it is done when
        the caller executes it; ``remove_from_queue`` is passed to ``delete``.

        Raises:
            InvalidJobOperation: the job has not ended (it waits or runs: its
                data must stay while its id is somewhere).
            NoSuchJobError: the job is gone.
        """
        if ttl is None:
            return
        if ttl == 0:
            self.delete(pipeline, remove_from_queue)
            return
        client = self.connection if pipeline is None else pipeline
        if pipeline is not None:  # a caller's pipeline cannot load a missing script
            scripts.preload(self.connection, "keep_for")
        try:
            scripts.keep_for(client, self.keys, self.queue_name, self.id, now(), max(ttl, -1))
        except ResponseError as exc:
            if str(exc).startswith("NOT_ENDED"):
                raise InvalidJobOperation(
                    f"Job {self.id} is {str(exc).split()[1]}: only a job that ended can be "
                    "kept for a while; delete it, or let it end first."
                ) from None
            raise scripts.script_error(exc, self.id) from None

    def refuse_pipeline(self, verb: str) -> None:
        """Raise :class:`PipelineRefused` when the job cannot be ``verb`` on a caller's pipeline.

        That is when it has dependents or a rate limit: they are told once
        it has left its place, a step after the caller's pipeline ran.
        """
        if self.has_rate_limit or self._refresh_dependent_keys():
            raise PipelineRefused(
                f"Job {self.id} has dependents or a rate limit, which are told once it is "
                f"{verb}, after a caller's pipeline would run: do it without pipeline=."
            )

    def _stored_dependency_keys(self) -> Sequence[str]:
        if not self._dependency_keys and (stored := self.store.read(self, "deps")) is not None:
            self._dependency_keys = _json_list(stored[0])
        return self._dependency_keys

    # -- what a read brought (for readers showing many jobs) -----------------

    @property
    def loaded_outcome(self) -> tuple[bool, str | None]:
        """``(whether a result was read, the traceback read)`` with this job's hash.

        Never asks Redis, unlike :attr:`result` and :attr:`exc_info`: a page
        listing jobs that read only some fields (the dashboard) must not pay
        a round trip per job for a field it left out on purpose.
        """
        return self._result_raw is not None, self._exc_info

    # -- callbacks (RQ's names) and async jobs ----------------------------------

    @property
    def success_callback(self) -> Callable | None:
        """The ``on_success`` callback (imported once the signed call is verified), or None."""
        return self.callback("on_success")

    @property
    def failure_callback(self) -> Callable | None:
        """The ``on_failure`` callback, or None."""
        return self.callback("on_failure")

    @property
    def stopped_callback(self) -> Callable | None:
        """The ``on_stopped`` callback, or None."""
        return self.callback("on_stopped")

    def callback_timeout(self, name: str) -> int:
        """Seconds the ``name`` callback (``on_success``, ...) may run."""
        value = (
            self.callback_timeouts.get(name) if isinstance(self.callback_timeouts, dict) else None
        )
        # Bounded as the job's timeout is: a rewritten hash cannot disarm the timer.
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_TIMEOUT:
            return value
        return DEFAULT_CALLBACK_TIMEOUT

    success_callback_timeout = property(lambda self: self.callback_timeout("on_success"))
    failure_callback_timeout = property(lambda self: self.callback_timeout("on_failure"))
    stopped_callback_timeout = property(lambda self: self.callback_timeout("on_stopped"))

    @staticmethod
    def _await(coroutine: Any) -> Any:
        """Run an ``async def`` job's coroutine to its end in this thread.

        A fresh event loop per job, in the thread that called the function, so
        the job timeout (SIGALRM, main thread) interrupts it like any job. When
        this thread already runs a loop (an ``is_async=False`` enqueue from async
        code), the coroutine runs in a thread of its own, and the caller waits.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        context = contextvars.copy_context()
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(context.run, asyncio.run, coroutine).result()


class JobStore:
    """Where a job's state lives, and so what reading or changing it does.

    A job read back or enqueued lives in Redis (:class:`RedisStore`); one run
    by an in-memory inline queue (``JOBQUEUE_ASYNC = False``) lives only in
    its :class:`Job` object (:class:`MemoryStore`). A job's ``store`` is one
    of the two shared instances, :data:`REDIS` or :data:`MEMORY`.
    """

    #: Whether the job's state is kept in Redis (else only in this process).
    in_redis: bool

    def read(self, job: Job, *fields: str) -> list[Any] | None:
        """The stored values of ``fields``; None when the job object is all there is."""
        raise NotImplementedError

    def read_all(self, job: Job) -> dict | None:
        """Every stored field (empty: the job is gone); None as for :meth:`read`."""
        raise NotImplementedError

    def write(self, job: Job, field: str, raw: bytes) -> None:
        """Store one field of a job that must still exist."""
        raise NotImplementedError

    def report_progress(self, job: Job, progress: Progress) -> None:
        raise NotImplementedError

    def requeue(self, job: Job, at_front: bool) -> JobStatus:
        raise NotImplementedError

    def cancel(self, job: Job, enqueue_dependents: bool = False, pipeline: Any = None) -> None:
        raise NotImplementedError

    def delete(self, job: Job, pipeline: Any = None) -> None:
        raise NotImplementedError


class RedisStore(JobStore):
    """The job is a hash in Redis: reads ask Redis, changes run the scripts."""

    in_redis = True

    def read(self, job: Job, *fields: str) -> list[Any] | None:
        if len(fields) == 1:
            return [job.connection.hget(job.key, fields[0])]
        return job.connection.hmget(job.key, list(fields))

    def read_all(self, job: Job) -> dict | None:
        return job.connection.hgetall(job.key)

    def write(self, job: Job, field: str, raw: bytes) -> None:
        if not scripts.set_field(job.connection, job.key, field, raw):
            raise NoSuchJobError(f"No job with id {job.id!r}.")

    def report_progress(self, job: Job, progress: Progress) -> None:
        if job._progress_writer is None:
            job._progress_writer = ProgressWriter(job.connection, job.key, job.id)
        job._progress_writer.offer(progress)

    def requeue(self, job: Job, at_front: bool) -> JobStatus:
        try:
            status = scripts.requeue(
                job.connection, job.keys, job.queue_name, job.id, now(), at_front
            )
        except Exception as exc:
            raise scripts.script_error(exc, job.id, verb="requeued") from None
        job._status = JobStatus(as_str(status))
        return job._status

    def cancel(self, job: Job, enqueue_dependents: bool = False, pipeline: Any = None) -> None:
        keep = job.failure_ttl if job.failure_ttl is not None else DEFAULT_FAILURE_TTL
        if pipeline is not None:  # a caller's pipeline cannot load a missing script
            scripts.preload(job.connection, "cancel")
            scripts.cancel(pipeline, job.keys, job.queue_name, job.id, now(), keep)
            job._status = JobStatus.CANCELED
            return
        try:
            dependents = scripts.cancel(
                job.connection, job.keys, job.queue_name, job.id, now(), keep
            )
        except Exception as exc:
            if str(exc) == f"NOT_CANCELABLE {JobStatus.CANCELED}":  # RQ's words
                raise InvalidJobOperation(f"Cannot cancel already canceled job: {job.id}") from None
            raise scripts.script_error(exc, job.id, verb="canceled") from None
        job._status = JobStatus.CANCELED
        # Released after the cancel, as every ended parent's are (release.lua
        # may run twice for the same parent).
        outcome = JobStatus.FINISHED if enqueue_dependents else JobStatus.CANCELED
        scripts.release_dependents(job.connection, job.keys, job.key, dependents, outcome)
        rate_limits.release_slot(job)

    def delete(self, job: Job, pipeline: Any = None) -> None:
        if pipeline is not None:  # a caller's pipeline cannot load a missing script
            scripts.preload(job.connection, "delete")
            scripts.delete(pipeline, job.keys, job.queue_name, job.id)
            job._status = None
            return
        reply = scripts.delete(job.connection, job.keys, job.queue_name, job.id)
        job._status = None
        if reply:
            scripts.release_dependents(job.connection, job.keys, job.key, reply[1], "deleted")
        rate_limits.release_slot(job)


class MemoryStore(JobStore):
    """The job lives only in this object: it ran inline and was never stored in Redis."""

    in_redis = False

    def read(self, job: Job, *fields: str) -> list[Any] | None:
        return None

    def read_all(self, job: Job) -> dict | None:
        return None

    def write(self, job: Job, field: str, raw: bytes) -> None:
        pass

    def report_progress(self, job: Job, progress: Progress) -> None:
        pass

    def requeue(self, job: Job, at_front: bool) -> JobStatus:
        raise InvalidJobOperation(
            f"Job {job.id} ran inline and was never stored, so it cannot be requeued; "
            "enqueue the call again."
        )

    def cancel(self, job: Job, enqueue_dependents: bool = False, pipeline: Any = None) -> None:
        if job._status != JobStatus.DEFERRED:
            raise InvalidJobOperation(f"Job {job.id} is {job._status} and cannot be canceled.")
        job._status = JobStatus.CANCELED

    def delete(self, job: Job, pipeline: Any = None) -> None:
        job._status = None


#: Where a job not enqueued yet is kept when it is saved (see Job.queue_name).
DEFAULT_QUEUE_NAME = "default"

#: The stores jobs share (they keep nothing of their own).
REDIS = RedisStore()
MEMORY = MemoryStore()


_code_fields = attrgetter(*Job.CODE_FIELDS)

#: ``Job._retry_rules`` read from Redis and not parsed yet.
_UNPARSED: Any = object()


#: JobStatus by its value as Redis returns it (unknown values: None).
_STATUS_BY_VALUE: dict[Any, JobStatus] = {
    **{status.value: status for status in JobStatus},
    **{status.value.encode(): status for status in JobStatus},
}


def _ttl(value: Any) -> int | None:
    seconds = as_int(value)
    return seconds if seconds is None or seconds <= MAX_TTL else MAX_TTL


#: The latest time a job's times may hold: the end of year 9999, the last a
#: datetime (and so every page showing one) can take.
_LAST_TIME = 253402300799.0


def _float(value: Any) -> float | None:
    """A time of the hash, or None; ValueError for one that is no time
    (not a number, infinite, NaN, before 1970 or past year 9999), which only
    another program writes."""
    if value in (None, b""):
        return None
    seconds = float(value)
    if not 0 <= seconds <= _LAST_TIME:  # NaN fails both
        raise ValueError(f"{value!r} is not a time (UNIX seconds from 1970 to year 9999)")
    return seconds


def _names_job(key: str, job_id: str | None) -> bool:
    """Whether the job hash ``key`` is that of ``job_id`` (its id ends the key)."""
    return job_id is not None and key.endswith(f":job:{job_id}")


#: Hash fields most jobs do not have (see Job._load), and the attributes they
#: load into with the values an absent field gives (mutable ones are set apart).
_RARE_FIELDS = frozenset(
    {
        b"deps",
        b"dependents",
        b"pending",
        b"allow_failure",
        b"at_front",
        b"retries_left",
        b"retry_max",
        b"retry_intervals",
        b"retry_at_front",
        b"retry_rules",
        b"returned_retries",
        b"returned_retry",
        b"repeats_left",
        b"repeat_intervals",
        b"group",
        b"chain",
        b"on_success",
        b"on_failure",
        b"on_stopped",
        b"callback_timeouts",
        b"priority",
        b"progress",
        b"rl_key",
        b"rl_concurrency",
        b"webhooks",
    }
)
_RARE_DEFAULTS: dict[str, Any] = {
    "_dependency_keys": (),
    "_dependent_keys": (),
    "_pending_keys": (),
    "allow_dependency_failures": False,
    "enqueue_at_front": False,
    "retries_left": None,
    "retry_max": None,
    "retry_intervals": (),
    "enqueue_at_front_on_retry": False,
    "returned_retries": 0,
    "returned_retry": None,
    "repeats_left": None,
    "repeat_intervals": None,
    "group_id": None,
    "chain": None,
    "on_success": None,
    "on_failure": None,
    "on_stopped": None,
    "priority": 0,
    "_progress": None,
    "rate_limit_key": None,
    "rate_limit_concurrency": None,
}


def _json_list(value: Any) -> Sequence:
    if not value:
        return ()
    try:
        loaded = json.loads(value)
    except ValueError:
        return ()
    return loaded if isinstance(loaded, list) else ()


def _key_list(value: Any) -> Sequence[str]:
    """A JSON list of job keys (see :func:`~.utils.json_strings`); () for none."""
    return json_strings(value) or ()


class Dependency:
    """Parents a job waits for (RQ keeps it in ``rq.job`` too).

    Args:
        jobs: a job, a job id, or a list of either.
        allow_failure: run the child even when a parent fails or is canceled.
        enqueue_at_front: put the child at the front of its queue once released.

    Raises:
        ValueError: no job given, or something that is neither a job nor an id.
    """

    def __init__(self, jobs: Any, allow_failure: bool = False, enqueue_at_front: bool = False):
        jobs = list(jobs) if isinstance(jobs, (list, tuple)) else [jobs]
        if not jobs:
            raise ValueError("Dependency(jobs=...) needs at least one job.")
        for parent in jobs:
            if not isinstance(parent, (Job, str)):
                raise ValueError(f"depends_on takes jobs or job ids, not {type(parent).__name__}.")
        self.jobs = jobs
        self.allow_failure = allow_failure
        self.enqueue_at_front = enqueue_at_front

    @property
    def dependencies(self) -> list[Job | str]:
        """The parents (RQ's name for :attr:`jobs`)."""
        return self.jobs


def split_depends_on(depends_on: Any) -> tuple[list[Any], bool, bool]:
    """Return ``(parents, allow_failure, enqueue_at_front)`` from any form of ``depends_on``.

    A list may mix jobs, ids and :class:`Dependency` objects; a flag set on
    any one of its Dependency objects holds for every parent, as in RQ.

    Raises:
        ValueError: something that is neither a job, an id nor a Dependency.
    """
    if depends_on is None:
        return [], False, False
    if isinstance(depends_on, Dependency):
        return depends_on.jobs, depends_on.allow_failure, depends_on.enqueue_at_front
    items = list(depends_on) if isinstance(depends_on, (list, tuple)) else [depends_on]
    parents: list[Any] = []
    allow_failure = at_front = False
    for item in items:
        if isinstance(item, Dependency):
            parents += item.jobs
            allow_failure = allow_failure or item.allow_failure
            at_front = at_front or item.enqueue_at_front
        else:
            parents.append(item)
    return Dependency(parents).jobs, allow_failure, at_front


def cancel_job(
    job_id: str,
    connection: Any = None,
    serializer: Any = None,
    enqueue_dependents: bool = False,
    *,
    prefix: str | None = None,
) -> None:
    """Cancel the job with this id (see :meth:`Job.cancel`); RQ's ``rq.job.cancel_job``.

    Raises:
        NoSuchJobError: no queue holds a job with this id.
        InvalidJobOperation: the job already ended.
    """
    Job.fetch(job_id, connection, serializer, prefix=prefix).cancel(
        enqueue_dependents=enqueue_dependents
    )


def requeue_job(
    job_id: str, connection: Any = None, serializer: Any = None, *, prefix: str | None = None
) -> Job:
    """Put a failed, stopped or canceled job back in its queue; returns the job.

    Raises:
        NoSuchJobError: no queue holds a job with this id.
        InvalidJobOperation: the job is not failed, stopped or canceled.
    """
    job = Job.fetch(job_id, connection, serializer, prefix=prefix)
    job.requeue()
    return job


__all__ = [
    "DEFAULT_FAILURE_TTL",
    "DEFAULT_RESULT_TTL",
    "DEFAULT_TIMEOUT",
    "Dependency",
    "Job",
    "JobStatus",
    "Retry",
    "callable_name",
    "cancel_job",
    "get_current_job",
    "requeue_job",
    "split_depends_on",
]
