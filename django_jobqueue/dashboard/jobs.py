"""One job: its page, and the actions on it (requeue, cancel, stop, delete)."""

from __future__ import annotations

import pprint
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import get_settings
from ..engine.corrupt import UnreadableJob
from ..engine.errors import InvalidJobOperation, JobQueueError, NoSuchJobError
from ..engine.job import DEFAULT_FAILURE_TTL, DEFAULT_RESULT_TTL, Job
from ..engine.keys import validate_job_id
from ..engine.utils import as_shown, as_str, now, to_datetime, truncate
from ..engine.worker import stop_job
from . import operations
from .actions import Confirmation, action_label, confirm, confirmed, perform
from .display import breakable, duration, human_duration, progress_context, status_of
from .graph import NODE_HEIGHT, NODE_WIDTH, dependency_graph
from .pagination import loader
from .site import (
    LISTS,
    configured_queue,
    dashboard_view,
    has_perm,
    label,
    page_context,
    require,
    safe_next,
    url,
)

#: action -> (permission, statuses it applies to)
JOB_ACTIONS = {
    "requeue": ("change", {"failed", "stopped", "canceled"}),
    "cancel": ("change", {"queued", "deferred", "scheduled"}),
    "stop": ("change", {"started"}),
    "delete": ("delete", None),
}


def _pretty(value: Any, limit: int = 20_000) -> str:
    return truncate(pprint.pformat(value, width=100, sort_dicts=False), limit)


@dashboard_view
def job_detail(request: Any, queue: str, job_id: str, site: Any) -> Any:
    queue_obj = configured_queue(queue)
    job = fetch(queue_obj, job_id)
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
    if isinstance(job, UnreadableJob):
        return _unreadable(request, site, queue, job)
    status = as_str(job.get_status(refresh=False))
    try:
        call = {
            "args": [_pretty(a) for a in job.args],
            "kwargs": [(k, _pretty(v)) for k, v in job.kwargs.items()],
            "error": "",
        }
    except JobQueueError as exc:
        call = {"args": [], "kwargs": [], "error": str(exc)}
    has_result, exc_info = job.loaded_outcome
    result, result_error = None, ""
    if status == "finished" and has_result:
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
        runs_at = to_datetime(queue_obj.scheduled_job_registry.runs_at([job.id])[0])
    graph = dependency_graph(job.connection, job.keys, job.key)
    for node in graph.nodes:
        node.url = (
            None
            if node.missing or node.queue not in get_settings().queues
            else url(request, "job", node.queue, node.id)
        )
        node.status_label = label(node.status) if node.status else _("deleted or expired")
        node.call = breakable(node.description)
    tools = [
        (action_label(a), url(request, "job_action", queue, job.id, a), f"jq-action-{a}")
        for a, (perm, statuses) in JOB_ACTIONS.items()
        if has_perm(request, perm) and (statuses is None or status in statuses)
    ]
    list_slug = "failed" if status == "stopped" else status
    crumbs: list[tuple[str, str | None]] = [(queue, url(request, "queue", queue))]
    if list_slug in LISTS and list_slug != "queued":
        crumbs.append((label(list_slug), url(request, "list", queue, list_slug)))
    crumbs.append((job.id, None))
    context = page_context(
        request,
        site,
        _("Job %(id)s") % {"id": job.id},
        crumbs,
        queue=queue,
        job=job,
        status=status,
        status_label=label(status) if status else _("unknown"),
        call=call,
        result=result,
        result_error=result_error,
        meta=_pretty(job.meta) if job.meta else "",
        function=breakable(job.func_name or ""),
        description=breakable(job.description),
        exc_info=exc_info or "",
        duration=duration(job),
        duration_text=human_duration(duration(job)),
        expires_in=expires_in,
        expires_in_text=human_duration(expires_in) if expires_at else "",
        expires_at=expires_at,
        ttls=_ttls(job, queue),
        graph=graph,
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        tools=tools,
        worker_url=url(request, "workers"),
        batch_url=_batch_url(request, queue, job),
        runs_at=runs_at,
        # Ran before and waits to run again: a retry (enqueue_due.lua tells them so too).
        retry_waiting=(
            status in ("scheduled", "queued") and job.ended_at is not None and job.attempt > 1
        ),
        retry_policy=_retry_policy(job),
        progress=progress_context(job.progress, status),
    )
    return render(request, "django_jobqueue/dashboard/job_detail.html", context)


#: Characters of one field the page of an unreadable job shows.
FIELD_LIMIT = 2000


def _unreadable(request: Any, site: Any, queue: str, job: UnreadableJob) -> Any:
    """The page of a job whose hash something else wrote: its fields as stored, and Delete.

    A field that is not text (the pickled call or result) is shown by its size.
    """
    fields = []
    for raw_name, value in sorted(job.fields.items()):
        name = as_shown(raw_name) or ""
        bad = name == job.field
        try:
            text = truncate(value.decode() if isinstance(value, bytes) else str(value), FIELD_LIMIT)
        except UnicodeDecodeError:
            text = None
        fields.append(
            {
                "name": name,
                "text": text,
                "size": len(value),
                "bad": bad,
                # A field that is not UTF-8 where text belongs is shown escaped.
                "escaped": truncate(as_shown(value) or "", FIELD_LIMIT) if bad else "",
            }
        )
    tools = (
        [
            (
                action_label("delete"),
                url(request, "job_action", queue, job.id, "delete"),
                "jq-action-delete",
            )
        ]
        if has_perm(request, "delete")
        else []
    )
    context = page_context(
        request,
        site,
        _("Job %(id)s cannot be read") % {"id": job.id},
        [(queue, url(request, "queue", queue)), (job.id, None)],
        queue=queue,
        job=job,
        fields=fields,
        tools=tools,
    )
    return render(request, "django_jobqueue/dashboard/job_unreadable.html", context)


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


def _retry_policy(job: Job) -> str:
    """The job's retry option in a line ("" without one): waits and exception classes."""
    if job.retry_max is None:
        return ""
    waits = list(job.retry_intervals) or [0]
    parts = [
        ngettext(
            "%(max)s retry, waiting %(waits)s s",
            "%(max)s retries, waiting %(waits)s s",
            job.retry_max,
        )
        % {"max": job.retry_max, "waits": ", ".join(f"{w:g}" for w in waits)}
    ]
    rules = job.retry_rules
    if rules is not None:
        if rules.backoff != 1:
            parts.append(_("times %(backoff)g after each retry") % {"backoff": rules.backoff})
        if rules.max_interval is not None:
            parts.append(_("at most %(cap)s") % {"cap": human_duration(rules.max_interval)})
        if rules.jitter:
            parts.append(_("with jitter (half to all of each wait)"))
        if rules.retry_on is not None:
            parts.append(_("only on %(classes)s") % {"classes": ", ".join(rules.retry_on)})
        if rules.dont_retry_on:
            parts.append(_("never on %(classes)s") % {"classes": ", ".join(rules.dont_retry_on)})
    return "; ".join(parts)


def fetch(queue: Any, job_id: str) -> Job | UnreadableJob | None:
    """The whole job, or None when it is gone (or ``job_id`` is not a job id).

    An :class:`UnreadableJob` when a field of its hash cannot be read.
    """
    try:
        validate_job_id(job_id)
    except ValueError:
        return None
    # From Redis even for a queue configured to run inline (ASYNC = False),
    # whose fetch_job() looks in this process's memory.
    return loader(queue)([job_id])[0]


@dashboard_view
def job_action(request: Any, queue: str, job_id: str, action: str, site: Any) -> Any:
    if action not in JOB_ACTIONS:
        raise Http404(_("Unknown action."))
    permission, statuses = JOB_ACTIONS[action]
    require(request, permission)
    queue_obj = configured_queue(queue)
    job_url = url(request, "job", queue, job_id)
    job = fetch(queue_obj, job_id)
    if job is None:
        messages.error(request, _("Job %(id)s does not exist any more.") % {"id": job_id})
        return HttpResponseRedirect(safe_next(request, url(request, "queue", queue)))
    if isinstance(job, UnreadableJob) and action != "delete":
        messages.error(
            request,
            _("Job %(id)s cannot be read (%(reason)s): it can only be deleted.")
            % {"id": job_id, "reason": job.reason},
        )
        return HttpResponseRedirect(job_url)
    if confirmed(request):
        back = url(request, "queue", queue) if action == "delete" else job_url
        errors = (InvalidJobOperation, NoSuchJobError)
        return perform(request, back, lambda: _perform(queue_obj, job, action), errors)
    status = status_of(job)
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
    return confirm(
        request,
        site,
        Confirmation(
            question=question,
            action=action,
            action_label=action_label(action),
            crumbs=[
                (queue, url(request, "queue", queue)),
                (job_id, job_url),
                (action_label(action), None),
            ],
            back=job_url,
            dangerous=action == "delete",
        ),
    )


def _past(action: str) -> str:
    return {
        "requeue": _("requeued"),
        "cancel": _("canceled"),
        "stop": _("stopped"),
        "delete": _("deleted"),
    }[action]


def _perform(queue: Any, job: Job | UnreadableJob, action: str) -> str:
    if isinstance(job, UnreadableJob):
        # Without loading it: the delete script reads what it needs from the hash.
        operations.delete(queue, [job.id])
        return _("Job %(id)s was deleted.") % {"id": job.id}
    if action == "requeue":
        status = job.requeue().get_status(refresh=False) or ""
        return _("Job %(id)s was requeued (%(status)s).") % {"id": job.id, "status": label(status)}
    if action == "cancel":
        job.cancel()
        return _("Job %(id)s was canceled.") % {"id": job.id}
    if action == "stop":
        if stop_job(job) == "stopped":
            return _("Job %(id)s was stopped (its worker was gone).") % {"id": job.id}
        return _("Job %(id)s: its worker was asked to stop it.") % {"id": job.id}
    job.delete()
    return _("Job %(id)s was deleted.") % {"id": job.id}


def _batch_url(request: Any, queue: str, job: Any) -> str:
    """The page of the batch the job belongs to (its ``meta["batch"]``), else ''."""
    batch_id = (job.meta or {}).get("batch") if isinstance(job.meta, dict) else None
    return url(request, "batch", queue, batch_id) if isinstance(batch_id, str) and batch_id else ""
