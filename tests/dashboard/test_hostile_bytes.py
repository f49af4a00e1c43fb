"""Bytes another program wrote where text belongs: every page still answers.

A Redis writer can put bytes that are not UTF-8 in a worker's registration,
in the set of workers, or as a member of a queue or registry (where a job id
belongs), and a number that is not one in the counts or in a batch. Each dashboard page,
the Prometheus endpoint, ``rqstats`` and a worker must go on: the bad text is
shown escaped (``\\xff``), a bad id as a job that is gone, and a member of the
set of workers that cannot be a worker's name is dropped.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command
from django.test import RequestFactory, override_settings

import django_jobqueue
from django_jobqueue.engine import JobStatus, SimpleWorker
from django_jobqueue.metrics import views as metrics_views
from tests.engine import batch_jobs, jobs

from .conftest import ADMIN

REGISTRIES = ("started", "deferred", "scheduled", "rate_limited", "finished", "failed", "canceled")
PAGES = ["", "workers/", "cron/", "queues/default/"] + [f"queues/default/{r}/" for r in REGISTRIES]
TOKEN = "a-bearer-token-of-some-length-0123"
BAD = b"\xff\xfe"


@pytest.fixture
def admin(as_user):
    return as_user("superuser")


@pytest.fixture
def site(jq, run_jobs, redis_conn, key_prefix):
    """A queue with a finished and a failed job, a waiting one, and a live worker."""
    q = jq("default")
    q.enqueue(jobs.add, 1, 2)
    q.enqueue(jobs.fail, "x")
    run_jobs()
    waiting = q.enqueue(jobs.add, 3, 4)
    worker = SimpleWorker([q], connection=redis_conn, prefix=key_prefix)
    worker.register_birth()
    return q, worker, waiting


def _damage(where, field, q, worker, redis_conn):
    ks = q.keys
    if where == "worker":
        redis_conn.hset(worker.key, field, BAD)
    elif where == "workers":
        redis_conn.sadd(ks.workers, BAD)
    elif where == "queues":
        redis_conn.sadd(ks.queues, BAD)
    elif where == "list":
        redis_conn.rpush(ks.queue("default"), BAD)
    elif where == "priority":
        redis_conn.zadd(ks.priority("default"), {BAD: 1.0})
    elif where == "stats":
        redis_conn.hset(ks.stats("default", int(time.time() // 60)), field, "many")
    elif where == "metrics":
        redis_conn.hset(ks.metrics("default"), field, "many")
    elif where == "metrics-name":
        redis_conn.hset(ks.metrics("default"), BAD, BAD)
    elif where == "unique":
        redis_conn.set(ks.unique("default", "k").encode() + BAD, BAD)
        redis_conn.set(ks.unique("default", "k"), BAD)
    else:
        redis_conn.zadd(ks.registry("default", where), {BAD: 1.0})


CASES = [
    *[
        ("worker", field)
        for field in ("name", "queues", "state", "hostname", "execution", "version", "birth")
    ],
    ("workers", None),
    ("queues", None),
    ("list", None),
    ("priority", None),
    ("stats", "finished"),
    ("metrics", "finished"),
    ("metrics", "duration_sum"),
    ("metrics-name", None),
    ("unique", None),
    *[(kind, None) for kind in REGISTRIES],
]


@pytest.mark.parametrize("where,field", CASES, ids=[f"{w}-{f}" if f else w for w, f in CASES])
def test_every_page_the_metrics_rqstats_and_a_worker_go_on(
    admin, site, redis_conn, key_prefix, where, field
):
    q, worker, waiting = site
    _damage(where, field, q, worker, redis_conn)
    for page in PAGES:
        assert admin.get(ADMIN + page).status_code == 200, page
    with override_settings(JOBQUEUE_API_TOKEN=TOKEN):
        request = RequestFactory().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        response = metrics_views.prometheus(request)
    assert response.status_code == 200
    assert b"jobqueue_jobs" in response.content
    out = io.StringIO()
    call_command("rqstats", "--json", "--unique", stdout=out)
    assert "default" in {entry["name"] for entry in json.loads(out.getvalue())["queues"]}
    runner = SimpleWorker([q], connection=redis_conn, prefix=key_prefix)
    runner.maintain()
    runner.work(burst=True, logging_level=None)
    assert waiting.get_status() == JobStatus.FINISHED


def test_a_worker_field_that_is_not_utf8_is_shown_escaped(admin, site, redis_conn):
    _q, worker, _waiting = site
    redis_conn.hset(worker.key, "hostname", b"web\xff1")
    html = admin.get(ADMIN + "workers/").content.decode()
    assert "web\\xff1" in html and worker.name in html


def test_a_member_of_the_workers_set_that_is_no_name_is_dropped(admin, site, redis_conn):
    q, worker, _waiting = site
    redis_conn.sadd(q.keys.workers, BAD)
    html = admin.get(ADMIN + "workers/").content.decode()
    assert worker.name in html
    assert not redis_conn.sismember(q.keys.workers, BAD)
    assert redis_conn.sismember(q.keys.workers, worker.name)


def test_an_id_that_is_not_utf8_is_listed_as_a_gone_job(admin, site, redis_conn):
    q, _worker, _waiting = site
    redis_conn.zadd(q.keys.registry("default", "failed"), {BAD: time.time() + 10})
    response = admin.get(ADMIN + "queues/default/failed/")
    missing = [row for row in response.context["rows"] if row["missing"]]
    assert [row["id"] for row in missing] == ["\\xff\\xfe"]
    assert len(response.context["rows"]) == 2


BATCH_CASES = [
    *[
        ("batch", field, value)
        for field in ("total", "created_at", "closed_at")
        for value in ("x", BAD)
    ],
    *[("batch", field, BAD) for field in ("status", "desc", "inline", "callback_retry")],
    ("batch-jobs", None, BAD),
    ("batch-index", None, BAD),
    ("rate-limit-keys", None, BAD),
]


@pytest.mark.parametrize(
    "where,field,value", BATCH_CASES, ids=[f"{w}-{f}-{v!r}" for w, f, v in BATCH_CASES]
)
def test_a_batch_or_rate_limit_written_badly_leaves_its_page_and_rqstats_working(
    admin, jq, run_jobs, redis_conn, key_prefix, where, field, value
):
    q = jq("default")
    batch = django_jobqueue.Batch.create(q, name="nightly", on_complete=batch_jobs.record)
    member = batch.enqueue(batch_jobs.ok, 1)
    batch.close()
    run_jobs()
    waiting = q.enqueue(jobs.add, 1, 2)
    if where == "batch":
        redis_conn.hset(batch.key, field, value)
    elif where == "batch-jobs":
        redis_conn.sadd(q.keys.batch_jobs("default", "nightly"), value)
    elif where == "batch-index":
        redis_conn.hset(q.keys.batches, BAD, value)
    else:
        redis_conn.sadd(q.keys.rate_limit_keys("default"), value)
    page = admin.get(ADMIN + "batches/default/nightly/")
    assert page.status_code == 200
    assert f'title="{member.id}"' in page.content.decode()
    for page in PAGES:
        assert admin.get(ADMIN + page).status_code == 200, page
    for args in (["--json"], []):
        out = io.StringIO()
        call_command("rqstats", "--batches", "5", "--unique", *args, stdout=out)
        assert "default" in out.getvalue()
    runner = SimpleWorker([q], connection=redis_conn, prefix=key_prefix)
    runner.maintain()
    runner.work(burst=True, logging_level=None)
    assert waiting.get_status() == JobStatus.FINISHED


@pytest.mark.parametrize("dependents", [BAD, b'[{"a": 1}, 5, null, [2]]', b'{"a": 1}'])
def test_bulk_delete_confirmations_and_the_deferred_list_read_parents_written_badly(
    admin, jq, run_jobs, redis_conn, dependents
):
    """The confirmation counts the children a delete strands from each job's
    ``dependents`` JSON, and the deferred list reads its parents' statuses:
    bytes that are not UTF-8, or JSON of another shape, made both answer 500."""
    q = jq("default")
    parent = q.enqueue(jobs.fail, "x")
    child = q.enqueue(jobs.add, 1, 2, depends_on=parent)
    run_jobs()
    redis_conn.hset(parent.key, "dependents", dependents)
    path = ADMIN + "queues/default/failed/bulk/"
    selected = admin.post(path, {"action": "delete", "_selected_action": [parent.id]})
    assert selected.status_code == 200 and b"Delete 1 failed job" in selected.content
    everything = admin.get(path, {"action": "delete", "all": "1"})
    assert everything.status_code == 200
    redis_conn.hset(parent.key, "status", BAD)
    deferred = admin.get(ADMIN + "queues/default/deferred/")
    assert deferred.status_code == 200
    (row,) = deferred.context["rows"]
    assert row["id"] == child.id and row["parents"][0]["status"] == "\\xff\\xfe"


@pytest.mark.parametrize(
    "value", [b'[{"a": 1}]', b"[[1]]", b"[null, 5, 1e999]", b'{"a": 1}', b"\xff", b"nope"]
)
@pytest.mark.parametrize("field", ["deps", "pending", "dependents"])
def test_lists_of_job_keys_written_badly_leave_the_lists_and_job_pages_working(
    admin, jq, run_jobs, redis_conn, field, value
):
    """The Deferred list and the job page's dependency graph met numbers,
    objects and nulls where job keys belong: 500."""
    q = jq("default")
    parent = q.enqueue(jobs.fail, "x")
    child = q.enqueue(jobs.add, 1, 2, depends_on=parent)
    run_jobs()
    for job in (parent, child):
        redis_conn.hset(job.key, field, value)
    for page in (
        "queues/default/failed/",
        "queues/default/deferred/",
        f"queues/default/jobs/{parent.id}/",
        f"queues/default/jobs/{child.id}/",
    ):
        assert admin.get(ADMIN + page).status_code == 200, page
    deferred = admin.get(ADMIN + "queues/default/deferred/").context["rows"]
    assert [row["id"] for row in deferred] == [child.id]
