"""What the queue commands share: resolving queue names with a helpful error."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError

from ...conf import get_settings
from ...queues import get_queue


def configured_queues(names=None):
    """Queues by name (all configured ones when ``names`` is empty)."""
    try:
        configured = get_settings().queues
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from exc
    names = list(names or configured)
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise CommandError(
            f"Unknown queue(s): {', '.join(unknown)}. Configured queues: "
            f"{', '.join(sorted(configured)) or 'none'} (JOBQUEUE_QUEUES)."
        )
    return [get_queue(n) for n in names]
