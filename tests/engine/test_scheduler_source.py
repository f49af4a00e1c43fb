"""The scheduler's entry source: periodic entries that change while it runs.

Timing is controlled by passing timestamps to ``tick``, as in test_scheduler.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from django_jobqueue.engine.cron import CronEntry
from django_jobqueue.engine.scheduler import RELOAD_INTERVAL, Scheduler, entry_state

NINE = datetime(2030, 6, 3, 9, tzinfo=UTC).timestamp()  # a Monday, 09:00 UTC
MINUTE = 60.0

FIXED = CronEntry("tests.engine.jobs.add", cron="0 * * * *", args=(1, 2), name="fixed")
FIVE = CronEntry("tests.engine.jobs.add", cron="*/5 * * * *", args=(5, 5), name="five")


class Source:
    """A source whose entries the test sets; counts its calls."""

    def __init__(self, entries=()):
        self.entries = list(entries)
        self.calls = 0
        self.changed = True
        self.fail = False

    def set(self, *entries):
        self.entries = list(entries)
        self.changed = True

    def __call__(self):
        self.calls += 1
        if self.fail:
            raise RuntimeError("database down")
        if not self.changed:
            return None
        self.changed = False
        return list(self.entries)


@pytest.fixture
def make_scheduler(redis_conn, key_prefix):
    made = []

    def make(cron=(), **kwargs) -> Scheduler:
        scheduler = Scheduler(redis_conn, key_prefix, cron=cron, **kwargs)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.release()


def fired(queue, name):
    """Occurrences of entry ``name`` enqueued on ``queue``, oldest first."""
    return [job.meta["occurrence"] for job in queue.jobs if job.meta.get("cron") == name]


def test_source_entries_run_beside_the_fixed_ones(make_scheduler, queue):
    source = Source([FIVE])
    scheduler = make_scheduler([FIXED], source=source)
    scheduler.tick(NINE - 10)
    assert [e.name for e in scheduler.cron] == ["fixed", "five"]
    scheduler.tick(NINE + 1)
    assert fired(queue, "fixed") == [NINE]
    assert fired(queue, "five") == [NINE]


def test_the_source_is_called_every_reload_interval(make_scheduler):
    source = Source([FIVE])
    scheduler = make_scheduler(source=source, reload_interval=5)
    for t in (0, 1, 2, 3, 4.9):
        scheduler.tick(NINE + t)
    assert source.calls == 1
    scheduler.tick(NINE + 5)
    assert source.calls == 2
    assert scheduler.tick(NINE + 9.5) == pytest.approx(0.5)  # wakes up for the next reload
    assert RELOAD_INTERVAL == 5.0


def test_an_inactive_scheduler_does_not_call_the_source(make_scheduler):
    first, second = Source([FIVE]), Source([FIVE])
    make_scheduler(source=first).tick(NINE)
    make_scheduler(source=second).tick(NINE)
    assert (first.calls, second.calls) == (1, 0)


def test_a_scheduler_that_takes_over_reads_the_source_at_once(make_scheduler):
    first, second = Source([FIVE]), Source([FIVE])
    active = make_scheduler(source=first, reload_interval=60)
    other = make_scheduler(source=second, reload_interval=60)
    active.tick(NINE)
    other.tick(NINE)
    active.release()
    other.tick(NINE + 1)
    assert second.calls == 1


def test_a_changed_expression_applies_from_its_next_occurrence(make_scheduler, queue):
    daily = replace(FIVE, cron="0 10 * * *")  # next look: 10:00
    source = Source([daily])
    scheduler = make_scheduler(source=source, reload_interval=1)
    scheduler.tick(NINE - 10 * MINUTE)  # 08:50
    source.set(FIVE)  # every five minutes
    scheduler.tick(NINE - 9 * MINUTE)  # 08:51: reloaded; starts afresh
    assert fired(queue, "five") == []
    scheduler.tick(NINE - 5 * MINUTE + 1)  # 08:55:01
    assert fired(queue, "five") == [NINE - 5 * MINUTE]
    scheduler.tick(NINE - 5 * MINUTE + 2)
    assert fired(queue, "five") == [NINE - 5 * MINUTE]  # once


def test_a_changed_argument_applies_to_the_next_run(make_scheduler, queue):
    source = Source([FIVE])
    scheduler = make_scheduler(source=source, reload_interval=1)
    scheduler.tick(NINE - 10)
    source.set(replace(FIVE, args=(7, 7)))
    scheduler.tick(NINE + 1)
    (job,) = [job for job in queue.jobs if job.meta.get("cron") == "five"]
    assert job.args == (7, 7)


def test_a_paused_entry_fires_nothing_and_resumes_without_making_up(
    make_scheduler, queue, redis_conn, key_prefix
):
    source = Source([FIVE])
    scheduler = make_scheduler(source=source, reload_interval=1)
    scheduler.tick(NINE - 10)
    source.set(replace(FIVE, paused=True))
    for minute in range(0, 16):
        scheduler.tick(NINE + minute * MINUTE + 1)
    assert fired(queue, "five") == []
    assert entry_state(redis_conn, replace(FIVE, paused=True), key_prefix)["paused"]
    source.set(FIVE)
    scheduler.tick(NINE + 16 * MINUTE)  # 09:15 passed while paused: not run late
    assert fired(queue, "five") == []
    scheduler.tick(NINE + 20 * MINUTE + 1)
    assert fired(queue, "five") == [NINE + 20 * MINUTE]


def test_a_removed_entry_stops(make_scheduler, queue):
    source = Source([FIVE])
    scheduler = make_scheduler(source=source, reload_interval=1)
    scheduler.tick(NINE - 10)
    scheduler.tick(NINE + 1)
    source.set()
    scheduler.tick(NINE + 2)
    scheduler.tick(NINE + 5 * MINUTE + 1)
    assert fired(queue, "five") == [NINE]
    assert [e.name for e in scheduler.cron] == []


def test_a_source_entry_named_like_a_fixed_one_is_left_out(make_scheduler, queue, caplog):
    clash = replace(FIVE, name="fixed")
    scheduler = make_scheduler([FIXED], source=Source([clash]), reload_interval=1)
    with caplog.at_level(logging.WARNING, logger="django_jobqueue.scheduler"):
        scheduler.tick(NINE - 10)
        scheduler.source.set(clash, FIVE)
        scheduler.tick(NINE - 5)
    assert scheduler.cron == [FIXED, FIVE]
    assert caplog.text.count("fixed is defined twice") == 1


def test_a_failing_source_keeps_the_last_entries(make_scheduler, queue, caplog):
    source = Source([FIVE])
    scheduler = make_scheduler(source=source, reload_interval=1)
    scheduler.tick(NINE - 10)
    source.fail = True
    with caplog.at_level(logging.ERROR, logger="django_jobqueue.scheduler"):
        scheduler.tick(NINE + 1)
    assert "the periodic entry source failed" in caplog.text
    assert fired(queue, "five") == [NINE]


def test_two_schedulers_with_one_source_fire_each_occurrence_once(redis_conn, key_prefix, queue):
    """Both believe they are active (a paused process whose lock expired)."""
    source = Source([FIVE])
    schedulers = [Scheduler(redis_conn, key_prefix, source=source, name=f"s{i}") for i in range(2)]
    for scheduler in schedulers:
        scheduler.reload()
        source.changed = True
    start = NINE - 10
    schedulers[0].run_cron(start)
    for minute in range(0, 30):
        for scheduler in schedulers:
            scheduler.run_cron(NINE + minute * MINUTE + 0.5)
    assert fired(queue, "five") == [NINE + 5 * MINUTE * k for k in range(6)]


@pytest.mark.parametrize(("epochs", "runs_at_once"), [(("a", "b"), False), (("a", "a"), True)])
def test_an_entry_created_again_with_a_new_epoch_starts_afresh(
    make_scheduler, queue, epochs, runs_at_once
):
    hourly = replace(FIVE, cron="0 * * * *", name="hourly")
    source = Source([replace(hourly, epoch=epochs[0])])
    scheduler = make_scheduler(source=source, reload_interval=1)
    scheduler.tick(NINE - 10)
    scheduler.tick(NINE + 1)
    assert fired(queue, "hourly") == [NINE]
    source.set()  # deleted at 09:00:02 ...
    scheduler.tick(NINE + 2)
    source.set(replace(hourly, epoch=epochs[1]))  # ... and created again at 14:30
    scheduler.tick(NINE + 5.5 * 3600)
    # The old record would count 10:00-14:00 as missed and run them once, now.
    assert fired(queue, "hourly") == ([NINE, NINE + 5 * 3600] if runs_at_once else [NINE])
    scheduler.tick(NINE + 6 * 3600 + 1)
    assert fired(queue, "hourly")[-1] == NINE + 6 * 3600
