"""``manage.py rqrequeue``: failed jobs back into their queues, by id or all at once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_jobqueue import enqueue, get_queue

from . import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enqueue_at_once(settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("rqrequeue", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def work(*queues):
    call_command(
        "rqworker",
        *queues,
        "--burst",
        "--worker-class",
        "simple",
        stdout=StringIO(),
        stderr=StringIO(),
    )


@pytest.fixture
def failed(jq):
    """Two failed jobs on default, one on high, one finished job on default."""
    jobs = {
        "a": enqueue(tasks.fail, "a"),
        "b": enqueue(tasks.fail, "b"),
        "high": get_queue("high").enqueue(tasks.fail, "high"),
        "ok": enqueue(tasks.add, 1, 1),
    }
    work("high", "default")
    assert get_queue().failed_job_registry.count == 2
    assert get_queue("high").failed_job_registry.count == 1
    return jobs


def test_all_failed_jobs_of_one_queue(failed):
    out, _ = run("--all", "--queue", "default")
    assert out == "default: 2 failed job(s) requeued\n"
    default, high = get_queue(), get_queue("high")
    assert sorted(default.job_ids) == sorted([failed["a"].id, failed["b"].id])
    assert default.failed_job_registry.count == 0
    assert high.failed_job_registry.count == 1  # not named, not touched
    assert failed["a"].get_status() == "queued"


def test_all_failed_jobs_of_every_queue_run_again(failed):
    out, _ = run("-a")
    assert "default: 2 failed job(s) requeued" in out
    assert "high: 1 failed job(s) requeued" in out
    work("high", "default")
    # They fail again (the function still raises): they ran, and are back in failed.
    assert get_queue().failed_job_registry.count == 2
    assert failed["a"].latest_result().exc_string.rstrip().endswith("ValueError: a")


def test_by_id_requeues_those_and_names_the_others(failed):
    with pytest.raises(CommandError, match=r"^2 of 3 job\(s\) not requeued\.$"):
        out, err = StringIO(), StringIO()
        call_command(
            "rqrequeue",
            failed["high"].id,
            failed["ok"].id,
            "no-such-job",
            stdout=out,
            stderr=err,
        )
    assert out.getvalue() == "high: 1 job(s) requeued\n"
    assert f"Job {failed['ok'].id} (default) is finished: only failed" in err.getvalue()
    assert "No job no-such-job in default, high, low." in err.getvalue()
    assert get_queue("high").job_ids == [failed["high"].id]
    assert failed["ok"].get_status() == "finished"


def test_a_canceled_job_can_be_requeued_by_id(jq):
    job = enqueue(tasks.add, 2, 2)
    job.cancel()
    out, _ = run(job.id)
    assert out == "default: 1 job(s) requeued\n"
    work()
    assert job.return_value(refresh=True) == 4


@pytest.mark.parametrize("args", [(), ("--all", "some-id")])
def test_ids_or_all_not_neither_nor_both(jq, args):
    with pytest.raises(CommandError, match="by id, or give --all"):
        run(*args)


def test_an_unknown_queue_is_named(jq):
    with pytest.raises(CommandError, match="Unknown queue"):
        run("--all", "-q", "nope")
