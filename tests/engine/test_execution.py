"""The execution seam: a new model is one class, and it never needs the worker."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from django_jobqueue.engine import SimpleWorker, Worker
from django_jobqueue.engine.execution import EXECUTIONS, Execution, Host
from django_jobqueue.engine.job import Job
from django_jobqueue.engine.perform import ColdShutdown

from . import jobs

EXECUTION_PACKAGE = Path(__file__).resolve().parents[2] / "django_jobqueue/engine/execution"


class RecordingExecution(Execution):
    """A fourth model in a dozen lines: runs jobs in-process and remembers them."""

    name = "recording"
    description = "in-process, recorded"

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.setups = self.teardowns = 0

    def setup(self, host: Host) -> None:
        self.setups += 1

    def run(self, host: Host, job: Job) -> str | None:
        self.ran.append(job.id)
        return host.perform(job)

    def interrupt(self, host: Host) -> None:
        raise ColdShutdown("stopped")

    def teardown(self, host: Host) -> None:
        self.teardowns += 1


def test_a_new_execution_model_is_one_class_and_one_entry(
    queue, redis_conn, key_prefix, monkeypatch
):
    monkeypatch.setitem(EXECUTIONS, "recording", RecordingExecution)
    first, second = queue.enqueue(jobs.add, 1, 2), queue.enqueue(jobs.add, 3, 4)
    worker = Worker(
        queue, connection=redis_conn, prefix=key_prefix, execution="recording", scheduler=False
    )
    assert worker.work(burst=True, logging_level=None)
    execution = worker.execution
    assert isinstance(execution, RecordingExecution)
    assert execution.ran == [first.id, second.id]
    assert (execution.setups, execution.teardowns) == (1, 1)
    assert [first.return_value(refresh=True), second.return_value(refresh=True)] == [3, 7]
    assert worker.registration()["execution"] == "recording"


def test_an_unknown_execution_name_says_which_exist(queue, redis_conn, key_prefix):
    with pytest.raises(ValueError, match=r"'threads'.*'fork'.*'inline'"):
        Worker(queue, connection=redis_conn, prefix=key_prefix, execution="threads")


def test_every_worker_is_a_host_for_its_execution(queue, redis_conn, key_prefix):
    worker = SimpleWorker(queue, connection=redis_conn, prefix=key_prefix, scheduler=False)
    declared = {name for name in (*Host.__annotations__, *vars(Host)) if not name.startswith("_")}
    assert declared >= {"perform", "record_result", "heartbeat", "stop_requested", "current_job"}
    assert all(hasattr(worker, name) for name in declared)


def test_executions_never_import_the_worker():
    """Not even for type checking: the seam runs from the worker to the execution only."""
    for path in EXECUTION_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "worker" not in (node.module or "").split("."), path.name
                assert not any(alias.name == "worker" for alias in node.names), path.name
