"""The job_* signals, sent from the engine's hooks."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import transaction
from django.test import override_settings

from django_jobqueue import Job, enqueue, get_queue, get_worker
from django_jobqueue.queues import DjangoQueue
from django_jobqueue.signals import job_enqueued, job_failed, job_finished, job_started
from tests.django import tasks

SIGNALS = {
    "enqueued": job_enqueued,
    "started": job_started,
    "finished": job_finished,
    "failed": job_failed,
}


@contextmanager
def captured():
    """Yield a list of (event, sender, kwargs) received while the block runs."""
    events: list[tuple[str, object, dict]] = []
    receivers = {}
    for event, signal in SIGNALS.items():

        def receiver(sender, event=event, **kwargs):
            kwargs.pop("signal")
            events.append((event, sender, kwargs))

        receivers[event] = receiver
        signal.connect(receiver)
    try:
        yield events
    finally:
        for event, signal in SIGNALS.items():
            signal.disconnect(receivers[event])


def test_signals_in_a_worker_run(jq):
    queue = get_queue()
    with captured() as events:
        ok = queue.enqueue(tasks.add, 1, 2)
        bad = queue.enqueue(tasks.fail, "signal failure")
        enqueued = list(events)
        worker = get_worker(worker_class="simple")
        worker.work(burst=True, logging_level=None)

    assert [e[0] for e in enqueued] == ["enqueued", "enqueued"]
    for (_, sender, kwargs), job in zip(enqueued, (ok, bad)):
        assert sender is DjangoQueue
        assert set(kwargs) == {"job", "queue"}
        assert kwargs["job"].id == job.id
        assert kwargs["queue"] is queue

    ran = events[2:]
    assert [e[0] for e in ran] == ["started", "finished", "started", "failed"]
    started, finished, started_bad, failed = ran
    assert started[1] is Job and set(started[2]) == {"job", "worker"}
    assert started[2]["job"].id == ok.id
    assert started[2]["worker"] == worker.name
    assert finished[1] is Job and set(finished[2]) == {"job", "result", "worker"}
    assert finished[2]["job"].id == ok.id
    assert finished[2]["result"] == 3
    assert finished[2]["worker"] == worker.name
    assert started_bad[2]["job"].id == bad.id
    assert failed[1] is Job and set(failed[2]) == {"job", "exc_info", "worker"}
    assert failed[2]["job"].id == bad.id
    assert "ValueError: signal failure" in failed[2]["exc_info"]
    assert failed[2]["worker"] == worker.name


def test_signals_inline(jq):
    with override_settings(JOBQUEUE_ASYNC=False), captured() as events:
        ok = enqueue(tasks.add, 2, 2)
        bad = get_queue("low").enqueue(tasks.fail, "inline signal")
    assert [e[0] for e in events] == [
        "enqueued",
        "started",
        "finished",
        "enqueued",
        "started",
        "failed",
    ]
    enq, started, finished, enq_bad, _, failed = events
    assert enq[1] is DjangoQueue and enq[2]["job"] is ok and enq[2]["queue"].name == "default"
    assert started[2] == {"job": ok, "worker": "inline"}
    assert finished[2] == {"job": ok, "result": 4, "worker": "inline"}
    assert enq_bad[2]["queue"].name == "low"
    assert failed[2]["job"] is bad and failed[2]["worker"] == "inline"
    assert "ValueError: inline signal" in failed[2]["exc_info"]


def test_job_started_sees_the_running_job(jq):
    seen = []

    def receiver(sender, job, worker, **kwargs):
        seen.append(job.get_status())

    job_started.connect(receiver)
    try:
        enqueue(tasks.add, 1, 1)
        get_worker(worker_class="simple").work(burst=True, logging_level=None)
    finally:
        job_started.disconnect(receiver)
    assert seen == ["started"]


@pytest.mark.django_db(transaction=True)
def test_enqueued_signal_waits_for_commit(jq):
    with captured() as events:
        with transaction.atomic():
            job = enqueue(tasks.add, 1, 1)
            assert events == []
        assert [e[0] for e in events] == ["enqueued"]
        assert events[0][2]["job"] is job
        with pytest.raises(ZeroDivisionError):
            with transaction.atomic():
                enqueue(tasks.add, 2, 2)
                1 / 0
    assert len(events) == 1  # the rolled-back job was never enqueued


def test_a_failing_receiver_does_not_break_the_job(jq, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    job_finished.connect(broken)
    try:
        job = enqueue(tasks.add, 1, 2)
        get_worker(worker_class="simple").work(burst=True, logging_level=None)
    finally:
        job_finished.disconnect(broken)
    assert job.get_status() == "finished"
    assert job.return_value(refresh=True) == 3
    assert "receiver bug" in caplog.text
