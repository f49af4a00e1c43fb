"""The lean EVALSHA path (engine/scripts/wire.py) says the same as redis-py would."""

from __future__ import annotations

import os
import threading

import pytest
import redis
from redis.exceptions import NoScriptError, ResponseError

from django_jobqueue.engine import JobStatus, scripts
from django_jobqueue.engine.keys import KeySpace
from django_jobqueue.engine.scripts import wire

ECHO = "return {KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]}"


@pytest.fixture
def ks(key_prefix):
    return KeySpace(key_prefix)


@pytest.fixture
def echo(redis_conn):
    return redis_conn.script_load(ECHO)


def test_pack_matches_redis_py():
    args = ["EVALSHA", "abc", 1, "k\u00e9y", b"\x00\r\n\xff", 3.25, -7, JobStatus.QUEUED]
    encoder = redis.connection.Encoder("utf-8", "strict", False)
    redis_py = redis.connection.PythonRespSerializer(6000, encoder.encode)
    assert wire.pack(args) == b"".join(redis_py.pack(*args))


def test_pack_refuses_what_redis_py_would_mangle():
    with pytest.raises(TypeError, match="str, bytes, int or float, not bool"):
        wire.pack([True])
    with pytest.raises(TypeError, match="not NoneType"):
        wire.pack([None])


def test_arguments_arrive_byte_for_byte(redis_conn, echo):
    binary = bytes(range(256)) * 3
    reply = wire.evalsha(redis_conn, echo, ["key"], [binary, "\u00e9", 12, 0.5, JobStatus.FINISHED])
    assert reply == [b"key", binary, "\u00e9".encode(), b"12", b"0.5", b"finished"]


def test_script_errors_are_raised_and_the_connection_stays_usable(redis_conn):
    failing = redis_conn.script_load("return redis.error_reply('DUPLICATE queued')")
    with pytest.raises(ResponseError, match="DUPLICATE queued"):
        wire.evalsha(redis_conn, failing, [], [])
    with pytest.raises(NoScriptError):
        wire.evalsha(redis_conn, "0" * 40, [], [])
    assert redis_conn.ping()


def test_calls_reuse_a_spare_connection_instead_of_checking_one_out(redis_conn, echo):
    pool = redis_conn.connection_pool
    wire.evalsha(redis_conn, echo, ["k"], ["0", "", "", "", ""])
    (spare,) = wire._spares[pool].idle
    in_use = set(pool._in_use_connections)
    assert spare in in_use  # the pool counts it: its limits still hold
    for _ in range(5):
        wire.evalsha(redis_conn, echo, ["k"], ["a", "b", "c", "d", "e"])
    assert wire._spares[pool].idle == [spare]
    assert set(pool._in_use_connections) == in_use  # no checkout per call


def test_concurrent_calls_never_share_a_connection(redis_conn, echo):
    pool = redis_conn.connection_pool
    wire.evalsha(redis_conn, echo, ["k"], ["0", "", "", "", ""])
    seen = []
    with wire._borrowed(redis_conn) as mine:  # this thread is in the middle of a call

        def other_thread():
            with wire._borrowed(redis_conn) as theirs:
                seen.append(theirs)
            seen.append(wire.evalsha(redis_conn, echo, ["k"], ["t", "", "", "", ""]))

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen[0] is not mine and seen[1][1] == b"t"
    assert len(wire._spares[pool].idle) == 2  # both kept: at most what was needed at once


def test_spares_are_bounded_and_never_kept_from_a_blocking_pool(redis_conn, echo):
    kwargs = redis_conn.connection_pool.connection_kwargs
    small = redis.Redis(connection_pool=redis.ConnectionPool(max_connections=4, **kwargs))
    blocking = redis.Redis(
        connection_pool=redis.BlockingConnectionPool(max_connections=2, timeout=1, **kwargs)
    )
    try:
        for client in (small, blocking):
            held = [wire._take(client.connection_pool) for _ in range(2)]
            for spares, connection in held:
                wire._put_back(client.connection_pool, spares, connection)
        assert len(wire._spares[small.connection_pool].idle) == 1  # a quarter of 4
        assert wire._spares[blocking.connection_pool].idle == []
        # Both connections went back: the blocking pool serves two at once again.
        first = blocking.connection_pool.get_connection()
        second = blocking.connection_pool.get_connection()
        blocking.connection_pool.release(first)
        blocking.connection_pool.release(second)
        assert wire.evalsha(blocking, echo, ["k"], ["b", "", "", "", ""])[1] == b"b"
    finally:
        small.close()
        blocking.close()


def test_a_forked_child_starts_without_its_parents_spares(redis_conn, echo):
    pool = redis_conn.connection_pool
    wire.evalsha(redis_conn, echo, ["k"], ["parent", "", "", "", ""])
    (spare,) = wire._spares[pool].idle
    pid = os.fork()
    if pid == 0:  # the child: its own connection, never the parent's socket
        try:
            ok = pool not in wire._spares
            ok = (
                ok
                and wire.evalsha(redis_conn, echo, ["k"], ["child", "", "", "", ""])[1] == b"child"
            )
            ok = ok and wire._spares[pool].idle[0] is not spare
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert wire.evalsha(redis_conn, echo, ["k"], ["again", "", "", "", ""])[1] == b"again"
    assert wire._spares[pool].idle == [spare]


def test_a_killed_connection_is_retried_by_the_clients_policy(redis_conn, echo):
    wire.evalsha(redis_conn, echo, ["k"], ["1", "", "", "", ""])
    (spare,) = wire._spares[redis_conn.connection_pool].idle
    spare.send_command("CLIENT", "ID")
    redis_conn.client_kill_filter(_id=spare.read_response())
    reply = wire.evalsha(redis_conn, echo, ["k"], ["2", "", "", "", ""])
    assert reply[1] == b"2"
    # The spare reconnects on its next use.
    assert wire.evalsha(redis_conn, echo, ["k"], ["3", "", "", "", ""])[1] == b"3"


def test_replies_keep_commas_newlines_binary_and_empty_values(redis_conn):
    # reply() of _lib.lua on a real server, read back by decode_reply.
    body = "return reply({ARGV[1], false}, {2, ARGV[2], {ARGV[3], ARGV[4], ARGV[5], ARGV[6]}})"
    sha = redis_conn.script_load(scripts.with_helpers(body))
    raw = redis_conn.evalsha(sha, 0, "[]", "id-1", "data", b"a,b\n\x00,c", "e", "")
    head, taken = scripts.decode_reply(raw, 2)
    assert head == [b"[]", None]  # '' stands for false
    assert taken == scripts.Taken(2, b"id-1", {b"data": b"a,b\n\x00,c", b"e": b""})
    sha = redis_conn.script_load(scripts.with_helpers("return reply({false, ARGV[1]}, nil)"))
    assert scripts.decode_reply(redis_conn.evalsha(sha, 0, "[]"), 2) == ([None, b"[]"], None)


def test_a_script_gets_only_the_helpers_it_uses():
    finish = scripts.load("finish").script.decode()
    assert "local function take_next(" in finish and "local function reply(" in finish
    assert "local function pop_id(" in finish  # through take_next
    assert "local function delete_job(" not in finish
    assert "local function take_next(" not in scripts.load("enqueue").script.decode()


def test_many_calls_keep_order_and_errors_in_place(redis_conn, echo):
    failing = redis_conn.script_load("return redis.error_reply('BAD_TARGET x')")
    replies = wire.evalsha_many(
        redis_conn,
        [
            (echo, ["k"], ["1", "", "", "", ""]),
            (failing, [], []),
            ("0" * 40, [], []),
            (echo, ["k"], ["4", "", "", "", ""]),
        ],
    )
    assert replies[0][1] == b"1" and replies[3][1] == b"4"
    assert isinstance(replies[1], ResponseError) and "BAD_TARGET" in str(replies[1])
    assert isinstance(replies[2], NoScriptError)
    assert redis_conn.ping()


def test_a_batch_reloads_a_flushed_script_and_runs_each_call_once(redis_conn, ks):
    redis_conn.script_flush()
    batch = scripts.Batch(redis_conn)
    for job_id in ("a", "b"):
        scripts.enqueue(batch, ks, "q", job_id, "queued", 1.0, 1.0, False, None, ["func", "f"])
    assert batch.execute() == [1, 1]
    assert redis_conn.lrange(ks.queue("q"), 0, -1) == [b"a", b"b"]


# -- Overlap: a call read back while the caller works --------------------------


def test_an_overlapped_call_is_read_after_other_commands_on_the_same_client(redis_conn, echo):
    pool = redis_conn.connection_pool
    with wire.Overlap(redis_conn) as calls:
        calls.send(echo, ["k"], ["1", "", "", "", ""])
        # Meanwhile the caller uses the client as usual (and even the lean wire):
        # those commands take other connections and read their own replies.
        assert redis_conn.set("overlap:other", "x")
        assert wire.evalsha(redis_conn, echo, ["k"], ["2", "", "", "", ""])[1] == b"2"
        assert calls.read()[1] == b"1"
        calls.send(echo, ["k"], ["3", "", "", "", ""])
        assert calls.read()[1] == b"3"
        held = calls.connection
    assert held not in pool._in_use_connections and held._sock is not None  # back, still open


def test_an_overlapped_script_error_is_raised_at_read(redis_conn):
    failing = redis_conn.script_load("return redis.error_reply('DUPLICATE queued')")
    with wire.Overlap(redis_conn) as calls:
        calls.send(failing, [], [])
        with pytest.raises(ResponseError, match="DUPLICATE queued"):
            calls.read()
        with pytest.raises(RuntimeError, match="without a call sent"):
            calls.read()
    assert redis_conn.ping()


def test_leaving_with_a_reply_unread_drops_the_connection(redis_conn, echo):
    pool = redis_conn.connection_pool
    with pytest.raises(KeyError), wire.Overlap(redis_conn) as calls:
        calls.send(echo, ["k"], ["1", "", "", "", ""])
        held = calls.connection
        raise KeyError("the caller's own failure")
    assert held._sock is None  # its unread reply can never reach another command
    assert held not in pool._in_use_connections
    assert wire.evalsha(redis_conn, echo, ["k"], ["2", "", "", "", ""])[1] == b"2"


def test_clients_off_the_lean_wire_run_the_call_at_send(redis_conn, echo):
    single = redis.Redis(connection_pool=redis_conn.connection_pool, single_connection_client=True)
    try:
        with wire.Overlap(single) as calls:
            assert calls.connection is None
            calls.send(echo, ["k"], ["1", "", "", "", ""])
            assert single.get("overlap:missing") is None  # one connection, nothing unread on it
            assert calls.read()[1] == b"1"
            calls.send("0" * 40, [], [])
            with pytest.raises(NoScriptError):
                calls.read()
    finally:
        single.close()
