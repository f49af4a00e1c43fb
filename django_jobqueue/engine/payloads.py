"""What may be stored as a job payload: signed, and not too big.

Anyone who can write to Redis can put a job hash there; with pickle, loading
that payload runs code chosen by the writer. A signed payload carries an HMAC
of its bytes under a secret key, and a worker refuses to load one whose
signature is missing or wrong. The Django app turns signing on with a key
derived from ``SECRET_KEY`` (see ``JOBQUEUE_SIGNING_KEY``); code using the
engine alone calls :func:`configure`.
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


class SignedSerializer:
    """Wraps a serializer so that everything it writes is signed and checked on read.

    Args:
        inner: the serializer of the bytes (pickle, JSON, ...).
        keys: the signing key first, then older keys still accepted on read
            (for key rotation, like Django's ``SECRET_KEY_FALLBACKS``).
    """

    def __init__(self, inner: Any, keys: Sequence[bytes]):
        if not keys:
            raise ValueError("SignedSerializer needs at least one key.")
        self.inner = inner
        self.keys = [k if isinstance(k, bytes) else str(k).encode() for k in keys]
        self.name = f"signed {getattr(inner, 'name', 'custom')}"

    def __repr__(self) -> str:
        return f"SignedSerializer({self.inner!r})"

    def dumps(self, obj: Any) -> bytes:
        data = self.inner.dumps(obj)
        return MAGIC + hmac.new(self.keys[0], data, hashlib.sha256).digest() + data

    def loads(self, payload: bytes) -> Any:
        if not payload.startswith(MAGIC):
            raise SignatureError(
                "The payload is not signed; refusing to load it "
                "(it was not written by this application)."
            )
        start = len(MAGIC) + DIGEST_SIZE
        digest, data = payload[len(MAGIC) : start], payload[start:]
        for key in self.keys:
            if hmac.compare_digest(digest, hmac.new(key, data, hashlib.sha256).digest()):
                return self.inner.loads(data)
        raise SignatureError(
            "The payload's signature does not match; refusing to load it "
            "(written with another key, or tampered with)."
        )


_keys: list[bytes] = []
_max_payload: int | None = DEFAULT_MAX_PAYLOAD
_wrapped: dict[int, SignedSerializer] = {}


def configure(
    signing_keys: Sequence[bytes | str] | None = None, max_payload: int | None = DEFAULT_MAX_PAYLOAD
) -> None:
    """Sign every serializer the engine resolves from now on (None: stop signing).

    Args:
        signing_keys: the key to sign with, then older keys still accepted.
        max_payload: bytes a job's serialized call may take (None: no limit).
    """
    global _max_payload
    _keys[:] = [k if isinstance(k, bytes) else k.encode() for k in (signing_keys or [])]
    _wrapped.clear()
    _max_payload = max_payload


def sign(serializer: Any) -> Any:
    """``serializer`` signed with the configured keys (itself when none are)."""
    if not _keys or isinstance(serializer, SignedSerializer):
        return serializer
    wrapped = _wrapped.get(id(serializer))
    if wrapped is None or wrapped.inner is not serializer:
        wrapped = _wrapped[id(serializer)] = SignedSerializer(serializer, list(_keys))
    return wrapped


def check_size(data: bytes, what: str) -> None:
    if _max_payload is not None and len(data) > _max_payload:
        raise PayloadTooLarge(
            f"{what} take {len(data) / 2**20:.1f} MiB serialized, above the limit of "
            f"{_max_payload / 2**20:.1f} MiB (JOBQUEUE_MAX_PAYLOAD). Store large data "
            "elsewhere (a file, a model) and pass a reference to it."
        )
