"""The Lua scripts, one per atomic operation, as typed Python functions.

Each function takes the client to run on (a connection or a pipeline), the
:class:`~django_jobqueue.engine.keys.KeySpace` and the queue name, builds the
KEYS list the script's header documents, and returns the script's raw reply.
Scripts are sent with EVALSHA and loaded on a NOSCRIPT reply, so a restarted or
failed-over server needs no special care.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from redis.commands.core import Script
from redis.exceptions import NoScriptError, ResponseError

from .. import utils
from ..connection import is_cluster
from ..corrupt import damage
from ..errors import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from ..keys import KeySpace
from ..vocabulary import REGISTRIES, JobStatus
from . import wire

_logger = logging.getLogger("django_jobqueue.worker")

#: A top-level definition of _lib.lua: ``local function name(`` or ``local NAME =``.
_DEFINITION = re.compile(r"^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def _lib_parts() -> list[tuple[str, str]]:
    """_lib.lua cut into its top-level definitions, each with the comment above it."""
    text = resources.files(__package__).joinpath("_lib.lua").read_text()
    starts = [m.start() for m in _DEFINITION.finditer(text)]
    parts = []
    for begin, end in zip(starts, [*starts[1:], len(text)]):
        chunk = text[begin:end]
        # A definition's comment lines belong to the next one: cut them off here.
        lines = chunk.rstrip("\n").split("\n")
        while lines and (lines[-1].startswith("--") or not lines[-1].strip()):
            lines.pop()
        name = _DEFINITION.match(chunk).group(1)  # type: ignore[union-attr]
        parts.append((name, "\n".join(lines) + "\n"))
    return parts


def with_helpers(body: str) -> str:
    """``body`` after the definitions of _lib.lua it uses, directly or through another.

    Redis runs a script's whole text on every call: defining every helper of
    _lib.lua each time cost a job's finish-and-take-next script about a sixth
    of its time on the server. The definitions keep their order in _lib.lua,
    where each one comes after those it uses, as Lua's locals require.
    """
    parts = _lib_parts()
    wanted: set[str] = set()
    text = body
    for name, code in reversed(parts):
        if re.search(rf"\b{name}\b", text):
            wanted.add(name)
            text += code
    return "".join(code for name, code in parts if name in wanted) + body


@cache
def load(name: str) -> Script:
    body = resources.files(__package__).joinpath(f"{name}.lua").read_text()
    # Bytes need no client encoder, so one Script serves every client; it is
    # always called with an explicit client.
    return Script(None, with_helpers(body).encode())  # type: ignore[arg-type]


class Batch:
    """Several script calls sent in one round trip.

    redis-py's own pipelines check every script with SCRIPT EXISTS before each
    execute, which costs a round trip; a batch sends EVALSHA directly (on the
    lean wire, see wire.py) and only re-sends the calls that met NOSCRIPT (a
    script that was not loaded has not run, so re-sending it is safe).
    """

    def __init__(self, connection: Any):
        self.connection = connection
        self._calls: list[tuple[str, Sequence[str], Sequence[Any]]] = []

    def script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        self._calls.append((name, keys, args))

    def __len__(self) -> int:
        return len(self._calls)

    def execute(self) -> list[Any]:
        """The replies in call order; a call's error is its reply, not raised."""
        calls, self._calls = self._calls, []
        if not calls:
            return []
        results = wire.evalsha_many(
            self.connection, [(load(name).sha, keys, args) for name, keys, args in calls]
        )
        for index, (name, keys, args) in enumerate(calls):
            if isinstance(results[index], NoScriptError):
                try:
                    results[index] = _run(name, self.connection, keys, args)
                except ResponseError as exc:
                    results[index] = exc
        return results


class Overlapped:
    """Script calls read back while the caller prepares the next (see wire.Overlap).

    A script the server lost (NOSCRIPT) did not run: it is loaded and the call
    is made again, as for every other call.
    """

    def __init__(self, client: Any):
        self.client = client
        self._wire = wire.Overlap(client)
        self._call: tuple[str, Sequence[str], Sequence[Any]] | None = None

    def __enter__(self) -> Overlapped:
        self._wire.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wire.__exit__(*exc)

    def send(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        self._call = (name, keys, args)
        self._wire.send(load(name).sha, keys, args)

    def read(self) -> Any:
        if self._call is None:
            raise RuntimeError("Overlapped.read() without a call sent.")
        (name, keys, args), self._call = self._call, None
        try:
            return self._wire.read()
        except NoScriptError:
            return _run(name, self.client, keys, args)


def _run(name: str, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
    if isinstance(client, Batch):
        return client.script(name, keys, args)
    script = load(name)
    # EVALSHA on the lean wire (see wire.py): redis-py's Script wrapper and even
    # execute_command cost more than the script's own run on the hot path. A
    # server that lost the script (restart, SCRIPT FLUSH, failover) says
    # NOSCRIPT and gets it once more.
    try:
        return wire.evalsha(client, script.sha, keys, args)
    except NoScriptError:
        client.script_load(script.script)
        return wire.evalsha(client, script.sha, keys, args)


def preload(connection: Any, name: str) -> None:
    """Load script ``name`` on the server, for a caller's pipeline to call it later.

    Script calls queued on a redis-py pipeline the caller executes cannot
    load a script the server lacks when they meet NOSCRIPT, as :func:`_run`
    does: they are sent only later, by the caller's ``execute()``.
    """
    connection.script_load(load(name).script)


def script_error(exc: Exception, job_id: str, *, queue: str = "", verb: str = "") -> Exception:
    """The engine error that a script's error reply stands for, else ``exc`` itself.

    The scripts refuse with a code and maybe a status (see the Returns line
    of each header): ``NO_SUCH_JOB``; ``NOT_REQUEUEABLE <status>`` or
    ``NOT_CANCELABLE <status>``, which ``verb`` ("requeued", "canceled")
    describes; ``DUPLICATE <status>`` from an enqueue on ``queue``.
    """
    text = str(exc)
    if text.startswith("NO_SUCH_JOB"):
        return NoSuchJobError(f"No job with id {job_id!r}.")
    if text.startswith(("NOT_REQUEUEABLE", "NOT_CANCELABLE")):
        status = text.split(" ", 1)[1]
        return InvalidJobOperation(f"Job {job_id} is {status} and cannot be {verb}.")
    if text.startswith("NOT_SCHEDULABLE"):
        return InvalidJobOperation(
            f"Job {job_id} is {text.split()[1]}: only a scheduled job, or one that was "
            "only saved, can be given a time."
        )
    if text.startswith("NOT_PUSHABLE"):
        return InvalidJobOperation(
            f"Job {job_id} is {text.split()[1]}, so it is in a registry already: "
            "requeue it, or enqueue a new job, instead of pushing its id."
        )
    if text.startswith("DUPLICATE"):
        return DuplicateJobError(
            f"A job with id {job_id!r} is already {text.split()[1]} on queue "
            f"{queue!r}; pick another id or wait until it ends."
        )
    return exc


def _enqueue_call(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    target: str,
    now: float,
    score: float,
    at_front: bool,
    ttl: int | None,
    fields: Sequence[Any],
    id_chosen: bool,
    priority: int,
    unique: bool,
) -> tuple[list[str], list[Any]]:
    """enqueue.lua's KEYS and ARGV (also enqueue_unique.lua's, after its own)."""
    registry = ks.queue(queue) if target == JobStatus.QUEUED else ks.registry(queue, target)
    listing, name = _listing(client, ks, queue)
    keys = [ks.job(queue, job_id), ks.queue(queue), ks.priority(queue), registry, listing]
    if id_chosen:
        keys += [*_ended_registries(ks, queue), ks.registry(queue, JobStatus.SCHEDULED)]
    args = [
        job_id,
        target,
        repr(now),
        repr(score),
        "1" if at_front else "0",
        _waiting_ttl(ttl),
        ks.wake_channel(queue),
        priority,
        name,
        _claim_mode(id_chosen, unique),
        *fields,
    ]
    return keys, args


def enqueue(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    target: str,
    now: float,
    score: float,
    at_front: bool,
    ttl: int | None,
    fields: Sequence[Any],
    id_chosen: bool = True,
    priority: int = 0,
    unique: bool = False,
) -> Any:
    """Store a new job and put it where ``target`` says (see enqueue.lua).

    A chosen id already in use replaces that job when it waits in the queue or
    the scheduled registry or has ended; with ``unique`` any job with the id
    is kept and ``DUPLICATE <status>`` raised instead.
    """
    keys, args = _enqueue_call(
        client,
        ks,
        queue,
        job_id,
        target,
        now,
        score,
        at_front,
        ttl,
        fields,
        id_chosen,
        priority,
        unique,
    )
    return _run("enqueue", client, keys, args)


def enqueue_unique(
    client: Any,
    ks: KeySpace,
    queue: str,
    unique_key: str,
    unique_for: int,
    job_id: str,
    target: str,
    now: float,
    score: float,
    at_front: bool,
    ttl: int | None,
    fields: Sequence[Any],
    id_chosen: bool = True,
    priority: int = 0,
    unique: bool = False,
) -> list[bytes]:
    """:func:`enqueue` for a job with a unique key, unless another job holds it.

    Returns ``[b"enqueued"]``, or ``[b"duplicate", holder id, *holder's hash
    fields and values]`` (see enqueue_unique.lua).
    """
    keys, args = _enqueue_call(
        client,
        ks,
        queue,
        job_id,
        target,
        now,
        score,
        at_front,
        ttl,
        fields,
        id_chosen,
        priority,
        unique,
    )
    return _run(
        "enqueue_unique",
        client,
        [ks.unique(queue, unique_key), ks.job_prefix(queue), *keys],
        [str(unique_for), unique_key, *args],
    )


def unique_holder(client: Any, ks: KeySpace, queue: str, unique_key: str) -> list[bytes]:
    """Which job holds ``unique_key`` on ``queue``: enqueue_unique.lua, looking only.

    Returns ``[b"free"]`` or ``[b"duplicate", holder id, *its hash fields and values]``.
    """
    keys = [ks.unique(queue, unique_key), ks.job_prefix(queue)]
    return _run("enqueue_unique", client, keys, ["", unique_key])


def rate_limit_enqueue(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    now: float,
    at_front: bool,
    ttl: int | None,
    fields: Sequence[Any],
    id_chosen: bool,
    priority: int,
) -> Any:
    """Store a new job that has a rate limit: queued, or waiting for a slot
    (see rate_limit_enqueue.lua). Returns its status."""
    listing, name = _listing(client, ks, queue)
    keys = [ks.job(queue, job_id), ks.queue(queue), ks.priority(queue), listing]
    if id_chosen:
        keys += [*_ended_registries(ks, queue), ks.registry(queue, JobStatus.SCHEDULED)]
    args = [
        job_id,
        repr(now),
        "1" if at_front else "0",
        _waiting_ttl(ttl),
        ks.wake_channel(queue),
        priority,
        name,
        _claim_mode(id_chosen, False),
        *fields,
    ]
    return _run("rate_limit_enqueue", client, keys, args)


def rate_limit_release(
    client: Any,
    ks: KeySpace,
    queue: str,
    key: str,
    job_id: str,
    now: float,
    concurrency: int | None = None,
    mode: str = "stale",
) -> list[str]:
    """Free the slots of rate limit ``key`` held by jobs that no longer need
    them (``job_id``'s, or with '' every one), then admit waiting jobs (see
    rate_limit_release.lua for ``mode``). Returns ``(slots freed, ids admitted)``."""
    base = ks.rate_limit(queue, key)
    keys = [
        ks.queue(queue),
        ks.priority(queue),
        ks.job_prefix(queue),
        base,
        f"{base}:allowed",
        f"{base}:waiting",
        ks.registry(queue, JobStatus.RATE_LIMITED),
        ks.rate_limit_keys(queue),
    ]
    args = [
        job_id,
        repr(now),
        ks.wake_channel(queue),
        key,
        "" if concurrency is None else concurrency,
        mode,
    ]
    return _run("rate_limit_release", client, keys, args)


def rate_limit_wait(
    client: Any,
    ks: KeySpace,
    queue: str,
    key: str,
    job_id: str,
    now: float,
    score: float | None = None,
) -> Any:
    """Add ``job_id`` to rate limit ``key``'s waiting jobs (see rate_limit_wait.lua);
    ``client`` may be a pipeline."""
    base = ks.rate_limit(queue, key)
    keys = [
        base,
        f"{base}:waiting",
        ks.registry(queue, JobStatus.RATE_LIMITED),
        ks.rate_limit_keys(queue),
    ]
    return _run(
        "rate_limit_wait",
        client,
        keys,
        [job_id, repr(now), "" if score is None else repr(score), key],
    )


def _listing(client: Any, ks: KeySpace, queue: str) -> tuple[str, str]:
    """The key and value with which a script adds ``queue`` to the set of queue names.

    Scripts that put a job in a queue add the queue's name too, so that a
    Redis emptied since (a restart without persistence, a failover to a
    lagging replica, FLUSHDB) lists the queue again at no extra cost. On Redis
    Cluster the set lies in another slot than the queue: the script gets a key
    of the queue's own and no name, and the caller adds it (see
    ``Queue.register``).
    """
    if is_cluster(client.connection if isinstance(client, Batch) else client):
        return ks.queue(queue), ""
    return ks.queues, queue


def _ended_registries(ks: KeySpace, queue: str) -> list[str]:
    """Where an ended job with a reused id may sit (see claim_id in _lib.lua)."""
    ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED)
    return [ks.registry(queue, kind) for kind in ended]


def _claim_mode(id_chosen: bool, unique: bool) -> str:
    """What the scripts do with another job that has a chosen id (claim_id in _lib.lua)."""
    if not id_chosen:
        return ""
    return "unique" if unique else "replace"


def _waiting_ttl(ttl: int | None) -> str:
    """A job's ttl as write_job in _lib.lua takes it: '' for none."""
    return "" if ttl is None or ttl < 0 else str(ttl)


class TakeNext:
    """What finish/fail need to hand the worker its next job in the same round trip."""

    def __init__(self, queues: Sequence[str], abandon_after: float):
        self.queues = list(queues)
        self.abandon_after = abandon_after
        #: The job the last finish/fail took (None: no job).
        self.reply: Any = None
        #: Cleared by the worker when it must not take another job (shutdown).
        self.enabled = True
        self._keys: tuple[KeySpace, list[str]] | None = None

    def keys(self, ks: KeySpace) -> list[str]:
        if self._keys is None or self._keys[0] is not ks:  # the same for every job
            keys: list[str] = []
            for queue in self.queues:
                keys += [
                    ks.queue(queue),
                    ks.priority(queue),
                    ks.registry(queue, JobStatus.STARTED),
                    ks.job_prefix(queue),
                ]
            self._keys = (ks, keys)
        return self._keys[1]


class Taken(NamedTuple):
    """A job take_next took for a worker: its queue's position in the worker's list."""

    position: int
    id: bytes
    fields: dict[bytes, bytes]


def decode_reply(reply: list | None, head: int) -> tuple[list[bytes | None], Taken | None]:
    """Split a reply that reply() in _lib.lua built: ``head`` values, then a job or not.

    An empty value is None (see reply()).
    """
    if reply is None:
        return [None] * head, None
    values = [value or None for value in reply[:head]]
    if len(reply) <= head:
        return values, None
    job = reply[head:]
    return values, Taken(int(job[0]), job[1], dict(zip(job[2::2], job[3::2])))


def send_enqueue_many(
    calls: Overlapped, ks: KeySpace, queue: str, now: float, jobs: Sequence[Any]
) -> None:
    """Send the queueing of many new jobs of one queue (see enqueue_many.lua).

    ``calls.read()`` then gives one reply per job.
    """
    listing, name = _listing(calls.client, ks, queue)
    keys = [
        ks.queue(queue),
        ks.priority(queue),
        listing,
        *_ended_registries(ks, queue),
        ks.registry(queue, JobStatus.SCHEDULED),
    ]
    args: list[Any] = [repr(now), ks.wake_channel(queue), name]
    for job in jobs:
        fields = job.to_fields()
        keys.append(ks.job(queue, job.id))
        args += [
            job.id,
            _claim_mode(job.id_chosen, bool(job.options and job.options.unique)),
            "1" if job.enqueue_at_front else "0",
            _waiting_ttl(job.ttl),
            job.priority,
            len(fields),
            *fields,
        ]
    calls.send("enqueue_many", keys, args)


def dequeue(
    client: Any,
    ks: KeySpace,
    queues: Sequence[str],
    now: float,
    worker: str,
    deadline_in: float,
) -> Any:
    """The job taken, or None when every queue is empty.

    A queue whose keys hold the wrong type of data is passed over (see
    take_next in _lib.lua) and logged once.
    """
    keys = TakeNext(queues, deadline_in).keys(ks)
    reply = _run("dequeue", client, keys, [repr(now), worker, repr(now + deadline_in)])
    (broken,), taken = decode_reply(reply, 1)
    _report(broken)
    return taken


def _report(broken: bytes | None) -> None:
    """Log the keys a script found holding the wrong type of data (once each)."""
    if broken:
        damage.report(broken.decode().split(" "))


def finish(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    now: float,
    result_ttl: int,
    result: bytes,
    worker: str,
    take_next: TakeNext | None = None,
    started_at: float | None = None,
) -> Any:
    """Returns ``[dependents JSON or None, next job (a Taken) or None]``.

    ``started_at`` (the run's start, as the job's hash has it) gives the run's
    duration, kept for the dashboard's sort by it.
    """
    keys = [
        ks.job(queue, job_id),
        ks.registry(queue, JobStatus.STARTED),
        ks.registry(queue, JobStatus.FINISHED),
    ]
    # Scores go as text: the script would spend more turning a Lua number into
    # an argument than on the command it is for.
    duration = "" if started_at is None else repr(max(now - started_at, 0.0))
    args = [job_id, repr(now), str(result_ttl), result, worker, repr(now + result_ttl), duration]
    if take_next is not None and take_next.enabled:
        keys += take_next.keys(ks)
        args.append(repr(now + take_next.abandon_after))
    (dependents, broken), taken = decode_reply(_run("finish", client, keys, args), 2)
    _report(broken)
    return [dependents, taken]


def fail(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    now: float,
    failure_ttl: int,
    exc_info: str,
    worker: str | bytes,
    retry_in: float | None = None,
    status: str = JobStatus.FAILED,
    only_if_abandoned: bool = False,
    take_next: TakeNext | None = None,
    returned: str | None = None,
    asked: bool = False,
) -> Any:
    """Returns ``[new status or None, dependents JSON, next job (a Taken) or None]``.

    ``returned``: the :class:`~..retry.Retry` the job returned, as its
    ``dumps()``; it decides whether to retry (``retry_in``, when given, is
    then its wait: see fail.lua). ``asked``: the retry in ``retry_in`` was
    asked for by the job (RetryLater without a retry option), and is counted
    in ``returned_retries``, not ``retries_left``.
    """
    keys = [
        ks.job(queue, job_id),
        ks.registry(queue, JobStatus.STARTED),
        ks.registry(queue, JobStatus.FAILED),
        ks.queue(queue),
        ks.registry(queue, JobStatus.SCHEDULED),
        ks.priority(queue),
    ]
    listing, name = _listing(client, ks, queue)
    keys.append(listing)
    args = [
        job_id,
        repr(now),
        str(failure_ttl),
        exc_info,
        worker,
        "" if retry_in is None else repr(float(retry_in)),
        ks.wake_channel(queue),
        status,
        "1" if only_if_abandoned else "0",
        name,
        returned or "",
        "",
        "1" if asked else "",
    ]
    if take_next is not None and take_next.enabled:
        keys += take_next.keys(ks)
        args[11] = repr(now + take_next.abandon_after)
    (new_status, dependents, broken), taken = decode_reply(_run("fail", client, keys, args), 3)
    _report(broken)
    return [new_status, dependents, taken]


def give_back(client: Any, ks: KeySpace, queue: str, job_id: str, now: float, worker: str) -> Any:
    keys = [
        ks.job(queue, job_id),
        ks.registry(queue, JobStatus.STARTED),
        ks.queue(queue),
        ks.priority(queue),
    ]
    return _run("give_back", client, keys, [job_id, repr(now), worker, ks.wake_channel(queue)])


def add_dependent(client: Any, ks: KeySpace, parent_key: str, child_key: str) -> Any:
    return _run("add_dependent", client, [parent_key], [child_key])


def remove_dependent(client: Any, parent_key: str, child_key: str) -> Any:
    """Returns 1 when the parent listed the child (it no longer does), else 0."""
    return _run("remove_dependent", client, [parent_key], [child_key])


def release(
    client: Any, ks: KeySpace, child_key: str, parent_key: str, outcome: str, now: float
) -> Any:
    queue, child_id = ks.split_job_key(child_key)
    keys = [
        child_key,
        ks.queue(queue),
        ks.registry(queue, JobStatus.DEFERRED),
        ks.priority(queue),
        ks.pending(queue, child_id),
    ]
    return _run(
        "release", client, keys, [child_id, parent_key, outcome, repr(now), ks.wake_channel(queue)]
    )


def release_dependents(
    connection: Any, ks: KeySpace, parent_key: str, dependents: Any, outcome: str
) -> int:
    """Tell every child of an ended parent; returns how many entered their queue."""
    if not dependents or dependents in (b"[]", "[]"):
        return 0  # most jobs have none: every ended job passes here, so no JSON for them
    children, whole = _child_keys(ks, dependents)
    if not whole:
        _logger.error(
            "Job %s: its 'dependents' field holds more than job keys (another program wrote "
            "it): only the job keys in it are told that it ended",
            parent_key,
        )
    if not children:
        return 0
    batch = Batch(connection)
    timestamp = utils.now()
    for child_key in children:
        release(batch, ks, child_key, parent_key, outcome, timestamp)
    return sum(int(r) for r in batch.execute() if isinstance(r, int))


def _child_keys(ks: KeySpace, dependents: Any) -> tuple[list[str], bool]:
    """The job keys of a ``dependents`` JSON list (as read, or decoded already),
    and whether that was all it held.

    This code writes only job keys there; anything else (JSON of another
    shape, bytes that are not UTF-8, keys of another prefix) is another
    program's, and left out: a worker recording the parent must not fail on it.
    """
    if isinstance(dependents, (bytes, str)):
        try:
            dependents = json.loads(dependents)
        except ValueError:  # UnicodeDecodeError included
            return [], False
    if not isinstance(dependents, list):
        return [], False
    children = [key for key in dependents if isinstance(key, str) and _is_job_key(ks, key)]
    return children, len(children) == len(dependents)


def _is_job_key(ks: KeySpace, key: str) -> bool:
    try:
        ks.split_job_key(key)
    except ValueError:
        return False
    return True


def requeue(
    client: Any, ks: KeySpace, queue: str, job_id: str, now: float, at_front: bool = False
) -> Any:
    keys = [
        ks.job(queue, job_id),
        ks.queue(queue),
        ks.registry(queue, JobStatus.FAILED),
        ks.registry(queue, JobStatus.CANCELED),
        ks.registry(queue, JobStatus.DEFERRED),
        ks.priority(queue),
    ]
    return _run(
        "requeue",
        client,
        keys,
        [job_id, repr(now), "1" if at_front else "0", ks.wake_channel(queue)],
    )


def cancel(client: Any, ks: KeySpace, queue: str, job_id: str, now: float, keep_for: int) -> Any:
    keys = [
        ks.job(queue, job_id),
        ks.queue(queue),
        ks.registry(queue, JobStatus.DEFERRED),
        ks.registry(queue, JobStatus.SCHEDULED),
        ks.registry(queue, JobStatus.CANCELED),
        ks.priority(queue),
        ks.registry(queue, JobStatus.STARTED),
        ks.registry(queue, JobStatus.RATE_LIMITED),
    ]
    return _run("cancel", client, keys, [job_id, repr(now), str(keep_for)])


def registry_add(
    client: Any,
    ks: KeySpace,
    queue: str,
    registry_key: str,
    job_id: str,
    score: str,
    *,
    status: str = "",
    xx: bool = False,
    keep_for: int | None = None,
    exc_info: str = "",
) -> Any:
    others = [ks.registry(queue, kind) for kind in REGISTRIES]
    keys = [ks.job(queue, job_id), ks.queue(queue), ks.priority(queue), registry_key]
    keys += [key for key in others if key != registry_key]
    args = [job_id, score, status, "1" if xx else "", "" if keep_for is None else keep_for]
    return _run("registry_add", client, keys, [*args, exc_info])


def started_drop(client: Any, ks: KeySpace, queue: str, job_id: str, highest: float) -> Any:
    keys = [ks.registry(queue, JobStatus.STARTED), ks.job(queue, job_id)]
    return _run("started_drop", client, keys, [job_id, repr(highest)])


def delete(client: Any, ks: KeySpace, queue: str, job_id: str) -> Any:
    # The registries in the order delete.lua's header lists them: that of REGISTRIES.
    keys = (
        [ks.job(queue, job_id), ks.queue(queue)]
        + [ks.registry(queue, kind) for kind in REGISTRIES]
        + [ks.priority(queue)]
    )
    return _run("delete", client, keys, [job_id])


def move(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    now: float,
    where: str,
    value: float = 0,
    at_front: bool = False,
    fields: Sequence[Any] = (),
) -> Any:
    """Move a job from wherever it is to ``where`` (see move.lua for ``value``).

    Returns ``[new status, dependents JSON]``; on a pipeline, that pipeline's
    reply holds it.
    """
    keys = (
        [ks.job(queue, job_id), ks.queue(queue)]
        + [ks.registry(queue, kind) for kind in REGISTRIES]
        + [ks.priority(queue)]
    )
    args = [job_id, repr(now), where, repr(float(value)), "1" if at_front else "0"]
    return _run("move", client, keys, [*args, ks.wake_channel(queue), *fields])


def keep_for(client: Any, ks: KeySpace, queue: str, job_id: str, now: float, ttl: int) -> Any:
    """Keep an ended job ``ttl`` more seconds (-1: forever); returns its status."""
    keys = [
        ks.job(queue, job_id),
        ks.registry(queue, JobStatus.FINISHED),
        ks.registry(queue, JobStatus.FAILED),
        ks.registry(queue, JobStatus.CANCELED),
    ]
    return _run("keep_for", client, keys, [job_id, repr(now), str(ttl)])


def empty(client: Any, ks: KeySpace, queue: str, batch: int) -> Any:
    return _run(
        "empty", client, [ks.queue(queue), ks.job_prefix(queue), ks.priority(queue)], [batch]
    )


def compact(client: Any, ks: KeySpace, queue: str, part: str, offset: int, batch: int) -> Any:
    """One batch of compact.lua over ``part`` ('list' or 'priority') of a queue."""
    keys = [ks.queue(queue), ks.priority(queue), ks.job_prefix(queue)]
    return _run("compact", client, keys, [part, offset, batch])


def drop_id(client: Any, ks: KeySpace, queue: str, job_id: str) -> Any:
    keys = [ks.queue(queue), ks.priority(queue), ks.job(queue, job_id)]
    return _run("drop_id", client, keys, [job_id])


def push_id(client: Any, ks: KeySpace, queue: str, job_id: str, at_front: bool, now: float) -> Any:
    listing, name = _listing(client, ks, queue)
    keys = [ks.queue(queue), ks.priority(queue), ks.job(queue, job_id), listing]
    args = [job_id, "1" if at_front else "0", repr(now), ks.wake_channel(queue), name]
    return _run("push_id", client, keys, args)


def enqueue_due(client: Any, ks: KeySpace, queue: str, now: float, batch: int) -> Any:
    keys = [
        ks.registry(queue, JobStatus.SCHEDULED),
        ks.queue(queue),
        ks.job_prefix(queue),
        ks.priority(queue),
    ]
    return _run("enqueue_due", client, keys, [repr(now), batch, ks.wake_channel(queue)])


def mark_stop(client: Any, job_key: str) -> Any:
    """Returns 1 when the running job now carries the stop request, 0 when it is not running."""
    return _run("mark_stop", client, [job_key], [])


def request_stop(client: Any, ks: KeySpace, worker: str, job_id: str) -> Any:
    return _run("request_stop", client, [ks.worker(worker)], [job_id])


def worker_command(client: Any, ks: KeySpace, worker: str, command: str) -> Any:
    """Returns 1 when the worker is registered and now carries ``command``, else 0."""
    return _run("worker_command", client, [ks.worker(worker)], [command])


def set_field(client: Any, job_key: str, field: str, value: Any) -> Any:
    return _run("set_field", client, [job_key], [field, value])


def save(client: Any, job_key: str, values: dict[str, Any]) -> Any:
    """Set the fields of ``values`` (deleting those that are None) on a job that still exists.

    Returns 1 when stored, 0 when the job is gone (see save.lua).
    """
    deleted = [name for name, value in values.items() if value is None]
    pairs = [part for name, value in values.items() if value is not None for part in (name, value)]
    return _run("save", client, [job_key], [len(deleted), *deleted, *pairs])


def save_created(client: Any, job_key: str, ttl: int | None, fields: Sequence[Any]) -> Any:
    """Store a never-enqueued job as status ``created`` (see save_created.lua)."""
    return _run("save_created", client, [job_key], [_waiting_ttl(ttl), *fields])


def scheduler_hold(client: Any, ks: KeySpace, token: str, ttl_ms: int) -> Any:
    """Returns 2 (taken now), 1 (kept) or 0 (another scheduler holds the lock)."""
    return _run("scheduler_hold", client, [ks.scheduler], [token, int(ttl_ms)])


def scheduler_release(client: Any, ks: KeySpace, token: str) -> Any:
    return _run("scheduler_release", client, [ks.scheduler], [token])


def lock_hold(client: Any, key: str, token: str, ttl_ms: int) -> Any:
    """scheduler_hold.lua on any lock key (a queue's RQScheduler lock)."""
    return _run("scheduler_hold", client, [key], [token, int(ttl_ms)])


def lock_release(client: Any, key: str, token: str) -> Any:
    """scheduler_release.lua on any lock key."""
    return _run("scheduler_release", client, [key], [token])


def cron_fire(
    client: Any,
    ks: KeySpace,
    queue: str,
    entry: str,
    expected: str | bytes,
    occurrence: str,
    signature: str,
    enqueue: bool,
    now: float,
    job_id: str,
    ttl: int | None,
    fields: Sequence[Any],
) -> Any:
    """Returns 1 (enqueued), 2 (recorded only), 3 (paused) or 0 (lost the race)."""
    listing, name = _listing(client, ks, queue)
    keys = [
        ks.cron(queue, entry),
        ks.job(queue, job_id),
        ks.queue(queue),
        ks.priority(queue),
        listing,
    ]
    args = [
        expected,
        occurrence,
        signature,
        "1" if enqueue else "0",
        repr(now),
        job_id,
        ks.wake_channel(queue),
        "" if ttl is None or ttl < 0 else str(ttl),
        name,
        *fields,
    ]
    return _run("cron_fire", client, keys, args)


def bulk_select(
    client: Any, ks: KeySpace, queue: str, kind: str, selection: str, keep_for: int, live_min: str
) -> int:
    """Copy registry ``kind``'s entries above ``live_min`` ('' for all) into ``selection``."""
    keys = [selection, ks.registry(queue, kind)]
    return int(_run("bulk", client, keys, ["select", str(keep_for), live_min]))


def bulk_step(
    client: Any,
    ks: KeySpace,
    queue: str,
    kind: str,
    selection: str,
    step: str,
    batch: int,
    now: float,
    live_min: str,
) -> Any:
    """Requeue or delete (``step``) one batch of a selection (see bulk.lua)."""
    keys = [
        selection,
        ks.registry(queue, kind),
        ks.job_prefix(queue),
        ks.queue(queue),
        ks.priority(queue),
        *(ks.registry(queue, name) for name in REGISTRIES),  # in bulk.lua's order
    ]
    args = [step, str(batch), repr(now), ks.wake_channel(queue), live_min]
    return _run("bulk", client, keys, args)


def repeat(client: Any, ks: KeySpace, queue: str, job_id: str, now: float) -> Any:
    """Place a repeating job's next run; returns ``[status, interval]`` (see repeat.lua)."""
    keys = [
        ks.job(queue, job_id),
        ks.queue(queue),
        ks.priority(queue),
        ks.registry(queue, JobStatus.SCHEDULED),
        *_ended_registries(ks, queue),
    ]
    return _run("repeat", client, keys, [job_id, repr(now), ks.wake_channel(queue)])


def finish_repeat(
    client: Any,
    ks: KeySpace,
    queue: str,
    job_id: str,
    now: float,
    result_ttl: int,
    result: bytes,
    worker: str,
) -> Any:
    """Record a repeating job's success: ``[status, dependents JSON]`` or None.

    See finish_repeat.lua.
    """
    keys = [
        ks.job(queue, job_id),
        ks.registry(queue, JobStatus.STARTED),
        ks.registry(queue, JobStatus.FINISHED),
        ks.queue(queue),
        ks.priority(queue),
        ks.registry(queue, JobStatus.SCHEDULED),
    ]
    args = [job_id, repr(now), str(result_ttl), result, worker, ks.wake_channel(queue)]
    return _run("finish_repeat", client, keys, args)


def group_join(client: Any, ks: KeySpace, queue: str, group: str, job_ids: Sequence[str]) -> Any:
    return _run(
        "group_join", client, [ks.group(queue, group), ks.job_prefix(queue)], [group, *job_ids]
    )


def group_leave(client: Any, ks: KeySpace, queue: str, group: str, job_id: str) -> Any:
    return _run(
        "group_leave", client, [ks.group(queue, group), ks.job(queue, job_id)], [job_id, group]
    )


def group_clean(client: Any, ks: KeySpace, queue: str, group: str) -> int:
    return int(_run("group_clean", client, [ks.group(queue, group), ks.job_prefix(queue)], []))


def search(
    client: Any,
    ks: KeySpace,
    queue: str,
    source_key: str,
    args: Sequence[Any],
    store: str | None = None,
) -> Any:
    """Match one slice of ``source_key`` (a list or registry of ``queue``) against a
    filter; ``args`` are ARGV[1..17] of search.lua, ``store`` the selection key of
    the 'store' mode. Read only otherwise; see search.lua for the reply."""
    keys = [source_key, ks.job_prefix(queue), *([store] if store else [])]
    return _run("search", client, keys, args)


def batch_add(
    client: Any,
    ks: KeySpace,
    queue: str,
    batch_id: str,
    callback_keys: Sequence[str],
    job_ids: Sequence[str],
) -> int:
    keys = [ks.batch(queue, batch_id), ks.batch_jobs(queue, batch_id)]
    for callback_key in callback_keys:
        keys += [callback_key, ks.pending(*ks.split_job_key(callback_key))]
    return int(_run("batch_add", client, keys, [ks.job_prefix(queue), *job_ids]))


def batch_close(client: Any, ks: KeySpace, queue: str, batch_id: str, now: float) -> int:
    return int(_run("batch_close", client, [ks.batch(queue, batch_id)], [repr(now)]))
