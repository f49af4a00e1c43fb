"""bulk.requeue_many() and bulk.delete_many(): jobs picked by id, a batch per round trip.

The selection-based operations are tested through the dashboard (tests/dashboard/test_bulk.py).
"""

from __future__ import annotations

from django_jobqueue.engine import Dependency, bulk, scripts

from . import jobs


def _round_trips(monkeypatch) -> list[str]:
    """Counts the batches of script calls sent (one round trip each)."""
    trips: list[str] = []
    real = scripts.Batch.execute

    def execute(self):
        trips.append("batch")
        return real(self)

    monkeypatch.setattr(scripts.Batch, "execute", execute)
    return trips


def test_requeue_many_requeues_what_it_can_in_batches(queue, make_worker, monkeypatch):
    for i in range(5):
        queue.enqueue(jobs.fail, job_id=f"f{i}")
    queue.enqueue(jobs.add, 1, 2, job_id="ok")
    make_worker([queue]).work(burst=True)
    trips = _round_trips(monkeypatch)
    done, skipped = bulk.requeue_many(queue, ["f0", "f1", "f2", "ok", "gone"], batch=2)
    monkeypatch.undo()
    assert (done, skipped) == (3, 2)  # a finished job and a missing one are left alone
    assert len(trips) == 3
    assert queue.get_job_ids() == ["f0", "f1", "f2"]
    assert queue.failed_job_registry.count == 2
    assert queue.fetch_job("ok").get_status() == "finished"


def test_delete_many_deletes_and_tells_the_children(queue):
    parent = queue.enqueue(jobs.add, 1, 2, job_id="parent")
    child = queue.enqueue(
        jobs.add, 1, 2, job_id="child", depends_on=Dependency([parent], allow_failure=True)
    )
    queue.enqueue(jobs.add, 3, 4, job_id="other")
    assert child.get_status() == "deferred"
    assert bulk.delete_many(queue, ["parent", "other", "gone"], batch=2) == (2, 1)
    assert queue.fetch_job("parent") is None and queue.fetch_job("other") is None
    # As Job.delete() does: the child waiting on the deleted parent is told.
    assert child.get_status() == "queued" and queue.get_job_ids() == ["child"]
