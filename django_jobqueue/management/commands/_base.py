"""What the queue commands share: resolving queue names, and Redis errors told plainly."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from redis.exceptions import AuthenticationError, RedisClusterException, RedisError

from ...conf import get_settings
from ...engine.connection import UNAVAILABLE
from ...queues import get_queue


def configured_queues(names=None, reachable=True):
    """Queues by name (all configured ones when ``names`` is empty).

    With ``reachable``, each Redis they use must answer a PING first: a
    command then stops with one line naming the queue and where it looked,
    not a traceback. ``reachable="wait"`` lets only an unreachable server
    pass (a long-running worker waits for it); a wrong password or database
    still stops the command.
    """
    try:
        jq = get_settings()
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from exc
    configured = jq.queues
    # A queue with bad options is left out of "all queues"; named, or when no
    # queue is left, its error stops the command.
    broken = [n for n in (names or ([] if configured else jq.broken)) if n in jq.broken]
    if broken:
        raise CommandError(" ".join(jq.broken[n] for n in broken))
    names = list(names or configured)
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise CommandError(
            f"Unknown queue(s): {', '.join(unknown)}. Configured queues: "
            f"{', '.join(sorted(configured)) or 'none'} ({jq.queues_setting})."
        )
    queues = []
    for name in names:
        try:
            queues.append(get_queue(name))
        except (ImproperlyConfigured, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        except (RedisError, RedisClusterException) as exc:  # a cluster client connects at once
            raise CommandError(redis_problem(name, exc)) from None
    if reachable:
        check_redis(queues, wait=reachable == "wait")
    return queues


def check_redis(queues, wait=False):
    """Raise a CommandError unless every queue's Redis answers (see configured_queues)."""
    seen = set()
    for queue in queues:
        if id(queue.connection) in seen:
            continue
        seen.add(id(queue.connection))
        try:
            queue.connection.ping()
        except RedisError as exc:
            if wait and isinstance(exc, UNAVAILABLE) and not isinstance(exc, AuthenticationError):
                continue
            raise CommandError(redis_problem(queue.name, exc)) from None


def redis_problem(name, exc):
    """One line saying which queue's Redis failed, where, and why: never its password."""
    config = get_settings().queue(name).connection
    reason = str(exc).strip().rstrip(".") or type(exc).__name__
    for secret in (config.password, config.url and urlsplit(config.url).password):
        if secret:
            reason = reason.replace(secret, "***")
    return (
        f"Redis of queue {name!r} at {config.describe()} did not answer: {reason}. "
        f"Check that it is running and JOBQUEUE_QUEUES[{name!r}]."
    )
