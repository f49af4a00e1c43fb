"""Time every dashboard page with 100,000 jobs queued and 100,000 failed.

    python -m benchmarks.admin_pages [--jobs 100000] [--runs 20] [--actions]

Starts a private redis-server, fills one queue (``default``) with ``--jobs``
failed jobs (really run and failed through the scripts, with tracebacks) and
then ``--jobs`` queued ones, and requests each page with Django's test client
as a superuser. Prints the median and the slowest of ``--runs`` requests per
page; the goal is under 300 ms each. ``--actions`` also times "requeue all
failed" and "empty queue", which work in batches.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

import django
from django.conf import settings

from tests.redis_rigs import RedisServer

urlpatterns: list = []  # filled in once Django is set up (this module is the URLconf)

GOAL_MS = 300


def configure(redis_url: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django_jobqueue",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF=__name__,
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        STATIC_URL="/static/",
        JOBQUEUE_QUEUES={name: {"URL": redis_url} for name in ("default", "high", "low")},
        JOBQUEUE_COMMIT_MODE="immediate",
    )
    django.setup()
    from django.contrib import admin
    from django.urls import path

    urlpatterns.append(path("admin/", admin.site.urls))


def fill(n: int) -> tuple[str, str]:
    """``n`` failed then ``n`` queued jobs on ``default``; returns a failed and a queued id."""
    from django_jobqueue.engine import scripts
    from django_jobqueue.engine.utils import now
    from django_jobqueue.queues import get_queue

    q = get_queue("default")
    batch_size = 2000
    # About 1 kB, as a real traceback of a few frames (the exception filter reads it all).
    frames = "".join(
        f'  File "/srv/app/.venv/lib/python3.13/site-packages/app/step{i}.py", line {40 + i}, '
        f"in step{i}\n    return step{i + 1}(payload, retries=retries)\n"
        for i in range(8)
    )
    traceback = f"Traceback (most recent call last):\n{frames}ValueError: upstream answered 503\n"
    started = time.perf_counter()
    for lo in range(0, n, batch_size):
        count = min(batch_size, n - lo)
        calls = [
            q.prepare_data(
                "benchmarks.admin_pages.work", args=(lo + i, "x" * 40), kwargs={"retry": False}
            )
            for i in range(count)
        ]
        jobs = q.enqueue_many(calls, batch_size=batch_size)
        taken = scripts.Batch(q.connection)
        for _ in jobs:
            scripts.dequeue(taken, q.keys, ["default"], now(), "bench-worker", 3600)
        taken.execute()
        failed = scripts.Batch(q.connection)
        for job in jobs:
            scripts.fail(
                failed, q.keys, "default", job.id, now(), 365 * 86400, traceback, "bench-worker"
            )
        failed.execute()
    a_failed = jobs[-1].id
    for lo in range(0, n, batch_size):
        count = min(batch_size, n - lo)
        jobs = q.enqueue_many(
            [
                q.prepare_data("benchmarks.admin_pages.work", args=(lo + i, "y" * 40))
                for i in range(count)
            ],
            batch_size=batch_size,
        )
    a_queued = jobs[-1].id
    print(
        f"filled {n:,} failed + {n:,} queued jobs in {time.perf_counter() - started:.1f} s "
        f"(queue: {q.count:,}, failed registry: {q.failed_job_registry.count:,})"
    )
    return a_failed, a_queued


def work(number: int, payload: str, retry: bool = True) -> None:  # never run
    raise ValueError(number)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--actions", action="store_true")
    options = parser.parse_args(argv)

    server = RedisServer()
    server.start()
    try:
        configure(server.url)
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_superuser("bench", "b@example.com", "pw")
        client = Client()
        client.force_login(user)
        failed_id, queued_id = fill(options.jobs)
        last = -(-options.jobs // 25)
        base = "/admin/django_jobqueue/dashboard/"
        pages = [
            ("overview", base),
            ("workers", f"{base}workers/"),
            ("queue, page 1", f"{base}queues/default/"),
            ("queue, page 1 of 100", f"{base}queues/default/?per_page=100"),
            (f"queue, last page ({last:,})", f"{base}queues/default/?p={last}"),
            ("queue, search by id", f"{base}queues/default/?q={queued_id}"),
            ("failed, page 1", f"{base}queues/default/failed/"),
            ("failed, page 1 of 100", f"{base}queues/default/failed/?per_page=100"),
            (f"failed, last page ({last:,})", f"{base}queues/default/failed/?p={last}"),
            ("failed, search by id", f"{base}queues/default/failed/?q={failed_id}"),
            ("finished (empty)", f"{base}queues/default/finished/"),
            ("job page (failed)", f"{base}queues/default/jobs/{failed_id}/"),
            ("job page (queued)", f"{base}queues/default/jobs/{queued_id}/"),
            ("confirm requeue", f"{base}queues/default/jobs/{failed_id}/requeue/"),
            (
                "confirm requeue all failed",
                f"{base}queues/default/failed/bulk/?action=requeue&all=1",
            ),
            ("confirm empty queue", f"{base}queues/default/queued/bulk/?action=delete&all=1"),
            # The search (filters and sorts): each reads every job of its list.
            ("queue, function filter", f"{base}queues/default/?func=admin_pages"),
            ("queue, sorted oldest first", f"{base}queues/default/?o=enqueued"),
            ("failed, function filter", f"{base}queues/default/failed/?func=admin_pages"),
            (
                "failed, function filter, page 40",
                f"{base}queues/default/failed/?func=admin_pages&p=40",
            ),
            (
                "failed, status and a time range",
                f"{base}queues/default/failed/?status=failed&time=enqueued&from=2000-01-01&to=2100-01-01",
            ),
            ("failed, sorted by function", f"{base}queues/default/failed/?o=func"),
            ("failed, sorted by duration", f"{base}queues/default/failed/?o=-duration"),
            ("failed, exception (as typed)", f"{base}queues/default/failed/?exc=ValueError"),
            ("failed, exception (any case)", f"{base}queues/default/failed/?exc=valueerror"),
        ]
        print(f"\n{'page':<34} {'median ms':>10} {'max ms':>8}")
        worst = 0.0
        for name, url in pages:
            response = client.get(url)  # warm up (and check)
            assert response.status_code == 200, (url, response.status_code)
            times = []
            for _ in range(options.runs):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            worst = max(worst, max(times))
            print(f"{name:<34} {statistics.median(times):>10.1f} {max(times):>8.1f}")
        print(f"\nslowest request: {worst:.1f} ms (goal: every page under {GOAL_MS} ms)")
        if options.actions:
            for name, url in [
                ("requeue all failed", f"{base}queues/default/failed/bulk/"),
                ("empty queue", f"{base}queues/default/queued/bulk/"),
            ]:
                action = "requeue" if "failed" in url else "delete"
                started = time.perf_counter()
                # As a person does it: open the confirmation, then post its form (which
                # carries the signed selection of what the page showed).
                confirm = client.get(f"{url}?action={action}&all=1")
                assert confirm.status_code == 200, (url, confirm.status_code)
                fields = dict(
                    re.findall(
                        r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                        confirm.content.decode(),
                    )
                )
                response = client.post(url, {**fields, "post": "yes"})
                assert response.status_code == 302
                print(f"{name}: {time.perf_counter() - started:.1f} s")
        return 0 if worst < GOAL_MS else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
