"""``@job``: make a function enqueueable with ``.delay()`` (RQ 3 calls it ``.enqueue()``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .chain import Step
from .options import EnqueueOptions, split_call
from .queue import Queue
from .utils import after


class job:
    """Give a module-level function ``.delay(*args, **kwargs)``, which enqueues it.

    ``.enqueue()`` is the same method under RQ 3's name.

    ``.delay_at(when, *args, **kwargs)`` (an aware datetime) and
    ``.delay_in(delay, *args, **kwargs)`` (a timedelta or seconds) enqueue it
    to run later: the job waits in the scheduled registry until then.

    ``.step(*args, **kwargs)`` (or ``.s(...)``, Celery's spelling) enqueues
    nothing: it makes a :class:`~.chain.Step` of a :class:`~.chain.Chain`,
    on the decorator's queue and with its options.

    ``@job``, ``@job("low")`` and ``@job("low", connection=conn, timeout=5,
    result_ttl=...)`` all work. The function itself is returned unchanged (so
    workers import it by its own name) and stays directly callable.

    Args:
        queue: a queue name or :class:`Queue`.
        connection: the Redis client for a queue given by name.
        queue_class: the :class:`Queue` subclass a queue given by name is made with.
        timeout: the job timeout; other keywords are ``enqueue`` options (any
            :class:`EnqueueOptions` field) used as defaults for every
            ``.delay()``, which may override them. ``concurrency_limit``
            alone is allowed here when every call gives ``concurrency_key``.
    """

    #: How a queue name becomes a Queue; the Django layer swaps in its settings.
    queue_class: type[Queue] = Queue

    def __new__(
        cls, queue: Any = "default", connection: Any = None, timeout: Any = None, **options: Any
    ) -> Any:  # a job, or for a bare @job the function it decorated
        if callable(queue) and not isinstance(queue, (str, Queue)):
            # Bare @job: decorate at once with the default queue.
            return cls("default")(queue)
        return super().__new__(cls)

    def __init__(
        self,
        queue: Any = "default",
        connection: Any = None,
        timeout: Any = None,
        queue_class: type[Queue] | None = None,
        **options: Any,
    ):
        self.queue = queue
        self.connection = connection
        if queue_class is not None:
            self.queue_class = queue_class
        if timeout is not None:
            options["timeout"] = timeout
        # A mistake is seen at import, not at the first .delay(). One half of a
        # concurrency limit may wait for the other from each call (the limit
        # here, the key per tenant there): it is checked with a stand-in.
        check = dict(options)
        if ("concurrency_key" in check) != ("concurrency_limit" in check):
            check.setdefault("concurrency_key", "key")
            check.setdefault("concurrency_limit", 1)
        EnqueueOptions.of(**check)
        self.options = options

    def get_queue(self) -> Queue:
        if isinstance(self.queue, Queue):
            return self.queue
        return self.queue_class(self.queue, connection=self.connection)

    def __call__(self, func: Callable) -> Callable:
        decorator = self

        def enqueue(args: tuple, kwargs: dict, **placement: Any) -> Any:
            args, kwargs, options = split_call(args, kwargs)
            options = {**decorator.options, **options, **placement}
            if "job_timeout" in options:  # the call's job_timeout beats the decorator's timeout
                options["timeout"] = options.pop("job_timeout")
            return decorator.get_queue().enqueue_call(func, args, kwargs, **options)

        def delay(*args: Any, **kwargs: Any) -> Any:
            return enqueue(args, kwargs)

        def delay_at(when: Any, *args: Any, **kwargs: Any) -> Any:
            return enqueue(args, kwargs, at=when)

        def delay_in(delay: Any, *args: Any, **kwargs: Any) -> Any:
            return enqueue(args, kwargs, at=after(delay))

        def step(*args: Any, **kwargs: Any) -> Step:
            args, kwargs, options = split_call(args, kwargs)
            options = {**decorator.options, **options}
            if "job_timeout" in options:
                options["timeout"] = options.pop("job_timeout")
            return Step.of(func, args, kwargs, queue=decorator.get_queue(), **options)

        # A function type has no such attributes; they are what @job adds.
        func.delay = delay  # type: ignore[attr-defined]
        func.enqueue = delay  # type: ignore[attr-defined]
        func.delay_at = delay_at  # type: ignore[attr-defined]
        func.delay_in = delay_in  # type: ignore[attr-defined]
        func.step = step  # type: ignore[attr-defined]
        func.s = step  # type: ignore[attr-defined]
        return func
