"""RQ's ``rq.command`` import path: the commands live in :mod:`.worker.control`."""

from .worker.control import (
    COMMANDS,
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
)

__all__ = [
    "COMMANDS",
    "send_command",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
]
