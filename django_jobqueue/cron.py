"""Periodic jobs from ``JOBQUEUE_CRON``, and the checks that validate them.

``JOBQUEUE_CRON`` is a list of dicts, one per entry::

    JOBQUEUE_CRON = [
        {"func": "app.tasks.report", "cron": "0 7 * * 1-5", "queue": "low",
         "args": [42], "kwargs": {"full": True}, "timeout": 600,
         "timezone": "Europe/Paris"},
        {"func": "app.tasks.cleanup", "interval": 300},
    ]

Each becomes an engine :class:`~django_jobqueue.engine.cron.CronEntry`; a
``cron`` entry without ``timezone`` is read on the wall clock of
``TIME_ZONE``. The setting is read when used (workers at start, the dashboard
per page), never at import time.

The checks of one entry (:func:`entry_problems`) also validate the rows of
the :class:`~django_jobqueue.models.PeriodicJob` model, the periodic jobs
edited at run time, so both kinds of entry obey the same rules.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import Problem, get_settings
from .engine.cron import CronEntry, CronSyntaxError, resolve_timezone
from .engine.utils import import_attribute, parse_duration

#: The keys an entry may have.
ENTRY_KEYS = {
    "func",
    "cron",
    "interval",
    "name",
    "queue",
    "args",
    "kwargs",
    "timeout",
    "result_ttl",
    "failure_ttl",
    "ttl",
    "timezone",
    "missed",
    "description",
}


def default_timezone() -> str:
    return getattr(settings, "TIME_ZONE", None) or "UTC"


def find_cron_problems() -> list[Problem]:
    """Every problem of ``JOBQUEUE_CRON``; empty when all is well.

    Ids: E030 not a list of dicts, E031 unknown or missing key, E032 func not
    importable or not callable, E033 not exactly one of cron/interval (or a bad
    interval), E034 invalid cron expression, E035 unknown queue, E036 unknown
    timezone, E037 two entries with one name, E038 another bad option.
    """
    raw = getattr(settings, "JOBQUEUE_CRON", None)
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)) or not all(isinstance(item, dict) for item in raw):
        return [
            Problem(
                "django_jobqueue.E030",
                "JOBQUEUE_CRON must be a list of dicts.",
                'Example: [{"func": "app.tasks.report", "cron": "0 7 * * *"}]',
            )
        ]
    queues = configured_queues()
    problems: list[Problem] = []
    names: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"JOBQUEUE_CRON[{index}]"
        found = entry_problems(where, item, queues)
        problems += found
        if not found:
            name = item.get("name") or item["func"]
            if name in names:
                problems.append(
                    Problem(
                        "django_jobqueue.E037",
                        f"{where} and JOBQUEUE_CRON[{names[name]}] are both named {name!r}.",
                        "Give each entry of the same function its own 'name'.",
                    )
                )
            names.setdefault(name, index)
    return problems


def setting_names() -> set[str]:
    """The names of ``JOBQUEUE_CRON``'s entries (a malformed item is left out)."""
    raw = getattr(settings, "JOBQUEUE_CRON", None) or ()
    if not isinstance(raw, (list, tuple)):
        return set()
    names = (item.get("name") or item.get("func") for item in raw if isinstance(item, dict))
    return {name for name in names if isinstance(name, str) and name}


def configured_queues() -> set[str] | None:
    """The names of ``JOBQUEUE_QUEUES``; None when the setting is broken (reported elsewhere)."""
    try:
        return set(get_settings().queues)
    except ImproperlyConfigured:
        return None


def entry_problems(where: str, item: dict, queues: set[str] | None = None) -> list[Problem]:
    """Every problem of one entry in the ``JOBQUEUE_CRON`` form; empty when it is valid.

    ``where`` starts each message (``"JOBQUEUE_CRON[2]"``); ``queues`` are the
    known queue names (None: not checked). Used for ``JOBQUEUE_CRON`` and for
    the ``PeriodicJob`` model, so both accept exactly the same entries.
    """
    unknown = sorted(set(item) - ENTRY_KEYS)
    if unknown:
        return [
            Problem(
                "django_jobqueue.E031",
                f"{where} has unknown keys: {', '.join(unknown)}.",
                f"Known keys: {', '.join(sorted(ENTRY_KEYS))}.",
            )
        ]
    func = item.get("func")
    if not isinstance(func, str) or not func:
        return [
            Problem(
                "django_jobqueue.E031",
                f"{where} has no 'func' (the dotted path of the function to run).",
            )
        ]
    where = f"{where} ({item.get('name') or func})"
    problems = []
    try:
        target = import_attribute(func)
    except Exception as exc:
        problems.append(
            Problem(
                "django_jobqueue.E032",
                f"{where}: cannot import {func!r} ({type(exc).__name__}: {exc}).",
            )
        )
    else:
        if not callable(target):
            problems.append(Problem("django_jobqueue.E032", f"{where}: {func!r} is not callable."))
    if ("cron" in item) == ("interval" in item):
        problems.append(
            Problem(
                "django_jobqueue.E033", f"{where} must have exactly one of 'cron' and 'interval'."
            )
        )
        return problems
    queue = item.get("queue", "default")
    if queues is not None and isinstance(queue, str) and queue not in queues:
        problems.append(
            Problem(
                "django_jobqueue.E035",
                f"{where} names queue {queue!r}, which JOBQUEUE_QUEUES lacks.",
                f"Configured queues: {', '.join(sorted(queues)) or 'none'}.",
            )
        )
    if not isinstance(item.get("args", ()), (list, tuple)):
        problems.append(Problem("django_jobqueue.E038", f"{where}: 'args' must be a list."))
    if not isinstance(item.get("kwargs", {}), dict):
        problems.append(Problem("django_jobqueue.E038", f"{where}: 'kwargs' must be a dict."))
    if "timezone" in item:
        try:
            resolve_timezone(item["timezone"])
        except (ValueError, TypeError) as exc:
            problems.append(Problem("django_jobqueue.E036", f"{where}: {exc}"))
    if "interval" in item:
        try:
            seconds = parse_duration(item["interval"])
        except (ValueError, TypeError) as exc:
            problems.append(Problem("django_jobqueue.E033", f"{where}: 'interval': {exc}"))
        else:
            if seconds is None or seconds < 1:
                problems.append(
                    Problem(
                        "django_jobqueue.E033", f"{where}: 'interval' must be at least 1 second."
                    )
                )
    if problems:
        return problems
    try:
        build_entry(item)
    except CronSyntaxError as exc:
        problems.append(
            Problem(
                "django_jobqueue.E034",
                f"{where}: {exc}",
                "Five fields: minute hour day-of-month month day-of-week, e.g. '0 7 * * 1-5'.",
            )
        )
    except (ValueError, TypeError) as exc:
        problems.append(Problem("django_jobqueue.E038", f"{where}: {exc}"))
    return problems


def build_entry(item: dict, **extra: Any) -> CronEntry:
    """The engine entry of ``item`` (``JOBQUEUE_CRON``'s form); ``extra`` adds options.

    A ``cron`` entry without ``timezone`` is read on the wall clock of ``TIME_ZONE``.
    """
    options = dict(item, **extra)
    if "cron" in options:
        options.setdefault("timezone", default_timezone())
    return CronEntry(**options)


def get_cron_entries() -> list[CronEntry]:
    """The entries of ``JOBQUEUE_CRON``; raises ImproperlyConfigured on the first problem."""
    for problem in find_cron_problems():
        raise ImproperlyConfigured(
            f"{problem.msg} ({problem.id})" + (f" {problem.hint}" if problem.hint else "")
        )
    return [build_entry(item) for item in getattr(settings, "JOBQUEUE_CRON", None) or ()]


def get_entry(name: str) -> CronEntry | None:
    return next((entry for entry in get_cron_entries() if entry.name == name), None)


def entries_for(queue_names: Any, entries: list[CronEntry] | None = None) -> list[CronEntry]:
    """The entries whose queue uses the same Redis (and prefix) as the first of ``queue_names``.

    A worker's scheduler fires those; entries of queues on another Redis are
    fired by the workers of that Redis. ``entries`` defaults to
    ``JOBQUEUE_CRON``'s.
    """
    from dataclasses import replace

    jq = get_settings()
    names = list(queue_names) or ["default"]

    def where(name: str) -> Any:
        return replace(jq.queue(name).connection, kwargs=(), sentinel_kwargs=())

    home = where(names[0])
    return [
        entry
        for entry in (get_cron_entries() if entries is None else entries)
        if entry.queue in jq.queues and where(entry.queue) == home
    ]


__all__ = [
    "ENTRY_KEYS",
    "build_entry",
    "configured_queues",
    "entries_for",
    "entry_problems",
    "find_cron_problems",
    "get_cron_entries",
    "get_entry",
    "setting_names",
]
