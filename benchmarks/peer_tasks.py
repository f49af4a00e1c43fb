"""The no-op task as each ``django.tasks`` backend of the peer rows runs it.

Importable only once Django is set up with :mod:`benchmarks.peer_settings`.
django-vtasks' worker finds a task by its function's module and name and calls
that attribute's ``.func``, so each task is defined here, under its own name.
"""

import itertools
import os
import signal
import time

from django.tasks import task

#: django-vtasks' worker has no burst mode: ``benchmarks.peer_run`` sets
#: ``target`` and the no-op notes when the last one returned, then stops the
#: worker as SIGTERM does.
state: dict = {"target": 0, "done_at": None}
_counter = itertools.count(1)


@task(backend="jobqueue")
def dj_noop():
    return None


try:
    from django_vtasks import task as vtask
except ImportError:  # not installed: only our rows run
    vtask = None

if vtask is not None:

    @vtask(backend="vtasks")
    def vt_noop():
        if next(_counter) == state["target"]:
            state["done_at"] = time.perf_counter()
            os.kill(os.getpid(), signal.SIGTERM)
        return None
