"""Each job runs in a fresh Python process, started for it, never forked.

For programs where ``fork()`` is unsafe (macOS, a worker holding threads or
locks): the child is a new interpreter (``os.posix_spawn`` of
``sys.executable``) that connects to Redis itself, loads the job and imports
its function. Its timeout is kept by the worker, which kills the child when it
runs out: no SIGALRM is needed.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
import types
from functools import partial
from typing import Any

import redis
from redis.sentinel import SentinelConnectionPool

from .. import hooks, payloads
from ..connection import get_connection_kwargs, is_cluster
from ..job import Job
from ..payloads import SignedSerializer
from ..utils import import_attribute
from .base import Host
from .fork import (
    NOT_STARTED,
    ForkExecution,
    NotStarted,
    ignore_stop_signals,
    run_and_report,
    write_all,
)

#: What the child runs: it takes the worker's import path (argv[1]) before it
#: imports anything else, then reads its job from the pipe named in argv[2].
CHILD_PROGRAM = (
    "import json, sys\n"
    "sys.path[:] = json.loads(sys.argv[1])\n"
    "from django_jobqueue.engine.execution.spawn import child_main\n"
    "child_main(int(sys.argv[2]), int(sys.argv[3]))\n"
)


#: The initializer of executions made without one (see :func:`configure`).
_default_initializer: Any = None


def configure(initializer: Any = None) -> None:
    """Set the initializer of every SpawnExecution made without one from now on.

    The Django layer sets ``"django.setup"`` when the app is ready, so that a
    job spawned by ``rqworker --worker-class spawn`` finds Django set up.
    """
    global _default_initializer
    _default_initializer = initializer


class SpawnExecution(ForkExecution):
    """Each job in a new process started for it (``spawn``), waited for like a fork.

    Args:
        initializer: a callable, or its dotted path, called in each child
            before it loads its job (``"django.setup"``, say); by default the
            one given to :func:`configure`. A callable must be importable by
            its name: the child gets its name, not the object.

    The worker's exception handlers go to the child the same way; one that the
    child could not import (a lambda, a function of ``__main__``) is refused
    when the worker starts, before it takes a job.
    """

    name = "spawn"
    description = "spawn (a new process per job)"
    process = "its spawned work-horse process"
    #: The child keeps no timeout of its own: the worker kills it on time.
    kill_grace = 0.0

    def __init__(self, initializer: Any = None) -> None:
        super().__init__()
        self.initializer = initializer if initializer is not None else _default_initializer

    def check(self, host: Host) -> None:
        if not sys.executable:
            raise RuntimeError("A spawn worker needs sys.executable to start its children.")
        if is_cluster(host.connection) or isinstance(
            getattr(host.connection, "connection_pool", None), SentinelConnectionPool
        ):
            raise ValueError(
                "A spawn worker's children connect with the keywords of a plain client; "
                "a Redis Cluster or Sentinel client is not supported yet."
            )
        options = host.horse_options()
        shipped = (
            *host.exception_handlers,
            self.initializer,
            type(host),
            options["queue_class"],
            options["job_class"],
            options["death_penalty_class"],
        )
        for obj in shipped:
            if getattr(obj, "__module__", None) == "__main__":
                raise ValueError(
                    f"A spawn worker cannot use {obj!r}: it is defined in __main__, "
                    "which its children cannot import. Move it to a module."
                )
        # Raises PicklingError (or AttributeError) for what a child cannot import.
        pickle.dumps((type(host), options, self.initializer))

    def start(self, worker: Host, job: Job) -> tuple[int, int]:
        try:
            config = pickle.dumps(self._config(worker, job))
        except Exception as exc:
            raise NotStarted(
                f"Job {job.id} was not run: what its spawned process needs cannot be "
                f"pickled ({type(exc).__name__}: {exc})."
            ) from None
        config_read, config_write = os.pipe()
        report_read, report_write = os.pipe()
        os.set_inheritable(config_read, True)
        os.set_inheritable(report_write, True)
        argv = [
            sys.executable,
            "-c",
            CHILD_PROGRAM,
            json.dumps(sys.path),
            str(config_read),
            str(report_write),
        ]
        # The job's id in its environment too, as RQ's work-horses have it.
        env = {**os.environ, "RQ_JOB_ID": job.id}
        try:
            # Its own process group: a Ctrl-C in the worker's terminal is for
            # the worker, which decides what becomes of the job.
            pid = os.posix_spawn(sys.executable, argv, env, setpgroup=0)
        except OSError as exc:
            os.close(config_write)
            os.close(report_read)
            raise NotStarted(
                f"Job {job.id} was not run: its process could not be started ({exc})."
            ) from None
        finally:
            os.close(config_read)
            os.close(report_write)
        # Through a pipe, not the command line: the connection's password
        # would show in ps. A child that died before reading it is found by
        # the wait that follows.
        try:
            write_all(config_write, config)
        except OSError:
            pass
        finally:
            os.close(config_write)
        return pid, report_read

    def _config(self, worker: Host, job: Job) -> dict[str, Any]:
        serializer: Any = job.serializer
        if isinstance(serializer, SignedSerializer):
            serializer = serializer.inner  # signed again by the child's configuration
        if isinstance(serializer, types.ModuleType):
            serializer = serializer.__name__  # a module (json, say) travels by name
        return {
            "connection": child_connection_kwargs(job.connection),
            "payloads": payloads.configuration(),
            "initializer": self.initializer,
            "job_class": type(job),
            "job_id": job.id,
            "origin": job.origin,
            "prefix": job.keys.prefix,
            "serializer": serializer,
            "worker": worker.name,
            "exception_handlers": worker.exception_handlers,
            # The child rebuilds the worker, of its class: a perform_job or
            # handle_exception of its own runs in the work-horse, as in RQ.
            "worker_class": type(worker),
            "worker_options": worker.horse_options(),
            "needs_worker": worker.horse_needs_worker(),
        }


def child_connection_kwargs(connection: Any) -> dict[str, Any]:
    """How a child connects as ``connection`` does, in keywords that pickle.

    redis-py fills some keywords with sentinel objects that only mean "the
    default" in this process, and with what describes this client to the
    server (``driver_info``): the child's own client sets those itself.
    """
    return {
        key: value
        for key, value in get_connection_kwargs(connection).items()
        if type(value) is not object and key != "driver_info"
    }


def child_main(config_fd: int, report_fd: int) -> None:
    """The spawned work-horse: load the job it was given, run it, report, exit."""
    ignore_stop_signals()
    worker_name = ""
    try:
        try:
            with os.fdopen(config_fd, "rb") as config_file:
                config = pickle.load(config_file)
            worker_name = config["worker"]
            initializer = config["initializer"]
            if isinstance(initializer, str):
                initializer = import_attribute(initializer)
            if initializer is not None:
                initializer()
            # After the initializer, which may configure them too (Django's
            # app does): the child checks payloads with the worker's keys.
            payloads.configure(**config["payloads"])
            connection = redis.Redis(**config["connection"])
            job = config["job_class"].fetch(
                config["job_id"],
                connection,
                config["serializer"],
                origin=config["origin"],
                prefix=config["prefix"],
            )
            run = None
            try:
                worker = config["worker_class"](
                    [config["origin"]],
                    connection=connection,
                    serializer=config["serializer"],
                    prefix=config["prefix"],
                    scheduler=False,
                    prepare_for_work=False,
                    **config["worker_options"],
                )
                run = partial(worker.run_in_horse, enforce_timeout=False)
            except Exception:
                # A worker class whose constructor takes other arguments: its
                # jobs run the plain way, unless it changes how they run.
                if config["needs_worker"]:
                    raise
        except BaseException:
            write_all(report_fd, NOT_STARTED + traceback.format_exc().encode())
            return
        # The worker kills the child on time: no timeout of its own here.
        run_and_report(
            job,
            config["worker"],
            config["exception_handlers"],
            report_fd,
            enforce_timeout=False,
            run=run,
        )
    finally:
        if hooks.exit_watchers:
            hooks.process_exiting(worker_name)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(0)
