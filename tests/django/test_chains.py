"""Chains in the Django layer: queues by name from the settings, inline runs, commits."""

from __future__ import annotations

import pytest
from django.db import transaction

from django_jobqueue import Chain, Step, get_worker
from django_jobqueue.engine.chain import Chain as EngineChain
from tests.django import tasks


class Rollback(Exception):
    pass


def run_worker(*queues):
    return get_worker(*queues, worker_class="simple").work(burst=True, logging_level=None)


def test_the_django_chain_names_queues_as_the_settings_do(jq):
    assert issubclass(Chain, EngineChain) and Chain is not EngineChain
    chain = Chain(
        Step(tasks.start_list, "a"),  # on "default", the queue enqueue() takes by default
        tasks.low_append.step("b"),  # on "low", the decorator's queue
        Step(tasks.append_to, "c", queue="high"),
    ).enqueue()
    assert [job.origin for job in chain.jobs] == ["default", "low", "high"]
    run_worker("default", "low", "high")
    assert chain.result == ["a", "b", "c"]


def test_inline_chains_run_at_once_without_redis(jq, settings, prefixed_keys):
    settings.JOBQUEUE_ASYNC = False
    chain = Chain(Step(tasks.start_list, "a"), tasks.low_append.s("b")).enqueue()
    assert chain.status == "finished"
    assert chain.result == ["a", "b"]
    failed = Chain(Step(tasks.fail), Step(tasks.append_to, "b")).enqueue("low")
    assert [str(s) for s in failed.get_statuses()] == ["failed", "canceled"]
    assert prefixed_keys() == []


@pytest.mark.django_db(transaction=True)
def test_a_chain_reaches_redis_when_the_transaction_commits(jq, prefixed_keys):
    with transaction.atomic():
        chain = Chain(Step(tasks.start_list, "a"), Step(tasks.append_to, "b")).enqueue()
        assert [str(s) for s in chain.get_statuses()] == ["pending_commit", "pending_commit"]
        assert prefixed_keys() == []
    assert [str(s) for s in chain.get_statuses()] == ["queued", "deferred"]
    run_worker("default")
    assert chain.result == ["a", "b"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_chain_never_reaches_redis(jq, prefixed_keys):
    with pytest.raises(Rollback):
        with transaction.atomic():
            Chain(Step(tasks.start_list, "a"), Step(tasks.append_to, "b")).enqueue()
            raise Rollback
    assert prefixed_keys() == []
