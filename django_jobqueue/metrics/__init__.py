"""Metrics for machines: a Prometheus endpoint and ``stats.json``.

Mount them with ``path("jobqueue/", include("django_jobqueue.metrics.urls"))``.
Both read Redis on every request, behind a staff login or the
``JOBQUEUE_API_TOKEN`` bearer token; see ``docs/observability.rst``.
"""
