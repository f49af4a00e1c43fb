"""The Lua scripts, called directly through django_jobqueue.engine.scripts."""

from __future__ import annotations

import json
import time

import pytest
from redis.exceptions import ResponseError

from django_jobqueue.engine import scripts
from django_jobqueue.engine.keys import KeySpace

Q = "q"


@pytest.fixture
def ks(key_prefix):
    return KeySpace(key_prefix)


def _enqueue(
    redis_conn,
    ks,
    job_id,
    target="queued",
    score=None,
    at_front=False,
    ttl=None,
    queue=Q,
    unique=False,
    **fields,
):
    flat = ["func", "tests.engine.jobs.add", "origin", queue]
    for name, value in fields.items():
        flat += [name, value]
    timestamp = time.time()
    return scripts.enqueue(
        redis_conn,
        ks,
        queue,
        job_id,
        target,
        timestamp,
        timestamp if score is None else score,
        at_front,
        ttl,
        flat,
        unique=unique,
    )


def _dequeue(redis_conn, ks, worker="w1", queues=(Q,), deadline_in=60):
    return scripts.dequeue(redis_conn, ks, list(queues), time.time(), worker, deadline_in)


def _status(redis_conn, ks, job_id, queue=Q):
    value = redis_conn.hget(ks.job(queue, job_id), "status")
    return value.decode() if value else None


# -- enqueue ------------------------------------------------------------------------


def test_enqueue_writes_the_hash_and_pushes_the_id(redis_conn, ks):
    assert _enqueue(redis_conn, ks, "a") == 1
    assert _enqueue(redis_conn, ks, "b") == 1
    assert _enqueue(redis_conn, ks, "front", at_front=True) == 1
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"front", b"a", b"b"]
    fields = redis_conn.hgetall(ks.job(Q, "a"))
    assert fields[b"status"] == b"queued"
    assert fields[b"func"] == b"tests.engine.jobs.add"
    assert redis_conn.ttl(ks.job(Q, "a")) == -1


@pytest.mark.parametrize("live", ["deferred", "started"])
def test_enqueue_refuses_a_running_or_deferred_duplicate(redis_conn, ks, live):
    _enqueue(redis_conn, ks, "dup", target=live)
    with pytest.raises(ResponseError, match=f"DUPLICATE {live}"):
        _enqueue(redis_conn, ks, "dup", marker="second")
    assert redis_conn.hget(ks.job(Q, "dup"), "marker") is None
    assert _status(redis_conn, ks, "dup") == live


@pytest.mark.parametrize("waiting", ["queued", "scheduled"])
def test_enqueue_replaces_a_waiting_duplicate_leaving_one_copy(redis_conn, ks, waiting):
    _enqueue(redis_conn, ks, "dup", target=waiting, old_field="x", dependents='["child"]')
    _enqueue(redis_conn, ks, "dup", target="scheduled" if waiting == "queued" else "queued")
    fields = redis_conn.hgetall(ks.job(Q, "dup"))
    assert b"old_field" not in fields and fields[b"dependents"] == b'["child"]'
    in_queue = redis_conn.lrange(ks.queue(Q), 0, -1).count(b"dup")
    in_scheduled = redis_conn.zscore(ks.registry(Q, "scheduled"), "dup") is not None
    assert (in_queue, in_scheduled) == ((0, True) if waiting == "queued" else (1, False))


@pytest.mark.parametrize("old", ["queued", "scheduled", "started", "finished"])
def test_a_unique_enqueue_refuses_any_job_with_the_id(redis_conn, ks, old):
    _enqueue(redis_conn, ks, "dup", target="started" if old == "finished" else old)
    if old == "finished":
        redis_conn.hset(ks.job(Q, "dup"), "status", "finished")
    with pytest.raises(ResponseError, match=f"DUPLICATE {old}"):
        _enqueue(redis_conn, ks, "dup", unique=True, marker="second")
    assert redis_conn.hget(ks.job(Q, "dup"), "marker") is None


def test_enqueue_replaces_an_ended_job(redis_conn, ks):
    _enqueue(redis_conn, ks, "old", old_field="x")
    redis_conn.hset(ks.job(Q, "old"), "status", "finished")
    redis_conn.lpop(ks.queue(Q))
    redis_conn.zadd(ks.registry(Q, "finished"), {"old": time.time() + 100})
    assert _enqueue(redis_conn, ks, "old") == 1
    assert _status(redis_conn, ks, "old") == "queued"
    assert redis_conn.hget(ks.job(Q, "old"), "old_field") is None
    assert redis_conn.zscore(ks.registry(Q, "finished"), "old") is None


def test_enqueue_targets(redis_conn, ks):
    _enqueue(redis_conn, ks, "d", target="deferred", score=1.0)
    _enqueue(redis_conn, ks, "s", target="scheduled", score=2.0)
    _enqueue(redis_conn, ks, "r", target="started", score=3.0)
    assert redis_conn.zscore(ks.registry(Q, "deferred"), "d") == 1.0
    assert redis_conn.zscore(ks.registry(Q, "scheduled"), "s") == 2.0
    assert redis_conn.zscore(ks.registry(Q, "started"), "r") == 3.0
    assert redis_conn.llen(ks.queue(Q)) == 0
    with pytest.raises(ValueError, match="Unknown registry 'bogus'"):
        _enqueue(redis_conn, ks, "x", target="bogus")
    assert not redis_conn.exists(ks.job(Q, "x"))


def test_enqueue_ttl_while_waiting(redis_conn, ks):
    _enqueue(redis_conn, ks, "t", ttl=50)
    assert 45 <= redis_conn.ttl(ks.job(Q, "t")) <= 50


def test_enqueue_announces_on_the_wake_channel(redis_conn, ks):
    pubsub = redis_conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(ks.wake_channel(Q))
    try:
        pubsub.get_message(timeout=1)  # the subscription confirmation
        _enqueue(redis_conn, ks, "woken")
        message = pubsub.get_message(timeout=2)
        assert message is not None
        assert message["data"] == b"woken"
    finally:
        pubsub.close()


# -- dequeue ------------------------------------------------------------------------


def test_dequeue_marks_the_job_started(redis_conn, ks):
    _enqueue(redis_conn, ks, "a", ttl=100)
    before = time.time()
    position, job_id, fields = _dequeue(redis_conn, ks, worker="w1", deadline_in=60)
    assert (position, job_id) == (1, b"a")
    assert fields[b"status"] == b"started"
    assert fields[b"worker"] == b"w1"
    deadline = redis_conn.zscore(ks.registry(Q, "started"), "a")
    assert before + 59 <= deadline <= time.time() + 61
    assert redis_conn.ttl(ks.job(Q, "a")) == -1  # the waiting ttl no longer applies
    assert _dequeue(redis_conn, ks) is None


def test_dequeue_skips_expired_deleted_and_not_queued_ids(redis_conn, ks):
    _enqueue(redis_conn, ks, "deleted")
    _enqueue(redis_conn, ks, "canceled")
    _enqueue(redis_conn, ks, "live")
    redis_conn.delete(ks.job(Q, "deleted"))  # deleted, or expired through its ttl
    redis_conn.rpush(ks.queue(Q), "never-existed")
    redis_conn.lmove(ks.queue(Q), ks.queue(Q), "RIGHT", "LEFT")  # to the head
    redis_conn.hset(ks.job(Q, "canceled"), "status", "canceled")
    reply = _dequeue(redis_conn, ks)
    assert reply[1] == b"live"
    assert redis_conn.llen(ks.queue(Q)) == 0
    assert redis_conn.zrange(ks.registry(Q, "started"), 0, -1) == [b"live"]
    assert not redis_conn.exists(ks.job(Q, "deleted"))
    assert not redis_conn.exists(ks.job(Q, "never-existed"))
    assert _status(redis_conn, ks, "canceled") == "canceled"


def test_dequeue_really_skips_an_expired_job(redis_conn, ks):
    _enqueue(redis_conn, ks, "short", ttl=1)
    _enqueue(redis_conn, ks, "live")
    redis_conn.pexpire(ks.job(Q, "short"), 1)
    time.sleep(0.01)
    assert _dequeue(redis_conn, ks)[1] == b"live"


def test_dequeue_respects_queue_order(redis_conn, ks):
    _enqueue(redis_conn, ks, "low-1", queue="low")
    _enqueue(redis_conn, ks, "high-1", queue="high")
    _enqueue(redis_conn, ks, "high-2", queue="high")
    taken = []
    while reply := _dequeue(redis_conn, ks, queues=("high", "low")):
        taken.append((reply[0], reply[1].decode()))
    assert taken == [(1, "high-1"), (1, "high-2"), (2, "low-1")]


# -- finish and fail ------------------------------------------------------------------


def test_finish_refuses_a_job_owned_by_another_worker(redis_conn, ks):
    _enqueue(redis_conn, ks, "j")
    _dequeue(redis_conn, ks, worker="w1")
    assert scripts.finish(redis_conn, ks, Q, "j", time.time(), 100, b"result", "w2") == [None, None]
    assert _status(redis_conn, ks, "j") == "started"
    assert redis_conn.hget(ks.job(Q, "j"), "result") is None
    assert scripts.finish(redis_conn, ks, Q, "j", time.time(), 100, b"result", "w1") == [
        b"[]",
        None,
    ]
    assert _status(redis_conn, ks, "j") == "finished"
    assert redis_conn.hget(ks.job(Q, "j"), "result") == b"result"
    assert redis_conn.zscore(ks.registry(Q, "started"), "j") is None
    assert redis_conn.zscore(ks.registry(Q, "finished"), "j") is not None
    # Finishing twice is refused too: the job is no longer started.
    assert scripts.finish(redis_conn, ks, Q, "j", time.time(), 100, b"again", "w1")[0] is None


def test_finish_refuses_a_job_that_is_not_started(redis_conn, ks):
    _enqueue(redis_conn, ks, "queued")
    assert scripts.finish(redis_conn, ks, Q, "queued", time.time(), 100, b"x", "w1")[0] is None
    assert scripts.finish(redis_conn, ks, Q, "missing", time.time(), 100, b"x", "w1")[0] is None
    assert not redis_conn.exists(ks.job(Q, "missing"))


def test_finish_ttls(redis_conn, ks):
    for job_id in ("zero", "forever", "some"):
        _enqueue(redis_conn, ks, job_id)
        _dequeue(redis_conn, ks)
    scripts.finish(redis_conn, ks, Q, "zero", time.time(), 0, b"x", "w1")
    scripts.finish(redis_conn, ks, Q, "forever", time.time(), -1, b"x", "w1")
    scripts.finish(redis_conn, ks, Q, "some", time.time(), 30, b"x", "w1")
    assert not redis_conn.exists(ks.job(Q, "zero"))
    assert redis_conn.zscore(ks.registry(Q, "finished"), "zero") is None
    assert redis_conn.ttl(ks.job(Q, "forever")) == -1
    assert redis_conn.zscore(ks.registry(Q, "finished"), "forever") == float("inf")
    assert 25 <= redis_conn.ttl(ks.job(Q, "some")) <= 30


def test_fail_refuses_a_job_owned_by_another_worker(redis_conn, ks):
    _enqueue(redis_conn, ks, "j")
    _dequeue(redis_conn, ks, worker="w1")
    assert scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "tb", "w2")[0] is None
    assert _status(redis_conn, ks, "j") == "started"
    assert redis_conn.hget(ks.job(Q, "j"), "exc_info") is None
    status, dependents, _ = scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "tb", "w1")
    assert (status, dependents) == (b"failed", b"[]")
    assert redis_conn.hget(ks.job(Q, "j"), "exc_info") == b"tb"
    assert redis_conn.zscore(ks.registry(Q, "failed"), "j") is not None
    assert scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "tb", "w1")[0] is None


def test_fail_with_retry(redis_conn, ks):
    _enqueue(redis_conn, ks, "now", retries_left=2)
    _enqueue(redis_conn, ks, "later", retries_left=1)
    _dequeue(redis_conn, ks)
    _dequeue(redis_conn, ks)
    reply = scripts.fail(redis_conn, ks, Q, "now", time.time(), 100, "tb", "w1", retry_in=0)
    assert reply[0] == b"queued"
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"now"]
    assert redis_conn.hget(ks.job(Q, "now"), "retries_left") == b"1"
    reply = scripts.fail(redis_conn, ks, Q, "later", time.time(), 100, "tb", "w1", retry_in=30)
    assert reply[0] == b"scheduled"
    assert redis_conn.zscore(ks.registry(Q, "scheduled"), "later") > time.time() + 25


def test_fail_with_a_returned_retry_counts_it_apart_and_fails_past_its_max(redis_conn, ks):
    _enqueue(redis_conn, ks, "j", retries_left=3, exc_info="old tb")
    returned = json.dumps({"max": 1, "intervals": [0], "at_front": True})
    _dequeue(redis_conn, ks)
    reply = scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "", "w1", returned=returned)
    assert reply[0] == b"queued"
    fields = redis_conn.hgetall(ks.job(Q, "j"))
    assert (fields[b"returned_retries"], fields[b"retries_left"]) == (b"1", b"3")
    assert fields[b"returned_retry"] == returned.encode() and b"exc_info" not in fields
    assert fields[b"retry_at_front"] == b"1"
    _dequeue(redis_conn, ks)
    reply = scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "", "w1", returned=returned)
    assert reply[0] == b"failed"
    assert redis_conn.zscore(ks.registry(Q, "failed"), "j") is not None
    assert redis_conn.hget(ks.job(Q, "j"), "returned_retry") == returned.encode()


def test_fail_with_a_returned_retry_waits_its_interval(redis_conn, ks):
    _enqueue(redis_conn, ks, "j", returned_retries=1)
    _dequeue(redis_conn, ks)
    returned = json.dumps({"max": 3, "intervals": [5, 40], "at_front": False})
    reply = scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "", "w1", returned=returned)
    assert reply[0] == b"scheduled"
    assert redis_conn.zscore(ks.registry(Q, "scheduled"), "j") > time.time() + 35


def test_a_stop_request_wins_over_a_returned_retry(redis_conn, ks):
    _enqueue(redis_conn, ks, "j")
    _dequeue(redis_conn, ks)
    redis_conn.hset(ks.job(Q, "j"), "stop_requested", "1")
    returned = json.dumps({"max": 1, "intervals": [0], "at_front": False})
    reply = scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "", "w1", returned=returned)
    assert reply[0] == b"stopped"
    assert redis_conn.hget(ks.job(Q, "j"), "returned_retry") is None


def test_a_raised_failure_or_a_success_replaces_a_returned_retry(redis_conn, ks):
    returned = json.dumps({"max": 1, "intervals": [0], "at_front": False})
    for job_id in ("raised", "finished"):
        _enqueue(redis_conn, ks, job_id, returned_retry=returned)
        _dequeue(redis_conn, ks)
    scripts.fail(redis_conn, ks, Q, "raised", time.time(), 100, "tb", "w1")
    scripts.finish(redis_conn, ks, Q, "finished", time.time(), 100, b"r", "w1")
    for job_id in ("raised", "finished"):
        assert redis_conn.hget(ks.job(Q, job_id), "returned_retry") is None


def test_fail_only_if_abandoned_respects_the_heartbeat_deadline(redis_conn, ks):
    _enqueue(redis_conn, ks, "j")
    _dequeue(redis_conn, ks, worker="w1", deadline_in=60)
    assert (
        scripts.fail(redis_conn, ks, Q, "j", time.time(), 100, "tb", "w1", only_if_abandoned=True)[
            0
        ]
        is None
    )
    assert _status(redis_conn, ks, "j") == "started"
    assert (
        scripts.fail(
            redis_conn, ks, Q, "j", time.time() + 61, 100, "tb", "w1", only_if_abandoned=True
        )[0]
        == b"failed"
    )


def test_finish_and_fail_hand_over_the_next_job_in_the_same_step(redis_conn, ks):
    for job_id in ("a", "b", "c"):
        _enqueue(redis_conn, ks, job_id)
    _dequeue(redis_conn, ks, worker="w1")
    take_next = scripts.TakeNext([Q], 60)
    deps, next_job = scripts.finish(redis_conn, ks, Q, "a", time.time(), 100, b"r", "w1", take_next)
    assert deps == b"[]" and next_job[1] == b"b"
    assert _status(redis_conn, ks, "b") == "started"
    status, _, next_job = scripts.fail(
        redis_conn, ks, Q, "b", time.time(), 100, "tb", "w1", take_next=take_next
    )
    assert status == b"failed" and next_job[1] == b"c"
    take_next.enabled = False  # shutting down: nothing more is taken
    _enqueue(redis_conn, ks, "d")
    assert scripts.finish(redis_conn, ks, Q, "c", time.time(), 100, b"r", "w1", take_next) == [
        b"[]",
        None,
    ]
    assert _status(redis_conn, ks, "d") == "queued"


def test_give_back_returns_a_taken_job_to_the_front(redis_conn, ks):
    for job_id in ("a", "b"):
        _enqueue(redis_conn, ks, job_id)
    _dequeue(redis_conn, ks, worker="w1")
    assert scripts.give_back(redis_conn, ks, Q, "a", time.time(), "w2") == 0
    assert scripts.give_back(redis_conn, ks, Q, "a", time.time(), "w1") == 1
    assert _status(redis_conn, ks, "a") == "queued"
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"a", b"b"]
    assert redis_conn.zscore(ks.registry(Q, "started"), "a") is None


def test_fail_with_zero_ttl_deletes_and_returns_dependents(redis_conn, ks):
    _enqueue(redis_conn, ks, "j", dependents=json.dumps(["child-key"]))
    _dequeue(redis_conn, ks)
    reply = scripts.fail(redis_conn, ks, Q, "j", time.time(), 0, "tb", "w1", status="stopped")
    assert reply[0] == b"stopped"
    assert json.loads(reply[1]) == ["child-key"]
    assert not redis_conn.exists(ks.job(Q, "j"))


# -- dependencies ---------------------------------------------------------------------


def test_add_dependent_reports_the_parent_status_and_is_idempotent(redis_conn, ks):
    _enqueue(redis_conn, ks, "parent")
    parent_key = ks.job(Q, "parent")
    assert scripts.add_dependent(redis_conn, ks, parent_key, "child-1") == b"queued"
    assert scripts.add_dependent(redis_conn, ks, parent_key, "child-1") == b"queued"
    assert scripts.add_dependent(redis_conn, ks, parent_key, "child-2") == b"queued"
    assert json.loads(redis_conn.hget(parent_key, "dependents")) == ["child-1", "child-2"]
    assert scripts.add_dependent(redis_conn, ks, ks.job(Q, "missing"), "child-1") is None
    assert not redis_conn.exists(ks.job(Q, "missing"))


def test_release_is_idempotent(redis_conn, ks):
    p1, p2 = ks.job(Q, "p1"), ks.job(Q, "p2")
    _enqueue(redis_conn, ks, "child", target="deferred", pending=json.dumps([p1, p2]))
    child_key = ks.job(Q, "child")
    assert scripts.release(redis_conn, ks, child_key, p1, "finished", time.time()) == 0
    assert scripts.release(redis_conn, ks, child_key, p1, "finished", time.time()) == 0
    assert json.loads(redis_conn.hget(child_key, "pending")) == [p2]
    assert _status(redis_conn, ks, "child") == "deferred"
    assert scripts.release(redis_conn, ks, child_key, p2, "finished", time.time()) == 1
    assert scripts.release(redis_conn, ks, child_key, p2, "finished", time.time()) == 0
    assert scripts.release(redis_conn, ks, child_key, p1, "finished", time.time()) == 0
    assert _status(redis_conn, ks, "child") == "queued"
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"child"]
    assert redis_conn.zscore(ks.registry(Q, "deferred"), "child") is None
    assert not redis_conn.hexists(child_key, "pending")


def test_release_after_failure_depends_on_allow_failure(redis_conn, ks):
    parent = ks.job(Q, "p")
    _enqueue(redis_conn, ks, "strict", target="deferred", pending=json.dumps([parent]))
    _enqueue(
        redis_conn,
        ks,
        "lenient",
        target="deferred",
        pending=json.dumps([parent]),
        allow_failure="1",
    )
    for child in ("strict", "lenient"):
        scripts.release(redis_conn, ks, ks.job(Q, child), parent, "failed", time.time())
    assert _status(redis_conn, ks, "strict") == "deferred"
    assert _status(redis_conn, ks, "lenient") == "queued"


def test_release_in_a_batch(redis_conn, ks):
    parent = ks.job(Q, "p")
    for child in ("c1", "c2"):
        _enqueue(redis_conn, ks, child, target="deferred", pending=json.dumps([parent]))
    batch = scripts.Batch(redis_conn)
    for child in ("c1", "c2", "c1"):
        scripts.release(batch, ks, ks.job(Q, child), parent, "finished", time.time())
    assert len(batch) == 3
    assert batch.execute() == [1, 1, 0]
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"c1", b"c2"]
    assert batch.execute() == []


# -- requeue, cancel, delete, set_field -------------------------------------------------


def test_requeue_only_ended_jobs(redis_conn, ks):
    _enqueue(redis_conn, ks, "q")
    with pytest.raises(ResponseError, match="NOT_REQUEUEABLE queued"):
        scripts.requeue(redis_conn, ks, Q, "q", time.time())
    with pytest.raises(ResponseError, match="NO_SUCH_JOB"):
        scripts.requeue(redis_conn, ks, Q, "missing", time.time())
    _dequeue(redis_conn, ks)
    scripts.fail(redis_conn, ks, Q, "q", time.time(), 100, "tb", "w1")
    assert scripts.requeue(redis_conn, ks, Q, "q", time.time()) == b"queued"
    assert redis_conn.hget(ks.job(Q, "q"), "exc_info") is None
    assert redis_conn.zscore(ks.registry(Q, "failed"), "q") is None
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"q"]


def test_cancel_waiting_and_running_jobs_only(redis_conn, ks):
    _enqueue(redis_conn, ks, "q")
    _enqueue(redis_conn, ks, "s")
    _dequeue(redis_conn, ks)  # "q" is started now
    assert scripts.cancel(redis_conn, ks, Q, "q", time.time(), 100) == b"[]"
    assert _status(redis_conn, ks, "q") == "canceled"
    assert redis_conn.zscore(ks.registry(Q, "started"), "q") is None
    with pytest.raises(ResponseError, match="NOT_CANCELABLE canceled"):
        scripts.cancel(redis_conn, ks, Q, "q", time.time(), 100)
    # Its worker's success then keeps the result and nothing else.
    assert scripts.finish(redis_conn, ks, Q, "q", time.time(), 100, b"42", "w1")[0] is None
    assert _status(redis_conn, ks, "q") == "canceled"
    assert redis_conn.hget(ks.job(Q, "q"), "result") == b"42"
    assert redis_conn.zscore(ks.registry(Q, "finished"), "q") is None
    with pytest.raises(ResponseError, match="NO_SUCH_JOB"):
        scripts.cancel(redis_conn, ks, Q, "missing", time.time(), 100)
    assert scripts.cancel(redis_conn, ks, Q, "s", time.time(), 100) == b"[]"
    assert _status(redis_conn, ks, "s") == "canceled"
    assert redis_conn.llen(ks.queue(Q)) == 0
    assert redis_conn.zscore(ks.registry(Q, "canceled"), "s") is not None


def test_delete_removes_the_job_everywhere(redis_conn, ks):
    _enqueue(redis_conn, ks, "q")
    _enqueue(redis_conn, ks, "other")
    redis_conn.zadd(ks.registry(Q, "failed"), {"q": 1})  # a stray entry, also removed
    status, dependents = scripts.delete(redis_conn, ks, Q, "q")
    assert (status, dependents) == (b"queued", b"[]")
    assert not redis_conn.exists(ks.job(Q, "q"))
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"other"]
    assert redis_conn.zscore(ks.registry(Q, "failed"), "q") is None
    assert scripts.delete(redis_conn, ks, Q, "q") is None


def test_set_field_never_resurrects_a_job(redis_conn, ks):
    _enqueue(redis_conn, ks, "j")
    assert scripts.set_field(redis_conn, ks.job(Q, "j"), "meta", b"m") == 1
    assert redis_conn.hget(ks.job(Q, "j"), "meta") == b"m"
    assert scripts.set_field(redis_conn, ks.job(Q, "gone"), "meta", b"m") == 0
    assert not redis_conn.exists(ks.job(Q, "gone"))


# -- empty and enqueue_due -------------------------------------------------------------


def test_empty_works_in_batches(redis_conn, ks):
    for i in range(25):
        _enqueue(redis_conn, ks, f"j{i}")
    _enqueue(redis_conn, ks, "finished-but-listed")
    redis_conn.hset(ks.job(Q, "finished-but-listed"), "status", "finished")
    assert scripts.empty(redis_conn, ks, Q, 10) == 10
    assert redis_conn.llen(ks.queue(Q)) == 16
    assert not redis_conn.exists(ks.job(Q, "j0"))
    assert redis_conn.exists(ks.job(Q, "j10"))
    assert scripts.empty(redis_conn, ks, Q, 10) == 10
    assert scripts.empty(redis_conn, ks, Q, 10) == 6
    assert scripts.empty(redis_conn, ks, Q, 10) == 0
    assert redis_conn.llen(ks.queue(Q)) == 0
    assert not any(redis_conn.exists(ks.job(Q, f"j{i}")) for i in range(25))
    # A job listed in the queue but no longer queued is not deleted.
    assert redis_conn.exists(ks.job(Q, "finished-but-listed"))


def test_enqueue_due_moves_only_due_jobs(redis_conn, ks):
    now = time.time()
    _enqueue(redis_conn, ks, "due1", target="scheduled", score=now - 10)
    _enqueue(redis_conn, ks, "due2", target="scheduled", score=now - 5)
    _enqueue(redis_conn, ks, "later", target="scheduled", score=now + 100)
    redis_conn.zadd(ks.registry(Q, "scheduled"), {"ghost": now - 20})
    taken, moved = scripts.enqueue_due(redis_conn, ks, Q, now, 10)
    assert (taken, moved) == (3, 2)
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"due1", b"due2"]
    assert redis_conn.zrange(ks.registry(Q, "scheduled"), 0, -1) == [b"later"]
    assert _status(redis_conn, ks, "due1") == "queued"
    assert scripts.enqueue_due(redis_conn, ks, Q, now + 101, 1) == [1, 1]


def test_enqueue_due_puts_a_retry_at_front_ahead_but_not_a_first_run(redis_conn, ks):
    now = time.time()
    _enqueue(redis_conn, ks, "first", target="scheduled", score=now - 10, retry_at_front="1")
    _enqueue(redis_conn, ks, "plain-retry", target="scheduled", score=now - 9, ended_at=now)
    _enqueue(
        redis_conn,
        ks,
        "front-retry",
        target="scheduled",
        score=now - 8,
        retry_at_front="1",
        ended_at=now,
    )
    scripts.enqueue_due(redis_conn, ks, Q, now, 10)
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"front-retry", b"first", b"plain-retry"]


# -- loading ---------------------------------------------------------------------------


def test_scripts_reload_after_script_flush(redis_conn, ks):
    _enqueue(redis_conn, ks, "before")
    redis_conn.script_flush()
    _enqueue(redis_conn, ks, "after")  # NOSCRIPT is handled by loading the script again
    redis_conn.script_flush()
    batch = scripts.Batch(redis_conn)
    scripts.set_field(batch, ks.job(Q, "after"), "x", "1")
    redis_conn_pipe_result = batch.execute()
    assert redis_conn_pipe_result == [1]
    assert redis_conn.lrange(ks.queue(Q), 0, -1) == [b"before", b"after"]


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        ("NO_SUCH_JOB", "NoSuchJobError", "No job with id 'j1'."),
        ("NOT_REQUEUEABLE queued", "InvalidJobOperation", "Job j1 is queued and cannot be done."),
        ("NOT_CANCELABLE started", "InvalidJobOperation", "Job j1 is started and cannot be done."),
        ("DUPLICATE deferred", "DuplicateJobError", "is already deferred on queue 'q'"),
    ],
)
def test_script_error_replies_become_engine_errors(reply, error, message):
    exc = scripts.script_error(ResponseError(reply), "j1", queue=Q, verb="done")
    assert type(exc).__name__ == error
    assert message in str(exc)


def test_other_script_errors_are_left_as_they_are():
    original = ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert scripts.script_error(original, "j1") is original


def test_worker_command_only_for_a_registered_worker(redis_conn, ks):
    assert scripts.worker_command(redis_conn, ks, "w", "shutdown") == 0
    assert not redis_conn.exists(ks.worker("w"))
    redis_conn.hset(ks.worker("w"), "name", "w")
    assert scripts.worker_command(redis_conn, ks, "w", "kill-horse") == 1
    assert redis_conn.hget(ks.worker("w"), "command") == b"kill-horse"
