"""django-rq's settings, read where django-jobqueue's own are not set.

A django-rq project switches by renaming ``django_rq`` to ``django_jobqueue``
in its imports and ``INSTALLED_APPS``; its settings keep working:

- ``RQ_QUEUES`` is read when ``JOBQUEUE_QUEUES`` is not set (W005 says to
  rename it; both set: ``RQ_QUEUES`` is ignored, W006);
- django-rq's queue options (``SOCKET_TIMEOUT``, ``REDIS_CLIENT_KWARGS``,
  ``USE_REDIS_CACHE``, ``QUEUE_CLASS``, ``URL`` with ``DB``) are taken in either
  setting and turned into ours by :func:`translate_queue`;
- ``RQ = {...}`` gives ``COMMIT_MODE``/``AUTOCOMMIT``, ``DEFAULT_RESULT_TTL``
  and ``WORKER_CLASS`` where ``JOBQUEUE_COMMIT_MODE``, a queue's
  ``DEFAULT_RESULT_TTL`` and ``JOBQUEUE_WORKER['CLASS']`` are unset (W007
  names the settings to move them to; keys we do not read are W008).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from .problems import Problem

#: django-rq's commit modes (and ours, unchanged) as ours. django-rq's
#: "request_finished" holds jobs until the request ends; we hold them until the
#: transaction commits, which is what protects a worker from unwritten rows.
COMMIT_MODES = {
    "auto": "immediate",
    "on_db_commit": "on_commit",
    "request_finished": "on_commit",
    "immediate": "immediate",
    "on_commit": "on_commit",
}
#: Keys of ``RQ = {...}`` that are read, and the setting of ours each stands in for.
RQ_KEYS_READ = {
    "COMMIT_MODE": "JOBQUEUE_COMMIT_MODE",
    "AUTOCOMMIT": "JOBQUEUE_COMMIT_MODE",
    "DEFAULT_RESULT_TTL": "DEFAULT_RESULT_TTL on each queue",
    "WORKER_CLASS": "JOBQUEUE_WORKER['CLASS']",
    "JOB_CLASS": "job_class= of get_queue() and get_worker(), where needed",
}
#: Queue options only django-rq has; :func:`translate_queue` turns them into ours.
RQ_QUEUE_KEYS = {"SOCKET_TIMEOUT", "REDIS_CLIENT_KWARGS", "USE_REDIS_CACHE", "QUEUE_CLASS"}


def queues_setting() -> tuple[str, Any]:
    """The queues setting in force and its value: JOBQUEUE_QUEUES, else RQ_QUEUES.

    ``("JOBQUEUE_QUEUES", None)`` when neither is set (the built-in default).
    """
    ours = getattr(settings, "JOBQUEUE_QUEUES", None)
    theirs = getattr(settings, "RQ_QUEUES", None)
    if ours is None and theirs is not None:
        return "RQ_QUEUES", theirs
    return "JOBQUEUE_QUEUES", ours


def rq_option(key: str) -> Any:
    """``RQ[key]``, or None when ``RQ`` is unset, not a dict, or lacks the key."""
    rq = getattr(settings, "RQ", None)
    return rq.get(key) if isinstance(rq, dict) else None


def translate_commit_mode(mode: Any) -> str:
    """Our commit mode for one of ours or django-rq's; ValueError for anything else."""
    if isinstance(mode, str) and mode in COMMIT_MODES:
        return COMMIT_MODES[mode]
    raise ValueError(
        f"commit mode must be one of {', '.join(repr(m) for m in COMMIT_MODES)}, not {mode!r}."
    )


def commit_mode() -> str | None:
    """The commit mode ``RQ = {...}`` asks for (COMMIT_MODE, else AUTOCOMMIT); None: unset.

    An empty COMMIT_MODE counts as unset, as in django-rq. A bad one raises ValueError.
    """
    mode = rq_option("COMMIT_MODE")
    if mode is not None and mode != "":
        return translate_commit_mode(mode)
    autocommit = rq_option("AUTOCOMMIT")
    if autocommit is None:
        return None
    return "immediate" if autocommit else "on_commit"


def find_problems() -> list[Problem]:
    """What a check should say about django-rq settings still in use."""
    problems = []
    has_ours = getattr(settings, "JOBQUEUE_QUEUES", None) is not None
    if getattr(settings, "RQ_QUEUES", None) is not None:
        if has_ours:
            problems.append(
                Problem(
                    "django_jobqueue.W006",
                    "RQ_QUEUES is ignored: JOBQUEUE_QUEUES is set.",
                    "Remove RQ_QUEUES, or JOBQUEUE_QUEUES to keep reading RQ_QUEUES.",
                    level="warning",
                )
            )
        else:
            problems.append(
                Problem(
                    "django_jobqueue.W005",
                    "The queues come from django-rq's RQ_QUEUES, as JOBQUEUE_QUEUES is not set.",
                    "Rename RQ_QUEUES to JOBQUEUE_QUEUES; it takes the same options.",
                    level="warning",
                )
            )
    rq = getattr(settings, "RQ", None)
    if rq is None:
        return problems
    if not isinstance(rq, dict):
        return [*problems, Problem("django_jobqueue.E041", "RQ must be a dict of options.")]
    try:
        commit_mode()
    except ValueError as exc:
        problems.append(Problem("django_jobqueue.E041", f"RQ['COMMIT_MODE']: {exc}"))
    read = sorted(k for k in rq if k in RQ_KEYS_READ)
    if read:
        instead = "; ".join(f"{k} -> {RQ_KEYS_READ[k]}" for k in read)
        problems.append(
            Problem(
                "django_jobqueue.W007",
                f"django-rq's RQ setting is read for {', '.join(read)}.",
                f"Move them to django-jobqueue's settings: {instead}.",
                level="warning",
            )
        )
    ignored = sorted(str(k) for k in rq if k not in RQ_KEYS_READ)
    if rq.get("COMMIT_MODE") == "request_finished" or (
        not rq.get("COMMIT_MODE") and rq.get("AUTOCOMMIT") is False
    ):
        ignored.append("request_finished commit mode (jobs wait for the transaction instead)")
    if ignored:
        problems.append(
            Problem(
                "django_jobqueue.W008",
                f"django-rq's RQ setting asks for what is not done here: {', '.join(ignored)}.",
                "See 'From django-rq' in docs/migrating.rst for what replaces each.",
                level="warning",
            )
        )
    return problems


def translate_queue(where: str, options: dict) -> tuple[dict, list[Problem]]:
    """``options`` with django-rq's queue options turned into ours, and their problems.

    ``SOCKET_TIMEOUT`` and ``REDIS_CLIENT_KWARGS`` join ``CONNECTION_KWARGS``;
    ``USE_REDIS_CACHE`` becomes the ``URL`` of that ``CACHES`` entry; ``DB`` with a
    ``URL`` replaces the URL's database, as redis-py's ``from_url(url, db=...)``
    does. ``QUEUE_CLASS`` is kept as it is (checked by the caller).
    """
    options = dict(options)
    problems: list[Problem] = []
    kwargs: dict[str, Any] = {}
    if "SOCKET_TIMEOUT" in options:
        timeout = options.pop("SOCKET_TIMEOUT")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            problems.append(
                Problem(
                    "django_jobqueue.E040",
                    f"{where}['SOCKET_TIMEOUT'] must be a number of seconds > 0, not {timeout!r}.",
                )
            )
        else:
            kwargs["socket_timeout"] = timeout
    client_kwargs = options.pop("REDIS_CLIENT_KWARGS", None)
    if client_kwargs is not None:
        if isinstance(client_kwargs, dict):
            kwargs.update(client_kwargs)
        else:
            problems.append(
                Problem(
                    "django_jobqueue.E040",
                    f"{where}['REDIS_CLIENT_KWARGS'] must be a dict of keyword arguments.",
                )
            )
    if kwargs:
        connection_kwargs = options.get("CONNECTION_KWARGS")
        if connection_kwargs is None or isinstance(connection_kwargs, dict):
            options["CONNECTION_KWARGS"] = {**kwargs, **(connection_kwargs or {})}
    if "USE_REDIS_CACHE" in options:
        alias = options.pop("USE_REDIS_CACHE")
        url, problem = _cache_url(where, alias)
        if problem:
            problems.append(problem)
        elif "URL" not in options:
            options["URL"] = url
    if options.get("URL") and options.get("DB") is not None:
        db = options.pop("DB")
        if isinstance(db, int) and not isinstance(db, bool) and db >= 0:
            options["URL"] = _url_with_db(str(options["URL"]), db)
        else:
            problems.append(
                Problem("django_jobqueue.E012", f"{where}['DB'] must be a whole number >= 0.")
            )
    return options, problems


def _cache_url(where: str, alias: Any) -> tuple[str | None, Problem | None]:
    """The Redis URL of ``CACHES[alias]`` (django-redis or Django's RedisCache)."""
    cache = getattr(settings, "CACHES", {}).get(alias) if isinstance(alias, str) else None
    location = (cache or {}).get("LOCATION")
    if isinstance(location, (list, tuple)):  # several servers: the first is the primary
        location = location[0] if location else None
    if isinstance(location, str) and urlsplit(location).scheme in ("redis", "rediss", "unix"):
        return location, None
    return None, Problem(
        "django_jobqueue.E040",
        f"{where}['USE_REDIS_CACHE'] is {alias!r}: "
        + ("no such CACHES entry." if cache is None else "its LOCATION is not a Redis URL."),
        "Name a CACHES entry whose LOCATION is redis://host:port/db, or give URL instead.",
    )


def _url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=urlencode([*query, ("db", str(db))])))
    return urlunsplit(parts._replace(path=f"/{db}", query=urlencode(query)))
