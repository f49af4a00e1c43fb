"""One round of one side of ``benchmarks.compare``'s peer rows, in a fresh interpreter.

    python -m benchmarks.peer_run SIDE N REDIS_PID

Run by ``benchmarks.compare`` with the environment of
:mod:`benchmarks.peer_settings`. Enqueues ``N`` no-op jobs one by one through
the side's usual call, then drains them with the side's worker command, run
with its default options, and prints one JSON object: both rates, and for each
phase the Redis commands per job (``INFO commandstats``, commands inside Lua
scripts included) and the redis-server CPU time per job (``REDIS_PID``'s, read
from ``/proc``; 0: not known, e.g. a Redis of ``--redis-url``).

Sides:

``ours-simple`` / ``ours-simple-v0``
    ``queue.enqueue``; ``manage.py rqworker --burst --worker-class simple``
    (jobs in the worker's process), with the default logging (a line per job,
    formatted and written to /dev/null here) or ``-v 0`` (warnings only).
``ours-pool``
    ``queue.enqueue``; ``manage.py rqworker --burst``: the default worker, a
    pool of one child per CPU.
``vtasks``
    django-vtasks' ``task.enqueue``; ``manage.py runworker`` with its defaults
    (one asyncio process, concurrency 20, sync tasks in threads). It has no
    burst mode: the clock stops when the N-th task's body returns
    (:mod:`benchmarks.peer_tasks`), which then stops the worker as SIGTERM
    does. The acks still in flight then (at most its concurrency) are not
    timed, though their commands and CPU are counted.
"""

from __future__ import annotations

import json
import os
import sys
import time

import django
import redis

OURS = {
    "ours-simple": ["--worker-class", "simple"],
    "ours-simple-v0": ["--worker-class", "simple", "--verbosity", "0"],
    "ours-pool": [],
}


def server_cpu(pid: int) -> float | None:
    """CPU seconds the process ``pid`` has used, all its threads.

    ``/proc/PID/task/*/schedstat`` counts nanoseconds; ``/proc/PID/stat``'s
    utime + stime (the fallback) only clock ticks, 10 ms each, too coarse for a
    phase of a second.
    """
    if not pid:
        return None
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                total += int(fh.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def commands(conn: redis.Redis) -> int:
    """Commands the server has run (all clients), not counting INFO and CONFIG."""
    stats = conn.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k not in {"cmdstat_config", "cmdstat_info"})


class Phase:
    """Wall time, server commands and server CPU of one phase of ``n`` jobs."""

    def __init__(self, conn: redis.Redis, pid: int, n: int) -> None:
        self.conn, self.pid, self.n = conn, pid, n

    def __enter__(self) -> Phase:
        self.cmds, self.cpu = commands(self.conn), server_cpu(self.pid)
        self.started = time.perf_counter()
        self.ended: float | None = None  # may be set earlier than __exit__
        return self

    def __exit__(self, *exc) -> None:
        ended = time.perf_counter()
        self.ended = self.ended or ended
        cpu = server_cpu(self.pid)
        self.result = {
            "rate": self.n / (self.ended - self.started),
            "cmds": (commands(self.conn) - self.cmds) / self.n,
            "cpu_us": None if cpu is None else (cpu - self.cpu) / self.n * 1e6,
        }


def run(side: str, n: int, pid: int) -> dict:
    from django.core.management import call_command

    conn = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
    devnull = open(os.devnull, "w")  # for the life of the process
    if side in OURS:
        from django_jobqueue.queues import get_queue

        from . import jobs

        q = get_queue("default")
        with Phase(conn, pid, n) as enqueue:
            for _ in range(n):
                q.enqueue(jobs.noop)
        with Phase(conn, pid, n) as drain:
            call_command(
                "rqworker", "default", "--burst", *OURS[side], stdout=devnull, stderr=devnull
            )
        finished = q.finished_job_registry.count
        assert finished == n, f"{finished} of {n} jobs finished"
    elif side == "vtasks":
        from django.tasks import task_backends

        from . import peer_tasks

        with Phase(conn, pid, n) as enqueue:
            for _ in range(n):
                peer_tasks.vt_noop.enqueue()
        peer_tasks.state["target"] = n
        with Phase(conn, pid, n) as drain:
            call_command("runworker", stdout=devnull, stderr=devnull)
            drain.ended = peer_tasks.state["done_at"]
        assert drain.ended is not None, "django-vtasks' worker stopped before the last task"
        backend = task_backends["vtasks"]
        vt = redis.Redis.from_url(os.environ["BENCH_VTASKS_URL"])
        left = vt.llen(backend._get_key("q:default"))
        failed = vt.llen(backend._get_key("q:failed"))
        assert left == 0 and failed == 0, f"{left} tasks left, {failed} failed"
    else:
        raise SystemExit(f"unknown side {side!r}")
    return {"enqueue": enqueue.result, "drain": drain.result}


def main() -> None:
    side, n, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.peer_settings")
    django.setup()
    print(json.dumps(run(side, n, pid)), flush=True)


if __name__ == "__main__":
    main()
