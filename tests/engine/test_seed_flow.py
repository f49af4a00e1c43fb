"""The tutorial's flows, end to end, as a user would write them."""

from __future__ import annotations

import re

from django_jobqueue.engine import Job, JobStatus, Queue, SimpleWorker, Worker, job

from .jobs import add, count_words_at_url, fail


def test_count_words_at_url(redis_conn, key_prefix):
    q = Queue(connection=redis_conn, prefix=key_prefix)
    job = q.enqueue(count_words_at_url, "http://example.org")
    assert job.result is None
    assert job.get_status() == "queued"
    worker = Worker([q], connection=redis_conn, prefix=key_prefix)
    worker.work(burst=True)
    assert job.result == 3
    assert job.get_status() == "finished"


def test_count_words_of_a_local_file(redis_conn, key_prefix, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("one two three\nfour five\n")
    q = Queue(connection=redis_conn, prefix=key_prefix)
    job = q.enqueue(count_words_at_url, f"file://{page}")
    SimpleWorker([q]).work(burst=True)
    assert job.result == 5


def test_named_queue_and_enqueue_call(redis_conn, key_prefix):
    q = Queue("low", connection=redis_conn, prefix=key_prefix)
    job = q.enqueue_call(func=count_words_at_url, args=("http://example.org/a/b",), timeout=30)
    assert job.origin == "low"
    assert job.timeout == 30
    assert job.args == ("http://example.org/a/b",)
    SimpleWorker([q]).work(burst=True)
    assert job.result == 5


def test_enqueue_by_dotted_path(redis_conn, key_prefix):
    q = Queue(connection=redis_conn, prefix=key_prefix)
    job = q.enqueue("tests.engine.jobs.count_words_at_url", "http://example.org")
    SimpleWorker([q]).work(burst=True)
    assert job.result == 3


def test_inspecting_a_queue(redis_conn, key_prefix):
    q = Queue(connection=redis_conn, prefix=key_prefix)
    first = q.enqueue(count_words_at_url, "http://example.org")
    second = q.enqueue(add, 1, 2)
    assert len(q) == 2
    assert q.count == 2
    assert q.job_ids == [first.id, second.id]
    assert [j.id for j in q.jobs] == [first.id, second.id]
    fetched = q.fetch_job(first.id)
    assert fetched.id == first.id
    assert fetched.func_name == "tests.engine.jobs.count_words_at_url"
    assert re.fullmatch(rf"Job\('{first.id}', enqueued_at=datetime\.datetime\(.+\)\)", repr(first))
    assert repr(fetched) == repr(first)
    assert q.fetch_job("not-a-job") is None


def test_job_decorator(redis_conn, key_prefix, queues_under_test_prefix, monkeypatch):
    import tests.engine.jobs as jobs_module

    monkeypatch.setattr(jobs_module.add, "delay", None, raising=False)
    monkeypatch.delattr(jobs_module.add, "delay")

    # @job("low", connection=..., timeout=5) on the module-level function workers import.
    decorated = job("low", connection=redis_conn, timeout=5)(add)
    assert decorated is add
    queued = add.delay(3, 4)
    assert queued.origin == "low"
    assert queued.timeout == 5
    SimpleWorker([Queue("low", connection=redis_conn, prefix=key_prefix)]).work(burst=True)
    assert queued.result == 7
    assert add(3, 4) == 7


def test_synchronous_queue(redis_conn, key_prefix):
    q = Queue("low", is_async=False, connection=redis_conn, prefix=key_prefix)
    job = q.enqueue(count_words_at_url, "http://example.org")
    assert job.get_status() == JobStatus.FINISHED
    assert job.result == 3


def test_dependency_on_a_failing_parent(redis_conn, key_prefix):
    q = Queue(connection=redis_conn, prefix=key_prefix)
    parent = q.enqueue(fail, "parent raises ValueError")
    child = q.enqueue(count_words_at_url, "http://example.org", depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    worker = SimpleWorker([q])
    worker.work(burst=True)
    assert parent.get_status() == JobStatus.FAILED
    assert "ValueError: parent raises ValueError" in parent.exc_info
    assert child.get_status() == JobStatus.DEFERRED
    assert child.result is None
    assert worker.successful_job_count == 0
    assert worker.failed_job_count == 1
    assert Job.fetch(child.id, connection=redis_conn, prefix=key_prefix).is_deferred
