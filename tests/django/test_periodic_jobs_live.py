"""PeriodicJob rows edited while real worker processes run their schedulers.

The workers are ``manage.py rqworker`` subprocesses on a migrated SQLite file;
the rows are edited by ``manage.py shell`` subprocesses, as a person in the
admin would, and the test watches what the workers enqueue.
"""

from __future__ import annotations

import json
import signal
import time

from django_jobqueue import get_queue
from django_jobqueue.engine.scheduler import scheduler_holder

from .conftest import wait_until

NAME = "live"


def shell(manage_py, code: str) -> None:
    proc = manage_py("shell", "-c", code)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output


def save_row(manage_py, **fields) -> None:
    """Create or change the row ``NAME`` through the model, with its checks."""
    shell(
        manage_py,
        "from django_jobqueue.models import PeriodicJob\n"
        f"job = PeriodicJob.objects.filter(name={NAME!r}).first() or PeriodicJob(name={NAME!r})\n"
        f"for key, value in {fields!r}.items(): setattr(job, key, value)\n"
        "job.full_clean()\n"
        "job.save()\n",
    )


def migrate(manage_py) -> None:
    proc = manage_py("migrate", "--noinput", "-v", "0")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output


def count(log_of, tag: str) -> int:
    return log_of().count(tag)


def stays(predicate_value, seconds: float) -> bool:
    """Whether ``predicate_value()`` keeps its value for ``seconds``."""
    first = predicate_value()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate_value() != first:
            return False
        time.sleep(0.2)
    return True


def test_running_schedulers_follow_the_table_and_fire_each_occurrence_once(
    jq, manage_py, log_of, tmp_path
):
    migrate(manage_py)
    save_row(manage_py, func="tests.django.tasks.record", interval=1, args=["v1"])
    workers = {}
    for name in ("w1", "w2"):
        with open(tmp_path / f"{name}.log", "w") as out:  # the child keeps its own copy
            workers[name] = manage_py(
                "rqworker",
                "--worker-class",
                "simple",
                "--with-scheduler",
                "--name",
                name,
                stdout=out,
            )
    # The default CRON_RELOAD_INTERVAL (5 s): each change shows within a few seconds.
    wait_until(lambda: count(log_of, "v1") >= 2, timeout=20, message="the row never ran")

    save_row(manage_py, args=["v2"])
    started = time.monotonic()
    wait_until(lambda: "v2" in log_of(), timeout=15, message="the change was not picked up")
    assert time.monotonic() - started < 10  # CRON_RELOAD_INTERVAL (5 s), a run, some slack

    # The active scheduler dies; the other one takes over with the table's rows.
    holder = scheduler_holder(jq, get_queue().keys.prefix)
    assert holder in workers
    workers[holder].send_signal(signal.SIGKILL)
    workers[holder].wait(10)
    survivor = next(name for name in workers if name != holder)
    wait_until(
        lambda: scheduler_holder(jq, get_queue().keys.prefix) == survivor,
        timeout=20,
        message="the other worker did not take over",
    )

    # A new timing: the run of the change, then the next one an hour later.
    save_row(manage_py, args=["v3"], interval=3600)
    wait_until(lambda: "v3" in log_of(), timeout=15, message="the new timing was not picked up")
    v2_runs = count(log_of, "v2")
    assert stays(lambda: (count(log_of, "v2"), count(log_of, "v3")), 4)
    assert (count(log_of, "v2"), count(log_of, "v3")) == (v2_runs, 1)

    # Paused: nothing runs; resumed: it runs again.
    save_row(manage_py, args=["v4"], interval=1)
    wait_until(lambda: "v4" in log_of(), timeout=15)
    save_row(manage_py, enabled=False)
    time.sleep(6)  # the reload interval, and a run already enqueued
    assert stays(lambda: count(log_of, "v4"), 4), "a paused row kept running"
    paused_at = count(log_of, "v4")
    save_row(manage_py, enabled=True)
    wait_until(lambda: count(log_of, "v4") > paused_at, timeout=15, message="not resumed")

    # Deleted: it stops.
    shell(
        manage_py,
        f"from django_jobqueue.models import PeriodicJob\n"
        f"PeriodicJob.objects.filter(name={NAME!r}).delete()\n",
    )
    time.sleep(6)
    assert stays(lambda: count(log_of, "v4"), 4), "a deleted row kept running"

    # Two schedulers, one of them killed on the way: every occurrence ran once.
    # (Per timing: a changed interval entry starts afresh, with a run at once
    # that may share its second with the old timing's last run.)
    queue = get_queue()
    jobs = [queue.fetch_job(job_id) for job_id in queue.finished_job_registry.get_job_ids()]
    runs = [(j.args[0], j.meta["occurrence"]) for j in jobs if j and j.meta.get("cron") == NAME]
    assert len(runs) == len(log_of()) > 5
    every_second = sorted(when for tag, when in runs if tag != "v3")
    assert len(set(every_second)) == len(every_second), runs


def test_rqworker_without_the_table_runs_jobqueue_cron_and_warns_once(jq, manage_py, log_of):
    """A project that never ran migrate for this app."""
    manage_py.env["JQ_TEST_CRON"] = json.dumps(
        [{"func": "tests.django.tasks.record", "interval": 60, "args": ["setting"]}]
    )
    proc = manage_py("rqworker", "--burst", "--worker-class", "simple")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert log_of() == ["setting"]
    assert output.count("Periodic jobs of the database are not read") == 1, output
