"""Script calls on the hot path, without redis-py's per-command machinery.

Enqueueing a job is one script call, and so is each job a worker runs. Sent
through ``execute_command``, such a call spends more time inside redis-py than
inside Redis: a pool checkout and check-in (with observability hooks), a
general-purpose argument encoder and retry wrappers. Measured here on one call
shaped like ``finish`` (17 arguments, a 20-field reply): about 6,900 calls/s
through ``execute_command``, 8,500 with the packing below, 12,000 when the
connection is also kept out of the pool between calls (see _Spares).

Only plain :class:`redis.Redis` clients take this path; clusters, pipelines and
single-connection clients go through ``execute_command`` as before. A call that
meets a connection error is handed to ``execute_command`` once more, so the
client's own retry policy still decides what happens next.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import ConnectionError, ResponseError, TimeoutError


def pack(args: Sequence[Any], encoding: str = "utf-8") -> bytes:
    """One RESP command: the arguments our scripts get are str, bytes, int or float."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        kind = type(arg)
        if kind is str:
            arg = arg.encode(encoding)
        elif kind is int:
            arg = b"%d" % arg
        elif kind is not bytes:
            arg = _encode_other(arg, encoding)
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


def _evalsha(sha: str, keys: Sequence[str], args: Sequence[Any], encoding: str) -> bytes:
    return pack(["EVALSHA", sha, len(keys), *keys, *args], encoding)


def _encode_other(arg: Any, encoding: str) -> bytes:
    if isinstance(arg, str):  # str enums such as JobStatus
        return arg.encode(encoding)
    if isinstance(arg, bytes | bytearray | memoryview):
        return bytes(arg)
    if isinstance(arg, int) and not isinstance(arg, bool):
        return b"%d" % arg
    if isinstance(arg, float):
        return repr(arg).encode()
    raise TypeError(f"Script arguments are str, bytes, int or float, not {type(arg).__name__}.")


class _Spares:
    """Connections of one pool that our script calls keep out of it between calls.

    redis-py's checkout costs a lock, four metric updates and a probe of the
    socket (three system calls), and its check-in as much again: measured
    here, half of an enqueue's client time went there. A spare is taken from
    this list and put back after the call instead. Our calls read every
    reply or drop the connection, so a spare never holds stale data; one the
    server closed meanwhile fails its call with a connection error, and the
    client's own path and retry policy take over as for any other.

    The list holds what concurrent calls needed at most, like the pool
    itself, but never more than ``limit``: those connections are in use as
    far as the pool knows. A pool that blocks when full keeps none, so our
    spares can never be what another thread waits for.
    """

    def __init__(self, pool: Any):
        self.idle: list[Any] = []
        if isinstance(pool, redis.BlockingConnectionPool):
            self.limit = 0
        else:
            self.limit = max(1, min(8, int(getattr(pool, "max_connections", 8)) // 4))


#: One list per pool; a pool that is garbage-collected takes its spares along.
_spares: weakref.WeakKeyDictionary[Any, _Spares] = weakref.WeakKeyDictionary()
_spares_lock = threading.Lock()

# A forked child must not share a socket with its parent: its pools reset
# themselves, and it starts without spares.
os.register_at_fork(after_in_child=_spares.clear)


def _take(pool: Any) -> tuple[_Spares, Any]:
    spares = _spares.get(pool)
    if spares is None:
        with _spares_lock:
            spares = _spares.get(pool)
            if spares is None:
                spares = _spares[pool] = _Spares(pool)
    try:
        return spares, spares.idle.pop()
    except IndexError:
        return spares, _checkout(pool)


def _put_back(pool: Any, spares: _Spares, connection: Any) -> None:
    if len(spares.idle) < spares.limit:
        spares.idle.append(connection)
    else:
        pool.release(connection)


def _leanable(client: Any) -> bool:
    return type(client) is redis.Redis and getattr(client, "connection", None) is None


def _checkout(pool: Any) -> Any:
    try:
        return pool.get_connection()
    except TypeError:  # redis-py < 5.3 wants the command name
        return pool.get_connection("EVALSHA")


@contextmanager
def _borrowed(client: Any) -> Iterator[Any]:
    """A spare connection of the client's pool for one call (see _Spares).

    A connection error or an interruption disconnects it: a reply may be left
    unread on it, and its next use reconnects.
    """
    pool = client.connection_pool
    spares, connection = _take(pool)
    try:
        yield connection
    except ResponseError:
        raise  # a script's own error: the connection is fine
    except BaseException:
        connection.disconnect()
        raise
    finally:
        _put_back(pool, spares, connection)


def evalsha(client: Any, sha: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA on ``client``: lean when it is a plain client, else through redis-py."""
    if _leanable(client):
        connection = None
        try:
            with _borrowed(client) as connection:
                command = _evalsha(sha, keys, args, connection.encoder.encoding)
                connection.send_packed_command([command])
                return connection.read_response()
        except (ConnectionError, TimeoutError):
            if connection is None:
                # Connecting failed: that already went through the client's
                # retry policy, as execute_command's own checkout would.
                raise
            # The client's retry policy decides, as it would have without us.
    return client.execute_command("EVALSHA", sha, len(keys), *keys, *args)


def evalsha_many(
    client: Any, calls: Sequence[tuple[str, Sequence[str], Sequence[Any]]]
) -> list[Any]:
    """Several EVALSHA in one round trip; each reply, or its error, in order."""
    if _leanable(client):
        replies: list[Any] = []
        connection = None
        try:
            with _borrowed(client) as connection:
                encoding = connection.encoder.encoding
                # One buffer, one send: redis-py sends each list item on its own.
                connection.send_packed_command(
                    [b"".join(_evalsha(sha, k, a, encoding) for sha, k, a in calls)]
                )
                for _ in calls:
                    try:
                        replies.append(connection.read_response())
                    except ResponseError as exc:
                        replies.append(exc)
                return replies
        except (ConnectionError, TimeoutError):
            if replies or connection is None:
                # Some calls ran: sending them all again could run them twice.
                # Or connecting failed, which went through the retry policy.
                raise
    pipe = client.pipeline(transaction=False)
    for sha, keys, args in calls:
        pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)
    return pipe.execute(raise_on_error=False)


class Overlap:
    """Script calls whose replies are read later, so the client works meanwhile.

    ``enqueue_many`` builds its next batch while Redis runs the one before:
    on two cores the client and the server then work at the same time instead
    of in turn. One call is in flight at most; it is sent on a connection held
    for this object alone (never a spare of the client's), so any other
    command the caller sends meanwhile takes its own connection and cannot
    read this call's reply. Leave the ``with`` block early and the held
    connection is disconnected, since a reply may be left unread on it.

    Clients the lean wire does not serve, and pools that block when full
    (where the held connection could be the one the caller's own commands
    wait for), run each call at ``send`` and keep its reply (or error) for
    ``read``.
    """

    def __init__(self, client: Any):
        self.client = client
        self.connection: Any = None
        self._outcome: tuple[bool, Any] | None = None  # (raised, reply) of a call run at send

    def __enter__(self) -> Overlap:
        pool = getattr(self.client, "connection_pool", None)
        if _leanable(self.client) and not isinstance(pool, redis.BlockingConnectionPool):
            self.connection = _checkout(pool)
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if kind is not None or self._outcome is not None:
            connection.disconnect()
        self.client.connection_pool.release(connection)

    def send(self, sha: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Send EVALSHA; :meth:`read` must be called before the next send."""
        if self.connection is not None:
            command = _evalsha(sha, keys, args, self.connection.encoder.encoding)
            try:
                self.connection.send_packed_command([command])
                self._outcome = (False, _AWAITED)
                return
            except (ConnectionError, TimeoutError):
                # Not sent, or not whole: redis-py's own path and retry policy
                # run it instead (a half-sent command is never executed).
                self.connection.disconnect()
        try:
            self._outcome = (False, evalsha(self.client, sha, keys, args))
        except Exception as exc:
            self._outcome = (True, exc)

    def read(self) -> Any:
        """The reply of the call last sent (its error is raised)."""
        if self._outcome is None:
            raise RuntimeError("Overlap.read() without a call sent.")
        (raised, reply), self._outcome = self._outcome, None
        if reply is _AWAITED:
            try:
                return self.connection.read_response()
            except ResponseError:
                raise  # the script's own error: the connection is fine
            except BaseException:
                self.connection.disconnect()
                raise
        if raised:
            raise reply
        return reply


#: Overlap's marker for a reply still on the wire.
_AWAITED = object()
