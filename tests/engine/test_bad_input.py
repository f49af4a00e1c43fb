"""Bad input, in calls and in Redis: each gets a clear error, every other job goes on."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_jobqueue.engine import JobStatus, SimpleWorker

from . import jobs


def _plant(redis_conn, queue, job_id, **fields):
    redis_conn.hset(queue.keys.job(queue.name, job_id), mapping=fields)
    redis_conn.rpush(queue.key, job_id)


def test_broken_job_hashes_fail_alone(make_queue, redis_conn):
    queue = make_queue()
    before = queue.enqueue(jobs.add, 1, 1)
    _plant(redis_conn, queue, "no-func", status="queued", created_at="1", data=b"\x80junk")
    _plant(redis_conn, queue, "no-data", status="queued", func="tests.engine.jobs.add")
    _plant(redis_conn, queue, "weird-status", status="exploded", func="tests.engine.jobs.add")
    redis_conn.rpush(queue.key, "expired-long-ago")  # an id whose hash is gone
    after = queue.enqueue(jobs.add, 2, 2)
    SimpleWorker([queue]).work(burst=True)
    assert (before.result, after.result) == (2, 4)
    for job_id, text in (
        ("no-func", "stored call"),
        ("no-data", "no stored call data"),
        ("weird-status", "unknown status exploded"),
    ):
        job = queue.fetch_job(job_id)
        assert job.get_status() == JobStatus.FAILED, job_id
        assert text in job.exc_info, (job_id, job.exc_info)
        assert job_id in queue.failed_job_registry.get_job_ids()
    assert len(queue) == 0 and queue.started_job_registry.count == 0


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    args=st.lists(values, max_size=4),
    kwargs=st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), values, max_size=3
    ),
)
def test_any_argument_structure_round_trips(make_queue, args, kwargs):
    queue = make_queue("roundtrip")
    job = queue.enqueue_call(jobs.echo, args=args, kwargs=kwargs)
    SimpleWorker([queue]).work(burst=True, logging_level=None)
    assert job.get_status() == JobStatus.FINISHED
    assert job.result == {"args": list(args), "kwargs": kwargs}
