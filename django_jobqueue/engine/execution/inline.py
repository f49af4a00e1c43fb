"""Jobs run in the worker process itself: no fork, lowest overhead."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..job import Job
from .base import Execution

if TYPE_CHECKING:
    from ..worker import Worker


class InlineExecution(Execution):
    """Runs each job in the worker's own thread.

    A daemon thread keeps the worker's heartbeat going while a long job holds
    the main thread; the job's timeout is enforced with SIGALRM.
    """

    name = "inline"

    def setup(self, worker: Worker) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(worker,), daemon=True,
                                        name=f"heartbeat-{worker.name}")
        self._thread.start()

    def _beat(self, worker: Worker) -> None:
        while not self._stop.wait(worker.heartbeat_interval):
            if worker.current_job is not None:
                try:
                    worker.heartbeat()
                except Exception:
                    worker.log.debug("Heartbeat failed", exc_info=True)

    def run(self, worker: Worker, job: Job) -> str | None:
        return worker.perform(job)

    def teardown(self, worker: Worker) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
