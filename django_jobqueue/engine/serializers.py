"""How job payloads, results and meta are turned into bytes.

A serializer is anything with ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``.
Pickle is the default because any Python value can be passed; JSON is there for
queues whose data must be readable by other languages or must not run code when
loaded; MessagePack (the ``msgpack`` extra) is JSON's compact cousin, which
also carries bytes and aware datetimes.
"""

from __future__ import annotations

import inspect
import json
import pickle
from functools import cache
from typing import Any, Protocol, runtime_checkable

from .payloads import sign
from .utils import import_attribute


@runtime_checkable
class Serializer(Protocol):
    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class PickleSerializer:
    name = "pickle"

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> Any:
        return pickle.loads(data)


class JSONSerializer:
    """JSON with tuples kept as lists; only JSON types round-trip."""

    name = "json"

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    @staticmethod
    def loads(data: bytes) -> Any:
        return json.loads(data)


class MsgpackSerializer:
    """MessagePack: only its own types round-trip (tuples come back as lists).

    Bytes and timezone-aware datetimes do (a naive datetime is refused at
    enqueue: it has no instant); loading runs no code. Needs ``msgpack``
    (``pip install django-jobqueue[msgpack]``).
    """

    name = "msgpack"

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return _msgpack().packb(obj, use_bin_type=True, datetime=True)

    @staticmethod
    def loads(data: bytes) -> Any:
        return _msgpack().unpackb(data, raw=False, timestamp=3, strict_map_key=False)


def _msgpack() -> Any:
    try:
        import msgpack
    except ImportError:
        raise ImportError(
            "The msgpack serializer needs the msgpack package: "
            "pip install 'django-jobqueue[msgpack]'."
        ) from None
    return msgpack


#: RQ's name for the default serializer (the same class).
DefaultSerializer = PickleSerializer

#: Names a serializer may be given by. The classes themselves serve (their
#: methods are static), as in RQ, so ``Queue(serializer="json").serializer``
#: is :class:`JSONSerializer`.
ALIASES: dict[str, Any] = {
    "pickle": PickleSerializer,
    "json": JSONSerializer,
    "msgpack": MsgpackSerializer,
}

#: RQ's dotted paths of its serializers, accepted too, so that a setting
#: written for RQ keeps working after the switch.
RQ_PATHS: dict[str, Any] = {
    "rq.serializers.DefaultSerializer": PickleSerializer,
    "rq.serializers.PickleSerializer": PickleSerializer,
    "rq.serializers.JSONSerializer": JSONSerializer,
}

DEFAULT_SERIALIZER = PickleSerializer


class NotASerializer(ValueError, NotImplementedError):
    """What is given as a serializer has no ``dumps``/``loads`` (RQ raises NotImplementedError)."""


def resolve_serializer(serializer: Any = None) -> Serializer:
    """Accept None (pickle), an alias, a dotted path, or an object with dumps/loads.

    When payload signing is configured (:mod:`.payloads`), the result is signed.
    """
    return sign(_resolve(serializer))


def _resolve(serializer: Any) -> Serializer:
    if serializer is None:
        return DEFAULT_SERIALIZER
    if isinstance(serializer, str):
        if serializer in ALIASES or serializer in RQ_PATHS:
            serializer = ALIASES.get(serializer) or RQ_PATHS[serializer]
        else:
            serializer = import_attribute(serializer)
    if serializer is MsgpackSerializer:
        _msgpack()  # missing: say so where the serializer is chosen, not at the first job
    if isinstance(serializer, type) and not _static(serializer):
        serializer = serializer()  # its dumps/loads need an instance
    if not (
        callable(getattr(serializer, "dumps", None))
        and callable(getattr(serializer, "loads", None))
    ):
        raise NotASerializer(f"{serializer!r} is not a serializer: it needs dumps() and loads().")
    return serializer


@cache  # every Job built resolves its serializer: inspect once per class
def _static(cls: type) -> bool:
    """Whether a class serves as a serializer by itself (static or class methods)."""
    methods = [inspect.getattr_static(cls, name, None) for name in ("dumps", "loads")]
    return all(isinstance(m, (staticmethod, classmethod)) for m in methods)
