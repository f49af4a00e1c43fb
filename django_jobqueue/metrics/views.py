"""The metrics endpoints: Prometheus text and the same numbers as JSON.

Both answer a staff user logged in to the site who may view the dashboard
(the same permission its pages ask for), or a client sending
``Authorization: Bearer <JOBQUEUE_API_TOKEN>`` (off while that setting is
empty). A scraper has no session, so the token is how Prometheus gets in; it
is compared in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..conf import get_settings
from ..engine.connection import UNAVAILABLE
from ..engine.stats import queue_metrics
from ..engine.utils import now
from ..models import Dashboard
from ..queues import get_queue

#: The header a 401 carries, so that clients know a bearer token is wanted.
CHALLENGE = 'Bearer realm="django-jobqueue"'


def _refuse(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain")
    if status == 401:
        response["WWW-Authenticate"] = CHALLENGE
    return response


def authorize(request: HttpRequest) -> HttpResponse | None:
    """None when the request may see the metrics, else the response refusing it."""
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer":
        token = get_settings().api_token
        if not token:
            return _refuse(
                401, "Bearer tokens are off: set JOBQUEUE_API_TOKEN, or log in as a staff user."
            )
        if hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        return _refuse(401, "Wrong bearer token.")
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        opts = Dashboard._meta
        if user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            return None
        return _refuse(
            403,
            "Only staff users with the permission to view the job queue dashboard "
            f"({opts.app_label}.view_{opts.model_name}) may see the metrics.",
        )
    if user is not None and user.is_authenticated:
        return _refuse(403, "Only staff users may see the job queue metrics.")
    return _refuse(
        401,
        "Log in as a staff user, or send 'Authorization: Bearer <JOBQUEUE_API_TOKEN>'.",
    )


def read_metrics() -> dict[str, Any]:
    """The numbers of every configured queue that lives in Redis."""
    queues = [get_queue(name) for name in get_settings().queues]
    return queue_metrics([q for q in queues if not q.in_memory])


def _guarded(view: Any) -> Any:
    def wrapper(request: HttpRequest) -> HttpResponse:
        refused = authorize(request)
        if refused is not None:
            return refused
        try:
            return view(request)
        except UNAVAILABLE as exc:
            return _refuse(503, f"Redis is unreachable ({type(exc).__name__}: {exc}).")

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return never_cache(require_GET(wrapper))


@_guarded
def stats_json(request: HttpRequest) -> HttpResponse:
    """The Prometheus numbers as JSON, for scripts: ``{"time", "queues", "workers"}``."""
    return JsonResponse({"time": now(), **read_metrics()})


@_guarded
def prometheus(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus' text format, read from Redis for this scrape."""
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    except ImportError:
        return _refuse(
            501,
            "The Prometheus endpoint needs prometheus_client: "
            "pip install 'django-jobqueue[prometheus]'. stats.json works without it.",
        )
    from .collector import JobQueueCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobQueueCollector(read_metrics))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
