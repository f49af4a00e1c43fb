"""Job functions of the demo. A worker imports them by their dotted name
(``testproject.demo.tasks.add``), so they live at module level."""

import time

from django_jobqueue import get_queue


def add(x, y):
    """Return ``x + y``."""
    return x + y


def count_words(text):
    """Return the number of whitespace-separated words in ``text``."""
    return len(text.split())


def slow(seconds):
    """Sleep for ``seconds``, then return how long it actually slept."""
    started = time.monotonic()
    time.sleep(seconds)
    return round(time.monotonic() - started, 3)


def fail(message):
    """Always fail, to show a job in the failed registry."""
    raise ValueError(message)


def sum_results(*job_ids):
    """Return the sum of the results of the given finished jobs of the "default" queue.

    Enqueue it with ``depends_on=`` so that it only runs once they are done.
    """
    queue = get_queue("default")
    total = 0
    for job_id in job_ids:
        job = queue.fetch_job(job_id)
        if job is None:
            raise LookupError(f"Job {job_id} no longer exists (its result may have expired).")
        total += job.result
    return total
