"""Throughput of django-jobqueue side by side with django-vtasks and RQ, and more.

    python -m benchmarks.compare [--scale 1.0] [--rounds 3] [--peers-only] [--markdown]
                                 [--redis-url URL] [--skip-vtasks] [--skip-rq]

Starts a private redis-server (unless ``--redis-url`` is given; then only keys
under a fresh prefix are used and cleaned) and prints two tables.

The first puts us beside django-vtasks (a ``django.tasks`` backend with an
asyncio worker; installed by the ``bench`` extra on Python 3.12+) and RQ:
enqueue one by one (``queue.enqueue``, our ``django.tasks`` backend, their
``task.enqueue``), bulk enqueue, the drain rate of each side's worker command
with its default options, Redis commands per job and the redis-server CPU time
per job (read from ``/proc`` for the private server), with the jobs/s one Redis
can carry at that cost. Every side runs in alternating rounds against the same
server; each cell is the median, and the ratios are measured in the same run.

The second (not with ``--peers-only``) is ours against RQ only: drain rate of
each execution model for no-op jobs and jobs that sleep 10 ms, pickup latency of
an idle worker, Redis commands and round trips per job, cost against queue
depth, and a worker's memory over many jobs.

Absolute numbers on a shared machine are noise; the ratios are the result.
docs/benchmarks.rst says what each row measures and what is not like for like.
"""

from __future__ import annotations

import argparse
import json
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


#: The sides of a drain round, each run by ``benchmarks.peer_run`` in a fresh process.
DRAIN_SIDES = ("ours-simple", "ours-simple-v0", "ours-pool", "vtasks")


class Peers:
    """The issue's table: ours, django-vtasks and RQ side by side, in alternating rounds.

    Each cell is the median of ``rounds`` measurements; in every round each
    side is measured once, in turn, against the same Redis, so a slow moment
    of a shared machine hits all sides alike.
    """

    def __init__(self, bench: Bench, vtasks: bool, rq_too: bool, server_pid: int | None) -> None:
        self.bench = bench
        self.vtasks = vtasks
        self.rq_too = rq_too
        self.server_pid = server_pid
        self.rows: list[tuple[str, str, float | None, float | None, float | None, bool]] = []

    # -- the table --------------------------------------------------------------

    HEADER = (
        f"  {'measure':<46} {'ours':>9} {'vtasks':>9} {'RQ':>9} {'unit':<7} "
        f"{'ours/vtasks':>11} {'ours/RQ':>8}"
    )

    def row(self, name, unit, ours, vtasks=None, rq=None, higher_is_better=True) -> None:
        self.rows.append((name, unit, ours, vtasks, rq, higher_is_better))
        print(
            f"  {name:<46} {_cell(ours)} {_cell(vtasks)} {_cell(rq)} {unit:<7} "
            f"{_ratio(ours, vtasks, higher_is_better):>11} {_ratio(ours, rq, higher_is_better):>8}",
            flush=True,
        )

    def markdown(self) -> str:
        lines = [
            "| measure | ours | django-vtasks | RQ | unit | ours / vtasks | ours / RQ |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, unit, ours, vtasks, rq, better in self.rows:
            cells = [_cell(v).strip() for v in (ours, vtasks, rq)]
            ratios = [_ratio(ours, v, better) for v in (vtasks, rq)]
            lines.append(f"| {name} | {' | '.join(cells)} | {unit} | {' | '.join(ratios)} |")
        return "\n".join(lines)

    def alternate(self, sides: dict) -> dict:
        """``{name: median}`` of each ``sides[name]()``, measured in turn ``rounds`` times."""
        samples: dict = {name: [] for name in sides}
        for _ in range(self.bench.rounds):
            for name, measure in sides.items():
                samples[name].append(measure())
        return {name: statistics.median(values) for name, values in samples.items()}

    # -- enqueue, in this process ---------------------------------------------------

    def enqueue(self) -> None:
        from django.tasks import task_backends

        from django_jobqueue.queues import get_queue

        from . import peer_tasks

        bench, n = self.bench, self.bench.n(5000)
        q = bench.queue()
        backend_q = get_queue("default")  # our django.tasks backend's queue
        sides = {
            "ours": lambda: _rate(n, lambda: [q.enqueue(jobs.noop) for _ in range(n)]),
            "backend": lambda: _rate(n, lambda: [peer_tasks.dj_noop.enqueue() for _ in range(n)]),
        }
        cleanups = [q.empty, backend_q.empty]
        if self.vtasks:
            vt_conn = redis.Redis.from_url(os.environ["BENCH_VTASKS_URL"])
            vt_queue = task_backends["vtasks"]._get_key("q:default")
            sides["vtasks"] = lambda: _rate(
                n, lambda: [peer_tasks.vt_noop.enqueue() for _ in range(n)]
            )
            cleanups.append(lambda: vt_conn.delete(vt_queue))
        if self.rq_too:
            rq_q = bench.rq_queue()
            sides["rq"] = lambda: _rate(n, lambda: [rq_q.enqueue(jobs.noop) for _ in range(n)])
            cleanups.append(rq_q.empty)

        def then_clean(measure):
            def run():
                rate = measure()
                for cleanup in cleanups:
                    cleanup()
                return rate

            return run

        rates = self.alternate({name: then_clean(measure) for name, measure in sides.items()})
        self.row(
            "enqueue one by one, queue.enqueue",
            "jobs/s",
            rates["ours"],
            rates.get("vtasks"),
            rates.get("rq"),
        )
        self.row(
            "enqueue one by one, our django.tasks backend",
            "jobs/s",
            rates["backend"],
            rates.get("vtasks"),
        )
        q.delete()

    def enqueue_many(self) -> None:
        from django.tasks import task_backends

        from . import peer_tasks

        bench, n = self.bench, self.bench.n(20000)
        q = bench.queue()

        def ours() -> float:
            rate = _rate(n, lambda: q.enqueue_many(q.prepare_data(jobs.noop) for _ in range(n)))
            q.empty()
            return rate

        sides = {"ours": ours}
        if self.vtasks:
            backend = task_backends["vtasks"]
            vt_conn = redis.Redis.from_url(os.environ["BENCH_VTASKS_URL"])

            def vtasks() -> float:
                # The backend's own bulk call (django.tasks has none): one LPUSH.
                rate = _rate(n, lambda: backend.enqueue_many([(peer_tasks.vt_noop, (), {})] * n))
                vt_conn.delete(backend._get_key("q:default"))
                return rate

            sides["vtasks"] = vtasks
        if self.rq_too:
            import rq

            rq_q = bench.rq_queue()

            def theirs() -> float:
                # Timed with the making of each job's data, as ours is.
                rate = _rate(
                    n,
                    lambda: rq_q.enqueue_many([rq.Queue.prepare_data(jobs.noop) for _ in range(n)]),
                )
                rq_q.empty()
                return rate

            sides["rq"] = theirs
        rates = self.alternate(sides)
        self.row(
            "bulk enqueue (enqueue_many)",
            "jobs/s",
            rates["ours"],
            rates.get("vtasks"),
            rates.get("rq"),
        )
        q.delete()

    # -- drain, each side's worker command in a fresh process -----------------------

    def drain(self) -> None:
        n = self.bench.n(10000)
        sides = [side for side in DRAIN_SIDES if self.vtasks or side != "vtasks"]
        samples: dict[str, list[dict]] = {side: [] for side in sides}
        # The ceiling of any worker that runs one job at a time on redis-py:
        # one round trip per job and nothing else (no job, no script), in the
        # same rounds as the drains.
        floor: list[float] = []
        conn = self.bench.conn
        for _ in range(self.bench.rounds):
            for side in sides:
                samples[side].append(self._run_side(side, n))
            floor.append(_rate(n, lambda: [conn.ping() for _ in range(n)]))

        def median(side: str, phase: str, key: str) -> float | None:
            """The median over the rounds of one number of ``side``'s results."""
            if side not in samples:
                return None
            values = [result[phase][key] for result in samples[side]]
            return None if None in values else statistics.median(values)

        vt = "vtasks"
        self.row(
            "drain, one process, default logging",
            "jobs/s",
            median("ours-simple", "drain", "rate"),
            median(vt, "drain", "rate"),
        )
        self.row(
            "the same with -v 0",
            "jobs/s",
            median("ours-simple-v0", "drain", "rate"),
            median(vt, "drain", "rate"),
        )
        self.row(
            f"drain, rqworker default (pool of {os.cpu_count()})",
            "jobs/s",
            median("ours-pool", "drain", "rate"),
            median(vt, "drain", "rate"),
        )
        self.row(
            "one PING per job, nothing else (the ceiling)",
            "jobs/s",
            statistics.median(floor),
            median(vt, "drain", "rate"),
        )
        # Redis's side of a job does not depend on our logging: the commands and
        # the CPU are those of the default-logging rounds.
        ours = "ours-simple"
        phases = (("enqueue", "enqueue one by one"), ("drain", "while draining"))
        for phase, label in phases:
            self.row(
                f"Redis commands per job, {label}",
                "cmds",
                median(ours, phase, "cmds"),
                median(vt, phase, "cmds"),
                higher_is_better=False,
            )
        if median(ours, "drain", "cpu_us") is None:
            print("  (redis-server CPU: not known for a Redis of --redis-url)")
            return
        for phase, label in (*phases, ("both", "enqueue + run")):
            self.row(
                f"redis-server CPU per job, {label}",
                "us",
                median(ours, phase, "cpu_us"),
                median(vt, phase, "cpu_us"),
                higher_is_better=False,
            )
        mine, theirs = median(ours, "both", "cpu_us"), median(vt, "both", "cpu_us")
        self.row(
            "jobs/s one Redis carries (1 s / that CPU)",
            "jobs/s",
            1e6 / mine if mine else None,
            1e6 / theirs if theirs else None,
        )

    def _run_side(self, side: str, n: int) -> dict:
        """One round of ``side``, under a fresh key prefix (our finished jobs stay a while)."""
        env = {
            **os.environ,
            "PYTHONPATH": ROOT,
            "BENCH_PREFIX": f"{self.bench.prefix}{uuid.uuid4().hex[:6]}:",
        }
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.peer_run", side, str(n), str(self.server_pid or 0)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            # django-vtasks' worker runs until its last task has run: a task
            # that never does would keep it (and the benchmark) waiting.
            timeout=120 + n / 50,
        )
        if out.returncode:
            raise RuntimeError(f"{side} failed:\n{out.stderr}")
        result = json.loads(out.stdout.splitlines()[-1])
        cpu = [result[phase]["cpu_us"] for phase in ("enqueue", "drain")]
        result["both"] = {"cpu_us": None if None in cpu else sum(cpu)}
        return result


def _cell(value: float | None) -> str:
    if value is None:
        return f"{'':>9}"
    return f"{value:>9,.0f}" if value >= 100 else f"{value:>9.1f}"


def _ratio(ours: float | None, theirs: float | None, higher_is_better: bool) -> str:
    if not ours or not theirs:
        return ""
    return f"{(ours / theirs if higher_is_better else theirs / ours):.2f}x"


def _rate(n: int, run) -> float:
    started = time.perf_counter()
    run()
    return n / (time.perf_counter() - started)


def _url(conn: redis.Redis) -> str:
    kw = conn.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


#: Run first by each subprocess below: it signs and checks job payloads as this
#: process does, which set up the Django app (that turns signing on).
_AS_PARENT = """
import os
if os.environ.get("DJANGO_SETTINGS_MODULE"):
    import django
    django.setup()
"""


_WORKER = (
    _AS_PARENT
    + """
import redis, sys
sys.path.insert(0, {root!r})
from django_jobqueue.engine import Queue, SimpleWorker
conn = redis.Redis.from_url({url!r})
SimpleWorker([Queue({queue!r}, connection=conn, prefix={prefix!r})]).work(logging_level="WARNING")
""".replace("{root!r}", repr(ROOT))
)


_FORKING = (
    _AS_PARENT
    + """
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
)


_MEMORY = (
    _AS_PARENT
    + """
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
)


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


def _versions(conn: redis.Redis, vtasks: bool, rq_too: bool) -> str:
    from importlib.metadata import version

    import django

    try:
        import hiredis  # noqa: F401

        parser_name = "hiredis"
    except ImportError:
        parser_name = "pure-Python (pip install hiredis for faster parsing)"
    peers = []
    if vtasks:
        try:
            import uvloop  # noqa: F401

            loop = "uvloop"
        except ImportError:
            loop = "asyncio's loop: no uvloop"
        peers.append(
            f"django-vtasks {version('django-vtasks')} "
            f"(django-vcache {version('django-vcache')}, {loop})"
        )
    if rq_too:
        peers.append(f"RQ {version('rq')}")
    return (
        f"Python {sys.version.split()[0]}, Django {django.__version__}, "
        f"redis-py {redis.__version__} with the {parser_name} parser, "
        f"Redis {conn.info('server')['redis_version']}, {os.cpu_count()} CPUs\n"
        f"peers: {', '.join(peers) or 'none'}"
    )


def _setup_django(url: str, prefix: str, private: bool) -> tuple[bool, bool]:
    """Django with :mod:`benchmarks.peer_settings`; (django.tasks there, django-vtasks there)."""
    import django

    # django-vtasks gets its own database of a private server: its worker's
    # start-up SCAN then walks its own keys only.
    vtasks_url = url.rsplit("/", 1)[0] + "/1" if private else url
    os.environ.update(
        BENCH_REDIS_URL=url,
        BENCH_VTASKS_URL=vtasks_url,
        BENCH_PREFIX=prefix,
        DJANGO_SETTINGS_MODULE="benchmarks.peer_settings",
    )
    django.setup()
    try:
        import django.tasks
    except ImportError:
        return False, False
    try:
        import django_vcache  # noqa: F401
        import django_vtasks  # noqa: F401
    except ImportError:
        return True, False
    return True, True


NOTES = """\
Each cell: the median of {rounds} rounds; in a round every side runs once, in turn,
against the same redis-server. Every ratio reads as our advantage: above 1x we are
ahead (rates: ours / theirs; costs per job: theirs / ours).
- Enqueue rows run in this process; drain rows run each side's worker command in a
  fresh process (benchmarks/peer_run.py) after it enqueued the jobs one by one:
  `rqworker --burst --worker-class simple` (with -v 0), `rqworker --burst` (the
  default pool) and django-vtasks' `runworker` with its defaults (one process,
  concurrency 20). Our per-job log lines are formatted and written to /dev/null;
  django-vtasks logs nothing per task unless LOGGING asks for its INFO lines.
- "One PING per job" is redis-py sending PING and reading its reply, n times, in
  this process, in the same rounds: the most any worker that runs one job at a
  time can drain, with no job, script or result at all.
- Not like for like, in django-vtasks' favour: it keeps no results, no started or
  finished registries and no job hashes (a task is one JSON string in a list,
  acked by LREM); we keep every job, its result for 500 s and the registries.
  Its bulk enqueue is its backend's enqueue_many (django.tasks has none).
- django-vtasks' worker has no burst mode: its clock stops when the last task's
  body returns, before the acks still in flight (at most 20); ours stops when
  `rqworker --burst` has exited.
- Redis commands and redis-server CPU per job (from /proc, the private server
  process's own time) are over the whole phase: worker start-up and shutdown
  included, so they fall with --scale. Ours: the default-logging rounds."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="use this Redis (default: a private redis-server)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply job counts")
    parser.add_argument("--skip-rq", action="store_true", help="do not run RQ's equivalents")
    parser.add_argument(
        "--skip-vtasks", action="store_true", help="do not run django-vtasks' equivalents"
    )
    parser.add_argument(
        "--peers-only",
        action="store_true",
        help="only the table of ours, django-vtasks and RQ (not the further rows against RQ)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the peer table again as Markdown"
    )
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
            import rq  # noqa: F401
        except ImportError:
            rq_too = False
            print("rq is not installed (pip install rq): RQ's numbers are left out.")
    server = None
    if args.redis_url:
        conn = redis.Redis.from_url(args.redis_url)
    else:
        server = RedisServer().start()
        conn = redis.Redis.from_url(server.url)
    bench = Scale(conn, args.scale, server is not None, args.rounds)
    has_tasks, vtasks = _setup_django(_url(conn), bench.prefix, server is not None)
    if args.skip_vtasks:
        vtasks = False
    elif not vtasks:
        print(
            "django-vtasks is not installed (Python 3.12+: pip install -e '.[bench]'): "
            "its numbers are left out."
        )
    print(_versions(conn, vtasks, rq_too))
    try:
        if has_tasks:
            peers = Peers(bench, vtasks, rq_too, server.pid if server is not None else None)
            print(Peers.HEADER)
            peers.enqueue()
            peers.enqueue_many()
            peers.drain()
            print(NOTES.format(rounds=args.rounds))
            if args.markdown:
                print()
                print(peers.markdown())
        else:
            print("Django has no django.tasks (Django 6.0+): the peer table is left out.")
        if not args.peers_only:
            _further(bench, args, rq_too)
    finally:
        if server is not None:
            server.stop()
        else:
            _clean(conn, bench.prefix)
    return 0


def _further(bench: Scale, args, rq_too: bool) -> None:
    """The rows against RQ only: execution models, sleeping jobs, latency, depth, memory."""
    if rq_too:
        import rq
    print()
    print(f"  {'further measures':<42} {'ours':>10} {'RQ' if rq_too else '':>10} {'unit':<8} ratio")
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
    print("RQ columns: SimpleWorker for in-process, its forking Worker for the pool and fork rows.")


def _clean(conn: redis.Redis, prefix: str) -> None:
    """Delete the keys a run made on a Redis of ``--redis-url`` (django-vtasks' too)."""
    for key in conn.scan_iter(match=f"{prefix}*", count=1000):
        conn.delete(key)


if __name__ == "__main__":
    sys.exit(main())
