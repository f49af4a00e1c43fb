"""Queue: enqueueing in every form, reading its contents, emptying and deleting it."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
import redis

from django_jobqueue.engine import (
    DuplicateJobError,
    EnqueueError,
    InvalidJobOperation,
    Job,
    JobStatus,
    Queue,
    Retry,
    SerializationError,
    SimpleWorker,
    hooks,
)
from django_jobqueue.engine.job import DEFAULT_TIMEOUT

from . import jobs

# -- construction ---------------------------------------------------------------


def test_queue_defaults(redis_conn, key_prefix):
    q = Queue(connection=redis_conn, prefix=key_prefix)
    assert q.name == "default"
    assert q.is_async is True
    assert q.default_timeout == DEFAULT_TIMEOUT == 180
    assert q.key == f"{key_prefix}{{default}}:queue"
    assert repr(q) == "Queue('default')"


def test_queue_options(redis_conn, key_prefix):
    q = Queue(
        "low",
        connection=redis_conn,
        is_async=False,
        default_timeout=30,
        serializer="json",
        prefix=key_prefix,
    )
    assert q.name == "low"
    assert q.is_async is False
    assert q.default_timeout == 30
    assert q.serializer.name == "json"


def test_default_timeout_reaches_jobs(make_queue):
    q = make_queue("default", default_timeout="2m")
    assert q.enqueue(jobs.add, 1, 2).timeout == 120
    assert q.enqueue(jobs.add, 1, 2, job_timeout=5).timeout == 5


def test_queues_are_equal_by_name_and_prefix(redis_conn, key_prefix):
    assert Queue("a", redis_conn, prefix=key_prefix) == Queue("a", redis_conn, prefix=key_prefix)
    assert Queue("a", redis_conn, prefix=key_prefix) != Queue("b", redis_conn, prefix=key_prefix)
    assert Queue("a", redis_conn, prefix=key_prefix) != Queue("a", redis_conn, prefix="other:")


def test_empty_queue_is_still_truthy(queue):
    assert queue.is_empty()
    assert bool(queue) is True


def test_invalid_queue_name(redis_conn, key_prefix):
    with pytest.raises(ValueError):
        Queue("has space", connection=redis_conn, prefix=key_prefix)


def test_decoding_client_is_refused(redis_url, key_prefix):
    import redis

    from django_jobqueue.engine import JobQueueError

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(JobQueueError, match="decode_responses"):
        Queue(connection=client, prefix=key_prefix)
    client.close()


# -- enqueue forms ------------------------------------------------------------


def test_enqueue_module_level_function(queue, make_worker):
    job = queue.enqueue(jobs.add, 3, 4)
    assert isinstance(job, Job)
    assert job.func_name == "tests.engine.jobs.add"
    assert job.args == (3, 4)
    assert job.kwargs == {}
    assert job.origin == "default"
    assert job.get_status() == JobStatus.QUEUED
    make_worker([queue]).work(burst=True)
    assert job.result == 7


def test_enqueue_bound_method_of_picklable_instance(queue, make_worker):
    calc = jobs.Calculator(10)
    job = queue.enqueue(calc.add, 5)
    assert job.func_name == "add"
    assert job.instance == calc
    fetched = Job.fetch(job.id, connection=queue.connection, prefix=queue.keys.prefix)
    assert fetched.instance == calc
    assert fetched.args == (5,)
    make_worker([queue]).work(burst=True)
    assert job.result == 15


def test_enqueue_dotted_path_string(queue, make_worker):
    job = queue.enqueue("tests.engine.jobs.add", 3, 4)
    assert job.func_name == "tests.engine.jobs.add"
    assert job.description == "tests.engine.jobs.add(3, 4)"
    make_worker([queue]).work(burst=True)
    assert job.get_status() == "finished"
    assert job.result == 7


def test_enqueue_dotted_path_to_a_method_of_a_class(queue, make_worker):
    job = queue.enqueue("tests.engine.jobs.Calculator.add", jobs.Calculator(1), 2)
    make_worker([queue]).work(burst=True)
    assert job.result == 3


@pytest.mark.parametrize("bad", ["add", ".jobs.add", "tests..jobs.add", ""])
def test_enqueue_bad_dotted_path_is_refused(queue, bad, prefixed_keys):
    with pytest.raises(EnqueueError):
        queue.enqueue(bad)
    assert prefixed_keys() == []


def test_reserved_keywords_reach_the_job_not_the_function(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    job = queue.enqueue(
        jobs.echo,
        1,
        2,
        x=3,
        job_timeout=11,
        result_ttl=22,
        ttl=333,
        failure_ttl=44,
        depends_on=parent,
        job_id="my-job",
        at_front=True,
        description="my description",
        meta={"k": "v"},
        retry=Retry(max=2, interval=[1, 5]),
        on_success=jobs.on_success_callback,
        on_failure=jobs.on_failure_callback,
    )
    assert job.id == "my-job"
    assert job.args == (1, 2)
    assert job.kwargs == {"x": 3}
    assert job.timeout == 11
    assert job.result_ttl == 22
    assert job.ttl == 333
    assert job.failure_ttl == 44
    assert job.description == "my description"
    assert job.meta == {"k": "v"}
    assert job.retries_left == 2
    assert job.on_success == "tests.engine.jobs.on_success_callback"
    assert job.on_failure == "tests.engine.jobs.on_failure_callback"
    assert job.dependency_ids == [parent.id]
    assert job.get_status() == "deferred"

    stored = Job.fetch("my-job", connection=queue.connection, prefix=queue.keys.prefix)
    assert stored.args == (1, 2)
    assert stored.kwargs == {"x": 3}
    assert (stored.timeout, stored.result_ttl, stored.ttl, stored.failure_ttl) == (11, 22, 333, 44)
    assert stored.description == "my description"
    assert stored.meta == {"k": "v"}
    assert stored.retries_left == 2
    assert stored.retry_intervals == [1, 5]
    assert stored.enqueue_at_front is True
    assert stored.dependency_ids == [parent.id]

    make_worker([queue]).work(burst=True)
    assert job.result == {"args": [1, 2], "kwargs": {"x": 3}}


def test_explicit_args_and_kwargs_form(queue, make_worker):
    # args=/kwargs= let the function receive keywords named like reserved ones.
    job = queue.enqueue(
        jobs.echo, args=(1, 2), kwargs={"ttl": 5, "description": "d"}, job_timeout=9
    )
    assert job.args == (1, 2)
    assert job.kwargs == {"ttl": 5, "description": "d"}
    assert job.timeout == 9
    assert job.ttl is None
    make_worker([queue]).work(burst=True)
    assert job.result == {"args": [1, 2], "kwargs": {"ttl": 5, "description": "d"}}


def test_explicit_args_with_positional_args_is_refused(queue):
    with pytest.raises(TypeError):
        queue.enqueue(jobs.echo, 1, args=(2,))


@pytest.mark.parametrize("args", [(3, 4), [3, 4]])
def test_enqueue_call(queue, make_worker, args):
    job = queue.enqueue_call(
        jobs.add,
        args=args,
        timeout=30,
        result_ttl=60,
        ttl=120,
        failure_ttl=240,
        job_id=f"call-{type(args).__name__}",
        description="adding",
        meta={"m": 1},
    )
    assert job.args == (3, 4)
    assert job.timeout == 30
    assert (job.result_ttl, job.ttl, job.failure_ttl) == (60, 120, 240)
    assert job.description == "adding"
    assert job.meta == {"m": 1}
    make_worker([queue]).work(burst=True)
    assert job.result == 7


def test_enqueue_call_defaults(queue, make_worker):
    job = queue.enqueue_call(func=jobs.echo, kwargs={"a": 1})
    assert job.args == ()
    assert job.kwargs == {"a": 1}
    assert job.timeout == DEFAULT_TIMEOUT
    assert job.result_ttl is None  # the worker default (DEFAULT_RESULT_TTL) applies
    assert job.failure_ttl is None  # DEFAULT_FAILURE_TTL applies, as in RQ
    assert job.ttl is None
    make_worker([queue]).work(burst=True)
    assert job.result == {"args": [], "kwargs": {"a": 1}}


def test_enqueue_call_depends_on_and_at_front(queue, make_worker):
    first = queue.enqueue(jobs.add, 0, 0)
    parent = queue.enqueue_call(jobs.add, args=(1, 1))
    child = queue.enqueue_call(jobs.add, args=(2, 2), depends_on=parent.id)
    front = queue.enqueue_call(jobs.add, args=(3, 3), at_front=True)
    assert queue.job_ids == [front.id, first.id, parent.id]
    assert child.is_deferred
    make_worker([queue]).work(burst=True)
    assert child.result == 4


def test_enqueue_with_timeout_strings_and_forever(queue):
    job = queue.enqueue(jobs.add, 1, 1, job_timeout="1m", result_ttl=-1, failure_ttl="1h")
    assert job.timeout == 60
    assert job.result_ttl == -1
    assert job.failure_ttl == 3600
    with pytest.raises(ValueError):
        queue.enqueue(jobs.add, 1, 1, result_ttl=-5)


def test_a_reused_job_id_replaces_a_waiting_job_or_with_unique_is_refused(queue, make_worker):
    queue.enqueue(jobs.add, 1, 1, job_id="dup")
    replaced = queue.enqueue(jobs.add, 2, 2, job_id="dup")  # RQ's default: the new job wins
    assert queue.get_job_ids() == ["dup"]
    with pytest.raises(DuplicateJobError, match="already queued"):
        queue.enqueue(jobs.add, 3, 3, job_id="dup", unique=True)
    assert queue.count == 1
    make_worker([queue]).work(burst=True)
    assert replaced.result == 4
    # An ended job's id can be reused: the new job replaces it.
    again = queue.enqueue(jobs.add, 5, 5, job_id="dup")
    assert again.get_status() == "queued"
    assert "dup" not in queue.finished_job_registry
    make_worker([queue]).work(burst=True)
    assert again.result == 10


def test_a_reused_job_id_never_replaces_a_deferred_or_running_job(queue, redis_conn):
    parent = queue.enqueue(jobs.add, 1, 1)
    queue.enqueue(jobs.add, 2, 2, job_id="waits", depends_on=parent)
    with pytest.raises(DuplicateJobError, match="already deferred"):
        queue.enqueue(jobs.add, 3, 3, job_id="waits")
    running = queue.enqueue(jobs.add, 4, 4, job_id="runs")
    redis_conn.hset(running.key, "status", "started")  # as a worker marks it
    with pytest.raises(DuplicateJobError, match="already started"):
        queue.enqueue(jobs.add, 5, 5, job_id="runs")
    assert queue.fetch_job("waits").args == (2, 2) and queue.fetch_job("runs").args == (4, 4)


def test_enqueue_at_reads_a_naive_datetime_as_local_time_as_rq_does(queue, redis_conn):
    from datetime import datetime

    naive = datetime(2030, 10, 10, 8, 0)
    job = queue.enqueue_at(naive, jobs.add, 1, 1)
    due = redis_conn.zscore(queue.scheduled_job_registry.key, job.id)
    assert due == naive.astimezone().timestamp()  # the offset in effect on that date


# -- contents ------------------------------------------------------------------


def test_len_count_job_ids_jobs_and_fetch_job(queue):
    assert len(queue) == 0
    assert queue.count == 0
    assert queue.is_empty()
    a = queue.enqueue(jobs.add, 1, 2)
    b = queue.enqueue(jobs.add, 3, 4)
    c = queue.enqueue(jobs.add, 5, 6)
    assert len(queue) == 3
    assert queue.count == 3
    assert not queue.is_empty()
    assert queue.job_ids == [a.id, b.id, c.id]
    assert [j.id for j in queue.jobs] == [a.id, b.id, c.id]
    assert [j.args for j in queue.jobs] == [(1, 2), (3, 4), (5, 6)]
    assert queue.get_job_ids(1, 1) == [b.id]
    assert [j.id for j in queue.get_jobs(1)] == [b.id, c.id]
    fetched = queue.fetch_job(b.id)
    assert fetched == b
    assert fetched.args == (3, 4)
    assert fetched.origin == "default"
    assert queue.fetch_job("no-such-id") is None


def test_get_job_ids_length_zero_is_no_ids_and_negative_is_the_rest(queue):
    a, b, c = (queue.enqueue(jobs.add, n, n) for n in range(3))
    assert queue.get_job_ids(length=0) == []
    assert queue.get_jobs(length=0) == []
    assert queue.get_job_ids(1) == queue.get_job_ids(1, -1) == [b.id, c.id]
    assert queue.get_job_ids(0, 2) == [a.id, b.id]
    assert queue.get_job_ids(5, 2) == []


def test_get_job_position(queue):
    a, b = queue.enqueue(jobs.add, 1, 1), queue.enqueue(jobs.add, 2, 2)
    assert queue.get_job_position(a) == 0
    assert queue.get_job_position(b.id) == 1
    assert queue.get_job_position("not-there") is None


def test_get_job_position_counts_jobs_with_a_priority(queue):
    a = queue.enqueue(jobs.add, 1, 1)
    urgent = queue.enqueue(jobs.add, 2, 2, priority=5)
    assert queue.get_job_position(urgent) == 0
    assert queue.get_job_position(a) == 1


def test_remove_cancels_the_job_so_it_is_still_somewhere(queue):
    job = queue.enqueue(jobs.add, 1, 1)
    other = queue.enqueue(jobs.add, 2, 2)
    assert queue.remove(job) is True
    assert queue.job_ids == [other.id]
    assert job.get_status() == JobStatus.CANCELED
    assert job.id in queue.canceled_job_registry
    assert queue.remove(job.id) is False
    assert queue.remove("not-there") is False


def test_enqueue_call_in_a_callers_pipeline_is_stored_when_it_executes(queue):
    pipe = queue.connection.pipeline()
    job = queue.enqueue_call(jobs.add, args=(1, 2), pipeline=pipe)
    assert queue.job_ids == []
    pipe.execute()
    assert queue.job_ids == [job.id]
    assert queue.fetch_job(job.id).args == (1, 2)


def test_enqueue_in_a_pipeline_that_is_discarded_stores_nothing(queue, prefixed_keys):
    pipe = queue.connection.pipeline()
    queue.enqueue(jobs.add, 1, 2, pipeline=pipe)
    pipe.reset()
    assert [k for k in prefixed_keys() if ":job:" in k] == []
    assert queue.job_ids == []


def test_enqueue_in_a_pipeline_refuses_unfinished_parents(queue):
    parent = queue.enqueue(jobs.add, 1, 1)
    with pytest.raises(InvalidJobOperation, match="pipeline"):
        queue.enqueue(jobs.add, 1, 2, depends_on=parent, pipeline=queue.connection.pipeline())
    assert queue.job_ids == [parent.id]


def test_fetch_job_only_looks_in_its_own_queue(make_queue):
    high, low = make_queue("high"), make_queue("low")
    job = high.enqueue(jobs.add, 1, 1)
    assert high.fetch_job(job.id) == job
    assert low.fetch_job(job.id) is None


def test_at_front_ordering(queue, make_worker, redis_conn, key_prefix):
    queue.enqueue(jobs.record_order, "a")
    queue.enqueue(jobs.record_order, "b")
    front = queue.enqueue(jobs.record_order, "front", at_front=True)
    assert queue.job_ids[0] == front.id
    make_worker([queue]).work(burst=True)
    order = redis_conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)
    assert order == [b"front", b"a", b"b"]


def test_empty_removes_queued_jobs_only(queue, make_worker, redis_conn):
    done = queue.enqueue(jobs.add, 1, 1)
    make_worker([queue]).work(burst=True)
    queued = [queue.enqueue(jobs.add, i, i) for i in range(5)]
    assert queue.empty() == 5
    assert queue.count == 0
    assert queue.is_empty()
    for job in queued:
        assert not redis_conn.exists(job.key)
    # A finished job is not in the queue and is left alone.
    assert done.get_status() == "finished"


def test_empty_works_in_batches(queue, redis_conn):
    ids = [queue.enqueue(jobs.add, i, i).id for i in range(23)]
    assert queue.empty(batch=5) == 23
    assert queue.count == 0
    assert not any(redis_conn.exists(queue.keys.job("default", i)) for i in ids)


def test_delete_with_jobs_removes_every_key(
    queue, make_queue, make_worker, redis_conn, key_prefix, prefixed_keys
):
    other = make_queue("other")
    kept = other.enqueue(jobs.add, 1, 1)
    queue.enqueue(jobs.add, 1, 2)
    queue.enqueue(jobs.add, 1, 2, result_ttl=-1)
    queue.enqueue(jobs.fail)
    parent = queue.enqueue(jobs.fail)
    queue.enqueue(jobs.add, 0, 0, depends_on=parent)
    queue.enqueue(jobs.fail, retry=Retry(max=1, interval=3600))
    make_worker([queue]).work(burst=True)
    queue.enqueue(jobs.add, 3, 3).cancel()
    queue.enqueue(jobs.add, 4, 4)
    assert any("{default}" in k for k in prefixed_keys())
    assert queue.failed_job_registry.count == 2
    assert queue.scheduled_job_registry.count == 1
    assert queue.deferred_job_registry.count == 1
    assert queue.canceled_job_registry.count == 1

    queue.delete(delete_jobs=True)

    remaining = prefixed_keys()
    assert not [k for k in remaining if "{default}" in k], remaining
    assert b"default" not in redis_conn.smembers(f"{key_prefix}queues")
    # Other queues are untouched.
    assert other.fetch_job(kept.id) == kept
    assert other.count == 1


def test_delete_everything_leaves_no_key(queue, make_worker, redis_conn, key_prefix):
    queue.enqueue(jobs.add, 1, 2)
    queue.enqueue(jobs.fail)
    make_worker([queue]).work(burst=True)
    queue.enqueue(jobs.add, 1, 2)
    queue.delete(delete_jobs=True)
    assert redis_conn.keys(key_prefix + "*") == []


def test_delete_without_jobs_keeps_job_hashes(queue, redis_conn, key_prefix):
    job = queue.enqueue(jobs.add, 1, 2)
    queue.delete(delete_jobs=False)
    assert not redis_conn.exists(queue.key)
    assert redis_conn.exists(job.key)
    assert b"default" not in redis_conn.smembers(f"{key_prefix}queues")


def test_queue_all_lists_known_queues(make_queue, redis_conn, key_prefix):
    make_queue("b").enqueue(jobs.add, 1, 1)
    make_queue("a").enqueue(jobs.add, 1, 1)
    assert [q.name for q in Queue.all(redis_conn, prefix=key_prefix)] == ["a", "b"]


# -- enqueue-time errors: a clear exception and nothing written ------------------------------


def _nested():
    def inner():
        return 1

    return inner


def _main_module_function():
    ns = {"__name__": "__main__"}
    exec("def main_func(x):\n    return x\n", ns)
    return ns["main_func"]


def _generator():
    yield 1


def test_lambda_is_refused_and_nothing_written(queue, prefixed_keys):
    before = prefixed_keys()
    with pytest.raises(EnqueueError, match="lambda"):
        queue.enqueue(lambda: 1)
    assert prefixed_keys() == before == []


def test_nested_function_is_refused_and_nothing_written(queue, prefixed_keys):
    with pytest.raises(EnqueueError, match="inside another function"):
        queue.enqueue(_nested())
    assert prefixed_keys() == []


def test_main_module_function_is_refused_and_nothing_written(queue, prefixed_keys):
    func = _main_module_function()
    assert func.__module__ == "__main__"
    with pytest.raises(
        EnqueueError, match="Functions from the __main__ module cannot be processed by workers"
    ):
        queue.enqueue(func, 1)
    assert prefixed_keys() == []


def _shell_function(module_globals):
    """What ``manage.py shell -c`` or a piped shell does: exec() in a module's namespace."""
    exec("def typed_in_shell(x):\n    return x\n", module_globals)
    return module_globals.pop("typed_in_shell")


def test_a_function_typed_into_a_shell_is_refused(queue, prefixed_keys):
    func = _shell_function(globals())
    with pytest.raises(EnqueueError, match=r"defined in an interactive shell or by exec\(\)"):
        queue.enqueue(func, 1)
    ns: dict = {}  # code.interact(local=...) gives functions no module at all
    exec("def f():\n    return 1\n", ns)
    with pytest.raises(EnqueueError, match="interactive shell"):
        queue.enqueue(ns["f"])
    assert prefixed_keys() == []


@pytest.mark.parametrize(
    "path, message",
    [
        ("tests.engine.jobs.does_not_exist", "has no attribute 'does_not_exist'"),
        ("no_such_module.func", "No module found"),
        ("tests.engine.jobs", "names a module, not a function"),
        ("tests.engine.jobs.__doc__", "names a str, not a function"),
    ],
)
def test_a_dotted_path_that_does_not_lead_to_a_function_is_refused(
    queue, prefixed_keys, path, message
):
    with pytest.raises(EnqueueError, match=message):
        queue.enqueue(path, 1)
    with pytest.raises(EnqueueError, match=message):
        queue.enqueue(jobs.add, 1, 2, on_failure=path)
    assert prefixed_keys() == []


def test_a_dotted_path_to_a_function_is_accepted(queue):
    assert queue.enqueue("tests.engine.jobs.add", 1, 2).func_name == "tests.engine.jobs.add"


def test_function_marked_as_main_is_refused(queue, prefixed_keys):
    def f():
        return 1

    f.__module__ = "__main__"
    with pytest.raises(EnqueueError) as info:
        queue.enqueue(f)
    assert "Functions from the __main__ module cannot be processed by workers" in str(info.value)
    assert prefixed_keys() == []


def test_bound_method_of_main_class_is_refused(queue, prefixed_keys):
    ns = {"__name__": "__main__"}
    exec("class C:\n    def m(self):\n        return 1\n", ns)
    with pytest.raises(EnqueueError, match="__main__"):
        queue.enqueue(ns["C"]().m)
    assert prefixed_keys() == []


@pytest.mark.parametrize("bad_arg", [threading.Lock(), _generator()], ids=["lock", "generator"])
def test_unpicklable_arguments_are_refused_and_nothing_written(queue, prefixed_keys, bad_arg):
    with pytest.raises(SerializationError, match="Cannot serialize"):
        queue.enqueue(jobs.echo, bad_arg)
    with pytest.raises(SerializationError):
        queue.enqueue(jobs.echo, x=bad_arg)
    assert prefixed_keys() == []


def test_unpicklable_meta_is_refused(queue, prefixed_keys):
    with pytest.raises(SerializationError):
        queue.enqueue(jobs.add, 1, 2, meta={"lock": threading.Lock()})
    assert prefixed_keys() == []


def test_json_serializer_with_non_json_arguments_is_refused(make_queue, prefixed_keys):
    q = make_queue("json", serializer="json")
    with pytest.raises(SerializationError, match="json"):
        q.enqueue(jobs.echo, {1, 2, 3})
    with pytest.raises(SerializationError):
        q.enqueue(jobs.echo, when=object())
    assert prefixed_keys() == []


def test_serialization_errors_are_type_errors_and_enqueue_errors_value_errors():
    assert issubclass(SerializationError, TypeError)
    assert issubclass(EnqueueError, ValueError)


def test_non_callable_is_refused(queue, prefixed_keys):
    with pytest.raises(TypeError):  # as in RQ
        queue.enqueue(42)
    assert prefixed_keys() == []


def test_object_not_reachable_by_its_name_is_refused(queue, prefixed_keys):
    def add(a, b):
        return a + b

    add.__module__ = jobs.__name__
    add.__qualname__ = "add"  # claims to be tests.engine.jobs.add, but is another function
    with pytest.raises(EnqueueError, match="does not lead back"):
        queue.enqueue(add, 1, 2)
    assert prefixed_keys() == []


# -- enqueue_many --------------------------------------------------------------------


def test_enqueue_many_writes_every_call_in_batches(queue):
    calls = (queue.prepare_data(jobs.add, args=(i, 1), job_id=f"many-{i}") for i in range(25))
    enqueued = queue.enqueue_many(calls, batch_size=10)
    assert [j.id for j in enqueued] == [f"many-{i}" for i in range(25)]
    assert queue.job_ids == [f"many-{i}" for i in range(25)]
    assert all(j.get_status() == JobStatus.QUEUED for j in enqueued)
    SimpleWorker([queue]).work(burst=True)
    assert [j.result for j in enqueued[:3]] == [1, 2, 3]


def test_enqueue_many_on_a_pipeline_stores_nothing_until_it_runs(queue, redis_conn):
    calls = [
        Queue.prepare_data(jobs.add, (1, 1), job_id="one"),
        Queue.prepare_data(jobs.add, (2, 2), job_id="two"),
        Queue.prepare_data(jobs.add, (3, 3), job_id="three", at_front=True),
    ]
    with redis_conn.pipeline() as pipe:
        made = queue.enqueue_many(calls, pipeline=pipe)
        assert queue.get_job_ids() == [] and [j.id for j in made] == ["one", "two", "three"]
        pipe.execute()
    assert queue.get_job_ids() == ["three", "one", "two"]


def test_enqueue_many_refuses_an_id_given_twice_before_sending_anything(queue, redis_conn):
    twice = [Queue.prepare_data(jobs.add, (1, 1), job_id="same")] * 2
    with pytest.raises(ValueError, match="'same' is given twice"):
        queue.enqueue_many(twice)
    with redis_conn.pipeline() as pipe:
        with pytest.raises(ValueError, match="given twice"):
            queue.enqueue_many(twice, pipeline=pipe)
        assert len(pipe) == 0
    assert queue.count == 0 and not queue.fetch_job("same")


def test_enqueue_data_shows_its_options_as_rq_does():
    data = Queue.prepare_data(jobs.add, (1, 1), job_id="x", on_success=jobs.on_success_callback)
    assert (data.job_id, data.at_front, data.on_success) == (
        "x",
        False,
        jobs.on_success_callback,  # as given, as in RQ
    )
    with pytest.raises(AttributeError):
        data.no_such_option


def test_schedule_job_puts_a_created_job_in_the_scheduled_registry(queue, redis_conn):
    from datetime import UTC, datetime

    job = queue.schedule_job(queue.create_job(jobs.add, (1, 1)), datetime(2030, 1, 1, tzinfo=UTC))
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.get_scheduled_time() == datetime(2030, 1, 1, tzinfo=UTC)
    twin = queue.create_job(jobs.add, (2, 2), job_id=job.id)
    with pytest.raises(DuplicateJobError, match="already scheduled"):
        queue.schedule_job(twin, datetime(2031, 1, 1, tzinfo=UTC), unique=True)
    assert job.get_scheduled_time() == datetime(2030, 1, 1, tzinfo=UTC)


def test_enqueue_job_takes_rqs_pipeline_and_unique(queue, redis_conn):
    job = queue.create_job(jobs.add, (1, 1), job_id="once")
    with redis_conn.pipeline() as pipe:
        queue.enqueue_job(job, pipeline=pipe)
        assert queue.count == 0
        pipe.execute()
    assert queue.get_job_ids() == ["once"]
    with pytest.raises(DuplicateJobError, match="already queued"):
        queue.enqueue_job(queue.create_job(jobs.add, (2, 2), job_id="once"), unique=True)
    assert queue.fetch_job("once").args == (1, 1)
    with pytest.raises(ValueError, match="needs a job_id"):
        queue.enqueue_job(queue.create_job(jobs.add, (3, 3)), unique=True)


def test_ttl_minus_one_means_no_limit_as_for_the_other_durations(queue, redis_conn):
    job = queue.enqueue(jobs.add, 1, 1, ttl=-1)  # RQ refuses a negative ttl
    assert redis_conn.ttl(job.key) == -1 and queue.get_job_ids() == [job.id]
    with pytest.raises(ValueError, match="ttl=0"):
        queue.enqueue(jobs.add, 1, 1, ttl=0)


def test_a_misspelt_queue_keyword_is_an_error_not_swallowed(redis_conn):
    with pytest.raises(TypeError, match="result_tl"):
        Queue("default", connection=redis_conn, result_tl=5)
    assert "x" != Queue("x", connection=redis_conn)  # == with another type is False, not an error


def test_a_job_from_job_create_takes_the_queues_defaults_when_enqueued(redis_conn, key_prefix):
    queue = Queue(connection=redis_conn, prefix=key_prefix, default_timeout=15)
    made = Job.create(jobs.add, (1, 1), connection=redis_conn, prefix=key_prefix)
    assert queue.enqueue_job(made).timeout == 15
    chosen = Job.create(jobs.add, (1, 1), timeout=40, connection=redis_conn, prefix=key_prefix)
    assert queue.enqueue_job(chosen).timeout == 40
    assert Job.fetch(made.id, redis_conn, prefix=key_prefix).timeout == 15
    by_hand = Job.create(jobs.add, (1, 1), connection=redis_conn, prefix=key_prefix)
    by_hand.timeout = 50
    assert queue.enqueue_job(by_hand).timeout == 50


def test_queues_print_and_sort_by_name_as_in_rq(redis_conn):
    low, high = Queue("low", connection=redis_conn), Queue("high", connection=redis_conn)
    assert str(low) == "<Queue low>" and sorted([low, high]) == [high, low]
    assert Queue.DEFAULT_TIMEOUT == DEFAULT_TIMEOUT


def test_enqueue_many_checks_calls_before_writing_their_batch(queue):
    calls = [
        queue.prepare_data(jobs.add, args=(1, 2)),
        queue.prepare_data(jobs.echo, args=(threading.Lock(),)),
    ]
    with pytest.raises(SerializationError):
        queue.enqueue_many(calls)
    assert len(queue) == 0


def test_enqueue_many_options_and_dependencies(queue):
    parent = queue.enqueue(jobs.add, 1, 1)
    first, child, front = queue.enqueue_many(
        [
            queue.prepare_data(jobs.add, args=(2, 2), timeout=7, result_ttl=9, meta={"a": 1}),
            queue.prepare_data(jobs.add, args=(3, 3), depends_on=parent),
            queue.prepare_data(jobs.add, args=(4, 4), at_front=True),
        ]
    )
    assert (first.timeout, first.result_ttl, first.meta) == (7, 9, {"a": 1})
    assert child.get_status() == JobStatus.DEFERRED
    assert child.dependency_ids == [parent.id]
    assert queue.job_ids[0] == front.id


def test_enqueue_many_is_one_script_call_per_batch(queue, redis_conn):
    before = redis_conn.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    queue.enqueue_many([queue.prepare_data(jobs.add, args=(i, 0)) for i in range(2500)], 1250)
    after = redis_conn.info("commandstats")["cmdstat_evalsha"]["calls"]
    assert after - before == 2
    assert len(queue) == 2500


def test_enqueue_many_keeps_order_across_options_and_replaces_ended_jobs(queue):
    ended = queue.enqueue(jobs.add, 0, 0, job_id="ended")
    SimpleWorker([queue]).work(burst=True)
    assert ended.get_status(refresh=True) == JobStatus.FINISHED
    made = queue.enqueue_many(
        [queue.prepare_data(jobs.add, args=(i, 0)) for i in range(1500)]
        + [
            queue.prepare_data(jobs.add, args=(1, 1), job_id="ended", ttl=60),
            queue.prepare_data(jobs.add, args=(2, 2), at_front=True),
            queue.prepare_data(jobs.add, args=(3, 3), priority=9),
            queue.prepare_data(jobs.add, args=(4, 4), priority=-9),
        ],
        batch_size=2000,
    )
    plain, again, front, high, low = made[:1500], made[1500], made[1501], made[1502], made[1503]
    assert queue.job_ids == [high.id, front.id, *(j.id for j in plain), again.id, low.id]
    assert queue.finished_job_registry.count == 0  # the ended job was replaced
    assert 0 < queue.connection.ttl(queue.keys.job(queue.name, "ended")) <= 60
    assert again.get_status(refresh=True) == JobStatus.QUEUED


def test_enqueue_many_wakes_idle_workers_once(queue, redis_conn):
    pubsub = redis_conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(queue.keys.wake_channel(queue.name))
    queue.enqueue_many([queue.prepare_data(jobs.add, args=(i, 0)) for i in range(3)])
    queue.enqueue_many([queue.prepare_data(jobs.add, args=(i, 0)) for i in range(3)])
    messages = []
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # None also stands for the skipped subscribe reply
        if (message := pubsub.get_message(timeout=0.1)) is not None:
            messages.append(message)
    pubsub.close()
    assert len(messages) == 1  # only the push into the empty queue wakes anyone


def test_jobs_of_one_priority_keep_their_order_even_within_a_millisecond(queue):
    ids = [queue.enqueue_call(jobs.add, args=(i, 0), priority=5).id for i in range(30)]
    assert queue.job_ids == ids


def test_a_default_timeout_of_minus_one_means_no_limit(make_queue):
    assert make_queue("unlimited", default_timeout=-1).create_job(jobs.add, (1, 2)).timeout == -1


class _Order(hooks.Hooks):
    def __init__(self, seen):
        self.seen = seen

    def job_enqueued(self, job, queue):
        self.seen.append(("stored", job.args[0]))


def _numbered_calls(queue, count, seen, fail_at=None):
    for i in range(count):
        if i == fail_at:
            raise LookupError("the caller's generator failed")
        seen.append(("made", i))
        queue.connection.incr(f"{queue.keys.prefix}made")  # the same client, mid-flight
        yield queue.prepare_data(jobs.add, args=(i, 0))


@pytest.fixture
def order():
    seen: list = []
    watcher = _Order(seen)
    hooks.register(watcher)
    yield seen
    hooks.unregister(watcher)


def test_enqueue_many_prepares_the_next_batch_while_redis_stores_one(queue, order):
    made = queue.enqueue_many(_numbered_calls(queue, 7, order), batch_size=3)
    assert [j.args[0] for j in made] == list(range(7))
    assert queue.job_ids == [j.id for j in made]
    # Batch [3, 4, 5] was built before batch [0, 1, 2] was read back as stored.
    assert order.index(("made", 5)) < order.index(("stored", 0))
    assert order.index(("stored", 2)) < order.index(("made", 6))  # never two in flight
    assert [i for what, i in order if what == "stored"] == list(range(7))


def test_enqueue_many_reports_the_batch_in_flight_when_the_calls_fail(queue, order, redis_conn):
    pool = queue.connection.connection_pool
    with pytest.raises(LookupError):
        queue.enqueue_many(_numbered_calls(queue, 9, order, fail_at=5), batch_size=3)
    assert len(queue) == 3  # batch [0, 1, 2] was sent; [3, 4] never was
    assert [i for what, i in order if what == "stored"] == [0, 1, 2]
    assert not pool._in_use_connections
    assert queue.enqueue(jobs.add, 1, 1).get_status() == JobStatus.QUEUED


def test_enqueue_many_reports_a_duplicate_id_and_sends_no_batch_after_it(queue):
    queue.enqueue(jobs.add, 1, 1, job_id="taken")
    with pytest.raises(DuplicateJobError):
        queue.enqueue_many(
            [
                queue.prepare_data(jobs.add, args=(1, 1), job_id="taken", unique=True),
                queue.prepare_data(jobs.add, args=(2, 2), job_id="beside"),
                queue.prepare_data(jobs.add, args=(3, 3), job_id="later"),
            ],
            batch_size=2,
        )
    assert queue.fetch_job("beside") is not None
    assert queue.fetch_job("later") is None


def test_enqueue_many_reloads_a_flushed_script(queue, redis_conn):
    redis_conn.script_flush()
    made = queue.enqueue_many([queue.prepare_data(jobs.add, args=(i, 0)) for i in range(5)], 2)
    assert queue.job_ids == [j.id for j in made]


def test_enqueue_many_on_a_one_connection_blocking_pool_never_waits_on_itself(
    make_queue, redis_conn, order
):
    pool = redis.BlockingConnectionPool(
        max_connections=1, timeout=2, **redis_conn.connection_pool.connection_kwargs
    )
    client = redis.Redis(connection_pool=pool)
    try:
        queue = make_queue("blocking", connection=client)
        parent = queue.enqueue(jobs.add, 1, 1)
        started = time.monotonic()
        made = queue.enqueue_many(
            itertools.chain(
                _numbered_calls(queue, 4, order),  # uses the client between batches
                [queue.prepare_data(jobs.add, args=(9, 9), depends_on=parent)],
            ),
            batch_size=2,
        )
        assert time.monotonic() - started < 1.5  # no wait for the pool's only connection
        assert queue.job_ids == [parent.id, *(j.id for j in made[:4])]
        assert made[4].get_status() == JobStatus.DEFERRED
    finally:
        client.close()


# -- RQ's lower-level queue API ---------------------------------------------------


def test_result_ttl_is_rqs_name_of_the_default_result_ttl(make_queue):
    assert make_queue("a", result_ttl=-1).default_result_ttl == -1
    assert make_queue("b", result_ttl=0).enqueue(jobs.echo, 1).result_ttl == 0
    assert make_queue("c", default_result_ttl=5, result_ttl=9).default_result_ttl == 5


def test_from_queue_key(queue, redis_conn, key_prefix):
    assert Queue.from_queue_key(queue.key, redis_conn, prefix=key_prefix) == queue
    # RQ's form of the key, for code that builds it from the namespace prefix.
    rq_form = Queue.from_queue_key(Queue.redis_queue_namespace_prefix + "low", redis_conn)
    assert rq_form.name == "low"
    with pytest.raises(ValueError, match="not a queue key"):
        Queue.from_queue_key("some:weird:prefix:default", redis_conn, prefix=key_prefix)


def test_compact_drops_ids_whose_job_is_gone(queue, redis_conn):
    alive = [queue.enqueue(jobs.echo, n) for n in range(3)]
    high = queue.enqueue(jobs.echo, "high", priority=5)
    redis_conn.lpush(queue.key, "ghost-1")
    redis_conn.rpush(queue.key, "ghost-2")
    redis_conn.delete(alive[1].key)
    redis_conn.delete(high.key)
    assert queue.count == 6
    assert queue.compact(batch=2) == 4
    assert queue.job_ids == [alive[0].id, alive[2].id]  # the order of the others kept


def test_push_job_id_enqueues_a_saved_job(queue):
    job = queue.create_job(jobs.echo, [1])
    job.save()
    assert job.get_status() == JobStatus.CREATED
    queue.push_job_id(job.id)
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    assert queue in Queue.all(queue.connection, prefix=queue.keys.prefix)
    queue.push_job_id(job.id)  # already there: left where it is
    front = queue.create_job(jobs.echo, [2])
    front.save()
    queue.push_job_id(front.id, at_front=True)
    assert queue.job_ids == [front.id, job.id]


def test_push_job_id_refuses_a_job_that_is_elsewhere(queue):
    job = queue.enqueue_in(60, jobs.echo, 1)
    with pytest.raises(InvalidJobOperation, match="scheduled"):
        queue.push_job_id(job.id)
    assert queue.job_ids == []


def test_push_job_id_in_a_pipeline(queue, redis_conn):
    job = queue.create_job(jobs.echo, [1])
    job.save()
    with redis_conn.pipeline() as pipe:
        queue.push_job_id(job.id, pipeline=pipe)
        assert queue.job_ids == []
        pipe.execute()
    assert queue.job_ids == [job.id]


def test_pop_job_id_cancels_the_head_job(queue, redis_conn):
    queue.push_job_id("gone")  # no hash: the id is just taken out
    first = queue.enqueue(jobs.echo, 1)
    second = queue.enqueue(jobs.echo, 2)
    assert queue.pop_job_id() == "gone"
    assert queue.pop_job_id() == first.id
    assert first.get_status() == JobStatus.CANCELED  # never in no place
    assert queue.job_ids == [second.id]
    assert queue.pop_job_id() == second.id
    assert queue.pop_job_id() is None


def test_dequeue_any_takes_in_queue_order_and_marks_started(make_queue, redis_conn):
    foo, bar = make_queue("foo"), make_queue("bar")
    with pytest.raises(ValueError):
        Queue.dequeue_any([foo, bar], timeout=0, connection=redis_conn)
    assert Queue.dequeue_any([foo, bar], timeout=None, connection=redis_conn) is None
    bar.enqueue(jobs.echo, "for bar")
    foo.enqueue(jobs.echo, "for foo")
    job, queue = Queue.dequeue_any([foo, bar], None, connection=redis_conn)
    assert (queue, job.args, job.origin) == (foo, ("for foo",), "foo")
    assert job.get_status() == JobStatus.STARTED
    assert job.id in foo.started_job_registry
    assert job.worker_name == "dequeue_any"
    job, queue = Queue.dequeue_any([foo, bar], None, worker_name="mine")
    assert (queue, job.args, job.worker_name) == (bar, ("for bar",), "mine")


def test_dequeue_any_passes_over_missing_jobs_and_waits(make_queue):
    from django_jobqueue.engine import DequeueTimeout

    low = make_queue("low")
    low.push_job_id("49f205ab-8ea3-47dd-a1b5-bfa186870fc8")
    assert low.count == 1
    assert Queue.dequeue_any([make_queue("default"), low], None) is None
    assert low.count == 0
    began = time.monotonic()
    with pytest.raises(DequeueTimeout):
        Queue.dequeue_any([low], timeout=0.3)
    assert time.monotonic() - began >= 0.3
    threading.Timer(0.2, low.enqueue, (jobs.echo, 1)).start()
    job, queue = Queue.dequeue_any([low], timeout=5)
    assert (job.args, queue) == ((1,), low)


def test_enqueue_dependents_releases_the_children_of_an_ended_job(
    make_queue, make_worker, redis_conn
):
    q, other = make_queue("q"), make_queue("other")
    parent = q.enqueue(jobs.echo, "parent")
    child_1 = q.enqueue(jobs.echo, 1, depends_on=parent)
    child_2 = other.enqueue(jobs.echo, 2, depends_on=parent)
    assert q.enqueue_dependents(parent) == {}  # not ended: nothing released
    assert child_1.get_status() == JobStatus.DEFERRED
    parent.set_status(JobStatus.FINISHED)  # as code that ends jobs itself would say
    released = q.enqueue_dependents(parent, exclude_job_id=child_2.id)
    assert released == {"q": [child_1.id]}
    assert child_1.get_status() == JobStatus.QUEUED
    assert child_2.get_status() == JobStatus.DEFERRED
    assert q.enqueue_dependents(parent) == {"other": [child_2.id]}
    assert other.job_ids == [child_2.id]


def test_synchronous_queue_sets_ended_at(make_queue):
    job = make_queue("inline", is_async=False).enqueue(jobs.echo, 1)
    assert job.get_status(refresh=False) == JobStatus.FINISHED
    assert job.ended_at is not None and job.ended_at >= job.started_at


def test_enqueue_on_a_pipeline_that_watches_keys(queue, redis_conn, key_prefix):
    """The job is written by the caller's execute(), in its transaction, as in RQ."""
    watched = f"{key_prefix}watched"
    with redis_conn.pipeline() as pipe:
        pipe.watch(watched)
        job = queue.enqueue_call(jobs.echo, (1,), pipeline=pipe)
        assert queue.job_ids == []
        pipe.set(watched, "v")
        pipe.execute()
    assert queue.job_ids == [job.id]
    saved = queue.create_job(jobs.echo, [2])
    saved.save()
    with redis_conn.pipeline() as pipe:
        pipe.watch(watched)
        queue.push_job_id(saved.id, pipeline=pipe)
        assert queue.job_ids == [job.id]
        pipe.execute()
    assert queue.job_ids == [job.id, saved.id]


def test_enqueue_at_and_in_on_a_pipeline(queue, redis_conn):
    from datetime import UTC, datetime, timedelta

    when = datetime.now(UTC) + timedelta(hours=1)
    with redis_conn.pipeline() as pipe:
        at = queue.enqueue_at(when, jobs.echo, 1, pipeline=pipe)
        later = queue.enqueue_in(timedelta(hours=2), jobs.echo, 2, pipeline=pipe)
        assert not redis_conn.exists(at.key)
        pipe.execute()
    registry = queue.scheduled_job_registry
    assert at.args == (1,) and at.id in registry and later.id in registry
    assert registry.get_expiration_time(at) == registry.get_scheduled_time(at.id)
    assert abs(registry.get_expiration_time(at.id).timestamp() - when.timestamp()) < 0.01
    assert registry.get_expiration_time("not-there") is None
    pipe = redis_conn.pipeline()
    dropped = queue.enqueue_at(when, jobs.echo, 3, pipeline=pipe)
    pipe.reset()  # discarded: nothing written
    assert not redis_conn.exists(dropped.key) and len(registry) == 2


def test_queue_accepts_rqs_other_keywords_and_maintenance_lock(make_queue, redis_conn):
    from django_jobqueue.engine.utils import get_version

    marker = object()
    queue = make_queue("q", death_penalty_class=marker)
    assert queue.death_penalty_class is marker
    assert queue.get_redis_server_version() == get_version(redis_conn) >= (6,)
    assert queue.registry_cleaning_key.startswith(queue.keys.tag("q"))
    assert queue.acquire_maintenance_lock() is True
    assert make_queue("q").acquire_maintenance_lock() is False  # held
    assert 890 < redis_conn.ttl(queue.registry_cleaning_key) <= 899
    queue.release_maintenance_lock()
    assert make_queue("q").acquire_maintenance_lock() is True
