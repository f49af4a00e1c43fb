"""One configuration problem, as ``manage.py check`` and exceptions show it.

Kept apart from :mod:`.conf` so that the modules conf reads settings through
(:mod:`.rq_settings`) can report problems without importing conf back.
"""

from __future__ import annotations


class Problem:
    """One configuration problem, as the checks framework and exceptions show it.

    ``queue`` names the queue the problem belongs to: such a problem makes only
    that queue unusable (``get_queue`` raises it), the other queues keep working.
    """

    def __init__(
        self,
        id: str,
        msg: str,
        hint: str | None = None,
        level: str = "error",
        queue: str | None = None,
    ):
        self.id, self.msg, self.hint, self.level, self.queue = id, msg, hint, level, queue

    def __str__(self) -> str:
        return f"{self.msg} ({self.id})" + (f" {self.hint}" if self.hint else "")

    def __repr__(self) -> str:
        return f"Problem({self.id!r}, {self.msg!r})"
