"""Batches on a real Redis Cluster: a batch, its jobs and its callbacks in one slot."""

from __future__ import annotations

from django_jobqueue.engine import Batch, BatchProgress, BatchStatus, Queue, SimpleWorker

from . import batch_jobs
from .test_cluster import cq  # noqa: F401  (fixture)


def test_a_batch_on_the_cluster(cq, cluster_conn, key_prefix):  # noqa: F811
    emails, low = cq("emails"), cq("low")  # on two different masters
    batch = Batch.create(
        emails, name="c1", on_success=batch_jobs.record, on_complete=batch_jobs.record
    )
    batch.enqueue_many([Queue.prepare_data(batch_jobs.ok, (i,)) for i in range(5)])
    batch.enqueue(batch_jobs.boom)
    batch.close()
    low.enqueue(batch_jobs.ok)
    SimpleWorker([emails, low], connection=cluster_conn, prefix=key_prefix).work(burst=True)
    assert batch_jobs.calls(cluster_conn, key_prefix) == ["on_complete:c1"]
    fetched = Batch.fetch("c1", cluster_conn, prefix=key_prefix)
    assert fetched.status == BatchStatus.FAILED
    assert fetched.progress == BatchProgress(6, 5, 1, 0)
    assert emails.deferred_job_registry.release_ready(older_than=0) == 0
    fetched.delete()
