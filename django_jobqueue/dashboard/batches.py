"""One batch's page: its status and progress, its callbacks and its jobs.

A batch is reached from its jobs (their ``meta["batch"]``) and its callback
jobs; the page lists at most :data:`JOBS_SHOWN` of its jobs, oldest first,
each linked to its own page.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import render
from django.utils.translation import gettext as _

from ..engine.batches import ROLES, Batch, BatchStatus, NoSuchBatchError
from ..engine.job import Job
from ..engine.utils import to_datetime
from .display import job_row, status_of
from .pagination import row_loader
from .site import configured_queue, dashboard_view, label, page_context, url

#: Jobs listed on a batch's page (its counts cover them all).
JOBS_SHOWN = 200

#: A batch's status, shown with the badge colours of the job status it is like.
BADGES = {
    BatchStatus.OPEN: "deferred",
    BatchStatus.RUNNING: "started",
    BatchStatus.SUCCEEDED: "finished",
    BatchStatus.FAILED: "failed",
}


def status_label(status: str) -> str:
    return {
        BatchStatus.OPEN: _("Open"),
        BatchStatus.RUNNING: _("Running"),
        BatchStatus.SUCCEEDED: _("Succeeded"),
        BatchStatus.FAILED: _("Completed with failures"),
    }.get(status, status)


def _created(job: Any) -> float:
    return job.created_at.timestamp() if isinstance(job, Job) and job.created_at else 0.0


@dashboard_view
def batch_detail(request: Any, queue: str, batch_id: str, site: Any) -> Any:
    queue_obj = configured_queue(queue)
    crumbs: list[tuple[str, str | None]] = [
        (queue, url(request, "queue", queue)),
        (_("Batch %(id)s") % {"id": batch_id}, None),
    ]
    try:
        batch = Batch.fetch_from(queue_obj, batch_id)
        status = batch.status
        progress = batch.progress
    except NoSuchBatchError:
        context = page_context(request, site, _("Batch not found"), crumbs, batch_id=batch_id)
        return render(request, "django_jobqueue/dashboard/batch_missing.html", context, status=404)
    ids = batch.job_ids()
    shown = ids[:JOBS_SHOWN]
    # What a list row shows, as the lists read it (a job another program
    # wrote badly is shown as unreadable, not a failed page).
    found = row_loader(queue_obj)(shown)
    pairs = sorted(zip(shown, found), key=lambda pair: (pair[1] is None, _created(pair[1])))
    rows = [job_row(request, queue_obj, job_id, job) for job_id, job in pairs]
    callbacks = []
    callback_jobs = (
        [batch.callback_job(role) for role in ROLES]
        if batch.in_memory
        else row_loader(queue_obj)([batch.callback_id(role) for role in ROLES])
    )
    for role, job in zip(ROLES, callback_jobs):
        job_status = status_of(job)
        callbacks.append(
            {
                "role": role,
                "function": batch.callback_name(role),
                "id": batch.callback_id(role),
                "url": url(request, "job", queue, batch.callback_id(role)),
                "status": job_status,
                "status_label": label(job_status) if job_status else _("not made yet or expired"),
            }
        )
    context = page_context(
        request,
        site,
        _("Batch %(id)s") % {"id": batch.id},
        crumbs,
        queue=queue,
        batch=batch,
        status=status,
        status_label=status_label(status),
        badge=BADGES.get(status, status),
        progress=progress,
        bar={
            "percent": progress.percent,
            "text": _("%(ended)s of %(total)s ended")
            % {"ended": progress.finished + progress.failed, "total": progress.total},
        },
        created_at=to_datetime(batch.created_at),
        closed_at=to_datetime(batch.closed_at),
        callbacks=callbacks,
        rows=rows,
        more=len(ids) - len(shown),
    )
    return render(request, "django_jobqueue/dashboard/batch_detail.html", context)
