"""The engine's fixtures: the integrations are tested on the plain engine."""

from tests.engine.conftest import (  # noqa: F401  (fixtures are found by their names here)
    _engine_defaults,
    _restore_signal_handlers,
    make_queue,
    make_worker,
    queue,
)
