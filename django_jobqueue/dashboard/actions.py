"""Confirm, then POST: the one way every dashboard action runs.

Like ``django.contrib.admin.actions.delete_selected``: a GET (or the list's
POST) shows a confirmation page (:func:`confirm`) whose form POSTs back to the
same URL with ``post=yes`` and CSRF; that answer (:func:`confirmed`) performs
the action, reports through the messages framework and redirects only to a
same-site URL (:func:`perform`, or the view's own messages and
:func:`go_back`). The ``next`` a request carries travels through the form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _

from .operations import stranded_by_ids
from .site import configured_queue, page_context, safe_next


def action_label(action: str) -> str:
    """The button of a job action."""
    return {
        "requeue": _("Requeue"),
        "cancel": _("Cancel"),
        "stop": _("Stop"),
        "delete": _("Delete"),
    }[action]


@dataclass
class Confirmation:
    """What a confirmation page asks, and what its form carries back."""

    question: str
    #: The action's slug (a CSS hook) and its button.
    action: str
    action_label: str
    #: The breadcrumbs after the dashboard's own, ending with the action.
    crumbs: list[tuple[str, str | None]]
    #: Where "No" leads (unless the request carries a safe ``next``).
    back: str
    #: Form fields the answer needs, besides ``post`` and ``next``.
    hidden: list[tuple[str, str]] = field(default_factory=list)
    #: What the action applies to, shown as a list (the first ones) and a count of the rest.
    items: list[str] = field(default_factory=list)
    more: int = 0
    #: Whether the action destroys something (a red button).
    dangerous: bool = False
    #: More about what the action applies to (the filters of a filtered list).
    notes: list[str] = field(default_factory=list)
    #: How many dependents a delete leaves waiting forever; None: not counted
    #: yet (a delete of the job the URL names is counted by :func:`confirm`).
    stranded: int | None = None


def confirmed(request: Any) -> bool:
    """Whether ``request`` is the answer of a confirmation page."""
    return request.method == "POST" and request.POST.get("post") == "yes"


def confirm(request: Any, site: Any, confirmation: Confirmation) -> Any:
    """The confirmation page; its form POSTs to the URL it was shown at."""
    next_url = safe_next(request, "")
    stranded = confirmation.stranded
    if stranded is None and confirmation.action == "delete":
        stranded = _stranded_by_job_in_url(request)
    context = page_context(
        request,
        site,
        _("Are you sure?"),
        confirmation.crumbs,
        question=confirmation.question,
        action=confirmation.action,
        action_label=confirmation.action_label,
        hidden=[*confirmation.hidden, *([("next", next_url)] if next_url else [])],
        cancel_url=safe_next(request, confirmation.back),
        items=confirmation.items,
        more=confirmation.more,
        dangerous=confirmation.dangerous,
        notes=confirmation.notes,
        stranded=stranded or 0,
    )
    return render(request, "django_jobqueue/dashboard/confirm.html", context)


def _stranded_by_job_in_url(request: Any) -> int:
    """For the delete of one job (the job page's action, whose URL names the
    queue and the job): how many dependents it would leave waiting forever."""
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    if "queue" not in kwargs or "job_id" not in kwargs:
        return 0
    return stranded_by_ids(configured_queue(kwargs["queue"]), [kwargs["job_id"]])


def go_back(request: Any, default: str) -> HttpResponseRedirect:
    """Redirect to the request's ``next`` when it stays on this site, else to ``default``."""
    return HttpResponseRedirect(safe_next(request, default))


def perform(
    request: Any,
    back: str,
    act: Callable[[], str],
    errors: tuple[type[Exception], ...] = (),
) -> HttpResponseRedirect:
    """Run a confirmed action: ``act`` returns what it did, ``errors`` are the refusals
    to report instead (their text says why); then go back."""
    try:
        text = act()
    except errors as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, text)
    return go_back(request, back)
