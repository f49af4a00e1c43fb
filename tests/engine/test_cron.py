"""Cron expressions and periodic entries (engine/cron.py), with no Redis.

The search functions are checked against a brute-force reference: walk every
wall-clock minute of a stretch of time, keep the ones the expression matches,
turn them into moments the documented way (PEP 495, fold=0), and compare.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from django_jobqueue.engine.cron import (
    MISSED_AFTER,
    CronEntry,
    CronExpression,
    CronSyntaxError,
    entries_from_dicts,
)

PARIS = ZoneInfo("Europe/Paris")


def ts(*args, tz=UTC) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


def local(timestamp: float, tz=UTC) -> datetime:
    return datetime.fromtimestamp(timestamp, tz)


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, minutes, hours, days, months, weekdays",
    [
        (
            "* * * * *",
            list(range(60)),
            list(range(24)),
            list(range(1, 32)),
            list(range(1, 13)),
            list(range(7)),
        ),
        ("0 7 * * 1-5", [0], [7], list(range(1, 32)), list(range(1, 13)), [1, 2, 3, 4, 5]),
        ("*/15 9-17/4 1,15 jan,JUL sun", [0, 15, 30, 45], [9, 13, 17], [1, 15], [1, 7], [0]),
        ("5/20 * * * 7", [5, 25, 45], list(range(24)), list(range(1, 32)), list(range(1, 13)), [0]),
        ("0 0 * * mon-fri", [0], [0], list(range(1, 32)), list(range(1, 13)), [1, 2, 3, 4, 5]),
        ("@daily", [0], [0], list(range(1, 32)), list(range(1, 13)), list(range(7))),
        ("@hourly", [0], list(range(24)), list(range(1, 32)), list(range(1, 13)), list(range(7))),
        ("@weekly", [0], [0], list(range(1, 32)), list(range(1, 13)), [0]),
        ("@monthly", [0], [0], [1], list(range(1, 13)), list(range(7))),
        ("@yearly", [0], [0], [1], [1], list(range(7))),
        ("  0   7  *  *  1-5 ", [0], [7], list(range(1, 32)), list(range(1, 13)), [1, 2, 3, 4, 5]),
    ],
)
def test_fields(text, minutes, hours, days, months, weekdays):
    expr = CronExpression(text)
    assert (expr.minutes, expr.hours, expr.days, expr.months, expr.weekdays) == (
        minutes,
        hours,
        days,
        months,
        weekdays,
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("* * * *", "has 4 fields"),
        ("* * * * * *", "has 6 fields"),
        ("60 * * * *", "60 is outside 0-59 in the minute field"),
        ("* 24 * * *", "outside 0-23 in the hour field"),
        ("* * 0 * *", "outside 1-31 in the day of month field"),
        ("* * * 13 *", "outside 1-12 in the month field"),
        ("* * * * 8", "outside 0-7 in the day of week field"),
        ("* * * foo *", "'foo' in the month field is not a value"),
        ("* * * * funday", "not a value"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "must be at least 1"),
        ("1,,2 * * * *", "is not a value, range"),
        ("@reboot", "has 1 fields"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_bad_expressions(text, message):
    with pytest.raises(CronSyntaxError, match=message):
        CronExpression(text)


def test_not_a_string():
    with pytest.raises(CronSyntaxError):
        CronExpression(5)  # type: ignore[arg-type]


def test_unknown_timezone():
    with pytest.raises(ValueError, match="Unknown timezone 'Mars/Olympus'"):
        CronExpression("* * * * *", "Mars/Olympus")


def test_leap_day_fires_in_leap_years_only():
    expr = CronExpression("0 12 29 2 *")
    assert local(expr.next_after(ts(2025, 1, 1))) == datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert local(expr.last_at_or_before(ts(2027, 1, 1))) == datetime(2024, 2, 29, 12, tzinfo=UTC)


def test_either_day_field_may_match_when_both_are_restricted():
    # Vixie cron: the 13th of each month, and every Friday.
    expr = CronExpression("0 0 13 * 5")
    start = ts(2025, 6, 1)
    found = []
    t = start
    for _ in range(8):
        t = expr.next_after(t)
        found.append(local(t).date().isoformat())
    assert found == [
        "2025-06-06",
        "2025-06-13",
        "2025-06-20",
        "2025-06-27",
        "2025-07-04",
        "2025-07-11",
        "2025-07-13",
        "2025-07-18",
    ]
    # With a "*" day of month, only the weekday counts.
    assert local(CronExpression("0 0 * * 5").next_after(ts(2025, 6, 7))).day == 13


# -- searching, against a brute-force reference -----------------------------------------


def reference(expr: CronExpression, start: datetime, end: datetime) -> list[float]:
    """Every firing moment whose wall-clock minute lies in [start, end), sorted."""
    moments = set()
    w = start
    while w < end:
        if expr.matches(w):
            moments.add(w.replace(tzinfo=expr.tz).timestamp())
        w += timedelta(minutes=1)
    return sorted(moments)


CASES = [
    # expression, timezone, wall-clock stretch checked (days around a clock change)
    ("* * * * *", "Europe/Paris", datetime(2025, 3, 29, 12), 2),
    ("*/7 1-3 * * *", "Europe/Paris", datetime(2025, 3, 29), 2),
    ("30 2 * * *", "Europe/Paris", datetime(2025, 3, 28), 4),
    ("30 2 * * *", "Europe/Paris", datetime(2025, 10, 24), 4),
    ("*/10 * * * *", "Europe/Paris", datetime(2025, 10, 25, 12), 2),
    ("0 * * * *", "America/New_York", datetime(2025, 11, 1, 12), 2),
    ("15,45 0-3 * * *", "America/New_York", datetime(2025, 3, 8), 2),
    ("*/5 * * * *", "Australia/Lord_Howe", datetime(2025, 4, 5, 12), 1),  # 30-min change
    ("0 7 * * 1-5", "Europe/Paris", datetime(2025, 3, 20), 20),
    ("0 0 1,15 * *", "UTC", datetime(2025, 1, 1), 70),
    ("0 9 13 * 5", "UTC", datetime(2025, 1, 1), 70),
]


@pytest.mark.parametrize("text, tz, start, days", CASES)
def test_search_matches_the_reference(text, tz, start, days):
    expr = CronExpression(text, tz)
    end = start + timedelta(days=days)
    pad = timedelta(days=max(days, 1))  # far enough for the sparse expressions too
    moments = reference(expr, start - pad, end + pad)
    lo = start.replace(tzinfo=expr.tz).timestamp()
    hi = end.replace(tzinfo=expr.tz).timestamp()
    rng = random.Random(f"{text} {tz}")
    probes = [rng.uniform(lo, hi) for _ in range(150)]
    probes += [m + d for m in moments if lo <= m <= hi for d in (-60, -0.5, 0, 0.5)][:400]
    for t in probes:
        i = bisect_right(moments, t)
        assert expr.next_after(t) == moments[i], (text, tz, local(t, expr.tz))
        assert expr.last_at_or_before(t) == moments[i - 1], (text, tz, local(t, expr.tz))


def test_walking_forward_visits_every_moment_once():
    expr = CronExpression("*/20 * * * *", "Europe/Paris")
    start, end = datetime(2025, 10, 25, 22), datetime(2025, 10, 26, 6)
    expected = [m for m in reference(expr, start, end)]
    t = start.replace(tzinfo=PARIS).timestamp() - 1
    walked = []
    while True:
        t = expr.next_after(t)
        if t > expected[-1]:
            break
        walked.append(t)
    assert walked == expected


# -- the documented daylight-saving rules -----------------------------------------------


def test_a_time_skipped_by_the_clock_runs_shifted_by_the_gap():
    # 2025-03-30 in Paris: 02:00 CET jumps to 03:00 CEST.
    expr = CronExpression("30 2 * * *", "Europe/Paris")
    fired = local(expr.next_after(ts(2025, 3, 30, 0, tz=PARIS)), PARIS)
    assert (fired.date().isoformat(), fired.hour, fired.minute) == ("2025-03-30", 3, 30)
    nxt = local(expr.next_after(fired.timestamp()), PARIS)
    assert (nxt.date().isoformat(), nxt.hour, nxt.minute) == ("2025-03-31", 2, 30)


def test_a_repeated_time_runs_once():
    # 2025-10-26 in Paris: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    expr = CronExpression("30 2 * * *", "Europe/Paris")
    first = expr.next_after(ts(2025, 10, 26, 0, tz=PARIS))
    assert local(first, UTC) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    second = expr.next_after(first)
    assert local(second, PARIS).date().isoformat() == "2025-10-27"


def test_utc_wall_clock_ignores_clock_changes():
    expr = CronExpression("0 * * * *")
    t = ts(2025, 10, 26, 0)
    assert [expr.next_after(t + 3600 * i) - (t + 3600 * i) for i in range(4)] == [3600.0] * 4


# -- entries -----------------------------------------------------------------------------


def test_entry_defaults_and_validation():
    entry = CronEntry(
        "app.tasks.report",
        cron="0 7 * * 1-5",
        timezone="Europe/Paris",
        args=[1],
        kwargs={"a": 2},
        timeout="5m",
        queue="low",
    )
    assert entry.name == "app.tasks.report"
    assert entry.args == (1,)
    assert entry.timeout == 300
    assert entry.schedule == "0 7 * * 1-5 (Europe/Paris)"
    assert entry.signature == "cron 0 7 * * 1-5 Europe/Paris"
    assert CronEntry("a.b", interval="5m").interval == 300
    assert CronEntry("a.b", interval=timedelta(hours=1)).schedule == "every 3600 s"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"func": "a.b"}, "exactly one of 'cron' and 'interval'"),
        ({"func": "a.b", "cron": "* * * * *", "interval": 5}, "exactly one"),
        ({"func": "nodots", "interval": 5}, "dotted path"),
        ({"func": "a.b", "interval": 0}, "at least 1 second"),
        ({"func": "a.b", "interval": "soon"}, "'interval'"),
        ({"func": "a.b", "interval": 5, "missed": "catch_up"}, "'missed' must be one of"),
        ({"func": "a.b", "interval": 5, "timezone": "UTC"}, "only applies to 'cron'"),
        ({"func": "a.b", "interval": 5, "queue": "with space"}, "Invalid queue name"),
        ({"func": "a.b", "interval": 5, "name": "bad name"}, "Invalid job id"),
        ({"func": "a.b", "interval": 5, "timeout": "x"}, "'timeout'"),
        ({"func": "a.b", "cron": "61 * * * *"}, "outside 0-59"),
        ({"func": "a.b", "cron": "* * * * *", "timezone": "Nowhere/Town"}, "Unknown timezone"),
    ],
)
def test_bad_entries(options, message):
    with pytest.raises(ValueError, match=message):
        CronEntry(**options)


def test_entries_from_dicts_apply_a_default_timezone_to_cron_entries():
    cron, interval = entries_from_dicts(
        [{"func": "a.b", "cron": "0 7 * * *"}, {"func": "a.c", "interval": 60}], "Europe/Paris"
    )
    assert cron.timezone == "Europe/Paris"
    assert interval.timezone is None


def test_cron_entry_due_and_next_run():
    entry = CronEntry("a.b", cron="0 * * * *")
    nine = ts(2025, 6, 1, 9)
    assert entry.due(nine - 1, nine + 5) == nine
    assert entry.due(nine, nine + 5) is None  # already handled
    assert entry.due(nine + 3600, nine + 5) is None  # watermark ahead (next run skipped)
    assert entry.next_run(nine, nine + 5) == nine + 3600
    assert entry.next_run(nine + 3600, nine + 5) == nine + 7200
    assert entry.due(nine - 3 * 3600, nine + 10) == nine  # several passed: the latest


def test_interval_entry_due_and_next_run():
    entry = CronEntry("a.b", interval=60)
    assert entry.due(1000, 1059) is None
    assert entry.due(1000, 1060) == 1060
    assert entry.due(1000, 1250) == 1240
    assert entry.next_run(1000, 1059) == 1060
    assert entry.next_run(1000, 1250) == 1300
    assert entry.next_run(2000, 1250) == 2060  # watermark in the future (skipped)


def test_late_means_older_than_the_grace_or_more_than_one_passed():
    entry = CronEntry("a.b", interval=60)
    assert not entry.is_late(1060, 1000, 1060 + MISSED_AFTER)
    assert entry.is_late(1060, 1000, 1061 + MISSED_AFTER)
    assert entry.is_late(1120, 1000, 1121)  # 1060 was missed
    cron = CronEntry("a.b", cron="0 * * * *")
    nine = ts(2025, 6, 1, 9)
    assert not cron.is_late(nine, nine - 3600, nine + 3)
    assert cron.is_late(nine, nine - 7200, nine + 3)
