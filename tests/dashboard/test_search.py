"""Finding jobs in the lists: filters, sorts, their pages, and actions on what they match.

Also what the Deferred list says about what its jobs wait on, and the warning a
delete gives when it would leave dependents waiting forever.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest
from django.utils import timezone
from redis.connection import Connection

from django_jobqueue.dashboard import pagination
from django_jobqueue.engine import Dependency, Queue
from tests.engine import jobs

from .conftest import ADMIN, confirm

FAILED = ADMIN + "queues/default/failed/"
T0 = 1_780_000_000.0  # a moment in 2026


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


def _ids(response) -> list[str]:
    return re.findall(r'name="_selected_action" value="([^"]+)"', response.content.decode())


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _fill(redis_conn, q, count, kind="failed", **fields):
    """``count`` jobs written straight into registry ``kind`` (fast: no worker).

    Job i is "job-0000i", enqueued at T0 + i, ran i % 7 seconds, and is
    function ``app.even`` or ``app.odd``; registry scores keep i's order.
    """
    pipe = redis_conn.pipeline(transaction=False)
    for i in range(count):
        job_id = f"job-{i:05d}"
        values = {
            "func": "app.even" if i % 2 == 0 else "app.odd",
            "status": kind,
            "desc": f"job {i}",
            "created_at": T0 + i,
            "enqueued_at": T0 + i,
            "started_at": T0 + i + 1,
            "ended_at": T0 + i + 1 + i % 7,
            "duration": i % 7,  # as the scripts that end a run store it
            "exc_info": f"Traceback\nValueError: {'disk full' if i % 3 == 0 else 'no route'}\n",
            **fields,
        }
        pipe.hset(q.keys.job(q.name, job_id), mapping=values)
        pipe.zadd(q.keys.registry(q.name, kind), {job_id: 10**10 + i})
    pipe.execute()
    return [f"job-{i:05d}" for i in range(count)]


# -- filters -------------------------------------------------------------------------------


def test_filter_failed_jobs_by_function_status_and_exception(admin, jq, run_jobs, redis_conn):
    q = jq("default")
    disk = [q.enqueue(jobs.fail, "disk full", job_id=f"disk-{i}") for i in range(3)]
    route = [q.enqueue(jobs.fail, "No route to host", job_id=f"route-{i}") for i in range(2)]
    soak = q.enqueue(jobs.soak, 1, fail_always=True, job_id="soak-1")
    q.enqueue(jobs.add, 1, 2)  # finishes: never in the failed list
    run_jobs()
    redis_conn.hset(q.keys.job("default", "route-1"), "status", "stopped")

    def ids(**query):
        response = admin.get(FAILED, query)
        assert response.status_code == 200
        return sorted(_ids(response))

    assert ids() == sorted([*(j.id for j in disk + route), soak.id])
    # Function: a substring, in any case.
    assert ids(func="SOAK") == ["soak-1"]
    assert ids(func="jobs.fail") == sorted(j.id for j in disk + route)
    assert ids(func="nothing") == []
    # Exception: lower case matches any case; a capital letter only its own case.
    assert ids(exc="no route") == ["route-0", "route-1"]
    assert ids(exc="No route") == ["route-0", "route-1"]
    assert ids(exc="NO ROUTE") == []
    assert ids(exc="disk") == ["disk-0", "disk-1", "disk-2"]
    # Status, and all of them together.
    assert ids(status="stopped") == ["route-1"]
    assert ids(status="failed", exc="route", func="fail") == ["route-0"]
    response = admin.get(FAILED, {"func": "fail", "exc": "disk"})
    html = response.content.decode()
    assert "3 jobs match: function contains “fail”, exception contains “disk”." in html
    assert "Clear filters and sort" in html
    # A status nobody has is refused, not searched for.
    response = admin.get(FAILED, {"status": "bogus"})
    assert "Unknown status “bogus”." in response.content.decode()
    assert len(_ids(response)) == 6


def test_the_exception_filter_reads_the_exception_not_the_frames(admin, jq, run_jobs, redis_conn):
    q = jq("default")
    ran = q.enqueue(jobs.fail, "upstream answered 503", job_id="ran")
    run_jobs()
    frames = redis_conn.hget(ran.key, "exc_info").decode()
    assert "tests/engine/jobs.py" in frames and "raise ValueError" in frames
    # Stored with its traceback in one step, as an older version left it: no
    # exc_line, which the filter then works out.
    _fill(redis_conn, q, 1, exc_info="Traceback\n  File \"x.py\"\nKeyError: 'sku 503'\n")
    assert redis_conn.hget(q.keys.job("default", "job-00000"), "exc_line") is None

    def ids(**query):
        return sorted(_ids(admin.get(FAILED, query)))

    assert ids(exc="503") == ["job-00000", "ran"]
    assert ids(exc="ValueError: upstream") == ["ran"]
    assert ids(exc="keyerror", func="app") == ["job-00000"]
    assert ids(exc="jobs.py") == ids(exc="raise") == ids(exc="x.py") == []


def test_exception_filter_is_only_on_the_failed_list(admin, jq):
    q = jq("default")
    q.enqueue(jobs.add, 1, 2, job_id="waiting")
    response = admin.get(ADMIN + "queues/default/", {"exc": "anything"})
    assert _ids(response) == ["waiting"]  # ignored: queued jobs have no traceback
    assert 'type="search" name="exc"' not in response.content.decode()
    assert 'type="search" name="exc"' in admin.get(FAILED).content.decode()


def test_filter_by_a_time_range(admin, jq, redis_conn, settings):
    settings.TIME_ZONE = "Europe/Paris"
    q = jq("default")
    day = datetime(2026, 3, 10, tzinfo=timezone.get_fixed_timezone(60))  # Paris in March
    for i in range(5):  # enqueued on the 10th to the 14th, at noon Paris time
        job = q.enqueue(jobs.add, i, i, job_id=f"d{i}")
        redis_conn.hset(job.key, "enqueued_at", day.timestamp() + i * 86400 + 12 * 3600)

    def ids(**query):
        return _ids(admin.get(ADMIN + "queues/default/", query))

    # Whole days: "to" includes its day.
    assert ids(time="enqueued", **{"from": "2026-03-11", "to": "2026-03-12"}) == ["d2", "d1"]
    # Date and time, in the current time zone, as the datetime-local field sends it.
    assert ids(**{"from": "2026-03-13T12:00"}) == ["d4", "d3"]
    assert ids(**{"to": "2026-03-10T12:00:00"}) == ["d0"]
    assert ids(**{"to": "2026-03-10T11:59"}) == []
    # Jobs that never started have no start time: a start range leaves them out.
    assert ids(time="started", **{"from": "2026-01-01"}) == []
    # Something that is not a date is said, and left out of the filter.
    response = admin.get(ADMIN + "queues/default/", {"from": "yesterday"})
    assert "“yesterday” is not a date and time" in response.content.decode()
    assert len(_ids(response)) == 5
    response = admin.get(ADMIN + "queues/default/", {"from": "2026-02-31"})
    assert "is not a date and time" in response.content.decode()


# -- sorting -------------------------------------------------------------------------------


def test_sort_by_each_column_both_ways(admin, jq, redis_conn):
    q = jq("default")
    ids = _fill(redis_conn, q, 12, "finished")
    # Make the orders differ: started in reverse, ended by duration (i % 7).
    for i, job_id in enumerate(ids):
        redis_conn.hset(q.keys.job("default", job_id), "started_at", T0 + 100 - i)
        redis_conn.hset(q.keys.job("default", job_id), "ended_at", T0 + 100 - i + i % 7)
        redis_conn.hset(q.keys.job("default", job_id), "duration", i % 7)

    def order(o):
        return _ids(admin.get(ADMIN + "queues/default/finished/", {"o": o}))

    # Ties keep the list's own order: newest first.
    by_duration = sorted(ids, key=lambda j: (int(j[-5:]) % 7, -int(j[-5:])))
    assert order("duration") == by_duration
    assert order("-duration") == sorted(ids, key=lambda j: (-(int(j[-5:]) % 7), -int(j[-5:])))
    assert order("enqueued") == ids
    assert order("-enqueued") == ids[::-1]
    assert order("started") == ids[::-1]
    by_end = sorted(ids, key=lambda j: (100 - int(j[-5:]) + int(j[-5:]) % 7, -int(j[-5:])))
    assert order("ended") == by_end
    assert order("-ended") == sorted(
        ids, key=lambda j: (-(100 - int(j[-5:]) + int(j[-5:]) % 7), -int(j[-5:]))
    )
    evens, odds = ids[0::2], ids[1::2]
    assert order("func") == evens[::-1] + odds[::-1]  # app.even < app.odd, then newest first
    assert order("-func") == odds[::-1] + evens[::-1]
    # An unknown column keeps the list's own order (newest first).
    assert order("bogus") == ids[::-1]
    # A job without the value (it has not ended) sorts as the lowest.
    redis_conn.hdel(q.keys.job("default", "job-00005"), "ended_at", "duration")
    assert order("ended")[0] == order("duration")[0] == "job-00005"
    assert order("-ended")[-1] == order("-duration")[-1] == "job-00005"


def test_sort_by_a_time_whatever_its_text(admin, jq, redis_conn):
    """Times sort as numbers, as the package writes them (repr of a float) or not."""
    q = jq("default")
    ids = _fill(redis_conn, q, 8, "finished")
    texts = {
        "job-00000": "1773100800.25",
        "job-00001": "1773100800.5",
        "job-00002": "1773100800",  # an integer, written by hand
        "job-00003": "1773100799.999999",
        "job-00004": "100",  # long ago
        "job-00005": "1.7731008001e9",  # another way to write a number
        "job-00006": "1773100801.0",
        "job-00007": None,  # none: the lowest
    }
    for job_id, text in texts.items():
        key = q.keys.job("default", job_id)
        if text is None:
            redis_conn.hdel(key, "enqueued_at")
        else:
            redis_conn.hset(key, "enqueued_at", text)
    numeric = sorted(ids, key=lambda j: float(texts[j] or -1))
    response = admin.get(ADMIN + "queues/default/finished/", {"o": "enqueued"})
    assert _ids(response) == numeric
    response = admin.get(ADMIN + "queues/default/finished/", {"o": "-enqueued"})
    assert _ids(response) == numeric[::-1]


def test_a_time_or_duration_that_is_not_a_number_sorts_as_none(admin, jq, redis_conn):
    """Written by anyone able to write to Redis: the page still works, the job sorts lowest."""
    q = jq("default")
    ids = _fill(redis_conn, q, 4, "finished")
    key = q.keys.job("default", "job-00003")
    redis_conn.hset(key, "duration", "soon")
    finished = ADMIN + "queues/default/finished/"
    assert _ids(admin.get(finished, {"o": "-duration"}))[-1] == "job-00003"
    assert sorted(_ids(admin.get(finished, {"o": "duration"}))) == ids
    # A time the job loader refuses stops the page's rows from loading (the
    # row loader's defect, not the search's), so the search is asked directly.
    redis_conn.hset(key, "ended_at", "\xff" * 20)
    parts = pagination.list_parts(q, q.finished_job_registry)
    by_end = pagination.JobFilter(sort="ended")
    assert pagination.search(q, parts, by_end, 4) == (
        4,
        ["job-00002", "job-00001", "job-00000", "job-00003"],
    )


def test_sort_by_duration_of_real_runs(admin, jq, run_jobs):
    """The scripts that end a run store what the sort reads (see tests/engine/test_duration.py)."""
    q = jq("default")
    for seconds in (0.05, 0.3, 0.15):
        q.enqueue(jobs.sleep_for, seconds, job_id=f"slept-{seconds}")
    q.enqueue(jobs.fail, job_id="failed-at-once")
    run_jobs()
    finished = ADMIN + "queues/default/finished/"
    assert _ids(admin.get(finished, {"o": "-duration"})) == [
        "slept-0.3",
        "slept-0.15",
        "slept-0.05",
    ]
    assert _ids(admin.get(finished, {"o": "duration"})) == ["slept-0.05", "slept-0.15", "slept-0.3"]
    assert _ids(admin.get(FAILED, {"o": "-duration"})) == ["failed-at-once"]


def test_sort_headers_cycle_descending_ascending_then_off(admin, jq, redis_conn):
    q = jq("default")
    _fill(redis_conn, q, 3, "finished")
    path = ADMIN + "queues/default/finished/"
    columns = admin.get(path, {"func": "app"}).context["columns"]
    assert columns["ended"]["url"] == "?func=app&o=-ended" and not columns["ended"]["sorted"]
    columns = admin.get(path, {"func": "app", "o": "-ended"}).context["columns"]
    assert (columns["ended"]["url"], columns["ended"]["sorted"]) == (
        "?func=app&o=ended",
        "descending",
    )
    columns = admin.get(path, {"func": "app", "o": "ended"}).context["columns"]
    assert (columns["ended"]["url"], columns["ended"]["sorted"]) == ("?func=app", "ascending")
    html = admin.get(path, {"o": "ended"}).content.decode()
    assert 'aria-sort="ascending"' in html


# -- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("o", ["", "-enqueued", "func", "-func", "duration", "-duration"])
def test_a_filtered_list_pages_like_any_other(admin, jq, redis_conn, monkeypatch, o):
    # Small slices: each page merges the best matches of many script calls.
    monkeypatch.setattr(pagination, "SLICE", 7)
    q = jq("default")
    ids = _fill(redis_conn, q, 130)
    matching = [j for j in ids if int(j[-5:]) % 2 == 1]  # app.odd: 65 jobs

    def key(job_id):
        i = int(job_id[-5:])
        # Ties keep the list's own order: newest first.
        return {
            "": -i,
            "-enqueued": -i,
            "func": -i,
            "-func": -i,
            "duration": (i % 7, -i),
            "-duration": (-(i % 7), -i),
        }[o]

    expected = sorted(matching, key=key)
    pages = []
    for p in (1, 2, 3):
        response = admin.get(FAILED, {"func": "odd", "o": o, "p": p, "per_page": 25})
        assert response.context["paginator"].count == 65
        pages.append(_ids(response))
    assert pages == [expected[:25], expected[25:50], expected[50:]]
    # A page past the end shows the last one; links keep the filters.
    response = admin.get(FAILED, {"func": "odd", "o": o, "p": 99})
    assert _ids(response) == expected[50:]
    html = response.content.decode()
    assert "func=odd" in re.search(r'<a href="([^"]*)"[^>]*>2</a>', html).group(1)


@pytest.mark.parametrize("slice_size", [7, 2000])
def test_search_keeps_the_best_matches_of_each_slice_whatever_their_order(
    jq, redis_conn, monkeypatch, slice_size
):
    """Fewer matches kept than a slice holds: later, better ones replace kept ones."""
    monkeypatch.setattr(pagination, "SLICE", slice_size)
    q = jq("default")
    ids = _fill(redis_conn, q, 130)
    parts = pagination.list_parts(q, q.failed_job_registry)
    ended = {j: T0 + int(j[-5:]) + 1 + int(j[-5:]) % 7 for j in ids}
    natural = ids[::-1]  # newest first
    cases = {
        ("", True): natural,
        ("enqueued", False): ids,  # the reverse of the list's order: every match is better
        ("enqueued", True): natural,
        ("ended", False): sorted(ids, key=lambda j: (ended[j], natural.index(j))),
        ("duration", True): sorted(ids, key=lambda j: (-(int(j[-5:]) % 7), natural.index(j))),
        ("func", False): sorted(ids, key=lambda j: (int(j[-5:]) % 2, natural.index(j))),
    }
    for (sort, desc), expected in cases.items():
        job_filter = pagination.JobFilter(sort=sort, desc=desc)
        for keep in (0, 1, 5, 130, 500):
            count, found = pagination.search(q, parts, job_filter, keep)
            assert (count, found) == (130, expected[:keep]), (sort, desc, keep)
    narrowed = pagination.JobFilter(func="ODD", sort="enqueued", desc=False)
    assert pagination.search(q, parts, narrowed, 3) == (65, ids[1:7:2])


def test_expired_entries_are_left_out_as_in_the_plain_list(admin, jq, redis_conn):
    q = jq("default")
    _fill(redis_conn, q, 4)
    redis_conn.zadd(q.keys.registry("default", "failed"), {"job-00001": time.time() - 10})
    assert _ids(admin.get(FAILED)) == ["job-00003", "job-00002", "job-00000"]
    assert _ids(admin.get(FAILED, {"func": "app"})) == ["job-00003", "job-00002", "job-00000"]


def test_a_filtered_page_costs_the_same_round_trips_however_long_the_list(
    admin, jq, redis_conn, monkeypatch
):
    monkeypatch.setattr(pagination, "SLICE", 50)
    q = jq("default")
    sends = []
    real = Connection.send_packed_command

    def counted(self, command, check_health=True):
        sends.append(1)
        return real(self, command, check_health)

    def round_trips(count):
        redis_conn.delete(q.keys.registry("default", "failed"))
        _fill(redis_conn, q, count)
        admin.get(FAILED, {"func": "warm"})  # warm: sessions, script loading
        monkeypatch.setattr(Connection, "send_packed_command", counted)
        sends.clear()
        response = admin.get(FAILED, {"func": "odd", "o": "-duration", "exc": "disk"})
        monkeypatch.setattr(Connection, "send_packed_command", real)
        assert len(_ids(response)) == 25
        return len(sends)

    small, large = round_trips(200), round_trips(2000)  # 4 script calls, then 40
    assert small == large
    # Counts of the tabs and the chart, the list's length, one for every
    # script call, two for the rows: a bound, whatever the list holds.
    assert large <= 12, large


# -- actions on a filtered list ------------------------------------------------------------


def test_select_all_on_a_filtered_list_acts_on_matching_jobs_only(admin, jq, redis_conn):
    q = jq("default")
    ids = _fill(redis_conn, q, 90)
    disk = [j for j in ids if int(j[-5:]) % 3 == 0]  # 30 jobs
    path = FAILED + "bulk/"
    # The list's form posts "select across" with the page's filters.
    page = admin.get(FAILED, {"exc": "disk"}).content.decode()
    assert '<input type="hidden" name="exc" value="disk">' in page
    assert "Select all 30 matching jobs" in page
    confirm_page = admin.post(path, {"action": "requeue", "select_across": "1", "exc": "disk"})
    html = confirm_page.content.decode()
    assert "Requeue 30 failed jobs of queue default?" in html
    assert "Only the jobs whose exception contains “disk”." in html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    # The form's own filters are not what counts: the signed selection is.
    response = admin.post(path, {**fields, "post": "yes", "exc": ""}, follow=True)
    assert any("Requeued 30 jobs." in m for m in _messages(response))
    assert sorted(q.get_job_ids()) == disk
    assert q.failed_job_registry.count == 60
    # No match: nothing to confirm.
    response = admin.post(
        path, {"action": "delete", "select_across": "1", "func": "nope"}, follow=True
    )
    assert any("No job matches these filters" in m for m in _messages(response))
    assert q.failed_job_registry.count == 60


def test_empty_a_queue_filtered_deletes_only_matching_jobs(admin, jq):
    q = jq("default")
    adds = [q.enqueue(jobs.add, i, i, job_id=f"add-{i}") for i in range(4)]
    echoes = [q.enqueue(jobs.echo, i, job_id=f"echo-{i}") for i in range(3)]
    path = ADMIN + "queues/default/queued/bulk/"
    confirm_page, fields = confirm(
        admin, path, action="delete", select_across="1", func="echo", o="func"
    )
    assert b"Delete 3 queued jobs of queue default?" in confirm_page.content
    q.enqueue(jobs.echo, 9, job_id="echo-late")  # matches when the action runs: deleted too
    response = admin.post(path, fields, follow=True)
    assert any("Deleted 4 jobs." in m for m in _messages(response))
    assert sorted(q.get_job_ids()) == [j.id for j in adds]
    assert not any(q.connection.exists(j.key) for j in echoes)


# -- the Deferred list ---------------------------------------------------------------------


def test_deferred_list_shows_parents_and_flags_jobs_that_wait_forever(admin, jq, run_jobs):
    q, high = jq("default"), jq("high")
    failed = q.enqueue(jobs.fail, job_id="p-failed")
    run_jobs()
    canceled = q.enqueue(jobs.add, 1, 1, job_id="p-canceled")
    canceled_child = q.enqueue(jobs.add, 0, 0, depends_on=canceled, job_id="c-canceled")
    canceled.cancel()
    waiting = high.enqueue(jobs.add, 2, 2, job_id="p-waiting")  # another queue
    gone = q.enqueue(jobs.add, 3, 3, job_id="p-gone")
    q.enqueue(jobs.add, 0, 0, depends_on=[waiting, failed], job_id="c-failed")
    q.enqueue(jobs.add, 0, 0, depends_on=waiting, job_id="c-ok")
    q.enqueue(jobs.add, 0, 0, depends_on=gone, job_id="c-gone")
    tolerant = q.enqueue(
        jobs.add,
        0,
        0,
        depends_on=Dependency([waiting, failed], allow_failure=True),
        job_id="c-tolerant",
    )
    gone.delete()
    response = admin.get(ADMIN + "queues/default/deferred/")
    rows = {row["id"]: row for row in response.context["rows"]}
    assert set(rows) == {"c-canceled", "c-failed", "c-ok", "c-gone", "c-tolerant"}
    assert {i: r["stuck"] for i, r in rows.items()} == {
        "c-canceled": ["p-canceled"],
        "c-failed": ["p-failed"],
        "c-ok": [],
        "c-gone": ["p-gone"],
        "c-tolerant": [],
    }
    parents = {p["id"]: p for p in rows["c-failed"]["parents"]}
    assert parents["p-waiting"]["queue"] == "high"
    assert parents["p-waiting"]["url"] == ADMIN + "queues/high/jobs/p-waiting/"
    assert parents["p-waiting"]["status"] == "queued"
    assert parents["p-failed"]["status"] == "failed" and parents["p-failed"]["blocks"]
    assert rows["c-gone"]["parents"][0]["status"] == "missing"
    assert rows["c-gone"]["parents"][0]["url"] is None
    # The tolerant child no longer waits for the failed parent (it was told).
    tolerant_parents = {p["id"]: p["waits"] for p in rows["c-tolerant"]["parents"]}
    assert tolerant_parents == {"p-waiting": True, "p-failed": False}
    html = response.content.decode()
    assert html.count('class="jq-stuck"') == 3
    assert f'<a href="{ADMIN}queues/high/jobs/p-waiting/"' in html
    assert canceled_child.get_status() == "deferred" and tolerant.get_status() == "deferred"


# -- warnings before a delete --------------------------------------------------------------


def test_deleting_parents_warns_of_dependents_left_waiting(admin, jq):
    q = jq("default")
    parent = q.enqueue(jobs.add, 1, 1, job_id="parent")
    other = q.enqueue(jobs.echo, 1, job_id="other")
    for i in range(2):
        q.enqueue(jobs.add, 0, 0, depends_on=parent, job_id=f"child-{i}")
    q.enqueue(jobs.add, 0, 0, depends_on=Dependency(parent, allow_failure=True), job_id="ok")
    warning = "2 deferred jobs depend on the jobs deleted and will then wait forever"
    queued = ADMIN + "queues/default/queued/bulk/"
    # Selected rows.
    page = admin.post(queued, {"action": "delete", "_selected_action": ["parent"]})
    assert warning in page.content.decode()
    page = admin.post(queued, {"action": "delete", "_selected_action": ["other"]})
    assert "wait forever" not in page.content.decode()
    # Emptying the queue, and a filtered "all".
    assert warning in confirm(admin, queued, action="delete", all="1")[0].content.decode()
    page, _ = confirm(admin, queued, action="delete", select_across="1", func="echo")
    assert "wait forever" not in page.content.decode()
    page, _ = confirm(admin, queued, action="delete", select_across="1", func="add")
    assert warning in page.content.decode()
    # The job's own page.
    page = admin.get(ADMIN + "queues/default/jobs/parent/delete/")
    assert warning in page.content.decode()
    assert (
        "wait forever"
        not in admin.get(ADMIN + "queues/default/jobs/other/delete/").content.decode()
    )
    assert other.id


def test_deleting_a_whole_chain_does_not_warn(admin, jq):
    q = jq("default")
    root = q.enqueue(jobs.add, 1, 1, job_id="root")
    middle = q.enqueue(jobs.echo, 2, depends_on=root, job_id="middle")
    q.enqueue(jobs.add, 3, 3, depends_on=middle, job_id="leaf")
    deferred = ADMIN + "queues/default/deferred/bulk/"
    # Both deferred jobs go: the leaf is deleted with its parent.
    page, fields = confirm(admin, deferred, action="delete", all="1")
    assert b"Delete 2 deferred jobs" in page.content
    assert "wait forever" not in page.content.decode()
    # Only the middle one goes: the leaf would wait forever.
    page, _ = confirm(admin, deferred, action="delete", select_across="1", func="echo")
    html = page.content.decode()
    assert "Delete 1 deferred job of queue default?" in html
    assert "1 deferred job depends on the jobs deleted and will then wait forever" in html
    admin.post(deferred, fields)
    assert q.deferred_job_registry.count == 0


def _sort_calls(redis_conn) -> int:
    """SORT commands Redis ran without an error."""
    stats = redis_conn.info("commandstats").get("cmdstat_sort", {})
    return int(stats.get("calls", 0)) - int(stats.get("failed_calls", 0))


@pytest.mark.parametrize("slice_size", [7, 2000])
def test_job_by_job_reading_finds_what_sort_finds(redis_conn, key_prefix, monkeypatch, slice_size):
    """search.lua reads a slice's fields with one SORT ... GET; where SORT cannot (a
    prefix with a '*', a cluster before Redis 8) it reads job by job, with the same results."""
    monkeypatch.setattr(pagination, "SLICE", slice_size)
    plain = Queue("default", connection=redis_conn, prefix=key_prefix)
    starred = Queue("default", connection=redis_conn, prefix=key_prefix + "a*b:")
    for q in (plain, starred):
        _fill(redis_conn, q, 60)
        redis_conn.zadd(q.keys.registry("default", "failed"), {"job-00005": time.time() - 10})
        for i in range(24):
            q.enqueue(jobs.add, i, 1, job_id=f"q-{i:03d}", priority=(-5, 0, 0, 5)[i % 4])
    filters = [
        pagination.JobFilter(),
        pagination.JobFilter(func="odd"),
        pagination.JobFilter(func="ADD", sort="enqueued", desc=False),
        pagination.JobFilter(exception="disk", sort="duration"),
        pagination.JobFilter(exception="Disk"),
        pagination.JobFilter(
            status="failed", time_field="enqueued", since=T0 + 10, until=T0 + 40, sort="func"
        ),
        pagination.JobFilter(sort="ended", desc=False),
    ]

    def results(q):
        found = []
        for registry in (None, q.failed_job_registry):
            for job_filter in filters:
                for desc in (True, False):
                    parts = pagination.list_parts(q, registry, desc)
                    for keep in (0, 5, 100):
                        found.append(pagination.search(q, parts, job_filter, keep))
        return found

    before = _sort_calls(redis_conn)
    by_sort = results(plain)
    assert _sort_calls(redis_conn) > before
    before = _sort_calls(redis_conn)
    job_by_job = results(starred)
    assert _sort_calls(redis_conn) == before
    assert job_by_job == by_sort
    assert (59, [f"job-{i:05d}" for i in (59, 58, 57, 56, 55)]) in by_sort  # expired one left out
    # The waiting jobs come in the order of the unfiltered page.
    shown = [job_id for job_id, _job in pagination.queue_range(plain)[0:24]]
    assert sorted(shown) == [f"q-{i:03d}" for i in range(24)]
    matched = pagination.search(plain, pagination.list_parts(plain, None), filters[0], 100)
    assert matched == (24, shown)


def test_a_later_page_reads_only_the_matches_of_its_slices(jq, redis_conn, monkeypatch):
    """In the list's own order, page n is not sent the matches of pages 1 to n-1."""
    monkeypatch.setattr(pagination, "SLICE", 10)
    q = jq("default")
    ids = _fill(redis_conn, q, 130)
    parts = pagination.list_parts(q, q.failed_job_registry)
    odd = pagination.JobFilter(func="odd")
    every_odd = [j for j in ids[::-1] if int(j[-5:]) % 2]
    sent = []
    real = pagination._matches
    monkeypatch.setattr(
        pagination, "_matches", lambda reply: sent.extend(real(reply)) or real(reply)
    )
    for start, keep in [(0, 5), (5, 10), (7, 23), (30, 65), (60, 100), (64, 65), (65, 70)]:
        sent.clear()
        assert pagination.search(q, parts, odd, keep, start) == (65, every_odd[start:keep])
        if start:
            # The slices the window falls in (5 matches each): no more than it plus one each side.
            assert len(sent) <= (min(keep, 65) - start) + 10, (start, keep, len(sent))
    by_duration = pagination.JobFilter(func="odd", sort="duration")
    whole = pagination.search(q, parts, by_duration, 65)[1]
    assert pagination.search(q, parts, by_duration, 30, 20) == (65, whole[20:30])


def test_a_filtered_list_s_later_page_shows_its_own_rows(admin, jq, redis_conn):
    q = jq("default")
    ids = _fill(redis_conn, q, 130)
    every_odd = [j for j in ids[::-1] if int(j[-5:]) % 2]
    response = admin.get(FAILED, {"func": "odd", "per_page": 25, "p": 2})
    assert _ids(response) == every_odd[25:50]
    last = admin.get(FAILED, {"func": "odd", "per_page": 25, "p": 9})  # past the end: page 3
    assert _ids(last) == every_odd[50:]
