"""How a worker runs a job: in its own process or in a forked child.

Each strategy is a small object with ``setup``/``run``/``teardown``; the worker
picks one by name from :data:`EXECUTIONS`.
"""

from .base import Execution, perform_job
from .fork import ForkExecution
from .inline import InlineExecution

EXECUTIONS: dict[str, type[Execution]] = {
    "inline": InlineExecution,
    "simple": InlineExecution,
    "fork": ForkExecution,
}

__all__ = ["EXECUTIONS", "Execution", "ForkExecution", "InlineExecution", "perform_job"]
