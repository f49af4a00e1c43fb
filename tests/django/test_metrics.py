"""The metrics endpoints: who may see them, and what Prometheus and scripts get."""

from __future__ import annotations

import importlib.util
import signal

import pytest
from django.core import checks

from django_jobqueue.engine import SimpleWorker
from django_jobqueue.metrics import views
from django_jobqueue.queues import get_queue

from . import tasks

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.django.metrics_urls")]

METRICS = "/jobqueue/metrics"
STATS = "/jobqueue/stats.json"
TOKEN = "t0k3n-" + "x" * 40
needs_prometheus = pytest.mark.skipif(
    importlib.util.find_spec("prometheus_client") is None,
    reason="prometheus_client is not installed (the prometheus extra)",
)


@pytest.fixture(autouse=True)
def _settings(settings, jq):
    settings.JOBQUEUE_API_TOKEN = TOKEN
    settings.JOBQUEUE_COMMIT_MODE = "immediate"


@pytest.fixture
def staff(django_user_model, client):
    """A staff user with the dashboard's view permission, logged in."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="django_jobqueue", codename="view_dashboard")
    )
    client.force_login(user)
    return client


@pytest.fixture
def worked(key_prefix):
    """Three jobs finished and one failed on 'default', one waiting on 'high'."""
    default = get_queue("default")
    for i in range(3):
        default.enqueue(tasks.add, i, 1)
    default.enqueue(tasks.fail)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    SimpleWorker([default], connection=default.connection, prefix=key_prefix).work(
        burst=True, logging_level=None
    )
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    get_queue("high").enqueue(tasks.add, 1, 1)


@pytest.mark.parametrize("url", [METRICS, STATS])
def test_anonymous_gets_401_with_a_bearer_challenge(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"JOBQUEUE_API_TOKEN" in response.content


@pytest.mark.parametrize("url", [METRICS, STATS])
def test_a_logged_in_user_who_is_not_staff_gets_403(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("bob", password="pw"))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [METRICS, STATS])
def test_staff_without_the_dashboard_permission_get_403_unless_they_send_the_token(
    client, django_user_model, url
):
    user = django_user_model.objects.create_user("plain-staff", password="pw", is_staff=True)
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 403
    assert b"django_jobqueue.view_dashboard" in response.content
    assert client.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    superuser = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(superuser)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", [METRICS, STATS])
def test_staff_and_the_token_get_in(staff, client, url):
    assert staff.get(url).status_code == 200
    staff.logout()
    assert client.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("url", [METRICS, STATS])
def test_a_wrong_token_gets_401_even_for_staff(staff, url):
    response = staff.get(url, headers={"Authorization": f"Bearer {TOKEN}x"})
    assert response.status_code == 401
    assert b"Wrong bearer token" in response.content


def test_no_token_set_means_bearer_auth_is_off(settings, client):
    settings.JOBQUEUE_API_TOKEN = ""
    response = client.get(STATS, headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert b"Bearer tokens are off" in response.content


def test_the_token_is_compared_in_constant_time(client, monkeypatch):
    compared = []

    def compare_digest(a, b):
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(views.hmac, "compare_digest", compare_digest)
    client.get(STATS, headers={"Authorization": f"Bearer {TOKEN}"})
    assert compared == [(TOKEN.encode(), TOKEN.encode())]


def test_only_get_is_allowed(staff):
    assert staff.post(STATS).status_code == 405


def test_stats_json_has_every_number(staff, worked):
    data = staff.get(STATS).json()
    rows = {row["name"]: row for row in data["queues"]}
    assert set(rows) == {"default", "high", "low"}
    default, high = rows["default"], rows["high"]
    assert (default["finished"], default["failed"], default["queued"]) == (3, 1, 0)
    assert (default["jobs_started"], default["jobs_finished"], default["jobs_failed"]) == (4, 3, 1)
    assert default["duration"]["count"] == default["duration"]["buckets"]["+Inf"] == 4
    assert default["duration"]["sum"] > 0
    assert high["queued"] == 1 and high["jobs_started"] == 0
    assert high["duration"] == {
        "buckets": dict.fromkeys(default["duration"]["buckets"], 0),
        "sum": 0.0,
        "count": 0,
    }
    assert data["workers"] == 0  # the worker above has stopped
    assert data["time"] > 0


@needs_prometheus
def test_prometheus_text_parses_and_has_every_family(staff, worked):
    from prometheus_client.parser import text_string_to_metric_families

    response = staff.get(METRICS)
    assert response["Content-Type"].startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}
    assert set(families) == {
        "jobqueue_jobs",
        "jobqueue_jobs_started",
        "jobqueue_jobs_finished",
        "jobqueue_jobs_failed",
        "jobqueue_job_duration_seconds",
        "jobqueue_queue_workers",
        "jobqueue_workers",
        "rq_jobs",
    }
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("jobqueue_jobs", (("queue", "default"), ("status", "finished")))] == 3
    assert samples[("jobqueue_jobs", (("queue", "high"), ("status", "queued")))] == 1
    assert samples[("jobqueue_jobs_finished_total", (("queue", "default"),))] == 3
    assert samples[("jobqueue_jobs_failed_total", (("queue", "default"),))] == 1
    assert samples[("jobqueue_jobs_started_total", (("queue", "default"),))] == 4
    assert families["jobqueue_jobs_finished"].type == "counter"
    assert families["jobqueue_job_duration_seconds"].type == "histogram"
    inf = (("le", "+Inf"), ("queue", "default"))
    assert samples[("jobqueue_job_duration_seconds_bucket", inf)] == 4
    assert samples[("jobqueue_job_duration_seconds_count", (("queue", "default"),))] == 4
    assert samples[("jobqueue_workers", ())] == 0
    assert families["jobqueue_jobs"].type == "gauge"
    # django-rq's family, for dashboards built on it: the same numbers.
    assert samples[("rq_jobs", (("queue", "default"), ("status", "finished")))] == 3
    assert samples[("rq_jobs", (("queue", "high"), ("status", "queued")))] == 1
    assert {dict(k[1])["status"] for k in samples if k[0] == "rq_jobs"} == {
        "queued",
        "started",
        "finished",
        "failed",
        "deferred",
        "scheduled",
    }


@needs_prometheus
def test_every_scrape_reads_redis_afresh(staff, worked):
    from prometheus_client.parser import text_string_to_metric_families

    def finished() -> float:
        text = staff.get(METRICS).content.decode()
        (family,) = [f for f in text_string_to_metric_families(text) if f.name == "jobqueue_jobs"]
        (value,) = [
            s.value for s in family.samples if s.labels == {"queue": "high", "status": "queued"}
        ]
        return value

    assert finished() == 1
    get_queue("high").enqueue(tasks.add, 2, 2)
    assert finished() == 2


def test_without_prometheus_client_the_endpoint_says_what_to_install(staff, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_prometheus(name, *args, **kwargs):
        if name.startswith("prometheus_client"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_prometheus)
    response = staff.get(METRICS)
    assert response.status_code == 501
    assert b"pip install 'django-jobqueue[prometheus]'" in response.content
    assert staff.get(STATS).status_code == 200


def test_redis_down_is_a_503(staff, settings):
    settings.JOBQUEUE_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    response = staff.get(STATS)
    assert response.status_code == 503
    assert b"Redis is unreachable" in response.content


def _api_token_messages():
    return [m for m in checks.run_checks() if "JOBQUEUE_API_TOKEN" in m.msg]


def test_checks_warn_about_a_short_token(settings):
    settings.JOBQUEUE_API_TOKEN = "short"
    (message,) = _api_token_messages()
    assert message.id == "django_jobqueue.W004" and message.level == checks.WARNING
    settings.JOBQUEUE_API_TOKEN = 12345
    (message,) = _api_token_messages()
    assert message.id == "django_jobqueue.E016"
    settings.JOBQUEUE_API_TOKEN = TOKEN
    assert not _api_token_messages()
    settings.JOBQUEUE_API_TOKEN = ""
    assert not _api_token_messages()
