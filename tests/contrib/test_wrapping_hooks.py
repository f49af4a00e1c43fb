"""The engine's hooks that wrap a step (enqueue, run) for integrations such as tracers."""

from __future__ import annotations

import contextlib
import os

import pytest

from django_jobqueue.engine import Job, SimpleWorker, Worker, hooks
from tests.engine import jobs


@pytest.fixture
def register():
    """``register(hooks)`` for the test only."""
    added = []

    def add(h):
        hooks.register(h)
        added.append(h)
        return h

    yield add
    for h in added:
        hooks.unregister(h)


def test_only_hooks_that_override_a_wrapping_method_are_asked(register):
    class Watching(hooks.Hooks):
        def job_finished(self, job, result, worker):
            pass

    class Timing(hooks.Hooks):
        def job_running(self, job, worker):
            return None

    register(Watching())
    assert hooks.run_wrappers == hooks.enqueue_wrappers == hooks.exit_watchers == []
    timing = register(Timing())
    assert hooks.run_wrappers == [timing]
    assert hooks.enqueue_wrappers == hooks.exit_watchers == []
    hooks.unregister(timing)
    assert hooks.run_wrappers == []


class Journal(hooks.Hooks):
    """Appends what happens, and in which process, to a file (work-horses write to it too)."""

    def __init__(self, path):
        self.path = path

    def write(self, what):
        with open(self.path, "a") as out:
            out.write(f"{what} {os.getpid()}\n")

    def lines(self):
        return [line.split() for line in self.path.read_text().splitlines()]

    @contextlib.contextmanager
    def job_enqueueing(self, job, queue):
        job.meta["stamp"] = "from the hook"
        self.write("enqueueing")
        yield
        self.write("enqueueing-done")

    def job_enqueued(self, job, queue):
        self.write("enqueued")

    @contextlib.contextmanager
    def job_running(self, job, worker):
        self.write("running")
        try:
            yield
        finally:
            self.write(f"ran-{job.get_status(refresh=False)}")

    def job_started(self, job, worker):
        self.write("started")

    def job_failed(self, job, exc_info, worker):
        self.write("failed")

    def job_finished(self, job, result, worker):
        self.write("finished")

    def process_exiting(self, worker):
        self.write("exiting")


def test_job_enqueueing_wraps_the_storing_and_its_meta_is_stored(register, queue, tmp_path):
    journal = register(Journal(tmp_path / "journal"))
    job = queue.enqueue(jobs.add, 1, 2)
    assert [what for what, _ in journal.lines()] == ["enqueueing", "enqueued", "enqueueing-done"]
    stored = Job.fetch(job.id, queue.connection, prefix=queue.keys.prefix)
    assert stored.meta == {"stamp": "from the hook"}


def test_job_running_wraps_the_run_in_the_forked_work_horse(register, queue, make_worker, tmp_path):
    queue.enqueue(jobs.add, 1, 2)
    queue.enqueue(jobs.fail)
    journal = register(Journal(tmp_path / "journal"))
    make_worker([queue], cls=Worker).work(burst=True)

    lines = journal.lines()
    whats = [what for what, _ in lines]
    # The success is recorded (and job_finished told) by the worker, after the horse.
    assert whats == [
        "running",
        "started",
        "ran-finished",
        "exiting",
        "finished",
        "running",
        "started",
        "failed",
        "ran-failed",
        "exiting",
    ]
    horses = {int(pid) for what, pid in lines if what != "finished"}
    assert len(horses) == 2 and os.getpid() not in horses
    assert int(lines[4][1]) == os.getpid()  # "finished", in the worker


def test_job_running_wraps_the_run_of_an_in_process_worker(register, queue, make_worker, tmp_path):
    queue.enqueue(jobs.add, 1, 2)
    journal = register(Journal(tmp_path / "journal"))
    make_worker([queue], cls=SimpleWorker).work(burst=True)
    assert journal.lines() == [
        [what, str(os.getpid())] for what in ("running", "started", "ran-finished", "finished")
    ]


class Broken(hooks.Hooks):
    def __init__(self, where):
        self.where = where

    def job_enqueueing(self, job, queue):
        return self.manager()

    def job_running(self, job, worker):
        if self.where == "asking":
            raise RuntimeError("broken hook, asking")
        return self.manager()

    @contextlib.contextmanager
    def manager(self):
        if self.where == "entering":
            raise RuntimeError("broken hook, entering")
        yield
        if self.where == "leaving":
            raise RuntimeError("broken hook, leaving")


@pytest.mark.parametrize("where", ["asking", "entering", "leaving"])
def test_a_wrapping_hook_that_raises_changes_nothing(register, queue, make_worker, caplog, where):
    register(Broken(where))
    job = queue.enqueue(jobs.add, 1, 2)
    make_worker([queue], cls=SimpleWorker).work(burst=True)
    assert job.get_status() == "finished"
    assert job.return_value() == 3
    assert f"broken hook, {where}" in caplog.text


def test_an_interrupt_goes_through_a_manager_that_would_swallow_it(queue):
    class Swallowing(hooks.Hooks):
        def job_running(self, job, worker):
            class Manager:
                def __enter__(self):
                    pass

                def __exit__(self, *exc):
                    return True  # would swallow what passes

            return Manager()

    job = queue.enqueue(jobs.add, 1, 2)
    with pytest.raises(KeyboardInterrupt), hooks.Wrapped([Swallowing()], "job_running", job, "w"):
        raise KeyboardInterrupt
