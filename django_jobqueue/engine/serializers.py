"""How job payloads, results and meta are turned into bytes.

A serializer is anything with ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``.
Pickle is the default because any Python value can be passed; JSON is there for
queues whose data must be readable by other languages or must not run code when
loaded.
"""

from __future__ import annotations

import json
import pickle
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


ALIASES: dict[str, Serializer] = {"pickle": PickleSerializer(), "json": JSONSerializer()}

DEFAULT_SERIALIZER = ALIASES["pickle"]


def resolve_serializer(serializer: Any = None) -> Serializer:
    """Accept None (pickle), an alias, a dotted path, or an object with dumps/loads.

    When payload signing is configured (:mod:`.payloads`), the result is signed.
    """
    return sign(_resolve(serializer))


def _resolve(serializer: Any) -> Serializer:
    if serializer is None:
        return DEFAULT_SERIALIZER
    if isinstance(serializer, str):
        if serializer in ALIASES:
            return ALIASES[serializer]
        serializer = import_attribute(serializer)
    if isinstance(serializer, type):
        serializer = serializer()
    if not (
        callable(getattr(serializer, "dumps", None))
        and callable(getattr(serializer, "loads", None))
    ):
        raise ValueError(f"{serializer!r} is not a serializer: it needs dumps() and loads().")
    return serializer
