"""How a worker runs a job: in its own process, a forked child or a spawned one.

Each model is a small :class:`~.base.Execution` with ``setup``/``run``/
``interrupt``/``teardown``; a worker picks one by name from :data:`EXECUTIONS`.
A new model is one module here and one entry below.
"""

from .base import Execution, Host
from .fork import ForkExecution
from .inline import InlineExecution
from .spawn import SpawnExecution

EXECUTIONS: dict[str, type[Execution]] = {
    "inline": InlineExecution,
    "simple": InlineExecution,
    "fork": ForkExecution,
    "spawn": SpawnExecution,
}

__all__ = [
    "EXECUTIONS",
    "Execution",
    "ForkExecution",
    "Host",
    "InlineExecution",
    "SpawnExecution",
]
