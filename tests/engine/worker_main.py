"""A worker process for the subprocess tests.

``python -m tests.engine.worker_main --url URL --prefix PREFIX [--queues a,b]
[--worker-class Worker|SimpleWorker|SpawnWorker] [--worker-ttl N] [--burst] [--cluster]
[--sentinels HOST:PORT,... --master-name NAME] ...``

Builds the worker on ``redis.Redis.from_url(URL)`` (``RedisCluster.from_url`` with
``--cluster``, the master the sentinels name with ``--sentinels``) under ``PREFIX``
and exits with status 0 when its loop ends.
"""

from __future__ import annotations

import argparse
import os
import sys

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from django_jobqueue.engine import Queue, SimpleWorker, SpawnWorker, Worker
from django_jobqueue.engine.worker.pool import WorkerPool


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--queues", default="default")
    parser.add_argument(
        "--worker-class",
        default="Worker",
        choices=["Worker", "SimpleWorker", "SpawnWorker", "WorkerPool"],
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--max-jobs-per-child", type=int)
    parser.add_argument(
        "--logging-level",
        default="INFO",
        help="WARNING for long runs: nobody may be reading our output",
    )
    parser.add_argument("--name")
    parser.add_argument("--worker-ttl", type=int)
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--max-jobs", type=int)
    parser.add_argument("--max-idle-time", type=float)
    parser.add_argument("--cluster", action="store_true", help="--url names a Redis Cluster node")
    parser.add_argument("--sentinels", help="host:port,host:port: ask these for the master")
    parser.add_argument("--master-name", default="mymaster")
    options = parser.parse_args(argv)

    if options.cluster:
        connection = RedisCluster.from_url(options.url)
    elif options.sentinels:
        sentinels = [
            (h, int(p)) for h, p in (s.rsplit(":", 1) for s in options.sentinels.split(","))
        ]
        connection = Sentinel(sentinels, socket_timeout=2).master_for(
            options.master_name, socket_timeout=2, socket_connect_timeout=1
        )
    else:
        connection = redis.Redis.from_url(options.url)
    queues = [
        Queue(name, connection=connection, prefix=options.prefix)
        for name in options.queues.split(",")
    ]
    cls = {
        "Worker": Worker,
        "SimpleWorker": SimpleWorker,
        "SpawnWorker": SpawnWorker,
        "WorkerPool": WorkerPool,
    }[options.worker_class]
    kwargs = {"connection": connection, "prefix": options.prefix, "name": options.name}
    if cls is WorkerPool:
        kwargs["processes"] = options.processes
        kwargs["max_jobs_per_child"] = options.max_jobs_per_child
    if options.worker_ttl is not None:
        kwargs["worker_ttl"] = options.worker_ttl
    worker = cls(queues, **kwargs)
    print(f"worker {worker.name} pid {os.getpid()}", flush=True)
    worker.work(
        burst=options.burst,
        max_jobs=options.max_jobs,
        max_idle_time=options.max_idle_time,
        logging_level=options.logging_level,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
