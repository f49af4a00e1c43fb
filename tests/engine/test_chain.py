"""Chains: each step gets the previous step's result; a failure stops the rest."""

from __future__ import annotations

import os
import time

import pytest

from django_jobqueue.engine import (
    Chain,
    InvalidJobOperation,
    Job,
    JobStatus,
    Repeat,
    Retry,
    Step,
    Worker,
)
from django_jobqueue.engine.chain import INTERMEDIATE_RESULT_TTL

from . import jobs


def _order(redis_conn, key_prefix):
    return [x.decode() for x in redis_conn.lrange(jobs.trace_key(key_prefix, "order"), 0, -1)]


def _statuses(chain):
    return [str(s) if s is not None else None for s in chain.get_statuses()]


def test_three_steps_pass_their_results_on(queue, make_worker):
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_to, "b"),
        Step(jobs.append_to, "c", upper=True),
    ).enqueue(queue)
    assert len(chain.jobs) == 3
    assert _statuses(chain) == ["queued", "deferred", "deferred"]
    assert chain.status == JobStatus.QUEUED
    assert chain.result is None
    assert chain.id == chain.jobs[0].id
    make_worker([queue]).work(burst=True)
    assert chain.status == JobStatus.FINISHED
    assert chain.failed_step is None
    assert chain.result == ["a", "b", "C"]
    assert [job.result for job in chain.jobs] == [["a"], ["a", "b"], ["a", "b", "C"]]
    # What is stored is the step's own call: the result comes in when it runs.
    stored = Job.fetch(chain.jobs[1].id, queue.connection, prefix=queue.keys.prefix)
    assert stored.args == ("b",)
    assert stored.chain["step"] == 2 and stored.chain["of"] == 3


def test_a_forking_worker_process_runs_the_chain(queue, spawn_worker):
    chain = Chain(
        Step(jobs.start_list, "start"), Step(jobs.append_pid), Step(jobs.append_pid)
    ).enqueue(queue)
    proc = spawn_worker("default", "Worker", burst=True)
    output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    assert chain.status == JobStatus.FINISHED, output
    start, first_pid, second_pid = chain.result
    assert start == "start"
    # Each step ran in a work-horse forked by the worker subprocess.
    assert os.getpid() not in (first_pid, second_pid)
    assert first_pid != second_pid


@pytest.mark.parametrize("worker_class", ["SpawnWorker", "WorkerPool"])
def test_other_worker_processes_pass_results_and_stop_chains(queue, spawn_worker, worker_class):
    good = Chain(Step(jobs.start_list, "a"), Step(jobs.append_to, "b")).enqueue(queue)
    bad = Chain(Step(jobs.start_list, "a"), Step(jobs.fail), Step(jobs.append_to, "c"))
    bad.enqueue(queue)
    proc = spawn_worker("default", worker_class, burst=True)
    output = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode == 0, output
    assert good.result == ["a", "b"], output
    assert _statuses(bad) == ["finished", "failed", "canceled"], output


@pytest.mark.parametrize("worker_class", ["SimpleWorker", "Worker"])
def test_a_failed_step_stops_the_chain(queue, make_worker, redis_conn, key_prefix, worker_class):
    from django_jobqueue.engine import SimpleWorker

    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.fail, on_failure=jobs.on_failure_callback),  # raises ValueError(['a'])
        Step(jobs.record_previous, on_failure=jobs.on_failure_callback),
        Step(jobs.record_previous),
    ).enqueue(queue)
    cls = Worker if worker_class == "Worker" else SimpleWorker
    make_worker([queue], cls=cls).work(burst=True)
    assert _statuses(chain) == ["finished", "failed", "canceled", "canceled"]
    assert chain.status == JobStatus.FAILED
    failed = chain.failed_step
    assert failed == chain.jobs[1]
    assert "ValueError: ['a']" in failed.exc_info
    assert _order(redis_conn, key_prefix) == []  # the later steps never ran
    # The failed step's on_failure callback ran; the canceled steps' did not.
    callbacks = redis_conn.lrange(f"{key_prefix}trace:callbacks", 0, -1)
    assert callbacks == [f"failure:{failed.id}:ValueError:['a']".encode()]
    # The step after the failed one canceled the rest: no worker took the last.
    last = Job.fetch(chain.jobs[3].id, queue.connection, prefix=queue.keys.prefix)
    assert last.started_at is None and last.worker_name is None
    assert chain.result is None
    assert set(queue.canceled_job_registry.get_job_ids()) == {j.id for j in chain.jobs[2:]}
    assert queue.failed_job_registry.get_job_ids() == [failed.id]
    assert queue.deferred_job_registry.get_job_ids() == []
    assert queue.started_job_registry.get_job_ids() == []
    assert queue.count == 0


def test_a_failed_step_is_requeued_and_the_chain_goes_on(queue, make_worker):
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_or_fail_until, "b", 2),
        Step(jobs.append_to, "c"),
        Step(jobs.append_to, "d"),
    ).enqueue(queue)
    make_worker([queue]).work(burst=True)
    assert _statuses(chain) == ["finished", "failed", "canceled", "canceled"]
    assert chain.requeue() == chain.jobs[1]
    assert _statuses(chain) == ["finished", "queued", "deferred", "deferred"]
    make_worker([queue]).work(burst=True)
    assert chain.status == JobStatus.FINISHED
    assert chain.result == ["a", "b", "c", "d"]


def test_requeue_needs_a_step_that_stopped_the_chain(queue):
    chain = Chain(Step(jobs.start_list, "a"), Step(jobs.append_to, "b")).enqueue(queue)
    with pytest.raises(InvalidJobOperation, match="nothing to requeue"):
        chain.requeue()


def test_a_retried_step_keeps_the_chain_waiting(queue, make_worker):
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_or_fail_until, "b", 2, retry=Retry(max=2)),
        Step(jobs.append_to, "c"),
    ).enqueue(queue)
    make_worker([queue]).work(burst=True, max_jobs=2)  # the first step, a failed attempt
    assert _statuses(chain) == ["finished", "queued", "deferred"]
    assert chain.status == JobStatus.QUEUED
    assert chain.failed_step is None
    make_worker([queue]).work(burst=True)
    assert chain.status == JobStatus.FINISHED
    assert chain.result == ["a", "b", "c"]


def test_a_retry_that_waits_shows_as_the_chains_status(queue, make_worker):
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_or_fail_until, "b", 2, retry=Retry(max=1, interval=60)),
        Step(jobs.append_to, "c"),
    ).enqueue(queue)
    make_worker([queue]).work(burst=True, with_scheduler=False)
    assert _statuses(chain) == ["finished", "scheduled", "deferred"]
    assert chain.status == JobStatus.SCHEDULED


def test_a_step_that_returns_a_retry_keeps_the_chain_waiting(queue, make_worker):
    # return_retry_until(2): returns Retry(max=5) on its first attempt, then 2.
    chain = Chain(Step(jobs.add, 1, 1), Step(jobs.return_retry_until), Step(jobs.add, 10))
    chain.enqueue(queue)
    make_worker([queue]).work(burst=True, max_jobs=2)
    assert _statuses(chain) == ["finished", "queued", "deferred"]
    make_worker([queue]).work(burst=True)
    assert chain.result == 12


def test_steps_on_different_queues(make_queue, make_worker):
    first, low = make_queue("first"), make_queue("low")
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_to, "b", queue="low"),
        Step(jobs.append_to, "c", queue=first),
    ).enqueue(first)
    assert [job.origin for job in chain.jobs] == ["first", "low", "first"]
    make_worker([first]).work(burst=True)
    assert _statuses(chain) == ["finished", "queued", "deferred"]
    make_worker([low]).work(burst=True)
    make_worker([first]).work(burst=True)
    assert chain.result == ["a", "b", "c"]


def test_a_step_whose_predecessor_result_expired_fails_for_good(queue, make_worker):
    chain = Chain(
        Step(jobs.start_list, "a", result_ttl=1),
        Step(jobs.append_to, "b", retry=Retry(max=3)),
        Step(jobs.record_previous),
    ).enqueue(queue)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert chain.jobs[0].get_status() == JobStatus.FINISHED
    time.sleep(1.2)
    make_worker([queue]).work(burst=True)
    assert _statuses(chain) == [None, "failed", "canceled"]
    failed = chain.failed_step
    assert failed == chain.jobs[1]
    assert "ChainResultLost" in failed.exc_info
    assert "is gone: it expired" in failed.exc_info
    failed.refresh()
    assert failed.retries_left == 3  # not retried: the result will not come back


def test_every_step_but_the_last_keeps_its_result_a_day_by_default(make_queue):
    queue = make_queue("default")
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_to, "b", result_ttl=30),
        Step(jobs.append_to, "c"),
    ).enqueue(queue)
    assert [job.result_ttl for job in chain.jobs] == [INTERMEDIATE_RESULT_TTL, 30, None]
    # A queue's own default result TTL is left to apply.
    kept = make_queue("kept", default_result_ttl=60)
    chain = Chain(Step(jobs.start_list, "a"), Step(jobs.append_to, "b")).enqueue(kept)
    assert [job.result_ttl for job in chain.jobs] == [60, 60]


def test_json_serializer(make_queue, make_worker):
    queue = make_queue("default", serializer="json")
    chain = Chain(Step(jobs.echo, 1, 2, k="v"), Step(jobs.echo, "x")).enqueue(queue)
    make_worker([queue]).work(burst=True)
    # The first result came through JSON: a dict of lists.
    assert chain.result == {"args": [{"args": [1, 2], "kwargs": {"k": "v"}}, "x"], "kwargs": {}}


def test_json_serializer_turns_a_tuple_into_a_list(make_queue, make_worker):
    queue = make_queue("default", serializer="json")
    chain = Chain(Step(jobs.as_tuple, 1, 2), Step(jobs.type_name)).enqueue(queue)
    make_worker([queue]).work(burst=True)
    assert chain.result == "list"


def test_json_serializer_a_result_it_cannot_store_stops_the_chain(make_queue, make_worker):
    queue = make_queue("default", serializer="json")
    chain = Chain(Step(jobs.return_unpicklable), Step(jobs.echo)).enqueue(queue)
    make_worker([queue]).work(burst=True)
    assert _statuses(chain) == ["failed", "canceled"]
    assert "cannot store" in chain.failed_step.exc_info


def test_queues_that_differ_are_refused(make_queue):
    with pytest.raises(ValueError, match="different serializers"):
        Chain(
            Step(jobs.start_list, "a", queue=make_queue("a", serializer="json")),
            Step(jobs.append_to, "b", queue=make_queue("b")),
        ).enqueue()
    with pytest.raises(ValueError, match="is_async"):
        Chain(
            Step(jobs.start_list, "a", queue=make_queue("a")),
            Step(jobs.append_to, "b", queue=make_queue("b", is_async=False)),
        ).enqueue()
    with pytest.raises(ValueError, match="key prefixes"):
        Chain(
            Step(jobs.start_list, "a", queue=make_queue("a")),
            Step(jobs.append_to, "b", queue=make_queue("b", prefix="other:")),
        ).enqueue()


def test_a_plain_function_alone_is_a_step_without_arguments(queue, make_worker):
    chain = Chain(Step(jobs.start_list, "a"), jobs.type_name).enqueue(queue)
    make_worker([queue]).work(burst=True)
    assert chain.result == "list"


def test_a_stopped_step_stops_the_chain(queue, make_worker, redis_conn, key_prefix):
    chain = Chain(
        Step(jobs.start_list, "a"), Step(jobs.stop_itself), Step(jobs.record_previous)
    ).enqueue(queue)
    make_worker([queue]).work(burst=True)
    assert _statuses(chain) == ["finished", "stopped", "canceled"]
    assert chain.status == JobStatus.STOPPED
    assert chain.failed_step == chain.jobs[1]
    assert _order(redis_conn, key_prefix) == []


@pytest.mark.parametrize("in_memory", [True, False])
def test_inline_queues_run_the_steps_at_once(make_queue, in_memory):
    queue = make_queue("default", is_async=False, in_memory=in_memory)
    chain = Chain(
        Step(jobs.start_list, "a"), Step(jobs.append_to, "b"), Step(jobs.append_to, "c")
    ).enqueue(queue)
    assert chain.status == JobStatus.FINISHED
    assert chain.result == ["a", "b", "c"]
    assert chain.jobs[1].args == (["a"], "b")  # inline, the result is among its arguments


@pytest.mark.parametrize("in_memory", [True, False])
def test_inline_a_failed_step_cancels_the_rest(make_queue, in_memory, redis_conn, key_prefix):
    queue = make_queue("default", is_async=False, in_memory=in_memory)
    chain = Chain(Step(jobs.start_list, "a"), Step(jobs.fail), Step(jobs.record_previous)).enqueue(
        queue
    )
    assert _statuses(chain) == ["finished", "failed", "canceled"]
    assert chain.failed_step == chain.jobs[1]
    assert _order(redis_conn, key_prefix) == []
    with pytest.raises(InvalidJobOperation, match="inline"):
        chain.requeue()


def test_decorated_functions_make_steps(queues_under_test_prefix, make_queue, make_worker):
    default, low = make_queue("default"), make_queue("low")
    chain = Chain(
        Step(jobs.add, 1, 2),
        jobs.chain_double.step(),
        jobs.chain_double,  # a @job function alone: .step() with no arguments
        Step(jobs.add, 4),
    ).enqueue(default)
    assert [job.origin for job in chain.jobs] == ["default", "low", "low", "default"]
    assert jobs.chain_double.s is jobs.chain_double.step
    for _ in range(3):
        make_worker([default, low]).work(burst=True)
    assert chain.result == 16


def test_step_options_reach_the_jobs(queue):
    chain = Chain(
        Step(jobs.start_list, "a", job_timeout=30, description="first", job_id="chain-first"),
        Step.of(jobs.append_to, ["b"], {"upper": True}, timeout=40, meta={"k": 1}),
    ).enqueue(queue)
    first, second = chain.jobs
    assert (first.id, first.timeout, first.description) == ("chain-first", 30, "first")
    assert (second.timeout, second.meta, second.kwargs) == (40, {"k": 1}, {"upper": True})
    assert second.dependency_ids == [first.id]
    assert second.allow_dependency_failures  # released however its predecessor ends


def test_the_first_step_may_wait_for_another_job(queue, make_worker):
    parent = queue.enqueue(jobs.add, 1, 1)
    # Only the steps of the chain pass results on: the first step gets its own arguments.
    chain = Chain(Step(jobs.add, 10, 1, depends_on=parent), Step(jobs.add, 100)).enqueue(queue)
    assert _statuses(chain) == ["deferred", "deferred"]
    make_worker([queue]).work(burst=True)
    assert chain.result == 111


def test_the_first_step_may_start_later(queue):
    chain = Chain(Step.of(jobs.start_list, ["a"], at=time.time() + 600), Step(jobs.append_to, "b"))
    chain.enqueue(queue)
    assert _statuses(chain) == ["scheduled", "deferred"]
    assert chain.status == JobStatus.SCHEDULED


@pytest.mark.parametrize(
    "steps, message",
    [
        ((), "at least one step"),
        ((Step(jobs.add, 1, 2), Step(jobs.add, 3, depends_on="x")), "only the first step"),
        ((Step(jobs.add, 1, 2), Step.of(jobs.add, [3], at=time.time() + 60)), "start later"),
        ((Step(jobs.add, 1, 2, repeat=Repeat(times=1)),), "run once"),
        ((Step(jobs.add, 1, 2, result_ttl=0), Step(jobs.add, 3)), "keeps no result"),
        ((Step(jobs.add, 1, 2), Step(jobs.add, 3, job_id="x", unique=True)), "unique"),
    ],
)
def test_bad_chains_are_refused_before_anything_is_stored(steps, message):
    with pytest.raises(ValueError, match=message):
        Chain(*steps)


def test_a_step_refused_when_stored_takes_back_the_steps_before_it(queue):
    from django_jobqueue.engine import DuplicateJobError

    parent = queue.enqueue(jobs.add, 1, 1)
    queue.enqueue(jobs.add, 2, 2, depends_on=parent, job_id="taken")  # deferred: kept
    chain = Chain(
        Step(jobs.start_list, "a", job_id="first"),
        Step(jobs.append_to, "b", job_id="taken"),
        Step(jobs.append_to, "c", job_id="third"),
    )
    with pytest.raises(DuplicateJobError):
        chain.enqueue(queue)
    assert queue.job_ids == [parent.id]
    assert queue.canceled_job_registry.get_job_ids() == ["first"]
    assert not Job.exists("third", queue.connection, prefix=queue.keys.prefix)
    assert chain.jobs == []


def test_two_steps_may_not_share_an_id():
    with pytest.raises(ValueError, match="its own id"):
        Chain(Step(jobs.add, 1, 2, job_id="same"), Step(jobs.add, 3, job_id="same"))


def test_bad_steps_are_refused_when_made():
    from django_jobqueue.engine import EnqueueError

    with pytest.raises(EnqueueError):
        Step(lambda x: x)
    with pytest.raises(TypeError, match="Step objects"):
        Chain(42)
    with pytest.raises(TypeError, match="queue must be"):
        Step(jobs.add, 1, 2, queue=42)


def test_a_step_without_a_queue_is_refused(queue):
    with pytest.raises(ValueError, match="has no queue"):
        Chain(Step(jobs.add, 1, 2)).enqueue()
    with pytest.raises(ValueError, match="Queue object"):
        Chain(Step(jobs.add, 1, 2, queue="low")).enqueue()
    chain = Chain(Step(jobs.add, 1, 2)).enqueue(queue)
    with pytest.raises(InvalidJobOperation, match="enqueued already"):
        chain.enqueue(queue)


def test_a_canceled_step_stops_the_chain(queue, make_worker, redis_conn, key_prefix):
    chain = Chain(
        Step(jobs.start_list, "a"),
        Step(jobs.append_to, "b"),
        Step(jobs.record_previous),
        Step(jobs.record_previous),
    ).enqueue(queue)
    chain.jobs[2].cancel()  # while it waits
    make_worker([queue]).work(burst=True)
    assert _statuses(chain) == ["finished", "finished", "canceled", "canceled"]
    assert chain.failed_step == chain.jobs[2]
    assert chain.status == JobStatus.CANCELED
    assert _order(redis_conn, key_prefix) == []
    # Requeued, the canceled step waits for nothing (its predecessor finished).
    chain.requeue()
    make_worker([queue]).work(burst=True)
    assert chain.status == JobStatus.FINISHED
    assert _order(redis_conn, key_prefix) == ["['a', 'b']", "['a', 'b']"]


def test_fetch_finds_the_chain_from_any_step(queue, make_worker, redis_conn, key_prefix):
    chain = Chain(
        Step(jobs.start_list, "a"), Step(jobs.append_to, "b"), Step(jobs.append_to, "c")
    ).enqueue(queue)
    for job in chain.jobs:
        found = Chain.fetch(job.id, redis_conn, prefix=key_prefix)
        assert [j.id for j in found.jobs] == [j.id for j in chain.jobs]
    make_worker([queue]).work(burst=True)
    chain.jobs[0].delete()  # as when its result expires
    found = Chain.fetch(chain.jobs[2].id, redis_conn, prefix=key_prefix)
    assert [j and j.id for j in found.jobs] == [None, chain.jobs[1].id, chain.jobs[2].id]
    assert found.status == JobStatus.FINISHED
    assert found.result == ["a", "b", "c"]
    plain = queue.enqueue(jobs.add, 1, 2)
    with pytest.raises(InvalidJobOperation, match="not a step of a chain"):
        Chain.fetch(plain.id, redis_conn, prefix=key_prefix)


def test_a_job_outside_any_chain_carries_nothing_for_it(queue, make_worker, redis_conn):
    job = queue.enqueue(jobs.add, 1, 2)
    assert job.chain is None
    assert not redis_conn.hexists(job.key, "chain")
    make_worker([queue]).work(burst=True)
    job.refresh()
    assert job.chain is None and job.result == 3


def test_what_a_step_says_when_its_predecessor_has_no_result_for_it(queue, redis_conn):
    from django_jobqueue.engine import ChainResultLost, ChainStopped
    from django_jobqueue.engine.chain_link import previous_result

    chain = Chain(Step(jobs.start_list, "a"), Step(jobs.append_to, "b")).enqueue(queue)
    first, second = chain.jobs
    with pytest.raises(ChainResultLost, match=r"has not finished \(it is queued\)"):
        previous_result(second)
    redis_conn.hset(first.key, "status", "finished")
    with pytest.raises(ChainResultLost, match="finished but kept no result"):
        previous_result(second)
    redis_conn.hset(first.key, "result", b"not a pickle")
    with pytest.raises(ChainResultLost, match="cannot be read"):
        previous_result(second)
    redis_conn.hset(first.key, "status", "stopped")
    with pytest.raises(ChainStopped, match=r"step 1 of the chain .* was stopped"):
        previous_result(second)


def test_cancel_cancels_every_step_not_ended(queue, make_worker, redis_conn, key_prefix):
    chain = Chain(
        Step(jobs.start_list, "a"), Step(jobs.record_previous), Step(jobs.record_previous)
    ).enqueue(queue)
    make_worker([queue]).work(burst=True, max_jobs=1)
    assert chain.cancel() == chain.jobs[1:]
    assert _statuses(chain) == ["finished", "canceled", "canceled"]
    make_worker([queue]).work(burst=True)
    assert _order(redis_conn, key_prefix) == []
    assert chain.status == JobStatus.CANCELED
    assert chain.cancel() == []
    chain.requeue()  # from the first step canceled
    make_worker([queue]).work(burst=True)
    assert chain.result == ["a"]
    assert _order(redis_conn, key_prefix) == ["['a']", "['a']"]


def test_a_single_step_chain_is_a_chain_too(queue, make_worker, redis_conn, key_prefix):
    # Its job has no dependency fields: only "chain" says it belongs to one.
    chain = Chain(Step(jobs.add, 1, 2)).enqueue(queue)
    make_worker([queue]).work(burst=True)
    fetched = Job.fetch(chain.id, redis_conn, prefix=key_prefix)
    assert fetched.chain == {"step": 1, "of": 1}
    found = Chain.fetch(chain.id, redis_conn, prefix=key_prefix)
    assert [j.id for j in found.jobs] == [chain.id]
    assert found.result == 3 and found.status == JobStatus.FINISHED
