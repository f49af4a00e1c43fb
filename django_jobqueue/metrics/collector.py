"""A Prometheus collector that reads the queues' numbers from Redis on every scrape.

It keeps no state between scrapes and touches no global registry: the view
builds a registry of its own per request, so nothing is shared between
requests or threads. Needs the ``prometheus`` extra (``prometheus_client``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

#: The statuses whose job counts are exposed: the queue itself, then its registries.
STATUSES = ("queued", "started", "deferred", "scheduled", "finished", "failed", "canceled")

#: django-rq's ``rq_jobs`` family, kept under its name so that dashboards built
#: on django-rq keep working: the same numbers as ``jobqueue_jobs`` for the
#: statuses it has.
RQ_STATUSES = ("queued", "started", "finished", "failed", "deferred", "scheduled")


class JobQueueCollector:
    """Yields the metric families of :func:`.engine.stats.queue_metrics`' data.

    Args:
        read: returns that data (called once per scrape).
    """

    def __init__(self, read: Callable[[], dict[str, Any]]):
        self.read = read

    def describe(self) -> list:
        # Registering must not read Redis: nothing to check up front.
        return []

    def collect(self) -> Iterator[Any]:
        data = self.read()
        depth = GaugeMetricFamily(
            "jobqueue_jobs", "Jobs per queue and status, now.", labels=["queue", "status"]
        )
        started = CounterMetricFamily(
            "jobqueue_jobs_started", "Jobs workers started.", labels=["queue"]
        )
        finished = CounterMetricFamily(
            "jobqueue_jobs_finished", "Jobs that finished successfully.", labels=["queue"]
        )
        failed = CounterMetricFamily(
            "jobqueue_jobs_failed",
            "Failed attempts, including those retried afterwards.",
            labels=["queue"],
        )
        duration = HistogramMetricFamily(
            "jobqueue_job_duration_seconds",
            "How long workers took to run a job and record its outcome.",
            labels=["queue"],
        )
        queue_workers = GaugeMetricFamily(
            "jobqueue_queue_workers", "Live workers serving the queue.", labels=["queue"]
        )
        rq_jobs = GaugeMetricFamily(
            "rq_jobs", "RQ jobs by status (django-rq's name).", labels=["queue", "status"]
        )
        for row in data["queues"]:
            name = row["name"]
            for status in STATUSES:
                depth.add_metric([name, status], row[status])
            for status in RQ_STATUSES:
                rq_jobs.add_metric([name, status], row[status])
            started.add_metric([name], row["jobs_started"])
            finished.add_metric([name], row["jobs_finished"])
            failed.add_metric([name], row["jobs_failed"])
            hist = row["duration"]
            duration.add_metric([name], list(hist["buckets"].items()), sum_value=hist["sum"])
            queue_workers.add_metric([name], row["workers"])
        workers = GaugeMetricFamily(
            "jobqueue_workers", "Live workers (a pool counts as one).", value=data["workers"]
        )
        yield from (depth, started, finished, failed, duration, queue_workers, workers, rq_jobs)
