"""What may be stored as a job payload: signed, and not too big.

Anyone who can write to Redis can put a job hash there; with pickle, loading
that payload runs code chosen by the writer, and a job hash also names code by
itself (the function and the callbacks a worker imports). A signed payload
carries an HMAC under a secret key of its bytes *and* of a binding: for a job's
call, the job id, the serializer and every stored name a worker imports; for a
job's result and meta, the job id, the field and the serializer. A worker
refuses a payload whose signature is missing or wrong before it unpickles or
imports anything, so a writer can neither forge a call nor graft a signed one
onto another function or job, nor move one job's result or meta to another
(a chain step's input, say).

The Django app turns signing on with a key derived from ``SECRET_KEY`` (see
``JOBQUEUE_SIGNING_KEY``); code using the engine alone calls :func:`configure`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from .errors import DeserializationError, EnqueueError

#: Marks a signed payload; the HMAC-SHA256 digest follows, then the bytes.
MAGIC = b"jq1:"
DIGEST_SIZE = hashlib.sha256().digest_size

#: Bytes a job's serialized call may take unless configured otherwise: a queue
#: carries references to data, not the data (store big inputs elsewhere).
DEFAULT_MAX_PAYLOAD = 10 * 2**20


class SignatureError(DeserializationError):
    """A payload's signature is missing or does not match: it is not loaded."""


class PayloadTooLarge(EnqueueError):
    """A job's serialized call is above the configured size limit."""


def binding(*parts: str | None) -> bytes:
    """Fields a signature covers besides the payload, framed so that none can shift into another.

    Each part is ``-`` for None, else its length, ``:`` and itself, so
    ``("ab", "c")`` and ``("a", "bc")`` never give the same message.
    """
    return "".join(["-" if part is None else f"{len(part)}:{part}" for part in parts]).encode()


class SignedSerializer:
    """Wraps a serializer so that everything it writes is signed and checked on read.

    Args:
        inner: the serializer of the bytes (pickle, JSON, ...).
        keys: the signing key first, then older keys still accepted on read
            (for key rotation, like Django's ``SECRET_KEY_FALLBACKS``).

    ``dumps`` and ``loads`` take an optional ``bound``: the fields (see
    :func:`binding`) the signature must also cover. A job's call binds its id
    and the names a worker imports; a value read with other fields than it was
    written with is refused like a forged one. :meth:`dumps_value` and
    :meth:`loads_value` sign a value stored in a job's field (its result,
    its meta) to that job and field.
    """

    def __init__(self, inner: Any, keys: Sequence[bytes]):
        if not keys:
            raise ValueError("SignedSerializer needs at least one key.")
        self.inner = inner
        self.keys = [k if isinstance(k, bytes) else str(k).encode() for k in keys]
        # Copying a keyed HMAC is cheaper than keying a new one for every payload.
        self._macs = [hmac.new(key, digestmod=hashlib.sha256) for key in self.keys]
        self.name = f"signed {getattr(inner, 'name', 'custom')}"
        # Values and calls are told apart, and so are serializers: bytes one
        # serializer wrote are never handed to another's loads().
        inner_name = getattr(inner, "name", None) or type(inner).__qualname__
        # Each kind of message starts differently, and what follows is
        # length-framed, so no message of one kind is a message of another.
        self._value_binding = binding("value", inner_name)
        self._call_binding = binding("call", inner_name)
        self._field_binding = binding("field", inner_name)

    def __repr__(self) -> str:
        return f"SignedSerializer({self.inner!r})"

    def _message(self, bound: bytes | None) -> bytes:
        return self._value_binding if bound is None else self._call_binding + bound

    def dumps(self, obj: Any, bound: bytes | None = None) -> bytes:
        return self._signed(self.inner.dumps(obj), self._message(bound))

    def loads(self, payload: bytes, bound: bytes | None = None) -> Any:
        self.verify(payload, bound)
        return self.inner.loads(payload[len(MAGIC) + DIGEST_SIZE :])

    def dumps_value(self, obj: Any, job_id: str, field: str) -> bytes:
        """``obj`` signed as the value of job ``job_id``'s ``field`` (``"result"``, ``"meta"``)."""
        return self._signed(self.inner.dumps(obj), self._field_message(job_id, field))

    def loads_value(self, payload: bytes, job_id: str, field: str) -> Any:
        """Load a value only if it was signed for job ``job_id``'s ``field``."""
        self._verify(payload, self._field_message(job_id, field))
        return self.inner.loads(payload[len(MAGIC) + DIGEST_SIZE :])

    def _field_message(self, job_id: str, field: str) -> bytes:
        return self._field_binding + binding(job_id, field)

    def _signed(self, data: bytes, message: bytes) -> bytes:
        mac = self._macs[0].copy()
        mac.update(message)
        mac.update(data)
        return MAGIC + mac.digest() + data

    def verify(self, payload: bytes, bound: bytes | None = None) -> None:
        """Raise :class:`SignatureError` unless a key signed ``payload`` with ``bound``."""
        self._verify(payload, self._message(bound))

    def _verify(self, payload: bytes, message: bytes) -> None:
        if not payload.startswith(MAGIC):
            raise SignatureError(
                "The payload is not signed; refusing to load it "
                "(it was not written by this application)."
            )
        start = len(MAGIC) + DIGEST_SIZE
        digest, data = payload[len(MAGIC) : start], payload[start:]
        for keyed in self._macs:
            mac = keyed.copy()
            mac.update(message)
            mac.update(data)
            if hmac.compare_digest(digest, mac.digest()):
                return
        raise SignatureError(
            "The payload's signature does not match; refusing to load it "
            "(written with another key, or tampered with)."
        )


_keys: list[bytes] = []
_max_payload: int | None = DEFAULT_MAX_PAYLOAD
_max_result: int | None = DEFAULT_MAX_PAYLOAD
_wrapped: dict[int, SignedSerializer] = {}


def configure(
    signing_keys: Sequence[bytes | str] | None = None,
    max_payload: int | None = DEFAULT_MAX_PAYLOAD,
    max_result: int | None = DEFAULT_MAX_PAYLOAD,
) -> None:
    """Sign every serializer the engine resolves from now on (None: stop signing).

    Args:
        signing_keys: the key to sign with, then older keys still accepted.
        max_payload: bytes a job's serialized call, meta or description may
            take (None: no limit).
        max_result: bytes a job's serialized result may take (None: no limit).
    """
    global _max_payload, _max_result
    _keys[:] = [k if isinstance(k, bytes) else k.encode() for k in (signing_keys or [])]
    _wrapped.clear()
    _max_payload = max_payload
    _max_result = max_result


def configuration() -> dict[str, Any]:
    """What :func:`configure` was last given, as its keyword arguments.

    A process started afresh (a spawned work-horse) calls ``configure(**it)``
    to sign and check payloads as the process that started it does.
    """
    return {"signing_keys": list(_keys), "max_payload": _max_payload, "max_result": _max_result}


def sign(serializer: Any) -> Any:
    """``serializer`` signed with the configured keys (itself when none are)."""
    if not _keys or isinstance(serializer, SignedSerializer):
        return serializer
    wrapped = _wrapped.get(id(serializer))
    if wrapped is None or wrapped.inner is not serializer:
        wrapped = _wrapped[id(serializer)] = SignedSerializer(serializer, list(_keys))
    return wrapped


def dumps_value(serializer: Any, obj: Any, job_id: str, field: str) -> bytes:
    """``obj`` serialized as job ``job_id``'s ``field``: bound to both when signed."""
    if isinstance(serializer, SignedSerializer):
        return serializer.dumps_value(obj, job_id, field)
    return serializer.dumps(obj)


def loads_value(serializer: Any, payload: bytes, job_id: str, field: str) -> Any:
    """Load job ``job_id``'s ``field``; a signed serializer refuses another job's or field's."""
    if isinstance(serializer, SignedSerializer):
        return serializer.loads_value(payload, job_id, field)
    return serializer.loads(payload)


def check_size(data: bytes, what: str) -> None:
    if _max_payload is not None and len(data) > _max_payload:
        raise PayloadTooLarge(
            f"{what}: {len(data) / 2**20:.1f} MiB serialized, above the limit of "
            f"{_max_payload / 2**20:.1f} MiB (JOBQUEUE_MAX_PAYLOAD). Store large data "
            "elsewhere (a file, a model) and pass a reference to it."
        )


def check_result_size(data: bytes) -> None:
    """Refuse a result too big to keep in Redis (the job fails, saying why)."""
    if _max_result is not None and len(data) > _max_result:
        raise PayloadTooLarge(
            f"The job returned {len(data) / 2**20:.1f} MiB serialized, above the limit of "
            f"{_max_result / 2**20:.1f} MiB (JOBQUEUE_MAX_RESULT). Store large results "
            "elsewhere (a file, a model) and return a reference to them."
        )
