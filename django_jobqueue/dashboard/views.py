"""The dashboard's pages and actions.

Every view is wrapped by :func:`dashboard_view`, which sends anonymous and
non-staff users to the admin login and refuses (403) staff without the app's
view permission. Actions check their own permission again inside the view:
``change`` to requeue, cancel or stop, ``delete`` to delete or empty. Every
mutation is a POST (with CSRF) after a confirmation page, reports through the
messages framework and redirects only to same-site URLs.
"""

from __future__ import annotations

import pprint
import re
import reprlib
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.template.loader import get_template
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from ..conf import get_settings
from ..engine import bulk
from ..engine.connection import UNAVAILABLE
from ..engine.errors import InvalidJobOperation, JobQueueError, NoSuchJobError
from ..engine.job import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, Job
from ..engine.keys import validate_job_id
from ..engine.live import WorkerState, all_workers, live_state, pool_children, running_jobs
from ..engine.progress import Progress, fetch_progress
from ..engine.stats import queue_stats, throughput
from ..engine.utils import as_str, now, to_datetime, truncate
from ..engine.worker import stop_job
from ..models import Dashboard
from ..queues import get_queue
from . import operations
from .charts import throughput_chart
from .graph import NODE_HEIGHT, NODE_WIDTH, dependency_graph
from .pagination import loader, queue_range, registry_range, row_loader

#: The lists of a queue in the order of its tabs: the queue, then its registries.
LISTS = ("queued", "started", "deferred", "scheduled", "finished", "failed", "canceled")
PER_PAGE = (25, 50, 100)
PAGE_VAR = "p"
SEARCH_VAR = "q"

#: action -> (permission, statuses it applies to)
JOB_ACTIONS = {
    "requeue": ("change", {"failed", "stopped", "canceled"}),
    "cancel": ("change", {"queued", "deferred", "scheduled"}),
    "stop": ("change", {"started"}),
    "delete": ("delete", None),
}
BULK_ACTIONS = {"requeue": "change", "delete": "delete"}
#: Signs what a confirmation of an action on all the jobs of a list recorded.
SELECTION_SALT = "django_jobqueue.dashboard.selection"

_repr = reprlib.Repr()
_repr.maxstring = 120
_repr.maxother = 120


def _label(slug: str) -> str:
    return {
        "queued": _("Queued"),
        "started": _("Started"),
        "deferred": _("Deferred"),
        "scheduled": _("Scheduled"),
        "finished": _("Finished"),
        "failed": _("Failed"),
        "canceled": _("Canceled"),
        "stopped": _("Stopped"),
    }.get(slug, slug)


def _action_label(action: str) -> str:
    return {
        "requeue": _("Requeue"),
        "cancel": _("Cancel"),
        "stop": _("Stop"),
        "delete": _("Delete"),
    }[action]


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


def safe_next(request: Any, default: str) -> str:
    """The ``next`` the request carries when it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# -- job rows -----------------------------------------------------------------------------


def human_duration(seconds: float | None) -> str:
    """A duration for people: "0.012 s", "42 s", "3 min 20 s", "8 h", "365 d".

    Under a minute, fractions of a second are kept (to the millisecond);
    above, the two largest units (rounded to the second).
    """
    if seconds is None:
        return "—"
    if seconds < 60:
        if seconds and seconds < 0.001:
            return _("< 1 ms")
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return _("%(n)s s") % {"n": text}
    units = ((86400, _("%(n)d d")), (3600, _("%(n)d h")), (60, _("%(n)d min")), (1, _("%(n)d s")))
    left = round(seconds)
    counts = []
    for size, unit in units:
        count, left = divmod(left, size)
        counts.append((count, unit))
    # The largest unit present, and the next one when it is not zero.
    first = next(i for i, (count, _unit) in enumerate(counts) if count)
    shown = [counts[first]] + [c for c in counts[first + 1 : first + 2] if c[0]]
    return " ".join(unit % {"n": count} for count, unit in shown)


_BREAK_AFTER = re.compile(r"(?<=[.,(=])")


def breakable(text: str) -> SafeString:
    """``text`` escaped, with line-break opportunities (``<wbr>``) after dots, commas,
    opening brackets and equals signs only: a call wraps between names, never
    inside one (CSS breaks a name only when it is wider than its column)."""
    return mark_safe("<wbr>".join(escape(part) for part in _BREAK_AFTER.split(text)))


def _duration(job: Job) -> float | None:
    if job.started_at and job.ended_at:
        return max((job.ended_at - job.started_at).total_seconds(), 0.0)
    return None


def _summary(job: Job, status: str | None) -> tuple[str, str]:
    """``(kind, text)``: the result or the exception, in one line.

    Only reads what the job hash already brought (no extra round trip); a
    value too large to bring for a list row (see ``row_loader``) is named by
    its size.
    """
    omitted = getattr(job, "omitted", {})
    if status in ("failed", "stopped") and "exc_info" in omitted:
        return "error", _("(a traceback of %(size)s: open the job to read it)") % {
            "size": filesizeformat(omitted["exc_info"])
        }
    if status == "finished" and "result" in omitted:
        return "result", _("(a result of %(size)s: open the job to see it)") % {
            "size": filesizeformat(omitted["result"])
        }
    if status in ("failed", "stopped") and job._exc_info:
        lines = [line for line in job._exc_info.strip().splitlines() if line.strip()]
        return "error", truncate(lines[-1] if lines else "", 200)
    if status == "finished" and job._result_raw is not None:
        try:
            return "result", truncate(_repr.repr(job.result), 200)
        except Exception as exc:  # a class the web process cannot import, say
            return "error", _("(the result cannot be read: %(error)s)") % {
                "error": f"{type(exc).__name__}: {exc}"
            }
    return "", ""


def progress_context(
    progress: Progress | None, status: str | None = "started"
) -> dict[str, Any] | None:
    """What ``_progress.html`` shows of a job's progress; None when it reported none.

    Only a running job (``status`` "started") gets an ETA: one that stopped,
    failed or finished will not end at that time.
    """
    if progress is None:
        return None
    moment = now()
    eta = progress.eta_timestamp if status == "started" else None
    return {
        "percent": progress.percent,
        "text": progress.describe(),
        "note": progress.note,
        "eta": None if eta is None else progress.eta,
        # Whole seconds: the ``timeuntil`` filter says "0 minutes" for anything short.
        "eta_in": None if eta is None else max(int(eta - moment), 0),
        "updated_at": progress.updated_at,
        "updated_ago": max(int(moment - progress.updated), 0),
    }


def job_row(request: Any, queue: Any, job_id: str, job: Job | None) -> dict[str, Any]:
    if job is None:
        return {"id": job_id, "missing": True, "url": url(request, "job", queue.name, job_id)}
    status = as_str(job.get_status(refresh=False))
    kind, summary = _summary(job, status)
    return {
        "id": job.id,
        "missing": False,
        "url": url(request, "job", queue.name, job.id),
        # A call too large to read for a row is shown by its function's name.
        "description": breakable(
            f"{job.func_name}(\u2026)"
            if "data" in getattr(job, "omitted", {})
            else job.description or job.func_name or ""
        ),
        "status": status,
        "status_label": _label(status) if status else _("unknown"),
        "enqueued_at": job.enqueued_at,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
        "duration": _duration(job),
        "summary_kind": kind,
        "summary": summary,
        # Read from the hash the page already fetched; only running jobs get a bar.
        "progress": progress_context(job.progress) if status == "started" else None,
    }


# -- pages --------------------------------------------------------------------------------


@dashboard_view
def overview(request: Any, site: Any) -> Any:
    names = list(get_settings().queues)
    queues = [get_queue(name) for name in names]
    rows = queue_stats(queues)
    for row in rows:
        row["url"] = url(request, "queue", row["name"])
        row["lists"] = [
            (slug, row[slug], url(request, "list", row["name"], slug)) for slug in LISTS[1:]
        ]
    chart = throughput_chart(*throughput(queues)) if queues else None
    context = page_context(
        request,
        site,
        _("Job queues"),
        [],
        rows=rows,
        chart=chart,
        tools=[
            (_("Periodic jobs"), url(request, "cron"), "jq-cron"),
            (_("Workers"), url(request, "workers"), "jq-workers"),
        ],
        list_labels=[(_label(s), s) for s in LISTS[1:]],
        chart_title=_("Jobs per minute, all queues, last hour"),
    )
    context["crumbs"][-1] = (_("Queues"), None)
    return render(request, "django_jobqueue/dashboard/overview.html", context)


def _worker_row(
    request: Any, info: dict[str, Any], names: list[str], jobs: list[tuple[str, str]]
) -> dict[str, Any]:
    """One row of the Workers page, from a worker's (or a pool child's) registration.

    ``jobs`` are the jobs it runs now (see :func:`~.engine.worker.running_jobs`):
    they decide its current job and whether it is busy, since the registration
    says so only as of its last heartbeat (see
    :func:`~.engine.worker.live_state`).
    """
    current_queue, current = jobs[0] if jobs else (None, None)
    state = live_state(info.get("state", ""), bool(jobs))
    return {
        "name": info.get("name", ""),
        "hostname": info.get("hostname", ""),
        "pid": info.get("pid", ""),
        "state": state,
        "queues": [
            (q, url(request, "queue", q) if q in names else None)
            for q in (info.get("queues") or "").split(",")
            if q
        ],
        "current_job": current,
        "current_queue": current_queue,
        "current_job_url": (
            url(request, "job", current_queue, current)
            if current and current_queue in names
            else None
        ),
        "successful": info.get("successful", "0"),
        "failed": info.get("failed", "0"),
        "last_heartbeat": to_datetime(info.get("last_heartbeat")),
        "birth": to_datetime(info.get("birth")),
        "progress": None,
        "pool": info.get("execution") == "pool",
        "children": [],
    }


@dashboard_view
def workers(request: Any, site: Any) -> Any:
    """Every live worker; a pool is one row with its children listed under it.

    Per connection: the set of workers, their registrations, the children of
    its pools, the started registries of the queues they serve, who runs each
    started job, and the progress of those jobs: one round trip each however
    many workers and jobs there are (the last two only when a job runs).
    """
    names = list(get_settings().queues)
    seen: dict[int, Any] = {}
    for name in names:
        queue = get_queue(name)
        seen.setdefault(id(queue.connection), queue)
    rows = []
    for queue in seen.values():
        infos = all_workers(queue.connection, queue.keys.prefix)
        children = pool_children(queue.connection, infos, queue.keys.prefix)
        served = [
            q
            for info in [*infos, *(c for pool in children.values() for c in pool)]
            for q in (info.get("queues") or "").split(",")
            if q
        ]
        jobs = running_jobs(queue.connection, served, queue.keys.prefix)
        running = []
        for info in infos:
            name = info.get("name", "")
            row = _worker_row(request, info, names, jobs.get(name, []))
            row["children"] = [
                _worker_row(request, child, names, jobs.get(child.get("name", ""), []))
                for child in children.get(name, [])
            ]
            row["busy_children"] = sum(1 for c in row["children"] if c["current_job"])
            if row["busy_children"]:
                row["state"] = WorkerState.BUSY  # a pool is busy while a child is
            rows.append(row)
            running += [r for r in (row, *row["children"]) if r["current_job"]]
        found = fetch_progress(
            queue.connection,
            [queue.keys.job(r["current_queue"], r["current_job"]) for r in running],
        )
        for row, progress in zip(running, found):
            row["progress"] = progress_context(progress)
    rows.sort(key=lambda r: r["name"])
    context = page_context(request, site, _("Workers"), [(_("Workers"), None)], rows=rows)
    return render(request, "django_jobqueue/dashboard/workers.html", context)


@dashboard_view
def job_list(request: Any, queue: str, site: Any, slug: str = "queued") -> Any:
    """One list of a queue, newest first: the queue itself or one registry (by slug)."""
    if slug not in LISTS:
        raise Http404(_("Unknown job list."))
    queue_obj = configured_queue(queue)
    registry = None if slug == "queued" else queue_obj.registries[slug]
    try:
        per_page = int(request.GET.get("per_page", PER_PAGE[0]))
    except ValueError:
        per_page = PER_PAGE[0]
    if per_page not in PER_PAGE:
        per_page = PER_PAGE[0]
    search = request.GET.get(SEARCH_VAR, "").strip()
    search_error = ""
    if search:
        source: Any = _search(queue_obj, registry, search)
        if source is None:
            search_error = _("“%(id)s” is not a valid job id.") % {"id": search}
            source = []
    elif registry is None:
        source = queue_range(queue_obj)
    else:
        # Scheduled jobs come soonest first: what runs next is what one looks for.
        source = registry_range(queue_obj, registry, desc=slug != "scheduled")
    paginator = Paginator(source, per_page)
    page = paginator.get_page(request.GET.get(PAGE_VAR))
    rows = [job_row(request, queue_obj, job_id, job) for job_id, job in page.object_list]
    if slug == "scheduled" and rows and registry is not None:
        runs_at = queue_obj.connection.zmscore(registry.key, [row["id"] for row in rows])
        for row, score in zip(rows, runs_at):
            row["runs_at"] = to_datetime(score)

    counts = queue_stats([queue_obj])[0]
    tabs = [
        {
            "slug": s,
            "label": _label(s),
            "count": counts[s],
            "url": url(request, "queue", queue)
            if s == "queued"
            else url(request, "list", queue, s),
            "active": s == slug,
        }
        for s in LISTS
    ]
    here = url(request, "queue", queue) if slug == "queued" else url(request, "list", queue, slug)
    bulk = []
    if has_perm(request, "change") and slug in operations.REQUEUEABLE_LISTS:
        bulk.append(("requeue", _("Requeue selected jobs")))
    if has_perm(request, "delete"):
        bulk.append(("delete", _("Delete selected jobs")))
    tools = _queue_tools(request, queue, slug, counts, here)
    chart = (
        throughput_chart(*throughput([queue_obj]))
        if slug in ("queued", "finished", "failed")
        else None
    )

    def page_url(number: Any) -> str:
        query = request.GET.copy()
        query[PAGE_VAR] = number
        return f"?{query.urlencode()}"

    page_links = [
        (n, page_url(n) if n != str(paginator.ELLIPSIS) else None)
        for n in paginator.get_elided_page_range(page.number)
    ]
    per_page_links = []
    for n in PER_PAGE:
        query = request.GET.copy()
        query["per_page"] = n
        query.pop(PAGE_VAR, None)
        per_page_links.append((n, f"?{query.urlencode()}", n == per_page))
    title = _("%(list)s jobs of queue %(queue)s") % {"list": _label(slug), "queue": queue}
    crumbs = [(queue, None if slug == "queued" else url(request, "queue", queue))]
    if slug != "queued":
        crumbs.append((_label(slug), None))
    context = page_context(
        request,
        site,
        title,
        crumbs,
        queue=queue,
        slug=slug,
        slug_label=_label(slug),
        tabs=tabs,
        rows=rows,
        page=page,
        paginator=paginator,
        page_links=page_links,
        per_page_links=per_page_links,
        per_page=per_page,
        search=search,
        search_error=search_error,
        bulk_actions=bulk,
        tools=tools,
        chart=chart,
        here=here,
        bulk_url=url(request, "bulk", queue, slug),
        full_path=request.get_full_path(),
        chart_title=_("Jobs per minute on queue %(queue)s, last hour") % {"queue": queue},
    )
    return render(request, "django_jobqueue/dashboard/job_list.html", context)


def _search(queue: Any, registry: Any, job_id: str) -> list | None:
    """The one job with this id in this list, or an empty list; None for an invalid id."""
    try:
        validate_job_id(job_id)
    except ValueError:
        return None
    (job,) = row_loader(queue)([job_id])
    if registry is None:
        found = job is not None and as_str(job.get_status(refresh=False)) == "queued"
    else:
        found = job_id in registry
    return [(job_id, job)] if found else []


def _queue_tools(request: Any, queue: str, slug: str, counts: dict, here: str) -> list:
    """The per-queue actions shown on a list: ``(label, url, css class)``."""
    tools = []

    def bulk_url(list_slug: str, action: str) -> str:
        return f"{url(request, 'bulk', queue, list_slug)}?action={action}&all=1"

    if slug == "queued" and has_perm(request, "delete") and counts["queued"]:
        tools.append((_("Empty queue"), bulk_url("queued", "delete"), "jq-empty"))
    if slug in ("queued", "failed") and counts["failed"]:
        if has_perm(request, "change"):
            tools.append(
                (_("Requeue all failed"), bulk_url("failed", "requeue"), "jq-requeue-failed")
            )
        if has_perm(request, "delete"):
            tools.append((_("Delete all failed"), bulk_url("failed", "delete"), "jq-delete-failed"))
    return tools


def _pretty(value: Any, limit: int = 20_000) -> str:
    return truncate(pprint.pformat(value, width=100, sort_dicts=False), limit)


@dashboard_view
def job_detail(request: Any, queue: str, job_id: str, site: Any) -> Any:
    queue_obj = configured_queue(queue)
    job = _fetch(queue_obj, job_id)
    if job is None:
        context = page_context(
            request,
            site,
            _("Job not found"),
            [(queue, url(request, "queue", queue)), (job_id, None)],
            queue=queue,
            job_id=job_id,
        )
        return render(request, "django_jobqueue/dashboard/job_missing.html", context, status=404)
    status = as_str(job.get_status(refresh=False))
    try:
        call = {
            "args": [_pretty(a) for a in job.args],
            "kwargs": [(k, _pretty(v)) for k, v in job.kwargs.items()],
            "error": "",
        }
    except JobQueueError as exc:
        call = {"args": [], "kwargs": [], "error": str(exc)}
    result, result_error = None, ""
    if status == "finished" and job._result_raw is not None:
        try:
            result = _pretty(job.result)
        except Exception as exc:
            result_error = f"{type(exc).__name__}: {exc}"
    expires_in = job.connection.ttl(job.key)
    expires_at = (
        to_datetime(now() + expires_in) if expires_in is not None and expires_in >= 0 else None
    )
    runs_at = None
    if status == "scheduled":
        runs_at = to_datetime(job.connection.zscore(queue_obj.scheduled_job_registry.key, job.id))
    graph = dependency_graph(job.connection, job.keys, job.key)
    for node in graph.nodes:
        node.url = (
            None
            if node.missing or node.queue not in get_settings().queues
            else url(request, "job", node.queue, node.id)
        )
        node.status_label = _label(node.status) if node.status else _("deleted or expired")
        node.call = breakable(node.description)
    tools = [
        (_action_label(a), url(request, "job_action", queue, job.id, a), f"jq-action-{a}")
        for a, (perm, statuses) in JOB_ACTIONS.items()
        if has_perm(request, perm) and (statuses is None or status in statuses)
    ]
    list_slug = "failed" if status == "stopped" else status
    crumbs: list[tuple[str, str | None]] = [(queue, url(request, "queue", queue))]
    if list_slug in LISTS and list_slug != "queued":
        crumbs.append((_label(list_slug), url(request, "list", queue, list_slug)))
    crumbs.append((job.id, None))
    context = page_context(
        request,
        site,
        _("Job %(id)s") % {"id": job.id},
        crumbs,
        queue=queue,
        job=job,
        status=status,
        status_label=_label(status) if status else _("unknown"),
        call=call,
        result=result,
        result_error=result_error,
        meta=_pretty(job.meta) if job.meta else "",
        function=breakable(job.func_name or ""),
        description=breakable(job.description),
        exc_info=job._exc_info or "",
        duration=_duration(job),
        duration_text=human_duration(_duration(job)),
        expires_in=expires_in,
        expires_in_text=human_duration(expires_in) if expires_at else "",
        expires_at=expires_at,
        ttls=_ttls(job, queue),
        graph=graph,
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        tools=tools,
        worker_url=url(request, "workers"),
        runs_at=runs_at,
        progress=progress_context(job.progress, status),
    )
    return render(request, "django_jobqueue/dashboard/job_detail.html", context)


def _ttls(job: Job, queue: str) -> list[tuple[str, str, str, str]]:
    """The job page's limits: ``(row id, label, value, where it comes from)``."""

    def seconds(value: int | None, none: str) -> str:
        if value is None or value < 0:
            return none
        if value == 0:
            return _("not kept")
        return human_duration(value)

    config = get_settings().queues.get(queue)
    queue_result_ttl = config.default_result_ttl if config else None
    if job.result_ttl is None:
        result = (
            seconds(DEFAULT_RESULT_TTL, ""),
            _("the workers' default: neither the job nor queue %(queue)s set one")
            % {"queue": queue},
        )
    elif job.result_ttl == queue_result_ttl:
        result = (
            seconds(job.result_ttl, _("forever")),
            _("the DEFAULT_RESULT_TTL of queue %(queue)s") % {"queue": queue},
        )
    else:
        result = (seconds(job.result_ttl, _("forever")), _("set for this job"))
    failure_ttl = job.failure_ttl if job.failure_ttl is not None else DEFAULT_FAILURE_TTL
    return [
        ("job-timeout", _("Timeout"), seconds(job.timeout, _("none")), ""),
        ("job-result-ttl", _("Result kept for"), *result),
        (
            "job-failure-ttl",
            _("Failure kept for"),
            seconds(failure_ttl, _("forever")),
            _("the default") if failure_ttl == DEFAULT_FAILURE_TTL else _("set for this job"),
        ),
        (
            "job-ttl",
            _("May wait in the queue for"),
            seconds(job.ttl, _("no limit")),
            "",
        ),
    ]


def _fetch(queue: Any, job_id: str) -> Job | None:
    try:
        validate_job_id(job_id)
    except ValueError:
        return None
    # From Redis even for a queue configured to run inline (ASYNC = False),
    # whose fetch_job() looks in this process's memory.
    return loader(queue)([job_id])[0]


# -- actions ------------------------------------------------------------------------------


@dashboard_view
def job_action(request: Any, queue: str, job_id: str, action: str, site: Any) -> Any:
    if action not in JOB_ACTIONS:
        raise Http404(_("Unknown action."))
    permission, statuses = JOB_ACTIONS[action]
    require(request, permission)
    queue_obj = configured_queue(queue)
    job_url = url(request, "job", queue, job_id)
    job = _fetch(queue_obj, job_id)
    if job is None:
        messages.error(request, _("Job %(id)s does not exist any more.") % {"id": job_id})
        return HttpResponseRedirect(safe_next(request, url(request, "queue", queue)))
    status = as_str(job.get_status(refresh=False))
    if request.method == "POST" and request.POST.get("post") == "yes":
        back = url(request, "queue", queue) if action == "delete" else job_url
        try:
            text = _perform(job, action)
        except (InvalidJobOperation, NoSuchJobError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, text)
        return HttpResponseRedirect(safe_next(request, back))
    if statuses is not None and status not in statuses:
        messages.error(
            request,
            _("Job %(id)s is %(status)s: it cannot be %(action)s.")
            % {"id": job_id, "status": status, "action": _past(action)},
        )
        return HttpResponseRedirect(job_url)
    question = {
        "requeue": _("Requeue job %(id)s? It goes back to the end of queue %(queue)s."),
        "cancel": _("Cancel job %(id)s? It will not run; jobs waiting on it are told."),
        "stop": _("Stop job %(id)s? Its worker aborts it and records it as stopped."),
        "delete": _("Delete job %(id)s? Its data, result and traceback are removed for good."),
    }[action] % {"id": job_id, "queue": queue}
    context = page_context(
        request,
        site,
        _("Are you sure?"),
        [(queue, url(request, "queue", queue)), (job_id, job_url), (_action_label(action), None)],
        question=question,
        action=action,
        action_label=_action_label(action),
        hidden=[("next", safe_next(request, ""))] if safe_next(request, "") else [],
        cancel_url=safe_next(request, job_url),
        items=[],
        dangerous=action == "delete",
    )
    return render(request, "django_jobqueue/dashboard/confirm.html", context)


def _past(action: str) -> str:
    return {
        "requeue": _("requeued"),
        "cancel": _("canceled"),
        "stop": _("stopped"),
        "delete": _("deleted"),
    }[action]


def _perform(job: Job, action: str) -> str:
    if action == "requeue":
        status = job.requeue()
        return _("Job %(id)s was requeued (%(status)s).") % {"id": job.id, "status": _label(status)}
    if action == "cancel":
        job.cancel()
        return _("Job %(id)s was canceled.") % {"id": job.id}
    if action == "stop":
        if stop_job(job) == "stopped":
            return _("Job %(id)s was stopped (its worker was gone).") % {"id": job.id}
        return _("Job %(id)s: its worker was asked to stop it.") % {"id": job.id}
    job.delete()
    return _("Job %(id)s was deleted.") % {"id": job.id}


@dashboard_view
def bulk_action(request: Any, queue: str, slug: str, site: Any) -> Any:
    """Requeue or delete the selected jobs of a list, or all of them, after confirmation.

    The list's form POSTs here (``action``, ``_selected_action`` ids or
    ``select_across=1``): that shows the confirmation. The per-queue buttons
    GET here with ``all=1``. The confirmation POSTs with ``post=yes``. For all
    the jobs of a registry, the confirmation records which jobs it holds and
    carries that record signed (``selection``): the action applies to those
    jobs only, once each, however the registry changes meanwhile.
    """
    if slug not in LISTS:
        raise Http404(_("Unknown job list."))
    queue_obj = configured_queue(queue)
    here = url(request, "queue", queue) if slug == "queued" else url(request, "list", queue, slug)
    data = request.POST if request.method == "POST" else request.GET
    action = data.get("action", "")
    if action not in BULK_ACTIONS:
        messages.warning(request, _("No action selected."))
        return HttpResponseRedirect(here)
    require(request, BULK_ACTIONS[action])
    if action == "requeue" and slug not in operations.REQUEUEABLE_LISTS:
        messages.error(request, _("Only failed and canceled jobs can be requeued."))
        return HttpResponseRedirect(here)
    everything = data.get("select_across") == "1" or data.get("all") == "1"
    ids = [] if everything else [i for i in data.getlist("_selected_action") if _valid_id(i)]
    if not everything and not ids:
        messages.warning(
            request,
            _(
                "Items must be selected in order to perform actions on "
                "them. No items have been changed."
            ),
        )
        return HttpResponseRedirect(safe_next(request, here))
    back = safe_next(request, here)
    if request.method == "POST" and data.get("post") == "yes":
        if everything:
            token = _confirmed_selection(data.get("selection", ""), queue, slug, action)
            if token is None:
                messages.error(
                    request,
                    _(
                        "That confirmation is no longer valid (it is kept for an hour). "
                        "Here are the jobs the list holds now: confirm again."
                    ),
                )
                query = {"action": action, "all": "1", "next": back}
                return HttpResponseRedirect(
                    f"{url(request, 'bulk', queue, slug)}?{urlencode(query)}"
                )
            try:
                done, skipped = operations.apply_to_all(queue_obj, slug, action, token)
            except bulk.SelectionExpired:
                messages.error(
                    request,
                    _(
                        "Nothing was done: the jobs of that confirmation were already "
                        "acted on, or it expired. Open the action again to act on the "
                        "jobs the list holds now."
                    ),
                )
                return HttpResponseRedirect(back)
        else:
            operation = operations.requeue if action == "requeue" else operations.delete
            done, skipped = operation(queue_obj, ids)
        if action == "requeue":
            text = ngettext("Requeued %(count)d job.", "Requeued %(count)d jobs.", done)
        else:
            text = ngettext("Deleted %(count)d job.", "Deleted %(count)d jobs.", done)
        messages.success(request, text % {"count": done})
        if skipped and action == "requeue":
            messages.warning(
                request,
                ngettext(
                    "%(count)d job was not requeued: it had left the list or could no "
                    "longer be requeued.",
                    "%(count)d jobs were not requeued: they had left the list or could no "
                    "longer be requeued.",
                    skipped,
                )
                % {"count": skipped},
            )
        elif skipped and everything:
            messages.info(
                request,
                ngettext(
                    "%(count)d job had already left the list.",
                    "%(count)d jobs had already left the list.",
                    skipped,
                )
                % {"count": skipped},
            )
        return HttpResponseRedirect(back)
    selection = ""
    if everything:
        token, count = operations.select_all(queue_obj, slug)
        selection = signing.dumps(
            {"queue": queue, "list": slug, "action": action, "token": token},
            salt=SELECTION_SALT,
        )
    else:
        count = len(ids)
    if everything and slug == "queued":
        question = ngettext(
            "Empty queue %(queue)s? Its %(count)d waiting job is deleted.",
            "Empty queue %(queue)s? All %(count)d waiting jobs are deleted.",
            count,
        )
    elif action == "requeue":
        question = ngettext(
            "Requeue %(count)d %(list)s job of queue %(queue)s?",
            "Requeue %(count)d %(list)s jobs of queue %(queue)s?",
            count,
        )
    else:
        question = ngettext(
            "Delete %(count)d %(list)s job of queue %(queue)s? This cannot be undone.",
            "Delete %(count)d %(list)s jobs of queue %(queue)s? This cannot be undone.",
            count,
        )
    question = question % {"count": count, "queue": queue, "list": _label(slug).lower()}
    hidden = [("action", action)]
    if everything:
        hidden += [("select_across", "1"), ("selection", selection)]
    else:
        hidden += [("_selected_action", i) for i in ids]
    if safe_next(request, ""):
        hidden.append(("next", safe_next(request, "")))
    crumbs: list[tuple[str, str | None]] = [(queue, url(request, "queue", queue))]
    if slug != "queued":
        crumbs.append((_label(slug), here))
    crumbs.append((_action_label(action), None))
    context = page_context(
        request,
        site,
        _("Are you sure?"),
        crumbs,
        question=question,
        action=action,
        action_label=_action_label(action),
        hidden=hidden,
        cancel_url=back,
        items=ids[:20],
        more=max(len(ids) - 20, 0),
        dangerous=action == "delete",
    )
    return render(request, "django_jobqueue/dashboard/confirm.html", context)


def _valid_id(job_id: str) -> bool:
    try:
        validate_job_id(job_id)
    except ValueError:
        return False
    return True


def _confirmed_selection(value: str, queue: str, slug: str, action: str) -> str | None:
    """The selection token a confirmation form carries, if signed here for this action."""
    try:
        data = signing.loads(value, salt=SELECTION_SALT, max_age=bulk.SELECTION_TTL)
    except signing.BadSignature:  # also an expired one
        return None
    if not isinstance(data, dict) or (data.get("queue"), data.get("list"), data.get("action")) != (
        queue,
        slug,
        action,
    ):
        return None
    token = data.get("token")
    return token if isinstance(token, str) else None
