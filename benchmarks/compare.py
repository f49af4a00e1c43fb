"""Throughput and latency of django-jobqueue, side by side with RQ.

    python -m benchmarks.compare [--redis-url URL] [--scale 1.0] [--skip-rq]

Starts a private redis-server (unless ``--redis-url`` is given; then only keys
under a fresh prefix are used and cleaned) and prints one table: enqueue one by
one, enqueue_many, drain rate of each execution model for no-op jobs and for
jobs that sleep 10 ms, pickup latency of an idle worker, and Redis commands per
job counted by ``INFO commandstats`` (commands run inside Lua scripts included).
When ``rq`` is importable, RQ's equivalents run in the same process, against
the same server, and the last column gives our ratio. Absolute numbers on a
shared machine are noise; the ratios, measured in one run, are the result.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from functools import partial

import redis

from django_jobqueue.engine import Queue, SimpleWorker
from django_jobqueue.engine.worker.pool import WorkerPool
from tests.redis_rigs import RedisServer

from . import jobs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Bench:
    def __init__(self, conn: redis.Redis, scale: float, private: bool, rounds: int = 3):
        self.conn = conn
        self.scale = scale
        self.private = private
        #: Each rate is measured this many times, ours and RQ's in turn; the
        #: median is shown, so one slow moment of a shared machine does not
        #: decide a ratio.
        self.rounds = rounds
        self.prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        self.rows: list[tuple[str, str, float, float | None, bool]] = []

    def n(self, count: int) -> int:
        return max(10, int(count * self.scale))

    def queue(self) -> Queue:
        return Queue(f"q{uuid.uuid4().hex[:6]}", connection=self.conn, prefix=self.prefix)

    def rq_queue(self):
        import rq

        return rq.Queue(f"rq{uuid.uuid4().hex[:6]}", connection=self.conn)

    def row(
        self, name: str, unit: str, ours: float, theirs: float | None, higher_is_better: bool = True
    ) -> None:
        self.rows.append((name, unit, ours, theirs, higher_is_better))
        ratio = ""
        if theirs:
            ratio = f"{(ours / theirs if higher_is_better else theirs / ours):.1f}x"
        print(
            f"  {name:<42} {ours:>10.1f} {'' if theirs is None else f'{theirs:10.1f}':>10} "
            f"{unit:<8} {ratio}",
            flush=True,
        )

    # -- enqueue ----------------------------------------------------------------

    def medians(self, ours, theirs=None, rounds: int | None = None) -> tuple[float, float | None]:
        """Median rates of ``ours()`` and ``theirs()`` measured in turn, ``rounds`` times each."""
        mine: list[float] = []
        other: list[float] = []
        for _ in range(rounds or self.rounds):
            mine.append(ours())
            if theirs is not None:
                other.append(theirs())
        return statistics.median(mine), statistics.median(other) if other else None

    def enqueue_one_by_one(self, rq_too: bool) -> None:
        n = self.n(5000)
        q = self.queue()
        rq_q = self.rq_queue() if rq_too else None

        def ours() -> float:
            rate = _rate(n, lambda: [q.enqueue(jobs.noop) for _ in range(n)])
            q.empty()
            return rate

        def theirs() -> float:
            rate = _rate(n, lambda: [rq_q.enqueue(jobs.noop) for _ in range(n)])
            rq_q.empty()
            return rate

        self.row("enqueue, one by one", "jobs/s", *self.medians(ours, theirs if rq_too else None))
        q.delete()

    def enqueue_many(self, rq_too: bool) -> None:
        n = self.n(20000)
        q = self.queue()
        rq_q = self.rq_queue() if rq_too else None

        def ours() -> float:
            rate = _rate(n, lambda: q.enqueue_many(q.prepare_data(jobs.noop) for _ in range(n)))
            q.empty()
            return rate

        def theirs() -> float:
            import rq

            rate = _rate(
                n, lambda: rq_q.enqueue_many([rq.Queue.prepare_data(jobs.noop) for _ in range(n)])
            )
            rq_q.empty()
            return rate

        self.row("enqueue_many", "jobs/s", *self.medians(ours, theirs if rq_too else None))
        q.delete()

    # -- drain ------------------------------------------------------------------

    def drain(self, label: str, func, count: int, make_worker, rq_worker=None) -> None:
        n = self.n(count)

        def ours() -> float:
            q = self.queue()
            q.enqueue_many(q.prepare_data(func) for _ in range(n))
            worker = make_worker(q)
            rate = _rate(n, lambda: worker.work(burst=True, logging_level="WARNING"))
            assert q.finished_job_registry.count == n, "not every job finished"
            q.delete()
            return rate

        def theirs() -> float:
            import rq

            # RQ's forking worker manages a few dozen jobs a second: a sample will do.
            rq_n = min(n, 200) if rq_worker is rq.Worker else n
            rq_q = self.rq_queue()
            rq_q.enqueue_many([rq.Queue.prepare_data(func) for _ in range(rq_n)])
            w = rq_worker([rq_q], connection=self.conn)
            rate = _rate(rq_n, lambda: w.work(burst=True, logging_level="WARNING"))
            rq_q.empty()
            return rate

        self.row(label, "jobs/s", *self.medians(ours, theirs if rq_worker is not None else None))

    def drain_forking(self, label: str, func_name: str, count: int, rq_too: bool) -> None:
        """Fork-per-job workers, each run in a fresh interpreter.

        A fork costs in proportion to the forking process's memory, and this
        process has grown with every earlier row: measured here, both sides
        would pay for the benchmark's own size rather than a worker's.
        """
        n = self.n(count)

        def run(which: str) -> float:
            code = _FORKING.format(
                url=_url(self.conn), queue=f"f{uuid.uuid4().hex[:6]}", prefix=self.prefix
            )
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    code,
                    which,
                    func_name,
                    str(n if which == "ours" else min(n, 200)),
                ],
                env={**os.environ, "PYTHONPATH": ROOT},
                capture_output=True,
                text=True,
                check=True,
            )
            return float(out.stdout.split()[-1])

        self.row(
            label,
            "jobs/s",
            *self.medians(partial(run, "ours"), partial(run, "rq") if rq_too else None),
        )

    # -- latency ----------------------------------------------------------------

    def pickup_latency(self, rq_too: bool) -> None:
        samples = self.n(200)
        q = self.queue()
        ours = _latencies(
            self.conn,
            samples,
            lambda: q.enqueue(jobs.started_at),
            [
                sys.executable,
                "-c",
                _WORKER.format(url=_url(self.conn), prefix=self.prefix, queue=q.name),
            ],
        )
        theirs = None
        if rq_too:
            rq_q = self.rq_queue()
            theirs = _latencies(
                self.conn,
                samples,
                lambda: rq_q.enqueue(jobs.started_at),
                [
                    os.path.join(os.path.dirname(sys.executable), "rq"),
                    "worker",
                    "--url",
                    _url(self.conn),
                    "-w",
                    "rq.SimpleWorker",
                    rq_q.name,
                ],
            )
        q.delete()
        for pct in (50, 99):
            self.row(
                f"pickup latency p{pct} (idle worker)",
                "ms",
                _pct(ours, pct),
                _pct(theirs, pct) if theirs else None,
                higher_is_better=False,
            )

    # -- Redis commands ---------------------------------------------------------

    def commands_per_job(self, rq_too: bool) -> None:
        n = self.n(2000)
        q = self.queue()
        ours, trips = _commands(
            self.conn,
            n,
            lambda: [q.enqueue(jobs.noop) for _ in range(n)],
            lambda: SimpleWorker([q]).work(burst=True, logging_level="WARNING"),
        )
        q.delete()
        theirs = their_trips = None
        if rq_too:
            import rq

            rq_q = self.rq_queue()
            theirs, their_trips = _commands(
                self.conn,
                n,
                lambda: [rq_q.enqueue(jobs.noop) for _ in range(n)],
                lambda: rq.SimpleWorker([rq_q], connection=self.conn).work(
                    burst=True, logging_level="WARNING"
                ),
            )
            rq_q.empty()
        self.row("Redis commands per job (incl. in scripts)", "cmds", ours, theirs, False)
        self.row("round trips per job (enqueue + run)", "trips", trips, their_trips, False)


class Scale(Bench):
    """How cost grows with queue depth, and a worker's memory over many jobs."""

    def depth(self, deep: int) -> None:
        """Drain rate with ``deep`` jobs waiting over the rate with 1,000.

        Both queues are filled once and topped up after each measurement, and
        the two are measured in turn, so a slow moment hits both alike.
        """
        n = self.n(3000)
        queues = []
        for waiting in (1000, deep):
            q = self.queue()
            q.enqueue_many(q.prepare_data(jobs.noop, result_ttl=0) for _ in range(waiting))
            queues.append(q)

        def rate(q) -> float:
            q.enqueue_many(q.prepare_data(jobs.noop, result_ttl=0) for _ in range(n))
            worker = SimpleWorker([q])
            return _rate(n, partial(worker.work, max_jobs=n, logging_level="WARNING"))

        shallow, deep_rate = self.medians(
            partial(rate, queues[0]), partial(rate, queues[1]), rounds=5
        )
        for q in queues:
            q.delete()
        self.row(f"drain with {deep:,} waiting / with 1,000", "ratio", deep_rate / shallow, None)

    def memory(self, total: int) -> None:
        """A worker's RSS over ``total`` jobs, in a fresh interpreter of its own.

        Measured in this process, the RSS would carry everything the earlier
        rows allocated (a million job objects after ``--depth 1000000``).
        """
        step = max(1000, total // 10)
        q = self.queue()
        code = _MEMORY.format(url=_url(self.conn), queue=q.name, prefix=self.prefix)
        args = [str(total), str(step)]
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            env={**os.environ, "PYTHONPATH": ROOT},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        q.delete()
        first, last = float(out[0]), float(out[-1])
        self.row(f"worker RSS after {step:,} jobs (MiB)", "MiB", first, None, False)
        self.row(f"worker RSS after {total:,} jobs (MiB)", "MiB", last, None, False)


def _rate(n: int, run) -> float:
    started = time.perf_counter()
    run()
    return n / (time.perf_counter() - started)


def _url(conn: redis.Redis) -> str:
    kw = conn.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


_WORKER = """
import redis, sys
sys.path.insert(0, {root!r})
from django_jobqueue.engine import Queue, SimpleWorker
conn = redis.Redis.from_url({url!r})
SimpleWorker([Queue({queue!r}, connection=conn, prefix={prefix!r})]).work(logging_level="WARNING")
""".replace("{root!r}", repr(ROOT))


_FORKING = """
import sys, time, redis
from benchmarks import jobs
which, func, n = sys.argv[1], getattr(jobs, sys.argv[2]), int(sys.argv[3])
conn = redis.Redis.from_url({url!r})
if which == "ours":
    from django_jobqueue.engine import Queue, Worker
    q = Queue({queue!r}, connection=conn, prefix={prefix!r})
    q.enqueue_many(q.prepare_data(func) for _ in range(n))
    worker = Worker([q])
else:
    import rq
    q = rq.Queue({queue!r}, connection=conn)
    q.enqueue_many([rq.Queue.prepare_data(func) for _ in range(n)])
    worker = rq.Worker([q], connection=conn)
started = time.perf_counter()
worker.work(burst=True, logging_level="WARNING")
rate = n / (time.perf_counter() - started)
q.delete() if which == "ours" else q.empty()
print(rate)
"""


_MEMORY = """
import redis, sys
from django_jobqueue.engine import Queue, SimpleWorker
from django_jobqueue.engine.worker.pool import rss_bytes
from benchmarks import jobs
total, step = int(sys.argv[1]), int(sys.argv[2])
q = Queue({queue!r}, connection=redis.Redis.from_url({url!r}), prefix={prefix!r})
worker = SimpleWorker([q])
for _ in range(total // step):
    q.enqueue_many(q.prepare_data(jobs.noop, result_ttl=0) for _ in range(step))
    worker.work(burst=True, logging_level="WARNING")
    print(rss_bytes() / 2**20, flush=True)
"""


def _latencies(conn, samples: int, enqueue, worker_cmd: list[str]) -> list[float]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(
        worker_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(1.5)  # let it start and go idle
        latencies = []
        for _ in range(samples):
            sent = time.time()
            job = enqueue()
            deadline = time.time() + 5
            while (
                result := job.return_value(refresh=True)
                if hasattr(job, "return_value")
                else job.result
            ) is None:
                if time.time() > deadline:
                    raise RuntimeError("a latency job did not run within 5 s")
                time.sleep(0.0005)
            latencies.append((result - sent) * 1000)
            time.sleep(0.02)  # the worker goes idle again
        return latencies
    finally:
        proc.terminate()
        proc.wait(10)


def _pct(values: list[float], pct: int) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(pct / 100 * (len(values) - 1)))]


def _commands(conn, n: int, enqueue, drain) -> tuple[float, float]:
    """(commands, round trips) per job, from enqueue to the end of a burst drain.

    Commands come from INFO commandstats, so those run inside Lua scripts count;
    round trips are the requests clients sent (a pipeline or a script is one).
    """
    from redis.connection import Connection

    sent = 0
    original = Connection.send_packed_command

    def counting(self, command, check_health=True):
        nonlocal sent
        sent += 1
        return original(self, command, check_health)

    conn.config_resetstat()
    Connection.send_packed_command = counting
    try:
        enqueue()
        drain()
    finally:
        Connection.send_packed_command = original
    stats = conn.info("commandstats")
    total = sum(v["calls"] for k, v in stats.items() if k not in {"cmdstat_config", "cmdstat_info"})
    return total / n, sent / n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="use this Redis (default: a private redis-server)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply job counts")
    parser.add_argument("--skip-rq", action="store_true", help="do not run RQ's equivalents")
    parser.add_argument(
        "--depth", type=int, default=100_000, help="queue depth for the O(1) check (try 1000000)"
    )
    parser.add_argument(
        "--memory-jobs",
        type=int,
        default=200_000,
        help="jobs to run while watching the worker's memory (0: skip)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measure each rate this many times (median shown)"
    )
    args = parser.parse_args(argv)
    rq_too = not args.skip_rq
    if rq_too:
        try:
            import rq
        except ImportError:
            rq_too = False
            print("rq is not installed (pip install rq): only our numbers are shown.")
    server = None
    if args.redis_url:
        conn = redis.Redis.from_url(args.redis_url)
    else:
        server = RedisServer().start()
        conn = redis.Redis.from_url(server.url)
    bench = Scale(conn, args.scale, server is not None, args.rounds)
    try:
        import hiredis  # noqa: F401

        parser_name = "hiredis"
    except ImportError:
        parser_name = "pure-Python (pip install hiredis for faster parsing)"
    print(
        f"redis-py {redis.__version__}, {parser_name} parser, "
        f"Redis {conn.info('server')['redis_version']}, {os.cpu_count()} CPUs"
    )
    print(f"  {'measure':<42} {'ours':>10} {'RQ' if rq_too else '':>10} {'unit':<8} ratio")
    try:
        bench.enqueue_one_by_one(rq_too)
        bench.enqueue_many(rq_too)
        for label, func, count, fork_count in (
            ("no-op", jobs.noop, 5000, 400),
            ("sleep 10 ms", jobs.sleep_10ms, 300, 150),
        ):
            bench.drain(
                f"drain {label}: in-process (SimpleWorker)",
                func,
                count,
                lambda q: SimpleWorker([q]),
                rq.SimpleWorker if rq_too else None,
            )
            bench.drain(
                f"drain {label}: pool, 2 children",
                func,
                count,
                lambda q: WorkerPool([q], processes=2),
                rq.Worker if rq_too else None,
            )
            bench.drain_forking(
                f"drain {label}: fork per job (Worker)", func.__name__, fork_count, rq_too
            )
        bench.pickup_latency(rq_too)
        bench.commands_per_job(rq_too)
        bench.depth(args.depth)
        if args.memory_jobs:
            bench.memory(args.memory_jobs)
    finally:
        if server is not None:
            server.stop()
    print("RQ columns: SimpleWorker for in-process, its forking Worker for the pool and fork rows.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
