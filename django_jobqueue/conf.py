"""The app's settings, parsed once on first use and re-read when tests override them.

Settings are never read at import time: ``override_settings`` in a test clears
the cache through the ``setting_changed`` receiver in :mod:`.signals`, and a bad
setting is reported by ``manage.py check`` (see :mod:`.checks`) with the same
messages that :func:`get_settings` raises.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .engine.connection import OWN_KEYWORDS, accepted_kwargs, connection_class
from .engine.vocabulary import DEFAULT_PREFIX
from .problems import Problem
from .rq_settings import RQ_QUEUE_KEYS, queues_setting, rq_option, translate_queue
from .rq_settings import commit_mode as rq_commit_mode
from .rq_settings import find_problems as rq_problems

#: What a project gets when it sets no ``JOBQUEUE_QUEUES`` at all...
DEFAULT_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/0"}}
#: ...unless this environment variable (or ``JOBQUEUE_URL_FILE``) gives the URL.
DEFAULT_URL_ENV = "JOBQUEUE_URL"

CONNECTION_KEYS = {
    "URL",
    "URL_ENV",
    "HOST",
    "PORT",
    "DB",
    "USERNAME",
    "PASSWORD",
    "SSL",
    "SSL_CERT_REQS",
    "UNIX_SOCKET_PATH",
    "SENTINELS",
    "MASTER_NAME",
    "SENTINEL_KWARGS",
    "CONNECTION_KWARGS",
    "CLUSTER",
}
#: A queue's keys: where Redis is, its defaults, and django-rq's options (:mod:`.rq_settings`).
QUEUE_KEYS = (
    CONNECTION_KEYS
    | {"DEFAULT_TIMEOUT", "DEFAULT_RESULT_TTL", "ASYNC", "SERIALIZER"}
    | RQ_QUEUE_KEYS
)
URL_SCHEMES = ("redis", "rediss", "unix")
COMMIT_MODES = ("on_commit", "immediate")
#: Keys of JOBQUEUE_WORKER: what ``rqworker`` uses unless told otherwise.
WORKER_KEYS = {
    "CLASS",
    "PROCESSES",
    "MAX_JOBS_PER_CHILD",
    "MAX_MEMORY_PER_CHILD",
    "WORKER_TTL",
    "SCHEDULER",
    "CRON_RELOAD_INTERVAL",
    "LOG_FORMAT",
}
LOG_FORMATS = ("text", "json")
WORKER_CLASS_NAMES = ("pool", "fork", "simple", "spawn")


@dataclass(frozen=True)
class ConnectionConfig:
    """How to reach one Redis; equal configs share one client and connection pool."""

    url: str | None = None
    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    ssl_cert_reqs: str | None = None
    unix_socket_path: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    sentinel_kwargs: tuple[tuple[str, Any], ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    #: A Redis Cluster, found through the node that URL or HOST/PORT names.
    cluster: bool = False

    def describe(self) -> str:
        """Where this connects, without the password (for logs)."""
        if self.cluster:
            return "cluster via " + replace(self, cluster=False).describe()
        if self.sentinels:
            return f"sentinel master {self.master_name!r} via " + ", ".join(
                f"{h}:{p}" for h, p in self.sentinels
            )
        if self.url:
            parts = urlsplit(self.url)
            netloc = parts.hostname or ""
            if parts.port:
                netloc += f":{parts.port}"
            return f"{parts.scheme}://{netloc}{parts.path}"
        if self.unix_socket_path:
            return f"unix://{self.unix_socket_path}?db={self.db}"
        return f"{'rediss' if self.ssl else 'redis'}://{self.host}:{self.port}/{self.db}"


@dataclass(frozen=True)
class QueueConfig:
    name: str
    connection: ConnectionConfig
    default_timeout: int | None = None
    default_result_ttl: int | None = None
    is_async: bool | None = None
    serializer: str | None = None
    #: Dotted path of a Queue subclass get_queue() builds (django-rq's QUEUE_CLASS).
    queue_class: str | None = None


@dataclass(frozen=True)
class JobQueueSettings:
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    is_async: bool = True
    commit_mode: str = "on_commit"
    key_prefix: str = DEFAULT_PREFIX
    #: JOBQUEUE_WORKER, with defaults filled in.
    worker: dict[str, Any] = field(default_factory=dict)
    #: Keys payloads are signed with (first) and accepted with; empty: unsigned.
    signing_keys: tuple[bytes, ...] = ()
    #: Bytes a job's serialized call, meta or description may take; None: no limit.
    max_payload: int | None = None
    #: Bytes a job's serialized result may take; None: no limit.
    max_result: int | None = None
    #: Bearer token that opens the metrics endpoints to scrapers; empty: staff login only.
    api_token: str = ""
    #: Queues whose options have an error, with the first one: they alone are unusable.
    broken: dict[str, str] = field(default_factory=dict)
    #: The setting the queues were read from (JOBQUEUE_QUEUES, or django-rq's RQ_QUEUES).
    queues_setting: str = "JOBQUEUE_QUEUES"

    def queue(self, name: str) -> QueueConfig:
        try:
            return self.queues[name]
        except KeyError:
            if name in self.broken:
                raise ImproperlyConfigured(self.broken[name]) from None
            configured = ", ".join(sorted(self.queues)) or "none"
            # A queue whose name itself is wrong (E009) may be the one meant.
            errors = "".join(f" Left out: {b!r}: {e}" for b, e in self.broken.items())
            raise ImproperlyConfigured(
                f"Queue {name!r} is not in {self.queues_setting} (configured: {configured})."
                + errors
            ) from None

    def queue_is_async(self, name: str) -> bool:
        config = self.queue(name)
        return self.is_async if config.is_async is None else config.is_async


def find_problems() -> list[Problem]:
    """Every problem with the app's settings; empty when all is well.

    Ids are stable: E001 unknown key, E002 no connection, E003 conflicting
    connection options, E004 bad URL scheme, E005 bad timeout or TTL, E006 bad
    JOBQUEUE_ASYNC / ASYNC, E007 bad JOBQUEUE_COMMIT_MODE, E008 JOBQUEUE_QUEUES
    not a dict, E009 bad queue name, E010 bad SENTINELS, E011 bad key prefix,
    E012 bad port or database (PORT, DB or in the URL), E013 bad JOBQUEUE_WORKER,
    E014 bad signing or payload settings, E015 bad CLUSTER, E016 JOBQUEUE_API_TOKEN
    not a string, E017 JOBQUEUE_QUEUES empty, E018 bad CONNECTION_KWARGS, E019 bad
    SERIALIZER, E021 bad URL_ENV or its variable unset, E040 bad django-rq queue
    option (QUEUE_CLASS, USE_REDIS_CACHE,
    SOCKET_TIMEOUT, REDIS_CLIENT_KWARGS), E041 bad RQ setting, W001 no 'default'
    queue, W002 payload signing turned off, W003 no key to sign payloads with,
    W004 JOBQUEUE_API_TOKEN too short to resist guessing, W005 RQ_QUEUES read in
    place of JOBQUEUE_QUEUES, W006 RQ_QUEUES ignored, W007 RQ keys read, W008 RQ
    keys not read. A problem of one queue's options (E001-E005, E008-E010, E012,
    E015, E018, E019, E021, E040) makes only that queue unusable.
    """
    problems: list[Problem] = rq_problems()
    setting, raw = queues_setting()
    if raw is None:
        raw = default_queues()
    if not isinstance(raw, dict):
        return [
            *problems,
            Problem(
                "django_jobqueue.E008",
                f"{setting} must be a dict of queue name to options.",
                'Example: {"default": {"URL": "redis://127.0.0.1:6379/0"}}',
            ),
        ]
    if not raw:
        problems.append(
            Problem(
                "django_jobqueue.E017",
                f"{setting} is empty: there is no queue to enqueue to or work on.",
                "Remove the setting for one 'default' queue on redis://127.0.0.1:6379/0, "
                'or add one: {"default": {"URL": "redis://127.0.0.1:6379/0"}}.',
            )
        )
    is_async = getattr(settings, "JOBQUEUE_ASYNC", True)
    if not isinstance(is_async, bool):
        problems.append(
            Problem(
                "django_jobqueue.E006", f"JOBQUEUE_ASYNC must be True or False, not {is_async!r}."
            )
        )
    mode = getattr(settings, "JOBQUEUE_COMMIT_MODE", "on_commit")
    if mode not in COMMIT_MODES:  # RQ['COMMIT_MODE'] is checked by rq_problems()
        problems.append(
            Problem(
                "django_jobqueue.E007",
                f"JOBQUEUE_COMMIT_MODE must be one of {COMMIT_MODES}, not {mode!r}.",
            )
        )
    prefix = getattr(settings, "JOBQUEUE_KEY_PREFIX", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
        problems.append(
            Problem(
                "django_jobqueue.E011",
                "JOBQUEUE_KEY_PREFIX must be a string "
                "without '{' or '}' (they are Redis Cluster hash tags).",
            )
        )
    for name, options in raw.items():
        problems += _queue_problems(name, options, setting)
    problems += _worker_problems(getattr(settings, "JOBQUEUE_WORKER", {}))
    problems += _payload_problems()
    problems += _api_token_problems()
    if raw and "default" not in raw:
        problems.append(
            Problem(
                "django_jobqueue.W001",
                f"{setting} has no 'default' queue.",
                "enqueue(), get_queue() and @job without a queue name use 'default'; add it or "
                "always name a queue.",
                level="warning",
            )
        )
    return problems


#: Characters a JOBQUEUE_API_TOKEN needs for W004 to stay quiet.
MIN_API_TOKEN_LENGTH = 32


def _api_token_problems() -> list[Problem]:
    token = getattr(settings, "JOBQUEUE_API_TOKEN", "")
    if token is None or token == "":
        return []
    if not isinstance(token, str):
        return [
            Problem(
                "django_jobqueue.E016",
                f"JOBQUEUE_API_TOKEN must be a string, not {type(token).__name__}.",
                "Leave it unset (or empty) to allow staff logins only.",
            )
        ]
    if len(token) < MIN_API_TOKEN_LENGTH:
        return [
            Problem(
                "django_jobqueue.W004",
                f"JOBQUEUE_API_TOKEN is {len(token)} characters long: short tokens can be guessed.",
                f"Use at least {MIN_API_TOKEN_LENGTH} random characters, e.g. from "
                '`python -c "import secrets; print(secrets.token_urlsafe(32))"`.',
                level="warning",
            )
        ]
    return []


def _payload_problems() -> list[Problem]:
    from .engine.utils import parse_bytes

    problems = []
    key = getattr(settings, "JOBQUEUE_SIGNING_KEY", None)
    if key is not None and (not isinstance(key, (str, bytes)) or len(key) < 16):
        problems.append(
            Problem(
                "django_jobqueue.E014",
                "JOBQUEUE_SIGNING_KEY must be a string or bytes of at least 16 characters.",
                "Leave it unset to derive one from SECRET_KEY.",
            )
        )
    if not isinstance(getattr(settings, "JOBQUEUE_SIGN_PAYLOADS", True), bool):
        problems.append(
            Problem("django_jobqueue.E014", "JOBQUEUE_SIGN_PAYLOADS must be True or False.")
        )
    for name in ("JOBQUEUE_MAX_PAYLOAD", "JOBQUEUE_MAX_RESULT"):
        try:
            parse_bytes(getattr(settings, name, None))
        except (ValueError, TypeError) as exc:
            problems.append(Problem("django_jobqueue.E014", f"{name}: {exc}"))
    signing = getattr(settings, "JOBQUEUE_SIGN_PAYLOADS", True) is not False
    if signing and key is None and not _secret_key():
        problems.append(
            Problem(
                "django_jobqueue.W003",
                "There is no SECRET_KEY to derive the payload signing key "
                "from: job payloads are not signed.",
                "Set SECRET_KEY or JOBQUEUE_SIGNING_KEY.",
                level="warning",
            )
        )
    if getattr(settings, "JOBQUEUE_SIGN_PAYLOADS", True) is False:
        problems.append(
            Problem(
                "django_jobqueue.W002",
                "JOBQUEUE_SIGN_PAYLOADS is False: anyone who can write to "
                "Redis can make workers run code.",
                "Keep it on unless every writer is trusted.",
                level="warning",
            )
        )
    return problems


def _worker_problems(options: Any) -> list[Problem]:
    from .engine.utils import parse_bytes

    if not isinstance(options, dict):
        return [Problem("django_jobqueue.E013", "JOBQUEUE_WORKER must be a dict.")]
    problems = []
    unknown = sorted(set(options) - WORKER_KEYS)
    if unknown:
        problems.append(
            Problem(
                "django_jobqueue.E013",
                f"JOBQUEUE_WORKER has unknown keys: {', '.join(unknown)}.",
                f"Known keys: {', '.join(sorted(WORKER_KEYS))}.",
            )
        )
    cls = options.get("CLASS")
    if cls is not None and (
        not isinstance(cls, str) or (cls not in WORKER_CLASS_NAMES and "." not in cls)
    ):
        problems.append(
            Problem(
                "django_jobqueue.E013",
                f"JOBQUEUE_WORKER['CLASS'] must be one "
                f"of {WORKER_CLASS_NAMES} or a dotted path, not {cls!r}.",
            )
        )
    for key in ("PROCESSES", "MAX_JOBS_PER_CHILD", "WORKER_TTL"):
        value = options.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            problems.append(
                Problem(
                    "django_jobqueue.E013",
                    f"JOBQUEUE_WORKER['{key}'] must be a whole number >= 1, not {value!r}.",
                )
            )
    if not isinstance(options.get("SCHEDULER", True), bool):
        problems.append(
            Problem(
                "django_jobqueue.E013",
                "JOBQUEUE_WORKER['SCHEDULER'] must be True or False, "
                f"not {options['SCHEDULER']!r}.",
            )
        )
    reload = options.get("CRON_RELOAD_INTERVAL")  # None: the table is not read
    if reload is not None and (
        isinstance(reload, bool) or not isinstance(reload, (int, float)) or not reload > 0
    ):
        problems.append(
            Problem(
                "django_jobqueue.E013",
                "JOBQUEUE_WORKER['CRON_RELOAD_INTERVAL'] must be a number of seconds > 0 "
                f"(or None: periodic jobs of the database are not read), not {reload!r}.",
            )
        )
    if options.get("LOG_FORMAT", "text") not in LOG_FORMATS:
        problems.append(
            Problem(
                "django_jobqueue.E013",
                f"JOBQUEUE_WORKER['LOG_FORMAT'] must be one of {LOG_FORMATS}, "
                f"not {options['LOG_FORMAT']!r}.",
            )
        )
    try:
        parse_bytes(options.get("MAX_MEMORY_PER_CHILD"))
    except ValueError as exc:
        problems.append(
            Problem("django_jobqueue.E013", f"JOBQUEUE_WORKER['MAX_MEMORY_PER_CHILD']: {exc}")
        )
    return problems


def _queue_problems(name: Any, options: Any, setting: str = "JOBQUEUE_QUEUES") -> list[Problem]:
    """The problems of one queue, each naming it: they make that queue alone unusable."""
    problems = _one_queue_problems(name, options, setting)
    for problem in problems:
        problem.queue = str(name)
    return problems


def _one_queue_problems(name: Any, options: Any, setting: str) -> list[Problem]:
    from .engine.keys import validate_queue_name

    where = f"{setting}[{name!r}]"
    try:
        validate_queue_name(name)
    except ValueError as exc:
        return [Problem("django_jobqueue.E009", str(exc))]
    if not isinstance(options, dict):
        return [Problem("django_jobqueue.E008", f"{where} must be a dict of options.")]
    options, problems = from_environment(where, options)
    if problems:  # where Redis is cannot be known: the other checks would only echo it
        return problems
    options, problems = translate_queue(where, options)
    problems += _queue_class_problems(where, options.get("QUEUE_CLASS"))
    unknown = sorted(set(options) - QUEUE_KEYS - {URL_SOURCE})
    if unknown:
        problems.append(
            Problem(
                "django_jobqueue.E001",
                f"{where} has unknown keys: {', '.join(unknown)}.",
                f"Known keys: {', '.join(sorted(QUEUE_KEYS))}.",
            )
        )
    kinds = [k for k in ("URL", "HOST", "UNIX_SOCKET_PATH", "SENTINELS") if options.get(k)]
    if not kinds:
        problems.append(
            Problem(
                "django_jobqueue.E002",
                f"{where} says nothing about where Redis is.",
                "Give URL, or HOST (+PORT, DB), or UNIX_SOCKET_PATH, or "
                "SENTINELS with MASTER_NAME.",
            )
        )
    elif len(kinds) > 1:
        problems.append(
            Problem(
                "django_jobqueue.E003",
                f"{where} gives {' and '.join(kinds)}; use only one way to connect.",
            )
        )
    if options.get("URL"):
        extra = [k for k in ("PORT", "DB", "USERNAME", "PASSWORD", "SSL") if k in options]
        if extra:
            problems.append(
                Problem(
                    "django_jobqueue.E003",
                    f"{where} gives URL and {', '.join(extra)}; the URL would silently win.",
                    "Put them in the URL: redis://user:password@host:port/db.",
                )
            )
    port, db = _whole_number(options.get("PORT")), _whole_number(options.get("DB"))
    if options.get("PORT") is not None and not (port and port <= 65535):
        problems.append(
            Problem(
                "django_jobqueue.E012",
                f"{where}['PORT'] must be a whole number from 1 to 65535, not {options['PORT']!r}.",
            )
        )
    if options.get("DB") is not None and db is None:
        problems.append(
            Problem(
                "django_jobqueue.E012",
                f"{where}['DB'] must be a whole number >= 0, not {options['DB']!r}.",
            )
        )
    if options.get("URL") is not None:
        problems += _url_problems(where, options["URL"], options.get(URL_SOURCE, "['URL']"))
    problems += _connection_kwargs_problems(where, options)
    problems += _serializer_problems(where, options.get("SERIALIZER"))
    if options.get("SENTINELS"):
        sentinels = options["SENTINELS"]
        ok = isinstance(sentinels, (list, tuple)) and all(
            isinstance(s, (list, tuple)) and len(s) == 2 for s in sentinels
        )
        if not ok:
            problems.append(
                Problem(
                    "django_jobqueue.E010",
                    f"{where}['SENTINELS'] must be a list of (host, port) pairs.",
                )
            )
        if not options.get("MASTER_NAME"):
            problems.append(
                Problem("django_jobqueue.E010", f"{where} has SENTINELS but no MASTER_NAME.")
            )
    problems += _cluster_problems(where, options)
    for key in ("DEFAULT_TIMEOUT", "DEFAULT_RESULT_TTL"):
        value = options.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or (value < 0 and value != -1)
        ):
            problems.append(
                Problem(
                    "django_jobqueue.E005",
                    f"{where}['{key}'] must be whole "
                    f"seconds >= 0 (or -1 for no limit), not {value!r}.",
                )
            )
    if "ASYNC" in options and not isinstance(options["ASYNC"], bool):
        problems.append(Problem("django_jobqueue.E006", f"{where}['ASYNC'] must be True or False."))
    return problems


def _queue_class_problems(where: str, path: Any) -> list[Problem]:
    """A QUEUE_CLASS that does not import, or is not a Queue subclass."""
    from .engine.queue import Queue
    from .engine.utils import import_attribute

    if path is None:
        return []
    try:
        cls = import_attribute(path) if isinstance(path, str) else path
    except Exception as exc:  # whatever importing it raised, it is the user's to fix
        return [Problem("django_jobqueue.E040", f"{where}['QUEUE_CLASS'] does not import: {exc}")]
    if not (isinstance(cls, type) and issubclass(cls, Queue)):
        return [
            Problem(
                "django_jobqueue.E040",
                f"{where}['QUEUE_CLASS'] is {cls!r}, not a subclass of django_jobqueue.Queue.",
                "Give the dotted path of a class built on django_jobqueue.Queue.",
            )
        ]
    return []


def _whole_number(value: Any) -> int | None:
    """``value`` as an int if it is one, or a string of ASCII digits; else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _split_url(url: Any) -> SplitResult | None:
    try:
        return urlsplit(str(url))
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        return None


def _url_problems(where: str, url: Any, field: str = "['URL']") -> list[Problem]:
    """Problems of a URL; ``field`` says where it was written (``['URL']`` or a variable)."""
    parts = _split_url(url)
    if parts is None or parts.scheme not in URL_SCHEMES:
        scheme = parts.scheme if parts else ""
        return [
            Problem(
                "django_jobqueue.E004",
                f"{where}{field} has scheme {scheme!r}; use redis://, rediss:// or unix://.",
            )
        ]
    problems = []
    # The port as written: urlsplit's .port raises on "abc" and 99999 alike.
    port = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    number = _whole_number(port)
    if parts.scheme != "unix" and port and not (number and number <= 65535):
        problems.append(
            Problem(
                "django_jobqueue.E012",
                f"{where}{field} has port {port!r}, not a whole number from 1 to 65535.",
                "Write it as redis://host:6379/0.",
            )
        )
    # redis-py reads the database from the path (redis://host/1) and from ?db=;
    # it ignores a path that is not a number and so uses database 0.
    dbs = [parts.path.replace("/", "")] if parts.scheme != "unix" else []
    dbs += parse_qs(parts.query).get("db", [])
    for db in dbs:
        if db and _whole_number(db) is None:
            problems.append(
                Problem(
                    "django_jobqueue.E012",
                    f"{where}{field} names database {db!r}, not a whole number "
                    "(redis-py would use database 0).",
                    "Write the database number after the host and port: "
                    "redis://host:6379/1 (or unix:///path/to/socket?db=1).",
                )
            )
    return problems


def _connection_kwargs_problems(where: str, options: dict) -> list[Problem]:
    """CONNECTION_KWARGS keys that redis-py's client or connection class would refuse."""
    kwargs = options.get("CONNECTION_KWARGS")
    if kwargs is None:
        return []
    where = f"{where}['CONNECTION_KWARGS']"
    if not isinstance(kwargs, dict):
        return [
            Problem(
                "django_jobqueue.E018",
                f"{where} must be a dict of keyword arguments for redis-py.",
                'Example: {"socket_timeout": 5}.',
            )
        ]
    url = _split_url(options.get("URL") or "")
    scheme = url.scheme if url else ""
    by_url = bool(options.get("URL"))
    unix = scheme == "unix" if by_url else bool(options.get("UNIX_SOCKET_PATH"))
    ssl = scheme == "rediss" if by_url else options.get("SSL") is True
    cluster = options.get("CLUSTER") is True
    accepted = accepted_kwargs(unix=unix, ssl=ssl, cluster=cluster)
    problems = []
    own = sorted(str(k) for k in kwargs if k in OWN_KEYWORDS)
    if own:
        problems.append(
            Problem(
                "django_jobqueue.E018",
                f"{where} sets {', '.join(own)}, which the queue's own options set.",
                "Use URL, or HOST, PORT, DB, USERNAME, PASSWORD, SSL or UNIX_SOCKET_PATH.",
            )
        )
    unknown = sorted(str(k) for k in kwargs if k not in accepted and k not in OWN_KEYWORDS)
    if unknown:
        cls = connection_class(unix=unix, ssl=ssl).__name__
        tcp = accepted_kwargs(unix=False, ssl=True, cluster=cluster)
        hints = []
        for key in unknown:
            if key in tcp:
                hints.append(
                    f"{key} is for TCP connections only"
                    if unix
                    else f"{key} needs TLS (SSL: True or a rediss:// URL)"
                )
            else:
                close = difflib.get_close_matches(key, sorted(accepted), n=1)
                hints.append(f"{key}: did you mean {close[0]}?" if close else f"{key}: unknown")
        problems.append(
            Problem(
                "django_jobqueue.E018",
                f"{where} has keys that redis-py's client and {cls} do not take: "
                f"{', '.join(unknown)}.",
                "; ".join(hints) + ".",
            )
        )
    return problems


def _serializer_problems(where: str, value: Any) -> list[Problem]:
    """A SERIALIZER that is not an alias, an importable dotted path or a serializer."""
    from .engine.serializers import ALIASES, resolve_serializer
    from .engine.utils import import_attribute

    where = f"{where}['SERIALIZER']"
    if isinstance(value, str) and value in ALIASES:
        try:
            resolve_serializer(value)  # an alias whose package is missing (msgpack)
        except ImportError as exc:
            return [Problem("django_jobqueue.E019", f"{where} is {value!r}: {exc}")]
        return []
    if value is None:
        return []
    aliases = ", ".join(repr(a) for a in ALIASES)
    if isinstance(value, str):
        if "." not in value:
            return [
                Problem(
                    "django_jobqueue.E019",
                    f"{where} is {value!r}: not a serializer alias nor a dotted path.",
                    f"Use {aliases}, or the dotted path of a class or object with "
                    "dumps() and loads().",
                )
            ]
        try:
            value = import_attribute(value)
        except Exception as exc:  # whatever importing it raised, it is the user's to fix
            return [
                Problem(
                    "django_jobqueue.E019",
                    f"{where} does not import: {exc}",
                    "Give the dotted path of a class or object with dumps() and loads().",
                )
            ]
    if not (callable(getattr(value, "dumps", None)) and callable(getattr(value, "loads", None))):
        return [
            Problem(
                "django_jobqueue.E019",
                f"{where} is {value!r}, which has no dumps() and loads().",
                f"Use {aliases}, or a class or object with dumps(obj) -> bytes and "
                "loads(bytes) -> obj.",
            )
        ]
    return []


def _cluster_problems(where: str, options: dict) -> list[Problem]:
    if "CLUSTER" not in options:
        return []
    if not isinstance(options["CLUSTER"], bool):
        return [Problem("django_jobqueue.E015", f"{where}['CLUSTER'] must be True or False.")]
    if not options["CLUSTER"]:
        return []
    problems = []
    elsewhere = [k for k in ("UNIX_SOCKET_PATH", "SENTINELS") if options.get(k)]
    url = _split_url(options.get("URL") or "") or urlsplit("")
    if url.scheme == "unix":
        elsewhere.append("a unix:// URL")
    if elsewhere:
        problems.append(
            Problem(
                "django_jobqueue.E015",
                f"{where} has CLUSTER with {' and '.join(elsewhere)}.",
                "Name one node of the cluster "
                "with URL (redis:// or rediss://) or HOST and PORT; the client "
                "finds the other nodes.",
            )
        )
    dbs = [str(options["DB"])] if options.get("DB") is not None else []
    if url.scheme in ("redis", "rediss"):
        dbs += [url.path.strip("/"), *parse_qs(url.query).get("db", [])]
    if any(db not in ("", "0") for db in dbs):
        problems.append(
            Problem(
                "django_jobqueue.E015",
                f"{where} has CLUSTER and a database "
                "other than 0; a Redis Cluster has database 0 only.",
            )
        )
    return problems


@cache
def get_settings() -> JobQueueSettings:
    """The parsed settings; raises ImproperlyConfigured on the first error.

    An error in one queue's options does not raise: that queue is left out, and
    asking for it (``get_queue``, ``queue()``) raises the error instead.
    """
    broken: dict[str, str] = {}
    for problem in find_problems():
        if problem.level != "error":
            continue
        if problem.queue is None:
            raise ImproperlyConfigured(str(problem))
        broken.setdefault(problem.queue, str(problem))
    setting, raw = queues_setting()
    if raw is None:
        raw = default_queues()
    queues = {
        name: _queue_config(name, options) for name, options in raw.items() if name not in broken
    }
    return JobQueueSettings(
        queues=queues,
        is_async=getattr(settings, "JOBQUEUE_ASYNC", True),
        commit_mode=getattr(settings, "JOBQUEUE_COMMIT_MODE", None)
        or rq_commit_mode()
        or "on_commit",
        key_prefix=getattr(settings, "JOBQUEUE_KEY_PREFIX", DEFAULT_PREFIX),
        worker=_worker_config(getattr(settings, "JOBQUEUE_WORKER", {})),
        signing_keys=_signing_keys(),
        max_payload=_payload_limits()[0],
        max_result=_payload_limits()[1],
        api_token=getattr(settings, "JOBQUEUE_API_TOKEN", "") or "",
        broken=broken,
        queues_setting=setting,
    )


def _signing_keys() -> tuple[bytes, ...]:
    """JOBQUEUE_SIGNING_KEY, else keys derived from SECRET_KEY and its fallbacks."""
    if not getattr(settings, "JOBQUEUE_SIGN_PAYLOADS", True):
        return ()
    key = getattr(settings, "JOBQUEUE_SIGNING_KEY", None)
    if key is not None:
        return (key if isinstance(key, bytes) else key.encode(),)
    from django.utils.crypto import salted_hmac

    if not _secret_key():
        return ()
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return tuple(
        salted_hmac(
            "django_jobqueue.payloads", "signing key", secret=s, algorithm="sha256"
        ).digest()
        for s in secrets
    )


def _secret_key() -> str | None:
    try:
        return settings.SECRET_KEY or None
    except ImproperlyConfigured:  # Django refuses to hand out an empty one
        return None


_UNSET_LIMIT: Any = object()


def _byte_limit(value: Any) -> int | None:
    """JOBQUEUE_MAX_PAYLOAD or JOBQUEUE_MAX_RESULT: unset is 10 MiB, None is no limit."""
    from .engine.payloads import DEFAULT_MAX_PAYLOAD
    from .engine.utils import parse_bytes

    return DEFAULT_MAX_PAYLOAD if value is _UNSET_LIMIT else parse_bytes(value)


def _payload_limits() -> tuple[int | None, int | None]:
    return (
        _byte_limit(getattr(settings, "JOBQUEUE_MAX_PAYLOAD", _UNSET_LIMIT)),
        _byte_limit(getattr(settings, "JOBQUEUE_MAX_RESULT", _UNSET_LIMIT)),
    )


def _worker_config(options: dict) -> dict[str, Any]:
    from .engine.scheduler import RELOAD_INTERVAL
    from .engine.utils import parse_bytes
    from .engine.worker import DEFAULT_WORKER_TTL

    return {
        "CLASS": options.get("CLASS") or rq_option("WORKER_CLASS") or "pool",
        "PROCESSES": options.get("PROCESSES"),
        "MAX_JOBS_PER_CHILD": options.get("MAX_JOBS_PER_CHILD"),
        "MAX_MEMORY_PER_CHILD": parse_bytes(options.get("MAX_MEMORY_PER_CHILD")),
        "WORKER_TTL": options.get("WORKER_TTL") or DEFAULT_WORKER_TTL,
        "SCHEDULER": options.get("SCHEDULER", True),
        "CRON_RELOAD_INTERVAL": options.get("CRON_RELOAD_INTERVAL", RELOAD_INTERVAL),
        "LOG_FORMAT": options.get("LOG_FORMAT", "text"),
    }


def _queue_config(name: str, options: dict) -> QueueConfig:
    # Their problems made the queue broken: a queue read here has none.
    options, _ = translate_queue(name, from_environment(name, options)[0])
    connection = ConnectionConfig(
        url=options.get("URL"),
        host=options.get("HOST") or "127.0.0.1",
        port=int(options.get("PORT") or 6379),
        db=int(options.get("DB") or 0),
        username=options.get("USERNAME"),
        password=options.get("PASSWORD"),
        ssl=bool(options.get("SSL", False)),
        ssl_cert_reqs=options.get("SSL_CERT_REQS"),
        unix_socket_path=options.get("UNIX_SOCKET_PATH"),
        sentinels=tuple((str(h), int(p)) for h, p in options.get("SENTINELS") or ()),
        master_name=options.get("MASTER_NAME"),
        sentinel_kwargs=tuple(sorted((options.get("SENTINEL_KWARGS") or {}).items())),
        kwargs=tuple(sorted((options.get("CONNECTION_KWARGS") or {}).items())),
        cluster=options.get("CLUSTER") is True,
    )
    return QueueConfig(
        name=name,
        connection=connection,
        default_timeout=options.get("DEFAULT_TIMEOUT"),
        default_result_ttl=_first_set(
            options.get("DEFAULT_RESULT_TTL"), rq_option("DEFAULT_RESULT_TTL")
        ),
        is_async=options.get("ASYNC"),
        serializer=options.get("SERIALIZER"),
        queue_class=options.get("QUEUE_CLASS"),
    )


#: Set by :func:`from_environment` on the options it returns: where their URL came from.
URL_SOURCE = "_url_source"


def default_queues() -> dict[str, dict[str, Any]]:
    """The queues of a project without ``JOBQUEUE_QUEUES`` (or django-rq's ``RQ_QUEUES``)."""
    if DEFAULT_URL_ENV in os.environ or f"{DEFAULT_URL_ENV}_FILE" in os.environ:
        return {"default": {"URL_ENV": DEFAULT_URL_ENV}}
    return DEFAULT_QUEUES


def from_environment(where: str, options: dict) -> tuple[dict, list[Problem]]:
    """``options`` with ``URL_ENV`` replaced by the URL its variable holds, and its problems.

    The variable is read with django-environ, so it may instead name a file
    (``REDIS_URL_FILE=/run/secrets/redis_url``, as Docker and Kubernetes
    secrets are mounted) or another variable (``REDIS_URL=$UPSTASH_URL``).
    Messages name the variable, never its value: a URL may hold a password.
    """
    if "URL_ENV" not in options:
        return options, []
    options = dict(options)
    name = options.pop("URL_ENV")
    if not isinstance(name, str) or not name:
        return options, [
            Problem(
                "django_jobqueue.E021",
                f"{where}['URL_ENV'] must name an environment variable, not {name!r}.",
            )
        ]
    if options.get("URL"):
        return options, [
            Problem(
                "django_jobqueue.E003",
                f"{where} gives URL and URL_ENV; use only one way to connect.",
            )
        ]
    try:
        url = environ.FileAwareEnv().str(name)
    except ImproperlyConfigured:
        return options, [
            Problem(
                "django_jobqueue.E021",
                f"{where}['URL_ENV'] names ${name}, which is not set (nor ${name}_FILE).",
                f"Set {name} to the queue's Redis URL (redis://host:6379/0), "
                f"or {name}_FILE to a file holding it, or give the queue a URL.",
            )
        ]
    except OSError as exc:
        return options, [
            Problem(
                "django_jobqueue.E021",
                f"{where}['URL_ENV']: ${name}_FILE cannot be read ({exc.strerror}).",
            )
        ]
    options["URL"] = url.strip()
    options[URL_SOURCE] = f"['URL_ENV'] (${name})"
    return options, []


def _first_set(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def configure_engine() -> None:
    """Hand the payload settings (signing keys, size limits) to the engine,
    and have spawned work-horses set Django up before they load their job."""
    from .engine import payloads
    from .engine.execution import spawn

    spawn.configure(initializer="django.setup")

    keys = _signing_keys()  # none without a SECRET_KEY: reported as W003 by the checks
    try:
        payloads.configure(keys, *_payload_limits())
    except (ValueError, TypeError):
        payloads.configure(keys)  # a bad limit is reported as E014 by the checks


def clear_cache() -> None:
    """Forget the parsed settings (the ``setting_changed`` receiver in :mod:`.signals`)."""
    get_settings.cache_clear()
