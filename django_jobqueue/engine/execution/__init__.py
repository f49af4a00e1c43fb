"""How a worker runs a job: in its own process or in a forked child.

Each model is a small :class:`~.base.Execution` with ``setup``/``run``/
``interrupt``/``teardown``; a worker picks one by name from :data:`EXECUTIONS`.
A new model is one module here and one entry below.
"""

from .base import Execution, Host
from .fork import ForkExecution
from .inline import InlineExecution

EXECUTIONS: dict[str, type[Execution]] = {
    "inline": InlineExecution,
    "simple": InlineExecution,
    "fork": ForkExecution,
}

__all__ = ["EXECUTIONS", "Execution", "ForkExecution", "Host", "InlineExecution"]
