"""Unique jobs through the Django layer: enqueue(), @job, transactions, JOBQUEUE_ASYNC = False."""

from __future__ import annotations

import pytest
from django.db import transaction

from django_jobqueue import enqueue, get_queue, get_worker, job
from tests.django import tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_enqueue_returns_the_holder(jq):
    first = enqueue(tasks.add, 1, 2, unique_for=60)
    again = enqueue(tasks.add, 1, 2, unique_for=60)
    assert again.is_duplicate and again.id == first.id
    assert get_queue().count == 1


def test_the_django_job_decorator(jq):
    task = job("default", unique_for=60, unique_key="adding")(tasks.echo)
    first = task.delay(1)
    assert task.delay(2).id == first.id  # the key, not the arguments


def test_a_duplicate_found_at_commit_turns_the_job_into_the_holder(jq):
    first = enqueue(tasks.add, 1, 2, unique_for=60)
    with transaction.atomic():
        pending = enqueue(tasks.add, 1, 2, unique_for=60)
        assert pending.get_status(refresh=False) == "pending_commit"
        assert not pending.is_duplicate and pending.id != first.id
    assert pending.is_duplicate and pending.id == first.id
    assert pending.get_status() == "queued"
    assert get_queue().count == 1


def test_a_job_committed_first_holds_the_key(jq):
    with transaction.atomic():
        first = enqueue(tasks.add, 1, 2, unique_for=60)
    assert not first.is_duplicate and first.get_status() == "queued"
    assert enqueue(tasks.add, 1, 2, unique_for=60).id == first.id
    assert get_worker(worker_class="simple").work(burst=True, logging_level=None)
    assert enqueue(tasks.add, 1, 2, unique_for=60).id != first.id


def test_inline_mode_runs_each_enqueue_as_a_worker_would(jq, settings, prefixed_keys):
    settings.JOBQUEUE_ASYNC = False
    first = enqueue(tasks.add, 1, 2, unique_for=60, unique_until="finish")
    second = enqueue(tasks.add, 1, 2, unique_for=60, unique_until="finish")
    assert first.result == second.result == 3
    assert not second.is_duplicate and second.id != first.id
    assert prefixed_keys() == []  # nothing reached Redis
