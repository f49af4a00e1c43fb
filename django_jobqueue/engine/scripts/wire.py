"""Script calls on the hot path, without redis-py's per-command machinery.

Enqueueing a job is one script call, and so is each job a worker runs. Sent
through ``execute_command``, such a call spends more time inside redis-py than
inside Redis: a pool checkout and check-in (with observability hooks), a
general-purpose argument encoder and retry wrappers. Measured here on one call
shaped like ``finish`` (17 arguments, a 20-field reply): about 6,900 calls/s
through ``execute_command``, 8,500 with the packing below, 12,000 on a
connection the worker keeps for itself.

Only plain :class:`redis.Redis` clients take this path; clusters, pipelines and
single-connection clients go through ``execute_command`` as before. A call that
meets a connection error is handed to ``execute_command`` once more, so the
client's own retry policy still decides what happens next.
"""

from __future__ import annotations

import os
import threading
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


class _Pin:
    """A connection one thread of one process keeps out of its client's pool."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self.owner = (os.getpid(), threading.get_ident())
        self.connection = _checkout(client.connection_pool)

    def release(self) -> None:
        if self.owner[0] == os.getpid():
            self.client.connection_pool.release(self.connection)


#: Pinned connections by id(client); a pin serves only the thread that made it.
_pins: dict[int, _Pin] = {}


@contextmanager
def pinned(client: Any) -> Iterator[None]:
    """Keep one connection of ``client`` for this thread's script calls meanwhile.

    A worker runs one call per job from one thread for hours: checking the
    connection out and back in for each call is pure overhead there. Web
    processes do not pin, so their pools are shared between threads as before.
    """
    if not _leanable(client) or id(client) in _pins:
        yield
        return
    pin = _pins[id(client)] = _Pin(client)
    try:
        yield
    finally:
        _pins.pop(id(client), None)
        pin.release()


def _leanable(client: Any) -> bool:
    return type(client) is redis.Redis and getattr(client, "connection", None) is None


def _checkout(pool: Any) -> Any:
    try:
        return pool.get_connection()
    except TypeError:  # redis-py < 5.3 wants the command name
        return pool.get_connection("EVALSHA")


@contextmanager
def _borrowed(client: Any) -> Iterator[Any]:
    """This thread's pinned connection, else one checked out for the call.

    A connection error or an interruption disconnects it: a reply may be left
    unread on it, and the next use reconnects.
    """
    pin = _pins.get(id(client))
    if pin is not None and pin.owner == (os.getpid(), threading.get_ident()):
        connection, pool = pin.connection, None
    else:
        pool = client.connection_pool
        connection = _checkout(pool)
    try:
        yield connection
    except ResponseError:
        raise  # a script's own error: the connection is fine
    except BaseException:
        connection.disconnect()
        raise
    finally:
        if pool is not None:
            pool.release(connection)


def evalsha(client: Any, sha: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA on ``client``: lean when it is a plain client, else through redis-py."""
    if _leanable(client):
        try:
            with _borrowed(client) as connection:
                command = pack(
                    ["EVALSHA", sha, len(keys), *keys, *args], connection.encoder.encoding
                )
                connection.send_packed_command([command])
                return connection.read_response()
        except (ConnectionError, TimeoutError):
            pass  # the client's retry policy decides, as it would have without us
    return client.execute_command("EVALSHA", sha, len(keys), *keys, *args)


def evalsha_many(
    client: Any, calls: Sequence[tuple[str, Sequence[str], Sequence[Any]]]
) -> list[Any]:
    """Several EVALSHA in one round trip; each reply, or its error, in order."""
    if _leanable(client):
        replies: list[Any] = []
        try:
            with _borrowed(client) as connection:
                encoding = connection.encoder.encoding
                # One buffer, one send: redis-py sends each list item on its own.
                connection.send_packed_command(
                    [
                        b"".join(
                            pack(["EVALSHA", sha, len(k), *k, *a], encoding) for sha, k, a in calls
                        )
                    ]
                )
                for _ in calls:
                    try:
                        replies.append(connection.read_response())
                    except ResponseError as exc:
                        replies.append(exc)
                return replies
        except (ConnectionError, TimeoutError):
            if replies:
                raise  # some calls ran: sending them all again could run them twice
    pipe = client.pipeline(transaction=False)
    for sha, keys, args in calls:
        pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)
    return pipe.execute(raise_on_error=False)


class Overlap:
    """Script calls whose replies are read later, so the client works meanwhile.

    ``enqueue_many`` builds its next batch while Redis runs the one before:
    on two cores the client and the server then work at the same time instead
    of in turn. One call is in flight at most; it is sent on a connection held
    for this object alone (never the thread's pinned one), so any other
    command the caller sends meanwhile takes its own connection and cannot
    read this call's reply. Leave the ``with`` block early and the held
    connection is disconnected, since a reply may be left unread on it.

    Clients the lean wire does not serve run each call at ``send`` and keep
    its reply (or error) for ``read``.
    """

    def __init__(self, client: Any):
        self.client = client
        self.connection: Any = None
        self._outcome: tuple[bool, Any] | None = None  # (raised, reply) of a call run at send

    def __enter__(self) -> Overlap:
        if _leanable(self.client):
            self.connection = _checkout(self.client.connection_pool)
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
            command = pack(
                ["EVALSHA", sha, len(keys), *keys, *args], self.connection.encoder.encoding
            )
            try:
                self.connection.send_packed_command([command])
                self._outcome = (False, _AWAITED)
                return
            except (ConnectionError, TimeoutError):
                # Not sent, or not whole: redis-py's own path and retry policy
                # run it instead (a half-sent command is never executed).
                self.connection.disconnect()
        try:
            self._outcome = (
                False,
                self.client.execute_command("EVALSHA", sha, len(keys), *keys, *args),
            )
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
