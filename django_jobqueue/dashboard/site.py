"""What every dashboard page shares: access checks, the page context and labels.

Every view is wrapped by :func:`dashboard_view`, which sends anonymous and
non-staff users to the admin login and refuses (403) staff without the app's
view permission. Actions check their own permission again inside the view:
``change`` to requeue, cancel or stop, ``delete`` to delete or empty (see
:mod:`.actions`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from ..conf import get_settings
from ..engine.connection import UNAVAILABLE
from ..models import Dashboard
from ..queues import get_queue

#: The lists of a queue in the order of its tabs: the queue, then its registries.
#: rate_limited: the jobs waiting for a slot of their concurrency limit (see
#: docs/limits.rst), out of the queue until one frees.
LISTS = (
    "queued",
    "started",
    "deferred",
    "scheduled",
    "rate_limited",
    "finished",
    "failed",
    "canceled",
)


def label(slug: str) -> str:
    """A job status or list, for people."""
    return {
        "queued": _("Queued"),
        "started": _("Started"),
        "deferred": _("Deferred"),
        "scheduled": _("Scheduled"),
        "finished": _("Finished"),
        "failed": _("Failed"),
        "canceled": _("Canceled"),
        "stopped": _("Stopped"),
        "rate_limited": _("Waiting for a slot"),
    }.get(slug, slug)


# -- access ---------------------------------------------------------------------------


def has_perm(request: Any, action: str) -> bool:
    """``action`` is "view", "change" or "delete"."""
    opts = Dashboard._meta
    return request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")


def require(request: Any, action: str) -> None:
    if not has_perm(request, action):
        raise PermissionDenied


def dashboard_view(view: Callable) -> Callable:
    """Staff with the view permission only; Redis outages become a page, not a 500."""

    @wraps(view)
    def wrapper(request: Any, *args: Any, site: Any, **kwargs: Any) -> Any:
        user = request.user
        if not (user.is_active and user.is_staff):
            return redirect_to_login(
                request.get_full_path(), reverse("admin:login", current_app=site.name)
            )
        require(request, "view")
        try:
            return view(request, *args, site=site, **kwargs)
        except UNAVAILABLE as exc:  # also a cluster failing over
            context = page_context(request, site, _("Redis is unreachable"), [])
            context["error"] = str(exc)
            return render(
                request, "django_jobqueue/dashboard/unavailable.html", context, status=503
            )

    return never_cache(csrf_protect(wrapper))


# -- shared context -----------------------------------------------------------------------


@cache
def admin_layout() -> dict[str, bool]:
    """What this Django's ``admin/base.html`` offers, so pages match it on 5.2 and 6.x.

    ``ordered_breadcrumbs``: breadcrumbs are an ``<ol>`` (6.x), not a ``<div>``;
    ``tools_in_base``: the base template has an ``object-tools`` block beside
    the title (6.x); before, it sat inside ``content``, which pages replace.
    """
    # The backend's own Template object, which keeps the source text.
    source = getattr(getattr(get_template("admin/base.html"), "template", None), "source", "")
    return {
        "ordered_breadcrumbs": '<ol class="breadcrumbs">' in source,
        "tools_in_base": 'class="titles-and-tools"' in source,
    }


def url(request: Any, name: str, *args: Any) -> str:
    namespace = request.resolver_match.namespace if request.resolver_match else "admin"
    return reverse(f"{namespace}:jobqueue_{name}", args=args)


def page_context(
    request: Any, site: Any, title: str, crumbs: list[tuple[str, str | None]], **extra: Any
) -> dict[str, Any]:
    opts = Dashboard._meta
    home = [
        (_("Home"), reverse("admin:index", current_app=site.name)),
        (
            str(opts.app_config.verbose_name),
            reverse("admin:app_list", kwargs={"app_label": opts.app_label}, current_app=site.name),
        ),
        (_("Queues"), url(request, "overview")),
    ]
    context = {
        **site.each_context(request),
        "title": title,
        "opts": opts,
        "crumbs": home + crumbs,
        **admin_layout(),
        "tools": [],
        "jq_ns": request.resolver_match.namespace if request.resolver_match else "admin",
        "can_change": has_perm(request, "change"),
        "can_delete": has_perm(request, "delete"),
        "workers_url": url(request, "workers"),
    }
    context.update(extra)
    return context


def configured_queue(name: str) -> Any:
    if name not in get_settings().queues:
        raise Http404(_("No queue named %(name)s is configured.") % {"name": name})
    return get_queue(name)


def list_url(request: Any, queue: str, slug: str) -> str:
    """The page of one list of ``queue``: the queue's own for "queued"."""
    return url(request, "queue", queue) if slug == "queued" else url(request, "list", queue, slug)


def safe_next(request: Any, default: str) -> str:
    """The ``next`` the request carries when it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
