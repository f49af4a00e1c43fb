"""rqstats and the metrics endpoint with keys of the wrong type in Redis: the
other queues' numbers still come back (see tests/engine/test_corrupt_data.py)."""

from __future__ import annotations

import json

import pytest

from django_jobqueue.engine.corrupt import damage
from django_jobqueue.queues import get_queue

from . import tasks
from .test_commands import run

# manage.py rqstats lists the periodic jobs of the database too.
pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "t0k3n-" + "x" * 40


@pytest.fixture(autouse=True)
def _bad_keys(settings, jq):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    settings.JOBQUEUE_API_TOKEN = TOKEN
    damage.bad.clear()
    get_queue("default").enqueue(tasks.add, 1, 1)
    low = get_queue("low")
    for key in (
        low.key,
        low.keys.priority("low"),
        *(low.keys.registry("low", kind) for kind in ("started", "scheduled", "failed")),
        low.keys.metrics("low"),
        low.keys.workers,
    ):
        jq.delete(key)
        jq.set(key, "x")
    yield
    damage.bad.clear()


def test_rqstats_shows_the_sound_queues(jq):
    out, _ = run("rqstats", "--json", "--scheduled", "5", "--running", "5")
    rows = {row["name"]: row for row in json.loads(out)["queues"]}
    assert rows["default"]["queued"] == 1
    assert rows["low"]["queued"] == 0


@pytest.mark.django_db
@pytest.mark.urls("tests.django.metrics_urls")
def test_stats_json_shows_the_sound_queues(client):
    response = client.get("/jobqueue/stats.json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()["queues"]}
    assert rows["default"]["queued"] == 1
