"""The lists of a queue (the queue itself and its registries), and actions on many jobs.

A list is read newest first, a page at a time (see :mod:`.pagination`), or
narrowed and sorted by the filters of its URL (:func:`parse_filter`): those
pages are found by a script that walks the list in Redis, so they stay one
round trip however long the list. Its jobs are requeued or deleted by
selection, or all at once (all those the filters match), after a
confirmation (see :mod:`.actions` and :mod:`.operations`).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..engine import bulk
from ..engine.keys import validate_job_id
from ..engine.stats import queue_stats, throughput
from ..engine.utils import to_datetime
from . import operations
from .actions import Confirmation, action_label, confirm, confirmed
from .charts import throughput_chart
from .display import deferred_parents, job_row, status_of
from .pagination import (
    DEFERRED_FIELDS,
    SORTS,
    TIME_FIELDS,
    JobFilter,
    SearchRange,
    list_parts,
    queue_range,
    registry_range,
    row_loader,
)
from .site import (
    LISTS,
    configured_queue,
    dashboard_view,
    has_perm,
    label,
    list_url,
    page_context,
    require,
    safe_next,
    url,
)

PER_PAGE = (25, 50, 100)
PAGE_VAR = "p"
SEARCH_VAR = "q"

#: The query string's filters (see :func:`parse_filter`); a page's links and
#: forms carry them, so a filtered page can be bookmarked, paged and acted on.
FILTER_VARS = ("func", "status", "exc", "time", "from", "to", "o")
#: The statuses a list may be filtered by (an entry whose job's status is not
#: its list's own is what a status filter finds, besides stopped in failed).
STATUSES = (
    "queued",
    "started",
    "deferred",
    "scheduled",
    "finished",
    "failed",
    "stopped",
    "canceled",
    "rate_limited",
)
#: The lists whose jobs have a traceback to search.
EXCEPTION_LISTS = ("failed",)

BULK_ACTIONS = {"requeue": "change", "delete": "delete"}
#: Signs what a confirmation of an action on all the jobs of a list recorded.
SELECTION_SALT = "django_jobqueue.dashboard.selection"


@dashboard_view
def job_list(request: Any, queue: str, site: Any, slug: str = "queued") -> Any:
    """One list of a queue, newest first: the queue itself or one registry (by slug),
    narrowed and sorted as its query string asks (see :func:`parse_filter`)."""
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
    job_filter, filter_errors = parse_filter(request.GET, slug)
    extra = DEFERRED_FIELDS if slug == "deferred" else ()
    if search:
        source: Any = _search(queue_obj, registry, search, extra)
        if source is None:
            search_error = _("“%(id)s” is not a valid job id.") % {"id": search}
            source = []
    elif job_filter.active:
        # One pass finds the count and the ids up to the page asked for.
        try:
            keep = max(int(request.GET.get(PAGE_VAR, 1)), 1) * per_page
        except ValueError:
            keep = per_page
        parts = list_parts(queue_obj, registry, desc=slug != "scheduled")
        source = SearchRange(queue_obj, parts, job_filter, keep, extra, start=keep - per_page)
    elif registry is None:
        source = queue_range(queue_obj)
    else:
        # Scheduled jobs come soonest first: what runs next is what one looks for.
        source = registry_range(queue_obj, registry, desc=slug != "scheduled", extra=extra)
    paginator = Paginator(source, per_page)
    page = paginator.get_page(request.GET.get(PAGE_VAR))
    rows = [job_row(request, queue_obj, job_id, job) for job_id, job in page.object_list]
    if slug == "scheduled" and rows:
        runs_at = queue_obj.scheduled_job_registry.runs_at([row["id"] for row in rows])
        for row, when in zip(rows, runs_at):
            row["runs_at"] = to_datetime(when)
    if slug == "deferred" and rows:
        deferred_parents(request, queue_obj, rows, [job for _id, job in page.object_list])

    counts = queue_stats([queue_obj])[0]
    tabs = [
        {
            "slug": s,
            "label": label(s),
            "count": counts[s],
            "url": list_url(request, queue, s),
            "active": s == slug,
        }
        for s in LISTS
    ]
    here = list_url(request, queue, slug)
    bulk_actions = []
    if has_perm(request, "change") and slug in operations.REQUEUEABLE_LISTS:
        bulk_actions.append(("requeue", _("Requeue selected jobs")))
    if has_perm(request, "delete"):
        bulk_actions.append(("delete", _("Delete selected jobs")))
    tools = _queue_tools(request, queue, slug, counts)
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
    title = _("%(list)s jobs of queue %(queue)s") % {"list": label(slug), "queue": queue}
    crumbs = [(queue, None if slug == "queued" else url(request, "queue", queue))]
    if slug != "queued":
        crumbs.append((label(slug), None))
    context = page_context(
        request,
        site,
        title,
        crumbs,
        queue=queue,
        slug=slug,
        slug_label=label(slug),
        tabs=tabs,
        rows=rows,
        page=page,
        paginator=paginator,
        page_links=page_links,
        per_page_links=per_page_links,
        per_page=per_page,
        search=search,
        search_error=search_error,
        job_filter=job_filter,
        filter_errors=filter_errors,
        filter_form=_filter_form(request.GET, slug, job_filter),
        filter_hidden=_filter_hidden(request.GET),
        filter_text=describe_filter(job_filter),
        columns=_sort_columns(request, job_filter),
        bulk_actions=bulk_actions,
        tools=tools,
        chart=chart,
        here=here,
        bulk_url=url(request, "bulk", queue, slug),
        full_path=request.get_full_path(),
        chart_title=_("Jobs per minute on queue %(queue)s, last hour") % {"queue": queue},
    )
    return render(request, "django_jobqueue/dashboard/job_list.html", context)


def parse_filter(data: Any, slug: str) -> tuple[JobFilter, list[str]]:
    """The filters and sort a request's query string (or a form) asks of list ``slug``.

    ``func`` (function name contains), ``status``, ``exc`` (the traceback
    contains, failed list only), ``time`` ("enqueued", "started" or "ended")
    between ``from`` and ``to`` (dates and times in the current time zone,
    either may be left out), ``o`` the sort column (:data:`SORTS`, "-" first
    for descending). Returns the filter and what could not be understood (those
    parts are left out).
    """
    errors = []
    func = data.get("func", "").strip()[:200]
    status = data.get("status", "").strip()
    if status and status not in STATUSES:
        errors.append(_("Unknown status “%(status)s”.") % {"status": status})
        status = ""
    exception = data.get("exc", "").strip()[:200] if slug in EXCEPTION_LISTS else ""
    time_field = data.get("time", "") or _default_time(slug)
    if time_field not in TIME_FIELDS:
        time_field = _default_time(slug)
    bounds = []
    for name, end_of_day in (("from", False), ("to", True)):
        text = data.get(name, "").strip()
        when = _parse_time(text, end_of_day) if text else None
        if text and when is None:
            errors.append(
                _("“%(text)s” is not a date and time: use YYYY-MM-DD HH:MM.") % {"text": text}
            )
        bounds.append(when)
    order = data.get("o", "").strip()
    sort = order.removeprefix("-")
    if sort not in SORTS:
        sort = ""
    return (
        JobFilter(
            func=func,
            status=status,
            exception=exception,
            time_field=time_field if any(b is not None for b in bounds) else "",
            since=bounds[0],
            until=bounds[1],
            sort=sort,
            desc=order.startswith("-") if sort else True,
        ),
        errors,
    )


def _default_time(slug: str) -> str:
    return "ended" if slug in ("finished", "failed", "canceled") else "enqueued"


def _parse_time(text: str, end_of_day: bool) -> float | None:
    """A date and time (or a date: its first or last moment) as UNIX seconds."""
    try:
        # A date alone first: parse_datetime takes "2026-03-12" as its midnight.
        if (day := parse_date(text)) is not None:
            moment: datetime | None = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            moment = parse_datetime(text.replace(" ", "T", 1))
    except ValueError:  # well formed but impossible, like the 31st of June
        return None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment.timestamp()


def describe_filter(job_filter: JobFilter) -> str:
    """What a filter keeps, in one sentence part for people ("" when it keeps everything)."""
    parts = []
    if job_filter.func:
        parts.append(_("function contains “%(text)s”") % {"text": job_filter.func})
    if job_filter.status:
        parts.append(_("status is %(status)s") % {"status": label(job_filter.status).lower()})
    if job_filter.exception:
        parts.append(_("exception contains “%(text)s”") % {"text": job_filter.exception})
    if job_filter.narrows and job_filter.time_field:
        field = _time_label(job_filter.time_field)
        since, until = (
            None if t is None else timezone.localtime(datetime.fromtimestamp(t, UTC))
            for t in (job_filter.since, job_filter.until)
        )
        if since and until:
            text = _("%(field)s between %(since)s and %(until)s")
        elif since:
            text = _("%(field)s at or after %(since)s")
        else:
            text = _("%(field)s at or before %(until)s")
        fmt = "%Y-%m-%d %H:%M:%S"
        parts.append(
            text
            % {
                "field": field,
                "since": since.strftime(fmt) if since else "",
                "until": until.strftime(fmt) if until else "",
            }
        )
    return ", ".join(parts)


def _time_label(field: str) -> str:
    return {"enqueued": _("enqueued"), "started": _("started"), "ended": _("ended")}[field]


def _filter_query(data: Any) -> dict[str, str]:
    """The filters a request carries, as query string values (empty ones left out)."""
    return {name: data[name] for name in FILTER_VARS if data.get(name, "")}


def _filter_hidden(data: Any) -> list[tuple[str, str]]:
    """The filters as hidden fields of a form that must act on the same jobs."""
    return list(_filter_query(data).items())


def _filter_form(data: Any, slug: str, job_filter: JobFilter) -> dict[str, Any]:
    """What the filter form shows: its fields' values and choices."""
    return {
        "func": data.get("func", ""),
        "status": job_filter.status,
        "statuses": [(s, label(s)) for s in STATUSES],
        "exc": data.get("exc", "") if slug in EXCEPTION_LISTS else None,
        "time": data.get("time", "") or _default_time(slug),
        "times": [(t, _time_label(t).capitalize()) for t in TIME_FIELDS],
        "from": data.get("from", ""),
        "to": data.get("to", ""),
        "o": data.get("o", ""),
    }


def _sort_columns(request: Any, job_filter: JobFilter) -> dict[str, dict[str, Any]]:
    """Per sortable column: the URL sorting by it (descending first, then flipping), and
    whether and how the list is sorted by it now."""
    columns = {}
    for column in SORTS:
        current = job_filter.sort == column
        query = request.GET.copy()
        query.pop(PAGE_VAR, None)
        if current and job_filter.desc:
            query["o"] = column
        elif current:
            query.pop("o", None)  # a third click: back to the list's own order
        else:
            query["o"] = f"-{column}"
        columns[column] = {
            "url": f"?{query.urlencode()}",
            "sorted": "descending"
            if current and job_filter.desc
            else "ascending"
            if current
            else "",
        }
    return columns


def _search(queue: Any, registry: Any, job_id: str, extra: tuple[str, ...]) -> list | None:
    """The one job with this id in this list, or an empty list; None for an invalid id."""
    if not _valid_id(job_id):
        return None
    (job,) = row_loader(queue, extra)([job_id])
    if registry is None:
        found = status_of(job) == "queued"
    else:
        found = job_id in registry
    return [(job_id, job)] if found else []


def _queue_tools(request: Any, queue: str, slug: str, counts: dict) -> list:
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
    here = list_url(request, queue, slug)
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
    # "All" from a filtered list means all the jobs its filters match; the
    # per-queue buttons carry no filters.
    job_filter = parse_filter(data, slug)[0] if everything else JobFilter()
    if confirmed(request):
        return _perform(request, queue_obj, slug, action, ids if not everything else None, back)
    selection = ""
    stranded = 0
    if everything:
        if job_filter.narrows:
            token, count = operations.select_matching(queue_obj, slug, job_filter)
            if not count:
                messages.warning(request, _("No job matches these filters: nothing to do."))
                return HttpResponseRedirect(back)
        else:
            token, count = operations.select_all(queue_obj, slug)
        selection = signing.dumps(
            {
                "queue": queue,
                "list": slug,
                "action": action,
                "token": token,
                "filter": _filter_query(data) if job_filter.narrows else {},
            },
            salt=SELECTION_SALT,
        )
        if action == "delete":
            stranded = operations.stranded_by_all(queue_obj, slug, token, job_filter)
    else:
        count = len(ids)
        if action == "delete":
            stranded = operations.stranded_by_ids(queue_obj, ids)
    if everything and slug == "queued" and not job_filter.narrows:
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
    hidden = [("action", action)]
    if everything:
        hidden += [("select_across", "1"), ("selection", selection)]
    else:
        hidden += [("_selected_action", i) for i in ids]
    crumbs: list[tuple[str, str | None]] = [(queue, url(request, "queue", queue))]
    if slug != "queued":
        crumbs.append((label(slug), here))
    crumbs.append((action_label(action), None))
    matching = describe_filter(job_filter) if job_filter.narrows else ""
    return confirm(
        request,
        site,
        Confirmation(
            question=question % {"count": count, "queue": queue, "list": label(slug).lower()},
            action=action,
            action_label=action_label(action),
            crumbs=crumbs,
            back=back,
            hidden=hidden,
            items=ids[:20],
            more=max(len(ids) - 20, 0),
            dangerous=action == "delete",
            notes=[_("Only the jobs whose %(filter)s.") % {"filter": matching}] if matching else [],
            stranded=stranded,
        ),
    )


def _perform(
    request: Any, queue: Any, slug: str, action: str, ids: list[str] | None, back: str
) -> Any:
    """Act on the confirmed jobs (``ids``, or None for all those the confirmation recorded)."""
    data = request.POST
    if ids is None:
        confirmed_selection = _confirmed_selection(
            data.get("selection", ""), queue.name, slug, action
        )
        if confirmed_selection is None:
            messages.error(
                request,
                _(
                    "That confirmation is no longer valid (it is kept for an hour). "
                    "Here are the jobs the list holds now: confirm again."
                ),
            )
            query = {"action": action, "all": "1", "next": back}
            return HttpResponseRedirect(
                f"{url(request, 'bulk', queue.name, slug)}?{urlencode(query)}"
            )
        token, filter_query = confirmed_selection
        # The filters the confirmation was made for (signed), never the form's own.
        job_filter = parse_filter(filter_query, slug)[0]
        try:
            done, skipped = operations.apply_to_all(queue, slug, action, token, job_filter)
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
        done, skipped = operation(queue, ids)
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
    elif skipped and ids is None:
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


def _valid_id(job_id: str) -> bool:
    try:
        validate_job_id(job_id)
    except ValueError:
        return False
    return True


def _confirmed_selection(
    value: str, queue: str, slug: str, action: str
) -> tuple[str, dict[str, str]] | None:
    """The selection token a confirmation form carries, and the filters it was made
    with, if signed here for this action."""
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
    token, filters = data.get("token"), data.get("filter", {})
    if not isinstance(token, str) or not isinstance(filters, dict):
        return None
    return token, {str(k): str(v) for k, v in filters.items()}
