"""Every enqueue option through the Django layer's entry points, also inside a transaction.

The same table as ``tests/engine/test_options.py``; here the job is built at
once and stored when the transaction commits, and the options that place it
(``depends_on``, ``at_front``, ``at``) must survive that wait.
"""

from __future__ import annotations

import pytest
from django.db import transaction

import django_jobqueue
from django_jobqueue import Job, get_queue
from tests.engine import jobs
from tests.engine.test_options import OPTIONS, TOGETHER

pytestmark = pytest.mark.django_db(transaction=True)


def _enqueue(q, o):
    if "at" in o:
        return q.enqueue_at(o.pop("at"), jobs.add, 1, 2)
    return django_jobqueue.enqueue(jobs.add, 1, 2, **_call_keywords(o))


def _enqueue_call(q, o):
    return q.enqueue_call(jobs.add, (1, 2), **o)


def _delay(q, o):
    decorated = django_jobqueue.job("default")(jobs.power)
    if "at" in o:
        return decorated.delay_at(o.pop("at"), 1, 2, **_call_keywords(o))
    return decorated.delay(1, 2, **_call_keywords(o))


def _call_keywords(options):
    return {("job_timeout" if k == "timeout" else k): v for k, v in options.items()}


@pytest.mark.parametrize("in_transaction", [False, True], ids=["now", "on_commit"])
@pytest.mark.parametrize("enqueue", [_enqueue, _enqueue_call, _delay], ids=lambda f: f.__name__)
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_every_option_works_through_the_django_entry_points(jq, option, enqueue, in_transaction):
    queue = get_queue()
    queue.enqueue(jobs.add, 0, 1)
    value, check = OPTIONS[option]
    if callable(value) and option in ("depends_on", "at"):
        value = value(queue)
    if in_transaction:
        with transaction.atomic():
            made = enqueue(queue, {option: value, **TOGETHER.get(option, {})})
            assert made.get_status(refresh=False) == "pending_commit"
    else:
        made = enqueue(queue, {option: value, **TOGETHER.get(option, {})})
    stored = Job.fetch(made.id, queue.connection, origin=queue.name, prefix=queue.keys.prefix)
    assert check(stored, queue, value)
    assert (stored.args, stored.kwargs) == ((1, 2), {})
