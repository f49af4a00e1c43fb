"""Unique jobs by content: ``enqueue(f, 42, unique_for=600)``.

While a job enqueued with ``unique_for`` waits to run (and, with
``unique_until="finish"``, while it runs), enqueueing the same call again on
the same queue returns that job, flagged ``is_duplicate``, instead of adding
a second one. The call is its function's dotted path and its arguments (see
:func:`content_key`); ``unique_key="report:42"`` names it instead, so that
different functions or arguments can share a key.

The lock is a string key beside the queue (``<prefix>{queue}:unique:<key>``,
see :mod:`.keys`) holding the holder's id, set to expire after ``unique_for``
seconds; the holder's hash names its key (``unique_key``, ``unique_until``).
``scripts/enqueue_unique.lua`` checks the lock and stores the job in one step,
and counts the lock as held only while the job it names still has that key
and is waiting (or running, for ``"finish"``). So nothing has to release it:
the scripts that start, end, cancel or delete a job free its key by changing
the job's status, in the same atomic step, and a job whose worker was killed
frees it once the abandoned-job sweep fails it (a retry keeps it, since the
job waits to run again). The expiry only bounds the window; a key that its
holder no longer holds lingers until then, and the next enqueue takes it over.

Jobs without ``unique_for`` never reach this module: their enqueue is the
script it always was, and a worker does no work for any job's key.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import struct
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from . import scripts
from .keys import validate_job_id
from .utils import as_shown, as_str, parse_duration
from .vocabulary import MAX_TIMEOUT, JobStatus

#: When a job stops holding its key: when it starts, or when it has ended.
UNTIL = ("start", "finish")

#: Statuses in which a job holds its key whatever its ``unique_until``.
WAITING = frozenset(
    {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.RATE_LIMITED}
)

#: Hex digits of the SHA-256 of a call kept in its key (128 bits).
DIGEST_LENGTH = 32


def check_unique(options: Any) -> int:
    """``options.unique_for`` as whole seconds, once the three options are checked together."""
    if options.unique_for is None:
        given = "unique_key" if options.unique_key is not None else "unique_until"
        raise ValueError(
            f"{given}= needs unique_for=: the seconds (or a timedelta) during which a "
            "duplicate is not enqueued, e.g. unique_for=600. The key is held at most "
            "that long, so that it cannot outlive a job that is lost."
        )
    try:
        seconds = parse_duration(options.unique_for)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"unique_for={options.unique_for!r}: give seconds or a timedelta ({exc})"
        ) from None
    if seconds is None or seconds < 1 or seconds > MAX_TIMEOUT:
        raise ValueError(
            f"unique_for={options.unique_for!r}: give the seconds (or a timedelta) during "
            f"which a duplicate is not enqueued, from 1 to {MAX_TIMEOUT} (a year)."
        )
    if options.unique_until is not None and options.unique_until not in UNTIL:
        raise ValueError(
            f"unique_until={options.unique_until!r}: give 'start' (a duplicate may be "
            "enqueued once the job starts, the default) or 'finish' (once it has ended)."
        )
    key = options.unique_key
    if key is not None:
        try:
            validate_job_id(key)
        except (TypeError, ValueError):
            raise ValueError(
                f"Invalid unique_key {key!r}: use up to 200 letters, digits and '_.:@+-', "
                "such as 'report:42'."
            ) from None
    if options.rate_limit is not None:
        raise ValueError(
            "unique_for is not supported for rate-limited jobs (rate_limit=): enqueue "
            "without one of them."
        )
    return seconds


def content_key(func_name: str, instance: Any, args: tuple, kwargs: dict) -> str:
    """The unique key of a call: its function's path and a digest of its arguments.

    The digest is a SHA-256 of a canonical encoding of ``(instance, args,
    kwargs)``: keyword arguments are sorted by name, and so are the items of
    every dict and set, at any depth, so that equal arguments give the same
    key in any process (a set's order, or a dict's insertion order, does not
    count). ``None``, booleans, numbers, strings and bytes are written with
    their type (``1``, ``1.0`` and ``True`` differ), lists and tuples alike
    as sequences; any other object by its pickle. ``f(1)`` and ``f(x=1)``
    are different calls.

    Raises:
        ValueError: an argument that cannot be encoded (its pickle failed).
    """
    out: list[bytes] = []
    try:
        _encode((instance, tuple(args), kwargs), out)
    except Exception as exc:
        raise ValueError(
            f"unique_for: the arguments of {func_name} cannot be made into a key "
            f"({type(exc).__name__}: {exc}); name the job with unique_key= instead."
        ) from exc
    digest = hashlib.sha256(func_name.encode() + b"\0" + b"".join(out)).hexdigest()
    return f"{func_name}:{digest[:DIGEST_LENGTH]}"


def _encode(value: Any, out: list[bytes]) -> None:
    kind = type(value)
    if value is None or kind is bool:
        out.append(b"N" if value is None else (b"T" if value else b"F"))
    elif kind is int:
        _chunk(out, b"i", str(value).encode())
    elif kind is float:
        _chunk(out, b"f", repr(value).encode())
    elif kind is str:
        _chunk(out, b"s", value.encode("utf-8", "surrogatepass"))
    elif kind is bytes:
        _chunk(out, b"b", value)
    elif kind in (list, tuple):
        out.append(b"l" + struct.pack(">Q", len(value)))
        for item in value:
            _encode(item, out)
    elif kind is dict:
        pairs = sorted((_encoded(k), _encoded(v)) for k, v in value.items())
        out.append(b"d" + struct.pack(">Q", len(pairs)))
        for k, v in pairs:
            out += [k, v]
    elif kind in (set, frozenset):
        items = sorted(_encoded(item) for item in value)
        out.append(b"S" + struct.pack(">Q", len(items)))
        out += items
    else:
        _chunk(out, b"o", pickle.dumps(value, protocol=4))


def _encoded(value: Any) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _chunk(out: list[bytes], tag: bytes, data: bytes) -> None:
    out.append(tag + struct.pack(">Q", len(data)) + data)


def holder_from_reply(reply: list, queue: Any) -> Any:
    """The job a reply of enqueue_unique.lua names as the key's holder, or None."""
    if as_str(reply[0]) != "duplicate":
        return None
    fields = reply[2:]
    job = queue.job_class.from_hash(
        as_str(reply[1]),
        dict(zip(fields[::2], fields[1::2])),
        queue.connection,
        origin=queue.name,
        serializer=queue.serializer,
        prefix=queue.keys.prefix,
    )
    job.is_duplicate = True
    return job


def holder(queue: Any, key: str) -> Any:
    """The job that holds unique key ``key`` on ``queue`` now, or None.

    ``key`` is a ``unique_key`` given to enqueue, or a job's own
    ``job.unique_key`` (a call's key, see :func:`content_key`). The job
    comes back flagged ``is_duplicate``, as an enqueue would return it.
    """
    if queue.in_memory:
        entry = _memory_locks.get((queue.keys.prefix, queue.name, key))
        return _memory_copy(entry[0]) if entry and _memory_holds(*entry) else None
    reply = scripts.unique_holder(queue.connection, queue.keys, queue.name, key)
    return holder_from_reply(reply, queue)


def holds(job: Any) -> bool:
    """Whether ``job`` (which has a unique key) holds it now."""
    if not job.store.in_redis:
        entry = _memory_locks.get((job.keys.prefix, job.queue_name, job.unique_key))
        return entry is not None and entry[0] is job and _memory_holds(*entry)
    reply = scripts.unique_holder(job.connection, job.keys, job.queue_name, job.unique_key)
    return as_str(reply[0]) == "duplicate" and as_str(reply[1]) == job.id


# -- counting, for rqstats ---------------------------------------------------

#: Lock keys read per queue by :func:`held_counts`, at most.
SCAN_CAP = 10_000


class HeldCount(NamedTuple):
    """The unique keys of one queue, as :func:`held_counts` found them."""

    #: Lock keys found (held or lingering until they expire).
    keys: int
    #: Those held now (see the module's docstring).
    held: int
    #: Whether the queue had more than ``cap`` lock keys: both counts are lower bounds.
    capped: bool


def held_counts(queues: Sequence[Any], cap: int | None = None) -> list[HeldCount]:
    """How many unique keys each of ``queues`` holds now, in their order.

    Lock keys have no index (nothing has to release one), so they are found
    by walking the key space: per connection and key prefix, one SCAN walk
    (``MATCH <prefix>{*}:unique:*``, ``COUNT 1000``: a round trip per 1,000
    keys of the database, whatever they are), stopped once every queue has
    ``cap`` keys. Then two pipelines: the holders' ids (GET), and each
    holder's ``status``, ``unique_key`` and ``unique_until`` (HMGET), held
    as ``enqueue_unique.lua`` counts held. In-memory queues count 0.
    """
    cap = SCAN_CAP if cap is None else cap
    groups: dict[tuple[int, str], list[Any]] = {}
    for queue in queues:
        if not queue.in_memory:
            groups.setdefault((id(queue.connection), queue.keys.prefix), []).append(queue)
    counts: dict[Any, HeldCount] = {}
    for group in groups.values():
        connection, keys = group[0].connection, group[0].keys
        found: dict[str, list[tuple[str, str]]] = {queue.name: [] for queue in group}
        capped: set[str] = set()
        pattern = _glob_escape(keys.prefix) + "{*}:unique:*"
        for raw in connection.scan_iter(match=pattern, count=1000):
            lock = as_shown(raw)  # a key that is not UTF-8 fails the check below
            name, _, key = lock[len(keys.prefix) + 1 :].partition("}:unique:")
            if name not in found or keys.unique(name, key) != lock:
                continue
            if len(found[name]) >= cap:
                capped.add(name)
                if len(capped) == len(found):
                    break
                continue
            found[name].append((lock, key))
        locks = [(name, lock, key) for name, pairs in found.items() for lock, key in pairs]
        pipe = connection.pipeline(transaction=False)
        for _, lock, _ in locks:
            pipe.get(lock)
        holders = pipe.execute(raise_on_error=False) if locks else []
        pipe = connection.pipeline(transaction=False)
        asked = []
        for (name, _, key), holder_id in zip(locks, holders):
            if isinstance(holder_id, (bytes, str)):
                pipe.hmget(
                    keys.job(name, as_shown(holder_id)), ["status", "unique_key", "unique_until"]
                )
                asked.append((name, key))
        states = pipe.execute(raise_on_error=False) if asked else []
        held = dict.fromkeys(found, 0)
        for (name, key), state in zip(asked, states):
            if isinstance(state, Exception):
                continue
            status, unique_key, until = (as_shown(value) for value in state)
            if unique_key == key and (
                status in WAITING or (status == JobStatus.STARTED and until == "finish")
            ):
                held[name] += 1
        for queue in group:
            counts[queue] = HeldCount(
                len(found[queue.name]), held[queue.name], queue.name in capped
            )
    return [counts.get(queue, HeldCount(0, 0, False)) for queue in queues]


def _glob_escape(text: str) -> str:
    """``text`` matched literally by a Redis glob pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


# -- inline queues (is_async=False, in memory) ------------------------------

#: (prefix, queue, key) -> (holder job, UNIX time its window ends).
_memory_locks: dict[tuple[str, str, str], tuple[Any, float]] = {}

#: Entries kept before those no longer held are swept.
MEMORY_LOCKS_KEPT = 10_000


def _memory_holds(job: Any, until: float) -> bool:
    if time.time() >= until:
        return False
    status = job.get_status(refresh=False)
    return status in WAITING or (status == JobStatus.STARTED and job.unique_until == "finish")


def _memory_copy(job: Any) -> Any:
    # The holder's own object belongs to whoever enqueued it: its flag stays False.
    duplicate = copy.copy(job)
    duplicate.is_duplicate = True
    return duplicate


def take_in_memory(queue: Any, job: Any) -> Any:
    """For an inline in-memory queue: the job holding ``job``'s key, else None
    once ``job`` holds it. The key is held as in Redis, by the job's status:
    a job run at once frees it when it starts, or with ``"finish"`` when it
    ends; one left waiting for its parents holds it meanwhile."""
    slot = (queue.keys.prefix, queue.name, job.unique_key)
    entry = _memory_locks.get(slot)
    if entry is not None and _memory_holds(*entry):
        return _memory_copy(entry[0])
    _memory_locks[slot] = (job, time.time() + job.unique_for)
    if len(_memory_locks) > MEMORY_LOCKS_KEPT:
        for stale in [s for s, e in _memory_locks.items() if not _memory_holds(*e)]:
            del _memory_locks[stale]
    return None


__all__ = ["UNTIL", "HeldCount", "check_unique", "content_key", "held_counts", "holder"]
