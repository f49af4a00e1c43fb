"""Jobs, handlers and initializers for the spawn worker's tests (test_spawn_worker.py).

A spawned child imports these by name, like any job function.
"""

from __future__ import annotations

import os
import signal
import time

from django_jobqueue.engine import get_current_job

#: Set by a test in the worker's process, or by :func:`set_mark` in a child.
MARK = "unset"


def read_mark():
    return MARK


def set_mark():
    global MARK
    MARK = "set by the initializer"


def broken_initializer():
    raise RuntimeError("this initializer cannot start")


def pid_and_group():
    return {"pid": os.getpid(), "group": os.getpgid(0), "parent": os.getppid()}


def sleep_without_alarm(seconds):
    # A job that takes SIGALRM for itself: the worker must still stop it on time.
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    time.sleep(seconds)


def die_by_exit(code):
    os._exit(code)


def die_by_sigkill():
    os.kill(os.getpid(), signal.SIGKILL)


def mark_job(job, exc_type, exc_value, traceback):
    """An exception handler: leaves a note on the job, from the child."""
    job.meta["handled_in"] = os.getpid()
    job.meta["handled"] = exc_type.__name__
    job.save_meta()


def save_meta_and_return(value):
    job = get_current_job()
    job.meta["seen"] = value
    job.save_meta()
    return value


def command_line():
    with open("/proc/self/cmdline", "rb") as f:
        return [part.decode() for part in f.read().split(b"\0")[:-1]]
