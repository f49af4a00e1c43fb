"""Signed payloads and the payload size limit."""

from __future__ import annotations

import os
import pickle

import pytest

from django_jobqueue.engine import (
    EnqueueError,
    JobStatus,
    PayloadTooLarge,
    SignatureError,
    SignedSerializer,
    SimpleWorker,
    payloads,
)
from django_jobqueue.engine.serializers import JSONSerializer, PickleSerializer

from . import jobs


class MakesAFile:
    """Unpickling this runs os.system: what a forged payload would do."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.fixture
def signed():
    payloads.configure([b"k" * 32, b"old-key-still-accepted"])
    yield
    payloads.configure(None)


def test_a_signed_serializer_round_trips_and_rejects_tampering():
    s = SignedSerializer(PickleSerializer(), [b"a" * 32])
    payload = s.dumps({"x": [1, 2]})
    assert s.loads(payload) == {"x": [1, 2]}
    with pytest.raises(SignatureError, match="does not match"):
        s.loads(payload[:-1] + b"\x00")
    with pytest.raises(SignatureError, match="not signed"):
        s.loads(pickle.dumps({"x": 1}))
    with pytest.raises(SignatureError):
        SignedSerializer(PickleSerializer(), [b"b" * 32]).loads(payload)


def test_old_keys_still_verify_after_a_rotation():
    old = SignedSerializer(JSONSerializer(), [b"old" * 8])
    rotated = SignedSerializer(JSONSerializer(), [b"new" * 8, b"old" * 8])
    assert rotated.loads(old.dumps([1])) == [1]
    with pytest.raises(SignatureError):
        old.loads(rotated.dumps([2]))  # new payloads are signed with the new key only


def test_a_forged_pickle_written_to_redis_never_runs(signed, make_queue, redis_conn, tmp_path):
    queue = make_queue()
    marker = tmp_path / "pwned"
    honest = queue.enqueue(jobs.add, 1, 2)
    # Someone with write access to Redis plants a job whose payload runs code.
    forged_key = queue.keys.job(queue.name, "forged")
    redis_conn.hset(
        forged_key,
        mapping={
            "func": "tests.engine.jobs.add",
            "status": "queued",
            "created_at": "1",
            "data": pickle.dumps((None, (MakesAFile(marker),), {})),
            "meta": pickle.dumps(MakesAFile(marker)),
        },
    )
    redis_conn.rpush(queue.key, "forged")
    after = queue.enqueue(jobs.add, 3, 4)
    SimpleWorker([queue]).work(burst=True)
    assert not marker.exists()
    forged = queue.fetch_job("forged")
    assert forged.get_status() == JobStatus.FAILED
    assert "not signed" in forged.exc_info
    assert (honest.result, after.result) == (3, 7)  # the other jobs are untouched


def test_a_payload_signed_with_another_key_is_refused(signed, make_queue):
    queue = make_queue()
    job = queue.enqueue(jobs.add, 1, 2)
    payloads.configure([b"some other key!!"])  # a worker with the wrong key
    worker_queue = make_queue()
    SimpleWorker([worker_queue]).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert "signature does not match" in job.exc_info


def test_arguments_above_the_size_limit_are_refused_at_enqueue(make_queue, redis_conn):
    queue = make_queue()
    before = redis_conn.dbsize()
    with pytest.raises(PayloadTooLarge, match=r"above the limit of 10\.0 MiB") as caught:
        queue.enqueue(jobs.echo, b"x" * (50 * 2**20))
    assert isinstance(caught.value, EnqueueError)
    assert redis_conn.dbsize() == before
    payloads.configure(None, max_payload=None)
    try:
        assert queue.enqueue(jobs.echo, b"x" * (11 * 2**20)).get_status() == JobStatus.QUEUED
    finally:
        payloads.configure(None)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"job_timeout": 10**12}, r"timeout=1000000000000: give seconds from 1 to"),
        ({"job_timeout": 0}, "or -1 for no limit"),
        ({"ttl": 0}, "ttl=0 would drop the job before any worker sees it"),
        ({"meta": {"blob": "x" * (11 * 2**20)}}, r"The meta of .*above the limit of 10\.0 MiB"),
        ({"description": "d" * (11 * 2**20)}, r"The description of .*above the limit"),
        ({"priority": 101}, "priority must be a whole number from -100 to 100"),
        ({"at_front": "yes"}, "at_front must be True or False"),
    ],
)
def test_options_that_cannot_work_are_refused_at_enqueue(make_queue, redis_conn, options, message):
    queue = make_queue()
    before = redis_conn.dbsize()
    with pytest.raises((ValueError, TypeError), match=message):
        queue.enqueue(jobs.add, 1, 2, **options)
    assert redis_conn.dbsize() == before


def test_a_timeout_rewritten_in_redis_to_a_huge_value_does_not_kill_the_worker(
    make_queue, redis_conn
):
    queue = make_queue()
    job = queue.enqueue(jobs.add, 1, 2)
    redis_conn.hset(job.key, "timeout", str(10**12))
    after = queue.enqueue(jobs.add, 3, 4)
    SimpleWorker([queue]).work(burst=True)
    assert (job.result, after.result) == (3, 7)


def test_a_result_above_the_limit_fails_the_job_and_stores_nothing_big(make_queue, redis_conn):
    payloads.configure(None, max_result=2**20)
    try:
        queue = make_queue()
        big = queue.enqueue(jobs.echo, "x" * (2 * 2**20))
        small = queue.enqueue(jobs.echo, "y")
        SimpleWorker([queue]).work(burst=True)
    finally:
        payloads.configure(None)
    assert big.get_status() == JobStatus.FAILED
    assert "above the limit of 1.0 MiB (JOBQUEUE_MAX_RESULT)" in big.exc_info
    assert redis_conn.hget(big.key, "result") is None
    assert small.result == {"args": ["y"], "kwargs": {}}
