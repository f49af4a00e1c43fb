"""``async def`` jobs are awaited, in every execution model, under their timeout."""

from __future__ import annotations

import asyncio

import pytest

from django_jobqueue.engine import JobStatus, Worker, get_current_job


async def async_add(a, b):
    await asyncio.sleep(0)
    return a + b


async def async_current_job_id():
    await asyncio.sleep(0)
    return get_current_job().id


async def async_sleep(seconds):
    await asyncio.sleep(seconds)


@pytest.mark.parametrize("cls", [None, Worker], ids=["in-process", "fork"])
def test_an_async_job_is_awaited(queue, make_worker, cls):
    made = queue.enqueue(async_add, 1, 2)
    current = queue.enqueue(async_current_job_id)
    make_worker([queue], **({"cls": cls} if cls else {})).work(burst=True)
    assert (made.get_status(), made.result) == (JobStatus.FINISHED, 3)
    assert current.result == current.id


@pytest.mark.parametrize("cls", [None, Worker], ids=["in-process", "fork"])
def test_an_async_job_runs_under_its_timeout(queue, make_worker, cls):
    made = queue.enqueue(async_sleep, 10, job_timeout=1)
    make_worker([queue], **({"cls": cls} if cls else {})).work(burst=True)
    assert made.get_status() == JobStatus.FAILED
    assert "timeout" in made.exc_info


def test_an_async_job_on_a_queue_with_is_async_false(make_queue):
    assert make_queue("sync", is_async=False).enqueue(async_add, 2, 3).result == 5


def test_an_async_job_enqueued_inline_from_a_running_event_loop(make_queue):
    inline = make_queue("sync", is_async=False)

    async def view():
        return inline.enqueue(async_add, 4, 5).result

    assert asyncio.run(view()) == 9
