"""Serializers: pickle by default, JSON on request, or any object with dumps/loads."""

from __future__ import annotations

import datetime
import json
import pickle

import pytest

from django_jobqueue.engine import Job, JSONSerializer, PickleSerializer, SerializationError
from django_jobqueue.engine.serializers import DefaultSerializer, resolve_serializer

from . import jobs


class ReversedJSON:
    """A custom serializer: JSON with its bytes reversed."""

    name = "reversed-json"

    def dumps(self, obj):
        return json.dumps(obj).encode()[::-1]

    def loads(self, data):
        return json.loads(data[::-1])


def test_resolve_serializer():
    # The built-in serializers are their classes (static methods), as in RQ.
    assert resolve_serializer(None) is PickleSerializer
    assert resolve_serializer("pickle") is PickleSerializer
    assert resolve_serializer("json") is JSONSerializer
    assert resolve_serializer(JSONSerializer) is JSONSerializer
    custom = ReversedJSON()
    assert resolve_serializer(custom) is custom
    # A class whose methods need an instance gets one.
    assert isinstance(
        resolve_serializer("tests.engine.test_serializers.ReversedJSON"), ReversedJSON
    )
    assert isinstance(resolve_serializer(ReversedJSON), ReversedJSON)
    assert resolve_serializer(json) is json  # a module with dumps/loads serves as is
    with pytest.raises(ValueError, match="not a serializer"):
        resolve_serializer(object())
    with pytest.raises(NotImplementedError):  # what RQ raises
        resolve_serializer(object)
    with pytest.raises(ImportError):
        resolve_serializer("tests.engine.no_such_module.Serializer")


def test_rq_names_of_the_serializers():
    """Settings written for RQ name its serializers by dotted path; they resolve to ours."""
    assert DefaultSerializer is PickleSerializer
    assert resolve_serializer("rq.serializers.DefaultSerializer") is PickleSerializer
    assert resolve_serializer("rq.serializers.PickleSerializer") is PickleSerializer
    assert resolve_serializer("rq.serializers.JSONSerializer") is JSONSerializer


def test_queue_keeps_the_serializer_it_was_given(make_queue):
    assert make_queue("q1", serializer=json).serializer is json
    assert make_queue("q2", serializer="json").serializer is JSONSerializer
    assert make_queue("q3").serializer is PickleSerializer


def test_pickle_and_json_round_trip():
    value = {"a": [1, 2.5, "x", None, True]}
    assert PickleSerializer.loads(PickleSerializer.dumps(value)) == value
    assert JSONSerializer.loads(JSONSerializer.dumps(value)) == value
    assert JSONSerializer.dumps({"k": 1}) == b'{"k":1}'
    assert JSONSerializer.loads(JSONSerializer.dumps((1, 2))) == [1, 2]


def test_default_queue_pickles(queue, redis_conn):
    when = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
    job = queue.enqueue(jobs.echo, when, {1, 2})
    instance, args, kwargs = pickle.loads(redis_conn.hget(job.key, "data"))
    assert instance is None
    assert args == (when, {1, 2})
    assert kwargs == {}


def test_json_queue_end_to_end(make_queue, make_worker, redis_conn, key_prefix):
    q = make_queue("json", serializer="json")
    job = q.enqueue(jobs.echo, 1, "two", [3], four={"x": None}, meta={"m": [1]})
    raw = redis_conn.hget(job.key, "data")
    assert json.loads(raw) == [None, [1, "two", [3]], {"four": {"x": None}}]
    assert json.loads(redis_conn.hget(job.key, "meta")) == {"m": [1]}
    make_worker([q]).work(burst=True)
    assert job.result == {"args": [1, "two", [3]], "kwargs": {"four": {"x": None}}}
    assert json.loads(redis_conn.hget(job.key, "result")) == job.result
    fetched = Job.fetch(job.id, connection=redis_conn, serializer="json", prefix=key_prefix)
    assert fetched.args == (1, "two", [3])
    assert fetched.meta == {"m": [1]}
    assert fetched.result == job.result


def test_json_queue_refuses_non_json_arguments(make_queue, prefixed_keys):
    q = make_queue("json", serializer="json")
    with pytest.raises(SerializationError) as info:
        q.enqueue(jobs.echo, datetime.datetime.now())
    assert "json" in str(info.value)
    assert "datetime" in str(info.value)
    assert isinstance(info.value, TypeError)
    assert prefixed_keys() == []


def test_json_queue_with_non_json_result_fails_the_job(make_queue, make_worker):
    q = make_queue("json", serializer="json")
    job = q.enqueue(jobs.return_generator)
    worker = make_worker([q])
    worker.work(burst=True)
    assert job.is_failed
    assert "serializer cannot store" in job.exc_info
    assert worker.failed_job_count == 1


def test_json_queue_bound_methods_are_refused(make_queue, prefixed_keys):
    q = make_queue("json", serializer="json")
    with pytest.raises(SerializationError):
        q.enqueue(jobs.Calculator(1).add, 2)
    assert prefixed_keys() == []


def test_custom_serializer_object(make_queue, make_worker, redis_conn):
    q = make_queue("custom", serializer=ReversedJSON())
    job = q.enqueue(jobs.add, 2, 3)
    assert redis_conn.hget(job.key, "data")[::-1] == b"[null, [2, 3], {}]"
    worker = make_worker([q], serializer=ReversedJSON())
    worker.work(burst=True)
    assert job.result == 5


def test_custom_serializer_by_dotted_path(make_queue, make_worker):
    q = make_queue("custom", serializer="tests.engine.test_serializers.ReversedJSON")
    job = q.enqueue(jobs.add, 2, 3)
    make_worker([q]).work(burst=True)
    assert job.result == 5


# -- msgpack (the [msgpack] extra) ---------------------------------------------------


def test_msgpack_queue_end_to_end_carries_bytes_and_aware_datetimes(
    make_queue, make_worker, redis_conn, key_prefix
):
    msgpack = pytest.importorskip("msgpack")
    from django_jobqueue.engine.serializers import MsgpackSerializer

    when = datetime.datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC)
    q = make_queue("packed", serializer="msgpack")
    assert getattr(q.serializer, "inner", q.serializer) is MsgpackSerializer
    job = q.enqueue(jobs.echo, b"\x00raw", when, (1, 2), four={"x": None}, meta={"m": b"b"})
    assert msgpack.unpackb(redis_conn.hget(job.key, "data"), timestamp=3)[1] == [
        b"\x00raw",
        when,
        [1, 2],
    ]
    make_worker([q]).work(burst=True)
    assert job.result == {"args": [b"\x00raw", when, [1, 2]], "kwargs": {"four": {"x": None}}}
    fetched = Job.fetch(job.id, connection=redis_conn, serializer="msgpack", prefix=key_prefix)
    assert fetched.meta == {"m": b"b"}
    assert len(redis_conn.hget(job.key, "result")) < len(json.dumps(repr(job.result)))


def test_msgpack_refuses_what_it_cannot_carry_at_enqueue(make_queue, prefixed_keys):
    pytest.importorskip("msgpack")
    q = make_queue("packed", serializer="msgpack")
    for value in (datetime.datetime(2030, 1, 1), object()):  # naive: no instant
        with pytest.raises(SerializationError, match="msgpack"):
            q.enqueue(jobs.echo, value)
    assert prefixed_keys() == []


def test_msgpack_missing_is_said_when_the_serializer_is_chosen(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_msgpack(name, *args, **kwargs):
        if name == "msgpack":
            raise ImportError("No module named 'msgpack'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_msgpack)
    with pytest.raises(ImportError, match=r"pip install 'django-jobqueue\[msgpack\]'"):
        resolve_serializer("msgpack")
