"""Periodic jobs: cron expressions, fixed intervals, and the entries that use them.

A :class:`CronEntry` says what to enqueue (a dotted path, its arguments, a
queue, job options) and when: a five-field cron expression read on the wall
clock of a timezone, or a fixed interval in seconds. The
:class:`~django_jobqueue.engine.scheduler.Scheduler` fires entries; this module
only computes times and has no Redis in it.

Why a parser of our own rather than a dependency: the standard five fields are
a small, closed grammar; owning it keeps the runtime dependencies at Django,
redis and django-environ, gives the system checks precise messages, and fixes
the daylight-saving rules we document (``tests/engine/test_cron.py`` compares
it minute by minute with a brute-force matcher).

Daylight saving time: an expression names wall-clock times. A time that
happens twice (clocks go back) fires once, the first time; a time that does
not exist (clocks go forward) fires as Python reads it, shifted by the gap
(02:30 becomes 03:30). Use ``interval`` or a UTC entry for strictly even
spacing.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .keys import validate_job_id, validate_queue_name
from .utils import parse_duration

#: What to do with occurrences that passed while no scheduler ran.
MISSED_POLICIES = ("run_once", "skip")

#: Seconds after its time within which an occurrence still counts as on time,
#: not missed (a scheduler taking over from a dead one needs a few seconds).
MISSED_AFTER = 60

#: Shorthands accepted in place of the five fields.
ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAYS = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}

# (name, lowest, highest, names) of the five fields, in order.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)

_ITEM = re.compile(r"(?:(\*)|(\w+)(?:-(\w+))?)(?:/(\d+))?")

#: How far a clock change can move wall time from UTC time, at most; the
#: search looks this far around a moment so that no occurrence is skipped.
_CLOCK_SHIFT = timedelta(hours=3)
_MINUTE = timedelta(minutes=1)
#: An expression with no occurrence within this many years never fires.
_YEARS_AHEAD = 30


class CronSyntaxError(ValueError):
    """A cron expression that cannot be read; the message says where."""


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    number = names.get(text.lower()) if not text.isdigit() else int(text)
    if number is None:
        known = ", ".join(names) if names else "numbers"
        raise CronSyntaxError(f"{text!r} in the {name} field is not a value ({known}).")
    if not low <= number <= high:
        raise CronSyntaxError(f"{number} is outside {low}-{high} in the {name} field.")
    return number


def _parse_field(
    text: str, name: str, low: int, high: int, names: dict[str, int]
) -> tuple[list[int], bool]:
    """The sorted values a field allows, and whether it starts with ``*``."""
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if not match:
            raise CronSyntaxError(
                f"{item!r} in the {name} field is not a value, range (a-b) or step (*/n, a-b/n)."
            )
        star, first, last, step = match.groups()
        if star:
            start, end = low, high
        else:
            start = _value(first, name, low, high, names)
            # "a/n" means a, a+n, ... up to the highest value, as in Vixie cron's
            # successors; a plain "a" is just a.
            end = _value(last, name, low, high, names) if last else (high if step else start)
            if start > end:
                raise CronSyntaxError(f"The range {item!r} in the {name} field runs backwards.")
        stride = int(step) if step else 1
        if stride < 1:
            raise CronSyntaxError(f"The step in {item!r} ({name} field) must be at least 1.")
        values.update(range(start, end + 1, stride))
    return sorted(values), text.startswith("*")


class CronExpression:
    """A five-field cron expression (minute hour day-of-month month day-of-week).

    Fields take ``*``, values, ``a-b`` ranges, ``/n`` steps and comma lists;
    months and weekdays also take names (``jan``, ``mon-fri``); Sunday is 0
    or 7. As in Vixie cron, when both day fields are restricted a day matching
    either one matches. ``@yearly``, ``@monthly``, ``@weekly``, ``@daily``
    and ``@hourly`` stand for their usual expressions.

    Args:
        expression: the expression.
        tz: the timezone whose wall clock it is read on (a name or tzinfo; UTC
            by default).

    Raises:
        CronSyntaxError: the expression is malformed or can never fire.
    """

    def __init__(self, expression: str, tz: Any = None):
        if not isinstance(expression, str):
            raise CronSyntaxError(
                f"A cron expression is a string, not {type(expression).__name__}."
            )
        self.expression = expression.strip()
        text = ALIASES.get(self.expression.lower(), self.expression)
        parts = text.split()
        if len(parts) != 5:
            raise CronSyntaxError(
                f"{expression!r} has {len(parts)} fields; a cron expression has 5: minute hour "
                "day-of-month month day-of-week (e.g. '0 7 * * 1-5')."
            )
        parsed = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS)]
        (
            (self.minutes, _),
            (self.hours, _),
            (self.days, days_star),
            (self.months, _),
            (weekdays, weekdays_star),
        ) = parsed
        self.weekdays = sorted({d % 7 for d in weekdays})  # 7 is Sunday too
        self._day_sets = (set(self.days), set(self.weekdays))
        # Both day fields restricted: either may match. Otherwise only the
        # restricted one counts (both "*": every day).
        self._either_day = not days_star and not weekdays_star
        self._days_star, self._weekdays_star = days_star, weekdays_star
        self.tz = resolve_timezone(tz)
        # Only the day of month decides (the day of week is "*"): a rule like
        # "the 30th of February" never fires.
        if (
            not days_star
            and weekdays_star
            and not any(d <= _days_in(m, leap=True) for m in self.months for d in self.days)
        ):
            raise CronSyntaxError(f"{expression!r} never fires: none of its months has such a day.")

    def __repr__(self) -> str:
        return f"CronExpression({self.expression!r}, tz={_tz_name(self.tz)!r})"

    # -- matching on the wall clock --------------------------------------------

    def _day_matches(self, day: datetime) -> bool:
        in_days = day.day in self._day_sets[0]
        in_weekdays = (day.isoweekday() % 7) in self._day_sets[1]
        if self._either_day:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def matches(self, wall: datetime) -> bool:
        """Whether the wall-clock minute ``wall`` (naive) is one the expression names."""
        return (
            wall.minute in self.minutes
            and wall.hour in self.hours
            and wall.month in self.months
            and self._day_matches(wall)
        )

    def _next_wall(self, wall: datetime) -> datetime | None:
        """The first matching wall-clock minute strictly after ``wall`` (naive, whole minute)."""
        w = wall + _MINUTE
        stop = w.year + _YEARS_AHEAD
        while w.year <= stop:
            if w.month not in self.months:
                i = bisect_right(self.months, w.month)
                w = (
                    datetime(w.year, self.months[i], 1)
                    if i < len(self.months)
                    else datetime(w.year + 1, self.months[0], 1)
                )
                continue
            if not self._day_matches(w):
                w = datetime(w.year, w.month, w.day) + timedelta(days=1)
                continue
            if w.hour not in self.hours:
                i = bisect_right(self.hours, w.hour)
                w = (
                    w.replace(hour=self.hours[i], minute=0)
                    if i < len(self.hours)
                    else datetime(w.year, w.month, w.day) + timedelta(days=1)
                )
                continue
            if w.minute not in self.minutes:
                i = bisect_right(self.minutes, w.minute)
                w = (
                    w.replace(minute=self.minutes[i])
                    if i < len(self.minutes)
                    else w.replace(minute=0) + timedelta(hours=1)
                )
                continue
            return w
        return None

    def _prev_wall(self, wall: datetime) -> datetime | None:
        """The last matching wall-clock minute strictly before ``wall`` (naive, whole minute)."""
        w = wall - _MINUTE
        stop = w.year - _YEARS_AHEAD
        while w.year >= max(stop, 1):
            if w.month not in self.months:
                i = bisect_left(self.months, w.month)
                year, month = (
                    (w.year, self.months[i - 1]) if i > 0 else (w.year - 1, self.months[-1])
                )
                w = datetime(year, month, _days_in(month, year=year), 23, 59)
                continue
            if not self._day_matches(w):
                w = datetime(w.year, w.month, w.day, 23, 59) - timedelta(days=1)
                continue
            if w.hour not in self.hours:
                i = bisect_left(self.hours, w.hour)
                w = (
                    w.replace(hour=self.hours[i - 1], minute=59)
                    if i > 0
                    else datetime(w.year, w.month, w.day, 23, 59) - timedelta(days=1)
                )
                continue
            if w.minute not in self.minutes:
                i = bisect_left(self.minutes, w.minute)
                w = (
                    w.replace(minute=self.minutes[i - 1])
                    if i > 0
                    else w.replace(minute=59) - timedelta(hours=1)
                )
                continue
            return w
        return None

    # -- moments in time ---------------------------------------------------------

    def _instant(self, wall: datetime) -> float:
        # fold=0: a repeated time is its first pass, a missing one is read with
        # the offset before the change (PEP 495), i.e. shifted by the gap.
        return wall.replace(tzinfo=self.tz).timestamp()

    def _wall(self, timestamp: float) -> datetime:
        return datetime.fromtimestamp(timestamp, self.tz).replace(
            tzinfo=None, second=0, microsecond=0
        )

    def next_after(self, timestamp: float) -> float | None:
        """The first occurrence strictly after ``timestamp`` (UNIX time), or None (never).

        Wall-clock minutes map to moments in order except near clock changes,
        so the search starts a little before the wall time of ``timestamp``
        and goes a little past the best moment found.
        """
        w = self._wall(timestamp) - _CLOCK_SHIFT
        best: float | None = None
        best_wall: datetime | None = None
        while True:
            w = self._next_wall(w)  # type: ignore[assignment]
            if w is None:
                return best
            moment = self._instant(w)
            if moment > timestamp and (best is None or moment < best):
                best, best_wall = moment, w
            if best_wall is not None and w >= best_wall + _CLOCK_SHIFT:
                return best

    def last_at_or_before(self, timestamp: float) -> float | None:
        """The latest occurrence at or before ``timestamp``, or None."""
        w = self._wall(timestamp) + _CLOCK_SHIFT + _MINUTE
        best: float | None = None
        best_wall: datetime | None = None
        while True:
            w = self._prev_wall(w)  # type: ignore[assignment]
            if w is None:
                return best
            moment = self._instant(w)
            if moment <= timestamp and (best is None or moment > best):
                best, best_wall = moment, w
            if best_wall is not None and w <= best_wall - _CLOCK_SHIFT:
                return best


def _days_in(month: int, year: int | None = None, leap: bool = False) -> int:
    if year is None:
        return 29 if (leap and month == 2) else calendar.monthrange(2001, month)[1]
    return calendar.monthrange(year, month)[1]


def resolve_timezone(tz: Any) -> Any:
    """A tzinfo from a name (``"Europe/Paris"``), a tzinfo, or None (UTC)."""
    if tz is None or tz == "UTC":
        return UTC
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"Unknown timezone {tz!r}: use an IANA name such as 'Europe/Paris' or 'UTC'."
            ) from None
    if hasattr(tz, "utcoffset"):
        return tz
    raise ValueError(f"{tz!r} is not a timezone.")


def _tz_name(tz: Any) -> str:
    if tz is UTC:
        return "UTC"
    return getattr(tz, "key", None) or str(tz)


@dataclass(frozen=True)
class CronEntry:
    """One periodic job: what to enqueue and when.

    Exactly one of ``cron`` and ``interval`` is given.

    Args:
        func: dotted path of the function (``"app.tasks.report"``).
        cron: a cron expression, read on the wall clock of ``timezone``.
        interval: seconds between runs (an int, a timedelta or ``"5m"``).
        name: unique name of the entry (default: ``func``); its run history
            in Redis is kept under it.
        queue: the queue the jobs go to.
        args, kwargs: the call's arguments.
        timeout, result_ttl, failure_ttl, ttl: the job's options, as for
            ``enqueue``.
        timezone: IANA name of the timezone of ``cron`` (default UTC).
        missed: ``"run_once"`` (default): occurrences that passed while no
            scheduler ran are run once, together, when one starts;
            ``"skip"``: they are dropped.
        description: the jobs' description.
        paused: True to fire nothing: each occurrence is recorded as handled
            but no job is enqueued, so resuming does not make up the runs
            that passed (an entry from a changing source, e.g. the
            ``PeriodicJob`` model, is paused this way).
        epoch: a label that is part of :attr:`signature`: when it changes the
            entry starts afresh, as when its timing changes. A source that
            deletes and creates entries gives each creation its own, so that
            a new entry with an old entry's name does not inherit its record
            (and run at once for occurrences "missed" since).

    Raises:
        ValueError: a bad value (the message says which); a bad expression
            raises :class:`CronSyntaxError`.
    """

    func: str
    cron: str | None = None
    interval: Any = None
    #: Set from ``func`` when not given, so it is a str once the entry exists.
    name: str = ""
    queue: str = "default"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    timeout: Any = None
    result_ttl: Any = None
    failure_ttl: Any = None
    ttl: Any = None
    timezone: str | None = None
    missed: str = "run_once"
    description: str | None = None
    paused: bool = False
    epoch: str | None = None
    #: The parsed ``cron`` expression; None for an interval entry.
    _schedule: CronExpression | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.func, str) or not self.func or "." not in self.func:
            raise ValueError(f"func must be the dotted path of a function, not {self.func!r}.")
        if (self.cron is None) == (self.interval is None):
            raise ValueError(
                f"Entry {self.name or self.func!r}: give exactly one of 'cron' and 'interval'."
            )
        set_(self, "name", validate_job_id(self.name or self.func))
        validate_queue_name(self.queue)
        if self.missed not in MISSED_POLICIES:
            raise ValueError(
                f"Entry {self.name!r}: 'missed' must be one of {MISSED_POLICIES}, "
                f"not {self.missed!r}."
            )
        set_(self, "args", tuple(self.args or ()))
        set_(self, "kwargs", dict(self.kwargs or {}))
        for option in ("timeout", "result_ttl", "failure_ttl", "ttl"):
            try:
                set_(self, option, parse_duration(getattr(self, option), allow_forever=True))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Entry {self.name!r}: '{option}': {exc}") from None
        if self.cron is not None:
            if self.timezone is not None and not isinstance(self.timezone, str):
                raise ValueError(f"Entry {self.name!r}: 'timezone' must be an IANA name.")
            set_(self, "_schedule", CronExpression(self.cron, self.timezone))
        else:
            if self.timezone is not None:
                raise ValueError(f"Entry {self.name!r}: 'timezone' only applies to 'cron'.")
            try:
                seconds = parse_duration(self.interval)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Entry {self.name!r}: 'interval': {exc}") from None
            if not seconds or seconds < 1:
                raise ValueError(f"Entry {self.name!r}: 'interval' must be at least 1 second.")
            set_(self, "interval", seconds)
            set_(self, "_schedule", None)

    @property
    def schedule(self) -> str:
        """What the entry runs on, as shown to people: ``"0 7 * * 1-5 (Europe/Paris)"``."""
        if self.cron is not None:
            return f"{self.cron} ({self.timezone or 'UTC'})"
        return f"every {self.interval} s"

    @property
    def signature(self) -> str:
        """Changes with the timing (or epoch); a changed entry starts afresh (see Scheduler)."""
        if self.cron is not None:
            timing = f"cron {' '.join(self.cron.split())} {self.timezone or 'UTC'}"
        else:
            timing = f"interval {self.interval}"
        return timing if not self.epoch else f"{timing} epoch {self.epoch}"

    def due(self, watermark: float, now: float) -> float | None:
        """The latest occurrence after ``watermark`` and at or before ``now``, or None.

        ``watermark`` is the occurrence handled last (every occurrence at or
        before it is done). For an interval entry occurrences are
        ``watermark + k * interval``.
        """
        if self._schedule is not None:
            last = self._schedule.last_at_or_before(now)
            return last if last is not None and last > watermark else None
        steps = int((now - watermark) // self.interval)
        return watermark + steps * self.interval if steps >= 1 else None

    def next_run(self, watermark: float, now: float) -> float | None:
        """The first occurrence after both ``watermark`` and ``now``, or None (never)."""
        if self._schedule is not None:
            return self._schedule.next_after(max(watermark, now))
        if now < watermark:
            return watermark + self.interval
        return watermark + (int((now - watermark) // self.interval) + 1) * self.interval

    def is_late(self, occurrence: float, watermark: float, now: float) -> bool:
        """Whether ``occurrence`` (the one :meth:`due` gave) counts as missed.

        It does when it is more than :data:`MISSED_AFTER` seconds old, or when
        an earlier occurrence after ``watermark`` was missed too.
        """
        if now - occurrence > MISSED_AFTER:
            return True
        first = self.next_run(watermark, watermark)
        return first is not None and first < occurrence


def entries_from_dicts(items: Any, default_timezone: str | None = None) -> list[CronEntry]:
    """Build entries from dicts (the ``JOBQUEUE_CRON`` form).

    Raises ValueError on the first bad one, so a typo stops start-up instead of a schedule.
    """
    entries = []
    for item in items:
        options = dict(item)
        if "cron" in options and default_timezone is not None:
            options.setdefault("timezone", default_timezone)
        entries.append(CronEntry(**options))
    return entries


#: RQ's names at RQ's path (``rq.cron``), defined in :mod:`.cron_scheduler`:
#: that module needs queues and scripts, which import this one, so they are
#: looked up when first used instead of imported here.
_RQ_NAMES = frozenset(
    {
        "CronJob",
        "CronScheduler",
        "DEFAULT_CRON_JOB_HISTORY_LIMIT",
        "DEFAULT_CRON_JOB_HISTORY_TTL",
        "DEFAULT_CRON_SCHEDULER_TTL",
        "NOT_JSON_SERIALIZABLE",
        "create_cron",
        "get_cron_job_history_key",
        "get_cron_job_ids",
        "register",
        "_job_data_registry",
    }
)


def __getattr__(name: str) -> Any:
    if name in _RQ_NAMES:
        from . import cron_scheduler

        return getattr(cron_scheduler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALIASES",
    "MISSED_AFTER",
    "MISSED_POLICIES",
    "CronEntry",
    "CronExpression",
    "CronSyntaxError",
    "entries_from_dicts",
    "resolve_timezone",
]
