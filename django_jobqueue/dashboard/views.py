"""The dashboard's overview pages: every queue, and every live worker.

The pages of one queue's lists are in :mod:`.lists`, those of one job in
:mod:`.jobs`, the periodic jobs in :mod:`.periodic`. What they share (access
checks, the page context, labels) is in :mod:`.site`; how every action is
confirmed, then POSTed, in :mod:`.actions`.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import render
from django.utils.translation import gettext as _

from ..conf import get_settings
from ..engine.live import WorkerRecord, live_workers
from ..engine.stats import queue_stats, throughput
from ..engine.utils import to_datetime
from ..queues import get_queue
from .charts import throughput_chart
from .display import progress_context
from .site import LISTS, dashboard_view, label, page_context, url


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
        list_labels=[(label(s), s) for s in LISTS[1:]],
        chart_title=_("Jobs per minute, all queues, last hour"),
    )
    context["crumbs"][-1] = (_("Queues"), None)
    return render(request, "django_jobqueue/dashboard/overview.html", context)


def _worker_row(request: Any, worker: WorkerRecord, names: list[str]) -> dict[str, Any]:
    """One row of the Workers page: a worker, or a pool child (then without children)."""
    current_queue, current = worker.current_queue, worker.current_job
    return {
        "name": worker.name,
        "hostname": worker.hostname,
        "pid": "" if worker.pid is None else str(worker.pid),
        "state": worker.state,
        "queues": [(q, url(request, "queue", q) if q in names else None) for q in worker.queues],
        "current_job": current,
        "current_queue": current_queue,
        "current_job_url": (
            url(request, "job", current_queue, current)
            if current and current_queue in names
            else None
        ),
        # Text, as the registration stores them.
        "successful": str(worker.successful),
        "failed": str(worker.failed),
        "last_heartbeat": to_datetime(worker.last_heartbeat),
        "birth": to_datetime(worker.birth),
        "progress": progress_context(worker.progress),
        "pool": worker.is_pool,
        "children": [_worker_row(request, child, names) for child in worker.children],
        "busy_children": worker.busy_children,
    }


@dashboard_view
def workers(request: Any, site: Any) -> Any:
    """Every live worker; a pool is one row with its children listed under it.

    Read per connection by :func:`~django_jobqueue.engine.live.live_workers`,
    with the progress of each current job: a few round trips each, however
    many workers and jobs there are.
    """
    names = list(get_settings().queues)
    seen: dict[int, Any] = {}
    for name in names:
        queue = get_queue(name)
        seen.setdefault(id(queue.connection), queue)
    rows = [
        _worker_row(request, worker, names)
        for queue in seen.values()
        for worker in live_workers(queue.connection, queue.keys.prefix, progress=True)
    ]
    rows.sort(key=lambda r: r["name"])
    context = page_context(request, site, _("Workers"), [(_("Workers"), None)], rows=rows)
    return render(request, "django_jobqueue/dashboard/workers.html", context)
