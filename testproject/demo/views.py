"""One page that enqueues demo jobs and shows how they are doing."""

from datetime import UTC, datetime

import redis
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from django_jobqueue import get_queue

from . import tasks

#: Session key of the jobs enqueued from this page: a list of [queue name, job id].
SESSION_KEY = "demo_jobs"
MAX_REMEMBERED = 30


def _queue_names():
    return list(getattr(settings, "JOBQUEUE_QUEUES", {}) or {"default": {}})


def _remember(request, *jobs_with_queues):
    remembered = request.session.get(SESSION_KEY, [])
    for queue_name, job in jobs_with_queues:
        remembered.insert(0, [queue_name, job.id])
    request.session[SESSION_KEY] = remembered[:MAX_REMEMBERED]


def _as_datetime(value):
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError):
        return None


def _summarize_exc_info(exc_info, limit=160):
    if not exc_info:
        return ""
    if isinstance(exc_info, bytes):
        exc_info = exc_info.decode(errors="replace")
    lines = [line for line in str(exc_info).strip().splitlines() if line.strip()]
    summary = lines[-1].strip() if lines else ""
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"


def _describe(queue_name, job_id, job):
    if job is None:
        return {"id": job_id, "queue": queue_name, "missing": True}
    status = job.get_status()
    return {
        "id": job.id,
        "queue": queue_name,
        "func_name": job.func_name,
        "status": getattr(status, "value", status) or "unknown",
        "result": job.result,
        "error": _summarize_exc_info(job.exc_info),
        "enqueued_at": _as_datetime(job.enqueued_at),
        "ended_at": _as_datetime(job.ended_at),
    }


def _jobs_context(request):
    rows = []
    redis_error = None
    try:
        for queue_name, job_id in request.session.get(SESSION_KEY, []):
            queue = get_queue(queue_name)
            rows.append(_describe(queue_name, job_id, queue.fetch_job(job_id)))
    except redis.exceptions.RedisError as exc:
        redis_error = f"Redis is not reachable: {exc}"
    return {"rows": rows, "redis_error": redis_error}


def index(request):
    context = _jobs_context(request)
    context["queue_names"] = _queue_names()
    return render(request, "demo/index.html", context)


def jobs(request):
    """The job list alone, which the page fetches every 2 s in place of a reload:
    a reload would wipe what the visitor is typing into the forms."""
    return render(request, "demo/jobs.html", _jobs_context(request))


def _number(request, field, default, cast=int, low=None, high=None):
    raw = request.POST.get(field, "").strip()
    try:
        value = cast(raw) if raw else default
    except ValueError:
        raise ValueError(f"{field} must be a number, not {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{field} must be between {low} and {high}")
    return value


@require_POST
def enqueue(request, kind):
    queue_name = request.POST.get("queue") or "default"
    if queue_name not in _queue_names():
        messages.error(request, f"Unknown queue {queue_name!r}.")
        return redirect("demo:index")
    try:
        queue = get_queue(queue_name)
        if kind == "add":
            x = _number(request, "x", 2)
            y = _number(request, "y", 3)
            job = queue.enqueue(tasks.add, x, y)
            _remember(request, (queue_name, job))
            messages.success(request, f"Enqueued add({x}, {y}) as {job.id} on {queue_name!r}.")
        elif kind == "words":
            text = request.POST.get("text", "")
            job = queue.enqueue(tasks.count_words, text)
            _remember(request, (queue_name, job))
            messages.success(request, f"Enqueued count_words(...) as {job.id}.")
        elif kind == "slow":
            seconds = _number(request, "seconds", 5.0, cast=float, low=0, high=120)
            job = queue.enqueue(tasks.slow, seconds, job_timeout=int(seconds) + 30)
            _remember(request, (queue_name, job))
            messages.success(request, f"Enqueued slow({seconds:g}) as {job.id}.")
        elif kind == "fail":
            message = request.POST.get("message") or "This job fails on purpose."
            job = queue.enqueue(tasks.fail, message)
            _remember(request, (queue_name, job))
            messages.success(request, f"Enqueued fail(...) as {job.id}; it will fail.")
        elif kind == "chain":
            # sum_results looks its parents up in the "default" queue.
            queue_name, queue = "default", get_queue("default")
            first = queue.enqueue(tasks.add, 2, 3)
            second = queue.enqueue(tasks.add, 10, 20, depends_on=first)
            total = queue.enqueue(tasks.sum_results, first.id, second.id, depends_on=second)
            # The table lists newest first: sum_results, then add(10, 20), then add(2, 3).
            _remember(request, (queue_name, first), (queue_name, second), (queue_name, total))
            messages.success(
                request,
                f"Enqueued a chain: add(2, 3) → add(10, 20) → sum_results = 35 "
                f"({first.id} → {second.id} → {total.id}).",
            )
        else:
            messages.error(request, f"Unknown kind of job {kind!r}.")
    except ValueError as exc:
        messages.error(request, f"Bad input: {exc}")
    except redis.exceptions.RedisError as exc:
        messages.error(request, f"Could not enqueue, Redis is not reachable: {exc}")
    return redirect("demo:index")


@require_POST
def forget(request):
    request.session.pop(SESSION_KEY, None)
    messages.success(request, "Cleared the list (the jobs themselves are untouched).")
    return redirect("demo:index")
