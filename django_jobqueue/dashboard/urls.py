"""The dashboard's URL patterns, built for one admin site.

The same patterns serve both mounts: inside the admin (through
``DashboardAdmin.get_urls``) and standalone (``django_jobqueue.urls``). Queue
names, not list positions, appear in the URLs.
"""

from __future__ import annotations

from typing import Any

from django.urls import path

from . import batches, jobs, lists, periodic, views

#: The lists of one queue, by slug: the queue itself and its registries.
LIST_SLUGS = "queued|started|deferred|scheduled|finished|failed|canceled"


def build_urlpatterns(site: Any, changelist_name: str | None = None) -> list:
    extra = {"site": site}
    patterns = [
        path("", views.overview, extra, name="jobqueue_overview"),
        path("workers/", views.workers, extra, name="jobqueue_workers"),
        path("cron/", periodic.cron_list, extra, name="jobqueue_cron"),
        path(
            "cron/<str:name>/<slug:action>/",
            periodic.cron_action,
            extra,
            name="jobqueue_cron_action",
        ),
        path("queues/<str:queue>/", lists.job_list, extra, name="jobqueue_queue"),
        path("queues/<str:queue>/jobs/<str:job_id>/", jobs.job_detail, extra, name="jobqueue_job"),
        path(
            "queues/<str:queue>/jobs/<str:job_id>/<slug:action>/",
            jobs.job_action,
            extra,
            name="jobqueue_job_action",
        ),
        path("queues/<str:queue>/<slug:slug>/", lists.job_list, extra, name="jobqueue_list"),
        path(
            "queues/<str:queue>/<slug:slug>/bulk/", lists.bulk_action, extra, name="jobqueue_bulk"
        ),
        path(
            "batches/<str:queue>/<str:batch_id>/",
            batches.batch_detail,
            extra,
            name="jobqueue_batch",
        ),
    ]
    if changelist_name:
        # The admin index links to the model's changelist: make that the overview.
        patterns.append(path("", views.overview, extra, name=changelist_name))
    return patterns
