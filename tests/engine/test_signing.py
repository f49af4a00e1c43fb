"""A signed call binds the job id and every stored name a worker imports.

Someone who can write to Redis but lacks the signing key rewrites one field of
a job hash at a time; in every execution model, on pickle and JSON queues, the
worker refuses the job before importing or unpickling anything, records why,
and goes on with the honest jobs.
"""

from __future__ import annotations

import json
import sys

import pytest

from django_jobqueue.engine import (
    Callback,
    Chain,
    JobStatus,
    Result,
    Retry,
    SignatureError,
    SimpleWorker,
    Step,
    Worker,
    payloads,
)
from django_jobqueue.engine.utils import import_attribute
from django_jobqueue.engine.worker.pool import WorkerPool

from . import jobs

KEY = b"the signing key of this app, 32b"
WORKERS = {
    "in-process": lambda q: SimpleWorker([q]),
    "fork": lambda q: Worker([q]),
    "pool": lambda q: WorkerPool([q], processes=2),
}
# What the attacker's code does when it runs: leave a mark, like the honest jobs.
EXPLOIT = "__import__('tests.engine.jobs', fromlist=['mark']).mark('pwned')"


@pytest.fixture
def marks(tmp_path, monkeypatch):
    """Lines appended by jobs.mark(), read back after the workers ran."""
    path = tmp_path / "marks"
    path.touch()
    monkeypatch.setenv("JQ_TEST_MARKS", str(path))
    return lambda: path.read_text().split()


@pytest.fixture
def signed():
    payloads.configure([KEY])
    yield
    payloads.configure(None)


def _func_to_exec(queue, conn):
    job = queue.enqueue(jobs.echo, EXPLOIT)  # an honest call of echo() with a string
    code = "builtins.eval" if queue.serializer.inner.name == "json" else "builtins.exec"
    conn.hset(job.key, "func", code)
    return job


def _func_to_a_module_that_runs_on_import(queue, conn):
    job = queue.enqueue(jobs.echo, 1)
    conn.hset(job.key, "func", "tests.engine.pwn_on_import.anything")
    return job


def _on_success_added(queue, conn):
    job = queue.enqueue(jobs.echo, 1)
    conn.hset(job.key, "on_success", "tests.engine.jobs.mark_callback")
    return job


def _on_success_replaced(queue, conn):
    job = queue.enqueue(jobs.echo, 1, on_success=jobs.on_success_callback)
    conn.hset(job.key, "on_success", "tests.engine.jobs.mark_callback")
    return job


def _on_failure_added(queue, conn):
    job = queue.enqueue(jobs.fail)
    conn.hset(job.key, "on_failure", "tests.engine.jobs.mark_callback")
    return job


def _on_stopped_added(queue, conn):
    job = queue.enqueue(jobs.echo, 1)
    conn.hset(job.key, "on_stopped", "tests.engine.jobs.mark_callback")
    return job


def _data_of_another_job(queue, conn):
    other = queue.enqueue(jobs.mark, "pwned")
    job = queue.enqueue(jobs.mark, "honest")
    conn.hset(job.key, "data", conn.hget(other.key, "data"))
    other.delete()  # only the tampered job could now write "pwned"
    return job


def _whole_call_copied_to_another_id(queue, conn):
    original = queue.enqueue(jobs.mark, "pwned")
    fields = conn.hgetall(original.key)
    original.delete()
    copy_key = queue.keys.job(queue.name, "copied")
    conn.hset(copy_key, mapping=fields)
    conn.rpush(queue.key, "copied")
    return queue.fetch_job("copied")


def _signed_result(queue, conn, value):
    """A finished job whose signed result is ``value``: any writer can make one,
    since a result is bound to its serializer, not to its job."""
    key = queue.keys.job(queue.name, "ghost")
    conn.hset(key, mapping={"status": "finished", "result": queue.serializer.dumps(value)})
    return key


def _chain_link_added(queue, conn):
    ghost = _signed_result(queue, conn, "pwned")
    job = queue.enqueue(jobs.mark)  # honest: would fail for want of an argument
    conn.hset(job.key, "chain", json.dumps({"step": 2, "of": 2, "prev": ghost}))
    return job


def _chain_link_redirected(queue, conn):
    ghost = _signed_result(queue, conn, "pwned")
    second = Chain(Step(jobs.echo, "honest"), Step(jobs.mark)).enqueue(queue).jobs[1]
    link = json.loads(conn.hget(second.key, "chain"))
    conn.hset(second.key, "chain", json.dumps({**link, "prev": ghost}))
    return second


TAMPERINGS = [
    _func_to_exec,
    _func_to_a_module_that_runs_on_import,
    _on_success_added,
    _on_success_replaced,
    _on_failure_added,
    _on_stopped_added,
    _data_of_another_job,
    _whole_call_copied_to_another_id,
    _chain_link_added,
    _chain_link_redirected,
]


@pytest.mark.parametrize("serializer", ["pickle", "json"])
@pytest.mark.parametrize("kind", WORKERS)
@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__.strip("_"))
def test_a_tampered_job_is_refused_before_anything_runs(
    signed, marks, make_queue, redis_conn, tamper, kind, serializer
):
    queue = make_queue(serializer=serializer)
    before = queue.enqueue(jobs.mark, "before")
    tampered = tamper(queue, redis_conn)
    after = queue.enqueue(jobs.mark, "after")
    sys.modules.pop("tests.engine.pwn_on_import", None)

    WORKERS[kind](queue).work(burst=True)

    assert marks() == ["before", "after"]  # no "pwned", no "imported"
    assert "tests.engine.pwn_on_import" not in sys.modules
    assert tampered.get_status() == JobStatus.FAILED
    tampered.refresh()
    assert "tampered with in Redis or written with another signing key" in tampered.exc_info
    assert "nothing was imported or unpickled" in tampered.exc_info
    assert before.get_status() == after.get_status() == JobStatus.FINISHED


def test_a_refused_job_is_not_retried(signed, marks, make_queue, redis_conn):
    queue = make_queue()
    job = queue.enqueue(jobs.echo, EXPLOIT, retry=Retry(max=3))
    redis_conn.hset(job.key, "func", "builtins.exec")
    SimpleWorker([queue]).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert queue.failed_job_registry.get_job_ids() == [job.id]
    assert marks() == []


def test_every_stored_field_that_names_code_is_bound(signed, make_queue, redis_conn):
    """A field added later that names something to import fails here until it is signed."""
    queue = make_queue()
    job = queue.enqueue(
        jobs.fail,
        on_success=jobs.on_success_callback,
        on_failure=jobs.on_failure_callback,
        on_stopped=Callback(jobs.on_failure_callback, timeout=7),
        retry=Retry(max=2, interval=[1, 2]),
        meta={"a": 1},
        description="d",
        priority=5,
        timeout=9,
    )
    naming_code = []
    for field, value in redis_conn.hgetall(job.key).items():
        try:
            callable(import_attribute(value.decode()))
        except Exception:
            continue
        naming_code.append(field.decode())
        redis_conn.hset(job.key, field, "tests.engine.jobs.mark_callback")
        with pytest.raises(SignatureError, match="tampered with"):
            queue.fetch_job(job.id).args
        redis_conn.hset(job.key, field, value)
        assert queue.fetch_job(job.id).args == ()
    assert sorted(naming_code) == ["func", "on_failure", "on_stopped", "on_success"]


def test_jobs_signed_with_a_rotated_key_still_run(marks, make_queue):
    payloads.configure([b"the old key, before the rotation"])
    old = make_queue().enqueue(jobs.mark, "old")
    try:
        payloads.configure([KEY, b"the old key, before the rotation"])
        queue = make_queue()
        new = queue.enqueue(jobs.mark, "new")
        SimpleWorker([queue]).work(burst=True)
        assert old.get_status() == new.get_status() == JobStatus.FINISHED
        assert sorted(marks()) == ["new", "old"]

        payloads.configure([b"a key that never signed these"])
        late = make_queue().enqueue(jobs.mark, "late")
        payloads.configure([KEY])  # the old key retired: its jobs are refused
        stale = make_queue().enqueue(jobs.mark, "stale")
        payloads.configure([b"the old key, before the rotation"])
        queue = make_queue()
        SimpleWorker([queue]).work(burst=True)
        assert late.get_status() == stale.get_status() == JobStatus.FAILED
        assert sorted(marks()) == ["new", "old"]
    finally:
        payloads.configure(None)


# -- results and meta are bound to their job ----------------------------------


@pytest.fixture(params=["pickle", "json"])
def finished_pair(request, signed, make_queue):
    """Two jobs that finished with their own results and meta."""
    queue = make_queue(serializer=request.param)
    mine = queue.enqueue(jobs.echo, "mine", meta={"owner": "mine"})
    theirs = queue.enqueue(jobs.echo, "theirs", meta={"owner": "theirs"})
    SimpleWorker([queue]).work(burst=True)
    return queue, queue.fetch_job(mine.id), queue.fetch_job(theirs.id)


def test_a_result_copied_from_another_job_is_refused(finished_pair, redis_conn):
    queue, mine, theirs = finished_pair
    assert (mine.result["args"], theirs.result["args"]) == (["mine"], ["theirs"])
    redis_conn.hset(mine.key, "result", redis_conn.hget(theirs.key, "result"))
    with pytest.raises(SignatureError):
        queue.fetch_job(mine.id).result


def test_a_result_entry_copied_from_another_jobs_stream_is_refused(finished_pair, redis_conn):
    queue, mine, theirs = finished_pair
    Result.create(mine, Result.Type.SUCCESSFUL, ttl=60, return_value="recorded for mine")
    Result.create(theirs, Result.Type.SUCCESSFUL, ttl=60, return_value="recorded for theirs")
    assert "recorded for mine" in [r.return_value for r in Result.all(mine)]
    ((_, fields),) = redis_conn.xrevrange(
        Result.get_key(theirs, queue.name, queue.keys.prefix), count=1
    )
    redis_conn.xadd(Result.get_key(mine, queue.name, queue.keys.prefix), fields)
    with pytest.raises(SignatureError):
        Result.all(queue.fetch_job(mine.id))


def test_meta_copied_from_another_job_is_not_loaded(finished_pair, redis_conn):
    queue, mine, theirs = finished_pair
    assert mine.get_meta()["owner"] == "mine"
    stolen = redis_conn.hget(theirs.key, "meta")
    redis_conn.hset(mine.key, "meta", stolen)
    assert queue.fetch_job(mine.id).meta == {"unserialized": stolen}


def test_a_chain_step_refuses_a_result_copied_to_its_predecessor(
    signed, marks, make_queue, redis_conn
):
    queue = make_queue()
    other = queue.enqueue(jobs.echo, "pwned")
    first, second = Chain(Step(jobs.echo, "honest"), Step(jobs.mark)).enqueue(queue).jobs
    SimpleWorker([queue]).work(burst=True, max_jobs=2)  # other, then the first step
    assert first.get_status() == JobStatus.FINISHED and second.get_status() == JobStatus.QUEUED
    redis_conn.hset(first.key, "result", redis_conn.hget(other.key, "result"))

    SimpleWorker([queue]).work(burst=True)

    assert marks() == []
    assert second.get_status() == JobStatus.FAILED
    assert "not signed for that job" in queue.fetch_job(second.id).exc_info
