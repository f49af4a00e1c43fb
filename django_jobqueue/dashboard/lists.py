"""The lists of a queue (the queue itself and its registries), and actions on many jobs.

A list is read newest first, a page at a time (see :mod:`.pagination`). Its
jobs are requeued or deleted by selection, or all at once, after a
confirmation (see :mod:`.actions` and :mod:`.operations`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..engine import bulk
from ..engine.keys import validate_job_id
from ..engine.stats import queue_stats, throughput
from ..engine.utils import as_str, to_datetime
from . import operations
from .actions import Confirmation, action_label, confirm, confirmed
from .charts import throughput_chart
from .display import job_row
from .pagination import queue_range, registry_range, row_loader
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

BULK_ACTIONS = {"requeue": "change", "delete": "delete"}
#: Signs what a confirmation of an action on all the jobs of a list recorded.
SELECTION_SALT = "django_jobqueue.dashboard.selection"


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
    if slug == "scheduled" and rows:
        runs_at = queue_obj.scheduled_job_registry.runs_at([row["id"] for row in rows])
        for row, when in zip(rows, runs_at):
            row["runs_at"] = to_datetime(when)

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
        bulk_actions=bulk_actions,
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
    if not _valid_id(job_id):
        return None
    (job,) = row_loader(queue)([job_id])
    if registry is None:
        found = job is not None and as_str(job.get_status(refresh=False)) == "queued"
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
    if confirmed(request):
        return _perform(request, queue_obj, slug, action, ids if not everything else None, back)
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
    hidden = [("action", action)]
    if everything:
        hidden += [("select_across", "1"), ("selection", selection)]
    else:
        hidden += [("_selected_action", i) for i in ids]
    crumbs: list[tuple[str, str | None]] = [(queue, url(request, "queue", queue))]
    if slug != "queued":
        crumbs.append((label(slug), here))
    crumbs.append((action_label(action), None))
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
        ),
    )


def _perform(
    request: Any, queue: Any, slug: str, action: str, ids: list[str] | None, back: str
) -> Any:
    """Act on the confirmed jobs (``ids``, or None for all those the confirmation recorded)."""
    data = request.POST
    if ids is None:
        token = _confirmed_selection(data.get("selection", ""), queue.name, slug, action)
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
                f"{url(request, 'bulk', queue.name, slug)}?{urlencode(query)}"
            )
        try:
            done, skipped = operations.apply_to_all(queue, slug, action, token)
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
