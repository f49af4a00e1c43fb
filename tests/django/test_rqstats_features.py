"""``rqstats`` shows the batches not complete, the chain steps waiting and,
with ``--unique``, the unique keys held, in its table and in ``--json``
(issue #17: every feature shows in the dashboard and rqstats)."""

from __future__ import annotations

import json

import pytest

from django_jobqueue import Batch, Chain, Step, enqueue, get_queue
from django_jobqueue.engine import batches, chain, unique
from tests.django import tasks

from .conftest import REPO_ROOT
from .test_commands import run

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)


def work(*queues):
    run("rqworker", *queues, "--burst", "--worker-class", "simple", "--without-scheduler")


def stats_json(*args):
    return json.loads(run("rqstats", "--json", *args)[0])


def section(out, title):
    """The lines of the section ``title`` of rqstats' table (up to the next blank line)."""
    lines = out.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return [line.split() for line in lines[start:end]]


def test_the_json_keys_are_documented(jq):
    """docs/django.rst names every key rqstats --json prints, and those of each section."""
    _three_batches()
    Chain(Step(tasks.start_list, "a"), Step(tasks.append_to, "b")).enqueue()
    enqueue(tasks.add, 1, 2, unique_for=60)
    found = stats_json("--unique")
    docs = (REPO_ROOT / "docs" / "django.rst").read_text()
    keys = {
        *found,
        *found["batches"],
        *found["batches"]["listed"][0],
        *found["chains"][0],
        *found["unique"][0],
    }
    assert [key for key in sorted(keys) if f"``{key}``" not in docs] == []


# -- batches --------------------------------------------------------------------------


def _three_batches():
    """Batch "open1" on low (open: one finished, one failed, one pending), "run1" on default
    (closed, its job pending) and "done1" on default (closed empty: complete)."""
    open1 = Batch.create(get_queue("low"), name="open1", description="partly done")
    open1.enqueue(tasks.add, 1, 1)
    open1.enqueue(tasks.fail)
    work("low")
    open1.enqueue(tasks.add, 2, 2)
    with Batch.create(get_queue("default"), name="run1") as run1:
        run1.enqueue(tasks.add, 3, 3)
    Batch.create(get_queue("default"), name="done1").close()
    return open1, run1


def test_batches_not_complete_newest_first_in_json(jq):
    open1, run1 = _three_batches()
    found = stats_json()["batches"]
    listed = [
        {k: row[k] for k in ("id", "queue", "status", "total", "finished", "failed", "pending")}
        for row in found["listed"]
    ]
    assert listed == [
        {"id": "run1", "queue": "default", "status": "running", "total": 1, "finished": 0,
         "failed": 0, "pending": 1},
        {"id": "open1", "queue": "low", "status": "open", "total": 3, "finished": 1,
         "failed": 1, "pending": 1},
    ]  # fmt: skip
    # The same numbers as the Batch API's.
    assert tuple(open1.progress) == (3, 1, 1, 1) and open1.status == "open"
    row = found["listed"][1]
    assert row["percent"] == 66 and row["description"] == "partly done"
    assert row["created_at"] == open1.created_at and row["closed_at"] is None
    assert run1.refresh() and run1.closed_at is not None
    assert found["listed"][0]["closed_at"] == run1.closed_at
    assert (found["more"], found["complete"], found["index_read"]) == (0, 1, 3)
    assert found["index_size"] is None
    # Named queues: only their batches.
    assert [r["id"] for r in stats_json("low")["batches"]["listed"]] == ["open1"]
    assert stats_json("high")["batches"]["listed"] == []
    assert stats_json("--batches", "0")["batches"] is None


def test_batches_in_the_table(jq):
    _three_batches()
    out, _ = run("rqstats")
    rows = section(out, "Batches not complete, newest first:")
    assert rows[0] == [
        "batch", "queue", "status", "done", "total", "finished", "failed", "pending", "created",
    ]  # fmt: skip
    assert rows[1][:8] == ["run1", "default", "running", "0%", "1", "0", "0", "1"]
    assert rows[2][:8] == ["open1", "low", "open", "66%", "3", "1", "1", "1"]
    assert len(rows) == 3
    # None not complete on "high": the section is left out, as the others are when empty.
    assert "Batches not complete" not in run("rqstats", "high")[0]
    assert "Batches not complete" not in run("rqstats", "--batches", "0")[0]


def test_batches_past_the_limit_and_the_index_cap(jq, monkeypatch):
    _three_batches()
    out, _ = run("rqstats", "--batches", "1")
    rows = section(out, "Batches not complete, newest first:")
    assert [r[0] for r in rows[1:-1]] == ["run1"]
    assert " ".join(rows[-1]) == "and 1 more not complete (see --batches N)"
    assert stats_json("--batches", "1")["batches"]["more"] == 1
    # Past the cap the index is not read further, and the table says so.
    monkeypatch.setattr(batches, "INDEX_READ", 2)
    found = stats_json()["batches"]
    assert (found["index_read"], found["index_size"]) == (2, 3)
    assert len(found["listed"]) + found["complete"] == 2
    out, _ = run("rqstats")
    assert (
        "  (read 2 of the 3 batches in the index: batches not read are not shown)"
        in out.splitlines()
    )


# -- chains ---------------------------------------------------------------------------


def test_chain_steps_waiting_per_queue(jq):
    Chain(
        Step(tasks.start_list, "a"), Step(tasks.append_to, "b"), Step(tasks.append_to, "c")
    ).enqueue()
    Chain(Step(tasks.start_list, "x"), tasks.low_append.step("y")).enqueue()
    parent = enqueue(tasks.add, 1, 1)
    enqueue(tasks.add, 2, 2, depends_on=parent)  # deferred, not a chain step
    found = {row["queue"]: row for row in stats_json()["chains"]}
    assert found == {
        "default": {"queue": "default", "waiting": 2, "read": 3, "deferred": 3},
        "high": {"queue": "high", "waiting": 0, "read": 0, "deferred": 0},
        "low": {"queue": "low", "waiting": 1, "read": 1, "deferred": 1},
    }
    out, _ = run("rqstats")
    rows = section(out, "Chain steps waiting for their predecessor:")
    assert rows == [
        ["queue", "waiting", "deferred", "jobs", "read"],
        ["default", "2", "3"],
        ["low", "1", "1"],
    ]
    work("default", "low")  # every step ran: nothing waits
    assert "Chain steps waiting" not in run("rqstats")[0]
    assert all(row["waiting"] == 0 for row in stats_json()["chains"])


def test_chain_steps_past_the_cap(jq, monkeypatch):
    for letter in "ab":
        Chain(
            Step(tasks.start_list, letter), Step(tasks.append_to, 1), Step(tasks.append_to, 2)
        ).enqueue()
    monkeypatch.setattr(chain, "DEFERRED_READ", 3)
    [row] = [r for r in stats_json()["chains"] if r["queue"] == "default"]
    assert row == {"queue": "default", "waiting": 3, "read": 3, "deferred": 4}
    rows = section(run("rqstats")[0], "Chain steps waiting for their predecessor:")
    assert rows[1] == ["default", "3+", "3", "of", "4"]


# -- unique keys ----------------------------------------------------------------------


def test_unique_keys_only_with_the_option(jq):
    enqueue(tasks.add, 1, 2, unique_for=60)
    assert stats_json()["unique"] is None
    assert "Unique keys" not in run("rqstats")[0]


def test_unique_keys_held_per_queue(jq):
    enqueue(tasks.add, 1, 2, unique_for=60)
    assert enqueue(tasks.add, 1, 2, unique_for=60).is_duplicate
    enqueue(tasks.add, 3, 4, unique_for=60, unique_key="report:7")
    low = get_queue("low")
    low.enqueue(tasks.add, 5, 6, unique_for=60, unique_until="finish")
    work("low")  # it ended: its lock key lingers until it expires, no longer held
    found = {row["queue"]: row for row in stats_json("--unique")["unique"]}
    assert found == {
        "default": {"queue": "default", "keys": 2, "held": 2, "capped": False},
        "high": {"queue": "high", "keys": 0, "held": 0, "capped": False},
        "low": {"queue": "low", "keys": 1, "held": 0, "capped": False},
    }
    rows = section(
        run("rqstats", "--unique")[0],
        "Unique keys held (keys: lock keys found, held or expiring):",
    )
    assert rows == [["queue", "held", "keys"], ["default", "2", "2"], ["low", "0", "1"]]
    # A queue named alone: its keys only.
    assert [r["queue"] for r in stats_json("--unique", "low")["unique"]] == ["low"]


def test_unique_keys_past_the_cap(jq, monkeypatch):
    for n in range(3):
        enqueue(tasks.add, n, n, unique_for=60)
    monkeypatch.setattr(unique, "SCAN_CAP", 2)
    [row] = stats_json("--unique", "default")["unique"]
    assert row == {"queue": "default", "keys": 2, "held": 2, "capped": True}
    rows = section(
        run("rqstats", "--unique", "default")[0],
        "Unique keys held (keys: lock keys found, held or expiring):",
    )
    assert rows[1] == ["default", "2+", "2+"]


def test_no_unique_key_says_so(jq):
    enqueue(tasks.add, 1, 2)
    out, _ = run("rqstats", "--unique")
    assert "Unique keys held: none (no lock key found)" in out.splitlines()
