"""The periodic jobs page (``JOBQUEUE_CRON`` and the ``PeriodicJob`` table) and its actions.

Actions follow the rules of every dashboard action: the ``change``
permission, checked inside the view; a confirmation page; a POST with CSRF;
a message; a redirect within the site.

Entries of ``JOBQUEUE_CRON`` are read-only here (they change with a deploy).
Rows of the ``PeriodicJob`` table are marked editable and link to their admin
page, where they are changed, paused and deleted; so pause and resume are not
offered for them here (one switch, the row's ``enabled``, not two).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ..conf import get_settings
from ..cron import get_cron_entries, setting_names
from ..engine.scheduler import entry_state, run_now, scheduler_holder, set_paused, skip_next
from ..engine.utils import to_datetime
from ..models import PeriodicJob
from ..queues import get_queue
from ..schedules import read_rows
from .actions import Confirmation, confirm, confirmed, perform
from .site import dashboard_view, has_perm, label, page_context, require, url

#: action -> (button label, question, permission)
ACTIONS = {
    "run": (
        lambda: _("Run now"),
        lambda: _(
            "Enqueue a run of %(name)s on queue %(queue)s now? Its schedule does not change."
        ),
        "change",
    ),
    "skip": (
        lambda: _("Skip next run"),
        lambda: _("Skip the next run of %(name)s, due %(when)s? The one after it runs as usual."),
        "change",
    ),
    "pause": (
        lambda: _("Pause"),
        lambda: _(
            "Pause %(name)s? No job is enqueued until it is resumed; runs that "
            "fall due meanwhile are skipped, not made up."
        ),
        "change",
    ),
    "resume": (
        lambda: _("Resume"),
        lambda: _("Resume %(name)s? It runs again from its next occurrence."),
        "change",
    ),
}


#: Actions offered for rows of the PeriodicJob table (pause/resume is the row's ``enabled``).
TABLE_ACTIONS = ("run", "skip")


def _entries_or_error(request: Any) -> list:
    try:
        return get_cron_entries()
    except ImproperlyConfigured as exc:
        messages.error(request, str(exc))
        return []


def _table_rows(request: Any, report: bool = True) -> list[PeriodicJob]:
    """The PeriodicJob rows, or none (with a warning) when the table cannot be read."""
    try:
        return read_rows()
    except (DatabaseError, ImproperlyConfigured) as exc:  # the latter: no DATABASES
        if report:
            messages.warning(
                request,
                _(
                    "The periodic jobs of the database cannot be read (%(error)s); run "
                    "manage.py migrate django_jobqueue if the table is missing."
                )
                % {"error": exc},
            )
        return []


def _admin_url(request: Any, site: Any, action: str, *args: Any) -> str | None:
    """The admin page of PeriodicJob (``change`` of a row, ``add``), or None when not offered."""
    opts = PeriodicJob._meta
    if not request.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}"):
        if action == "add" or not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            return None
    try:
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_{action}", args=args, current_app=site.name
        )
    except NoReverseMatch:  # not registered in this admin site
        return None


def _row(request: Any, entry: Any, edit_url: str | None = None) -> dict[str, Any]:
    queue = get_queue(entry.queue)
    state = entry_state(queue.connection, entry, queue.keys.prefix)
    status = state["last_status"]
    actions = []
    if has_perm(request, "change"):
        if edit_url is None:
            wanted = ["run", "skip", "resume" if state["paused"] else "pause"]
        else:
            wanted = list(TABLE_ACTIONS)
        actions = [
            (ACTIONS[a][0](), url(request, "cron_action", entry.name, a), f"jq-cron-{a}")
            for a in wanted
        ]
    return {
        "entry": entry,
        "name": entry.name,
        "editable": edit_url is not None,
        "edit_url": edit_url,
        "queue_url": url(request, "queue", entry.queue),
        "next_run": to_datetime(state["next_run"]),
        "last_run": to_datetime(state["last_run"]),
        "last_job": state["last_job"],
        "last_status": status,
        "last_status_label": label(status) if status else _("expired"),
        "last_job_url": url(request, "job", entry.queue, state["last_job"])
        if state["last_job"]
        else None,
        "paused": state["paused"],
        "error": state["error"],
        "actions": actions,
    }


def _table_row(request: Any, site: Any, job: PeriodicJob, fixed: set[str]) -> dict[str, Any]:
    edit_url = _admin_url(request, site, "change", job.pk) or ""
    problem = None
    if job.name in fixed:
        problem = _("Not run: JOBQUEUE_CRON has an entry of this name.")
    elif job.queue not in get_settings().queues:
        problem = _("Not run: queue %(queue)s is not in JOBQUEUE_QUEUES.") % {"queue": job.queue}
    else:
        try:
            return _row(request, job.as_entry(), edit_url)
        except (TypeError, ValueError) as exc:
            problem = _("Not run: %(error)s") % {"error": exc}
    return {
        "entry": None,
        "name": job.name,
        "editable": True,
        "edit_url": edit_url,
        "error": problem,
        "actions": [],
        "job": job,
    }


@dashboard_view
def cron_list(request: Any, site: Any) -> Any:
    entries = _entries_or_error(request)
    rows = [_row(request, entry) for entry in entries]
    fixed = setting_names()
    rows += [_table_row(request, site, job, fixed) for job in _table_rows(request)]
    schedulers: dict[Any, dict[str, Any]] = {}
    for name in get_settings().queues:
        queue = get_queue(name)
        key = (id(queue.connection), queue.keys.prefix)
        if key not in schedulers:
            schedulers[key] = {
                "worker": scheduler_holder(queue.connection, queue.keys.prefix),
                "queues": [],
            }
        schedulers[key]["queues"].append(name)
    add_url = _admin_url(request, site, "add")
    context = page_context(
        request,
        site,
        _("Periodic jobs"),
        [(_("Periodic jobs"), None)],
        rows=rows,
        tools=[(_("Add periodic job"), add_url, "addlink jq-cron-add")] if add_url else [],
        schedulers=list(schedulers.values()),
        many_connections=len(schedulers) > 1,
    )
    return render(request, "django_jobqueue/dashboard/cron.html", context)


@dashboard_view
def cron_action(request: Any, name: str, action: str, site: Any) -> Any:
    if action not in ACTIONS:
        raise Http404(_("Unknown action."))
    button, question, permission = ACTIONS[action]
    require(request, permission)
    back = url(request, "cron")
    entry = next((e for e in _entries_or_error(request) if e.name == name), None)
    if entry is None and name not in setting_names():
        job = next((j for j in _table_rows(request, report=False) if j.name == name), None)
        if job is not None and action in TABLE_ACTIONS:
            try:
                entry = job.as_entry()
            except (TypeError, ValueError):
                entry = None
    if entry is None or entry.queue not in get_settings().queues:
        messages.error(request, _("There is no periodic job named %(name)s.") % {"name": name})
        return HttpResponseRedirect(back)
    queue = get_queue(entry.queue)
    if confirmed(request):
        return perform(request, back, lambda: _perform(entry, queue, action))
    state = entry_state(queue.connection, entry, queue.keys.prefix)
    when = to_datetime(state["next_run"])
    text = question() % {
        "name": entry.name,
        "queue": entry.queue,
        "when": _when(when) if when else _("never"),
    }
    return confirm(
        request,
        site,
        Confirmation(
            question=text,
            action=action,
            action_label=button(),
            crumbs=[(_("Periodic jobs"), back), (entry.name, None), (button(), None)],
            back=back,
        ),
    )


def _perform(entry: Any, queue: Any, action: str) -> str:
    if action == "run":
        job = run_now(entry, queue)
        return _("%(name)s: job %(id)s was enqueued.") % {"name": entry.name, "id": job.id}
    if action == "skip":
        skipped = skip_next(queue.connection, entry, queue.keys.prefix)
        if skipped is None:
            return _("%(name)s has no next run to skip.") % {"name": entry.name}
        return _("%(name)s: the run due %(when)s will not happen.") % {
            "name": entry.name,
            "when": _when(to_datetime(skipped)),
        }
    set_paused(queue.connection, entry, action == "pause", queue.keys.prefix)
    if action == "pause":
        return _("%(name)s is paused.") % {"name": entry.name}
    return _("%(name)s is running again.") % {"name": entry.name}


def _when(moment: Any) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")
