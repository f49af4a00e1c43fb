"""Every enqueue option through every entry point.

The options are declared once (``EnqueueOptions``); this table gives each one
a value other than its default and a way to see it on the stored job, and runs
it through each way of enqueueing. A new option without a row here fails
``test_every_option_has_a_row``; an entry point that drops or misroutes one
fails its row.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from django_jobqueue.engine import Job, JobStatus, Queue, RateLimit, Repeat, Retry, Webhook, job
from django_jobqueue.engine.callbacks import Callback
from django_jobqueue.engine.options import NAMES, EnqueueOptions

from . import jobs


def _parent(queue):
    return queue.enqueue(jobs.add, 0, 0)  # queued, never run here: children wait on it


# option -> (value, or a factory taking the queue; check(stored job, queue, value))
OPTIONS = {
    "timeout": (77, lambda j, q, v: j.timeout == 77),
    "result_ttl": (55, lambda j, q, v: j.result_ttl == 55),
    "ttl": (999, lambda j, q, v: j.ttl == 999 and 0 < q.connection.ttl(j.key) <= 999),
    "failure_ttl": (66, lambda j, q, v: j.failure_ttl == 66),
    "description": ("described", lambda j, q, v: j.description == "described"),
    "meta": ({"m": 1}, lambda j, q, v: j.meta == {"m": 1}),
    "retry": (
        Retry(max=2, interval=[3, 4]),
        lambda j, q, v: (j.retry_max, j.retries_left, list(j.retry_intervals)) == (2, 2, [3, 4]),
    ),
    "repeat": (
        Repeat(times=2, interval=[3, 4]),
        lambda j, q, v: (j.repeats_left, j.repeat_intervals) == (2, [3, 4]),
    ),
    "on_success": (
        jobs.on_success_callback,
        lambda j, q, v: j.on_success == "tests.engine.jobs.on_success_callback",
    ),
    "on_failure": (
        jobs.on_failure_callback,
        lambda j, q, v: j.on_failure == "tests.engine.jobs.on_failure_callback",
    ),
    "on_stopped": (
        Callback(jobs.on_success_callback, timeout=9),
        lambda j, q, v: (
            (j.on_stopped, j.stopped_callback_timeout)
            == ("tests.engine.jobs.on_success_callback", 9)
        ),
    ),
    "unique": (True, lambda j, q, v: j.id == "unique-id"),
    "priority": (7, lambda j, q, v: j.priority == 7),
    "job_id": ("chosen-id", lambda j, q, v: j.id == "chosen-id"),
    "depends_on": (
        _parent,
        lambda j, q, v: j.get_status() == JobStatus.DEFERRED and j.dependency_ids == [v.id],
    ),
    "at_front": (True, lambda j, q, v: q.get_job_ids()[0] == j.id),
    "rate_limit": (
        RateLimit("opt", 3),
        lambda j, q, v: (
            (j.rate_limit_key, j.rate_limit_concurrency, j.get_status())
            == ("opt", 3, JobStatus.QUEUED)
        ),
    ),
    "concurrency_key": (
        "tenant:7",
        lambda j, q, v: (
            (j.rate_limit_key, j.rate_limit_concurrency, j.get_status())
            == ("tenant:7", 2, JobStatus.QUEUED)
        ),
    ),
    "concurrency_limit": (
        4,
        lambda j, q, v: (
            (j.rate_limit_key, j.rate_limit_concurrency, j.get_status())
            == ("tenant:8", 4, JobStatus.QUEUED)
        ),
    ),
    "webhooks": (
        [Webhook("http://127.0.0.1:9/done", "finished", method="POST")],
        lambda j, q, v: j.webhooks == v,
    ),
    "unique_for": (60, lambda j, q, v: j.unique_for == 60 and j.holds_unique_key()),
    "unique_key": ("opt-key", lambda j, q, v: j.unique_key == "opt-key" and j.holds_unique_key()),
    "unique_until": ("finish", lambda j, q, v: j.unique_until == "finish"),
    "at": (
        lambda q: time.time() + 3600,
        lambda j, q, v: j.get_status() == JobStatus.SCHEDULED,
    ),
}


#: Options that need another one beside them.
TOGETHER = {
    "unique": {"job_id": "unique-id"},
    "unique_key": {"unique_for": 60},
    "unique_until": {"unique_for": 60},
    "concurrency_key": {"concurrency_limit": 2},
    "concurrency_limit": {"concurrency_key": "tenant:8"},
}


def _call_keywords(options):
    """enqueue() and .delay() spell timeout as job_timeout (f may take a timeout)."""
    return {("job_timeout" if k == "timeout" else k): v for k, v in options.items()}


def _enqueue(q, o):
    if "at" in o:  # enqueue() leaves a keyword named at to the function: enqueue_at() takes it
        return q.enqueue_at(o.pop("at"), jobs.add, 1, 2)
    return q.enqueue(jobs.add, 1, 2, **_call_keywords(o))


def _enqueue_call(q, o):
    return q.enqueue_call(jobs.add, args=(1, 2), **o)


def _enqueue_at(q, o):
    return q.enqueue_at(o.pop("at", time.time() - 1), jobs.add, 1, 2, **_call_keywords(o))


def _enqueue_in(q, o):
    at = o.pop("at", None)
    delay = timedelta(seconds=at - time.time()) if at else 0
    return q.enqueue_in(delay, jobs.add, 1, 2, **_call_keywords(o))


def _enqueue_many(q, o):
    (made,) = q.enqueue_many([Queue.prepare_data(jobs.add, (1, 2), **o)])
    return made


def _job_create(q, o):
    created = Job.create(
        jobs.add, (1, 2), connection=q.connection, origin=q.name, prefix=q.keys.prefix, **o
    )
    return q.enqueue_job(created)


def _create_job(q, o):
    return q.enqueue_job(q.create_job(jobs.add, (1, 2), **o))


def _decorator_defaults(q, o):
    at = o.pop("at", None)
    decorated = job(q, **o)(jobs.power)
    return decorated.delay_at(at, 1, 2) if at else decorated.delay(1, 2)


def _delay(q, o):
    decorated = job(q)(jobs.power)
    at = o.pop("at", None)
    if at:
        return decorated.delay_at(at, 1, 2, **_call_keywords(o))
    return decorated.delay(1, 2, **_call_keywords(o))


def _delay_in(q, o):
    decorated = job(q)(jobs.power)
    at = o.pop("at", None)
    return decorated.delay_in(at - time.time() if at else 0, 1, 2, **_call_keywords(o))


ENTRY_POINTS = [
    _enqueue,
    _enqueue_call,
    _enqueue_at,
    _enqueue_in,
    _enqueue_many,
    _job_create,
    _create_job,
    _decorator_defaults,
    _delay,
    _delay_in,
]


def test_every_option_has_a_row():
    assert set(OPTIONS) == NAMES  # every RQ option is supported, none reaches the function


@pytest.mark.parametrize("enqueue", ENTRY_POINTS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_every_option_works_through_every_entry_point(make_queue, option, enqueue):
    queue = make_queue()
    queue.enqueue(jobs.add, 0, 1)  # something to jump ahead of
    value, check = OPTIONS[option]
    if callable(value) and option in ("depends_on", "at"):
        value = value(queue)
    made = enqueue(queue, {option: value, **TOGETHER.get(option, {})})
    stored = Job.fetch(made.id, queue.connection, origin=queue.name, prefix=queue.keys.prefix)
    assert check(stored, queue, value)
    # The option never reaches the function's arguments.
    assert (stored.args, stored.kwargs) == ((1, 2), {})


def test_unique_needs_a_job_id_and_no_dependencies(queue):
    with pytest.raises(ValueError, match="needs a job_id"):
        queue.enqueue(jobs.add, 1, 2, unique=True)
    parent = queue.enqueue(jobs.add, 1, 2)
    with pytest.raises(ValueError, match="not supported with job dependencies"):
        queue.enqueue(jobs.add, 1, 2, job_id="u", unique=True, depends_on=parent)


def test_an_unknown_option_is_refused_with_the_list_of_options(make_queue):
    queue = make_queue()
    with pytest.raises(TypeError, match=r"Unknown enqueue option\(s\) 'priorty'; the options are"):
        queue.enqueue_call(jobs.add, (1, 2), priorty=5)
    with pytest.raises(TypeError, match="Unknown enqueue option"):
        job(queue, retries=3)


def test_a_call_keyword_beats_the_decorators_default(make_queue):
    queue = make_queue()
    decorated = job(queue, timeout=5, priority=3)(jobs.power)
    made = decorated.delay(2, 3, job_timeout=9)
    assert (made.timeout, made.priority) == (9, 3)


def test_options_are_checked_once_and_kept_as_given():
    options = EnqueueOptions.of(job_timeout="5m", result_ttl=timedelta(hours=1), ttl="-1")
    assert (options.timeout, options.result_ttl, options.ttl) == (300, 3600, -1)


@pytest.mark.parametrize("option", ["result_ttl", "failure_ttl", "ttl"])
@pytest.mark.parametrize(
    "value,words",
    [
        (10**20, "more than 100 years; use -1 for 'forever'"),
        (1e300, "more than 100 years; use -1 for 'forever'"),
        ("4000000000", "more than 100 years; use -1 for 'forever'"),
        (float("inf"), "inf is not a duration: use seconds, or -1 for 'forever'"),
    ],
)
def test_a_ttl_over_100_years_is_refused_at_enqueue(queue, option, value, words):
    """It was stored, and the worker's outcome script then failed on Redis's
    EXPIRE (out of range), every time the job ended."""
    with pytest.raises(ValueError, match=words):
        queue.enqueue(jobs.add, 1, 2, **{option: value})
    assert queue.count == 0
    longest = EnqueueOptions.of(**{option: 100 * 365 * 24 * 3600})
    assert getattr(longest, option) == 100 * 365 * 24 * 3600
    assert getattr(EnqueueOptions.of(**{option: -1}), option) == -1
