"""Module-level job functions enqueued by the engine tests.

Workers import job functions by name, so everything a test enqueues lives here
(``tests.engine.jobs.<name>``). Jobs that need to leave a trace write it to
Redis through the running job's own connection, under the job's key prefix,
so that they work the same in a SimpleWorker, a forked work-horse and a worker
subprocess.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

from django_jobqueue.engine import Queue, Retry, get_current_job


def add(a, b):
    return a + b


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def return_none():
    return None


def fail(message="boom"):
    raise ValueError(message)


def note_failure_in_meta(job, *exc_info):
    """An exception handler (``--exception-handler``): notes the failure in the job's meta."""
    job.meta["handled"] = exc_info[0].__name__
    job.save_meta()


def close_fds_and_sleep(seconds):
    os.closerange(3, 4096)
    time.sleep(seconds)
    return seconds


def sleep_for(seconds, value=None):
    time.sleep(seconds)
    return value


def count_words_at_url(url):
    """Count words without any network access.

    ``file://`` URLs are read from the local disk; for any other URL the words
    of the URL string itself are counted (``http://example.org`` has 3).
    """
    if url.startswith("file://"):
        text = Path(url[len("file://") :]).read_text()
    else:
        text = url
    return len(re.findall(r"\w+", text))


def crash_kill():
    """Kill the process running the job (only ever enqueue for a forking Worker)."""
    os.kill(os.getpid(), signal.SIGKILL)


def crash_exit(code=1):
    """Leave the process running the job at once (only for a forking Worker)."""
    os._exit(code)


def return_unpicklable():
    return threading.Lock()


def return_generator():
    return (i for i in range(3))


class Calculator:
    """Picklable; its bound methods are used as jobs."""

    def __init__(self, base):
        self.base = base

    def add(self, n):
        return self.base + n

    def __eq__(self, other):
        return isinstance(other, Calculator) and other.base == self.base


def _trace_key(name):
    job = get_current_job()
    return job, f"{job.keys.prefix}trace:{name}"


def write_meta(key, value):
    """Set ``job.meta[key]`` from inside the job, through get_current_job()."""
    job = get_current_job()
    job.meta[key] = value
    job.save_meta()
    return job.id


def current_job_id():
    job = get_current_job()
    return None if job is None else job.id


def record_order(label):
    """Append ``label`` to the ``trace:order`` list (execution order)."""
    job, key = _trace_key("order")
    job.connection.rpush(key, label)
    return label


def record_then_enqueue(label, queue_name, new_label):
    """Record ``label``, then enqueue ``record_order(new_label)`` on ``queue_name``."""
    job, key = _trace_key("order")
    job.connection.rpush(key, label)
    Queue(queue_name, connection=job.connection, prefix=job.keys.prefix).enqueue(
        record_order, new_label
    )
    return label


def record_order_and_fail(label):
    job, key = _trace_key("order")
    job.connection.rpush(key, label)
    raise ValueError(f"{label} failed on purpose")


def run_counted(label, seconds=0.0):
    """Record how many counted jobs run at once, and when this one ran.

    ``trace:running`` counts the jobs inside their body (INCR/DECR are atomic,
    so every value pushed to ``trace:overlap`` is a true count of bodies
    overlapping); ``trace:order`` gets ``label`` as the body starts and
    ``trace:spans`` ``label start end`` (Redis server times) as it ends.
    """
    job, running = _trace_key("running")
    connection = job.connection
    start = "{}.{:06d}".format(*connection.time())
    connection.rpush(_trace_key("overlap")[1], connection.incr(running))
    connection.rpush(_trace_key("order")[1], label)
    try:
        time.sleep(seconds)
    finally:
        connection.decr(running)
        end = "{}.{:06d}".format(*connection.time())
        connection.rpush(_trace_key("spans")[1], f"{label} {start} {end}")
    return label


def fail_and_count():
    """Count the attempts of this job in ``trace:attempts:<id>``, then fail."""
    job, key = _trace_key(f"attempts:{get_current_job().id}")
    job.connection.incr(key)
    raise RuntimeError("failing on purpose")


def fail_until(attempts_needed):
    """Fail until this job has been attempted ``attempts_needed`` times, then succeed."""
    job, key = _trace_key(f"attempts:{get_current_job().id}")
    attempt = job.connection.incr(key)
    if attempt < attempts_needed:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


def return_retry(max=1, interval=0, enqueue_at_front=False):
    """Count the attempts in ``trace:attempts:<id>``, then ask for a retry by returning one."""
    job, key = _trace_key(f"attempts:{get_current_job().id}")
    job.connection.incr(key)
    return Retry(max=max, interval=interval, enqueue_at_front=enqueue_at_front)


def return_retry_until(attempts_needed):
    """Return Retry(max=5) until attempted ``attempts_needed`` times, then the attempt number."""
    job, key = _trace_key(f"attempts:{get_current_job().id}")
    attempt = job.connection.incr(key)
    return Retry(max=5) if attempt < attempts_needed else attempt


def raise_then_return_retry():
    """Raise on the first attempt, return Retry(max=1) on the later ones."""
    job, key = _trace_key(f"attempts:{get_current_job().id}")
    if job.connection.incr(key) == 1:
        raise RuntimeError("first attempt fails")
    return Retry(max=1)


def on_success_callback(job, connection, result):
    connection.rpush(f"{job.keys.prefix}trace:callbacks", f"success:{job.id}:{result}")


def on_failure_callback(job, connection, exc_type, exc_value, traceback):
    connection.rpush(
        f"{job.keys.prefix}trace:callbacks", f"failure:{job.id}:{exc_type.__name__}:{exc_value}"
    )


def trace_key(prefix, name):
    """The key a job above writes its ``name`` trace to, seen from a test."""
    return f"{prefix}trace:{name}"


# Decorated at import time: ``@job`` only needs a connection when ``.delay()``
# enqueues, and the tests point the decorator's queue factory at the test Redis.
from django_jobqueue.engine import job  # noqa: E402


@job
def multiply(a, b):
    return a * b


@job("low", timeout=7, result_ttl=42)
def subtract(a, b):
    return a - b


def power(base, exponent):
    """Decorated by the tests themselves (the decorator returns this same function)."""
    return base**exponent


def current_pid():
    return os.getpid()


def soak(i, fail_always=False, fail_first=False):
    """A soak-test job: logs each run; some fail always, some only on their first run.

    Each run also appends ``began:i`` to the list ``soak:order``, and a run that
    succeeds ``done:i`` as its last step: the order Redis saw, which no
    process's clock can blur.
    """
    from django_jobqueue.engine import get_current_job

    job = get_current_job()
    prefix = job.keys.prefix
    runs = job.connection.incr(f"{prefix}soak:runs:{i}")
    job.connection.rpush(f"{prefix}soak:order", f"began:{i}")
    if fail_always or (fail_first and runs == 1):
        raise ValueError(f"soak job {i} fails (run {runs})")
    job.connection.rpush(f"{prefix}soak:order", f"done:{i}")
    return i


def mark(label):
    """Append ``label`` to the file ``$JQ_TEST_MARKS`` names: proof that code ran, anywhere."""
    with open(os.environ["JQ_TEST_MARKS"], "a") as marks:
        marks.write(f"{label}\n")


def mark_callback(*args):
    """A callback an attacker would like a worker to import and call."""
    mark("pwned")


def own_last_heartbeat():
    """The running job's ``last_heartbeat``, as a UNIX time (None if it has none)."""
    beat = get_current_job().last_heartbeat
    return beat.timestamp() if beat else None


def registration_field(key, field):
    """A field of a worker's registration, read from inside a job it runs."""
    value = get_current_job().connection.hget(key, field)
    return value.decode() if value is not None else None


def spin(seconds):
    """Busy for ``seconds`` in Python code (a timer's exception can land in it)."""
    end = time.time() + seconds
    while time.time() < end:
        pass
    return "spun"


def meta_handler(job, exc_type, exc_value, traceback):
    """An exception handler that leaves a mark on the job's meta."""
    job.meta["handled"] = True
    job.save_meta()
    return True


# -- chains (test_chain.py): each later step gets the previous result first ----------


def start_list(item):
    return [item]


def append_to(previous, item, upper=False):
    """The previous step's list with ``item`` added (upper-cased with ``upper``)."""
    return [*previous, item.upper() if upper else item]


def append_or_fail_until(previous, item, attempts_needed):
    """Fail until attempted ``attempts_needed`` times (counted per job), then append."""
    job, key = _trace_key(f"attempts:{get_current_job().id}")
    attempt = job.connection.incr(key)
    if attempt < attempts_needed:
        raise RuntimeError(f"attempt {attempt} fails")
    return [*previous, item]


def append_pid(previous):
    return [*previous, os.getpid()]


@job("low")
def chain_double(value):
    return value * 2


def record_previous(previous):
    """Append ``repr(previous)`` to ``trace:order`` and pass it on: proof the step ran."""
    job, key = _trace_key("order")
    job.connection.rpush(key, repr(previous))
    return previous


def as_tuple(*items):
    return tuple(items)


def type_name(value):
    return type(value).__name__


def stop_itself(previous):
    """Raise StopRequested, as a job stopped on purpose does."""
    from django_jobqueue.engine.errors import StopRequested

    raise StopRequested(f"stopped after {previous!r}")
