"""``rqworker --burst``'s live line: on a terminal only, redrawn in place, then a summary."""

from __future__ import annotations

import os
import re
import select
from io import StringIO

import pytest
from django.core.management import call_command

from django_jobqueue.management.commands.rqworker import LiveLine
from django_jobqueue.queues import get_queue

from . import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(jq, settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    queue = get_queue("default")
    for i in range(5):
        queue.enqueue(tasks.add, i, 1)
    queue.enqueue(tasks.fail)
    return queue


def _read_all(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_on_a_terminal_the_line_is_redrawn_then_summed_up(queued):
    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave), "w") as terminal:
            call_command(
                "rqworker", "--burst", "--worker-class", "simple", "-v", "0", stdout=terminal
            )
        text = _read_all(master)
    finally:
        os.close(master)
        os.close(slave)
    assert text.startswith("\r")
    # The first drawing, before any job: everything still queued.
    assert "0 jobs done (0 failed), 0.0 jobs/s, 6 queued\x1b[K" in text
    summary = text.rstrip("\r\n").rsplit("\r", 1)[-1]
    assert re.fullmatch(r"Done: 6 jobs \(1 failed\) in [\d.]+ s, [\d.]+ jobs/s\x1b\[K", summary)
    assert len(queued) == 0


def test_without_a_terminal_nothing_is_drawn(queued):
    out, err = StringIO(), StringIO()
    call_command("rqworker", "--burst", "--worker-class", "simple", stdout=out, stderr=err)
    assert out.getvalue() == ""
    assert "\r" not in err.getvalue() and "jobs/s, " not in err.getvalue()
    assert len(queued) == 0


class FakeWorker:
    successful_job_count = 0
    failed_job_count = 0


class Stream(StringIO):
    def write(self, text, ending=None):  # the OutputWrapper signature
        return super().write(text)


class Depth:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def test_the_line_redraws_at_most_every_interval():
    now = [100.0]
    stream, worker, queue = Stream(), FakeWorker(), Depth(10)
    live = LiveLine(stream, [queue, Depth(2)], clock=lambda: now[0], interval=0.5)
    live(worker)
    worker.successful_job_count, worker.failed_job_count, queue.n = 8, 2, 0
    now[0] = 100.2
    live(worker)  # too soon: not drawn
    now[0] = 102.0
    live(worker)
    live.finish(worker)
    assert stream.getvalue().split("\r")[1:] == [
        "0 jobs done (0 failed), 0.0 jobs/s, 12 queued\x1b[K",
        "10 jobs done (2 failed), 5.0 jobs/s, 2 queued\x1b[K",
        "Done: 10 jobs (2 failed) in 2.0 s, 5.0 jobs/s\x1b[K\n",
    ]
