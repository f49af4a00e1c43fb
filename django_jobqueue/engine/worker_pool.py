"""RQ's ``rq.worker_pool`` import path: the pool lives in :mod:`.worker.pool`."""

from .worker.pool import WorkerPool, run_worker

__all__ = ["WorkerPool", "run_worker"]
