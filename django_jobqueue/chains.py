"""Chains whose queues come from the settings (see :mod:`django_jobqueue.engine.chain`)."""

from __future__ import annotations

from typing import Any, Self

from .engine.chain import Chain as EngineChain
from .queues import get_queue


class Chain(EngineChain):
    """:class:`~django_jobqueue.engine.Chain` with queues named as in ``JOBQUEUE_QUEUES``.

    ``Chain(fetch.step(url), parse.step(), store.step()).enqueue()``: a step
    names its queue (``@job("low")`` functions do) or goes to the queue
    given to :meth:`enqueue`, by default ``"default"``. Inside
    ``transaction.atomic()`` the steps reach Redis when the transaction
    commits, as every enqueue does.
    """

    def enqueue(self, queue: Any = "default") -> Self:
        return super().enqueue(queue)

    def resolve_queue(self, queue: Any, default: Any, number: int) -> Any:
        queue = default if queue is None else queue
        if isinstance(queue, str):
            return get_queue(queue)
        return super().resolve_queue(queue, default, number)


__all__ = ["Chain"]
