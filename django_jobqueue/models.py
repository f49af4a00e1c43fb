"""The app's models: the dashboard's table-less anchor, and periodic jobs kept in the database.

:class:`Dashboard` has no rows and no database table (``managed = False``). It
exists so that the dashboard appears in the admin index under its own app
section and so that Django creates its permissions: ``view_dashboard`` to see
the pages, ``change_dashboard`` to requeue, cancel and stop jobs, and
``delete_dashboard`` to delete jobs and empty queues.

:class:`PeriodicJob` holds the periodic jobs that are edited at run time (in
the admin, or in code), beside the fixed ones of ``JOBQUEUE_CRON``. A row
says what a ``JOBQUEUE_CRON`` entry says and is checked by the same code
(:func:`~django_jobqueue.cron.entry_problems`); the running scheduler reads
the table every few seconds (see :mod:`django_jobqueue.schedules`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cron import build_entry, configured_queues, entry_problems, setting_names
from .engine.cron import MISSED_POLICIES, CronEntry


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ("view", "change", "delete")
        verbose_name = _("queue")
        verbose_name_plural = _("queues")


#: Which field a problem of :func:`~django_jobqueue.cron.entry_problems` is about.
PROBLEM_FIELDS = {
    "django_jobqueue.E031": "func",
    "django_jobqueue.E032": "func",
    "django_jobqueue.E034": "cron",
    "django_jobqueue.E035": "queue",
    "django_jobqueue.E036": "timezone",
}

#: The job options a row may set, each in whole seconds (-1: forever, where it applies).
DURATION_OPTIONS = ("timeout", "result_ttl", "failure_ttl", "ttl")


class PeriodicJob(models.Model):
    """One periodic job edited at run time; see the module docstring."""

    name = models.CharField(
        _("name"),
        max_length=200,
        unique=True,
        help_text=_("Unique; the run history in Redis is kept under it."),
    )
    func = models.CharField(
        _("function"),
        max_length=300,
        help_text=_("Dotted path of the function to run, e.g. app.tasks.report."),
    )
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    queue = models.CharField(_("queue"), max_length=200, default="default")
    cron = models.CharField(
        _("cron expression"),
        max_length=200,
        blank=True,
        help_text=_("minute hour day-of-month month day-of-week, e.g. 0 7 * * 1-5."),
    )
    interval = models.PositiveIntegerField(
        _("interval"),
        null=True,
        blank=True,
        help_text=_("Seconds between runs; give either this or a cron expression."),
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("IANA name of the cron expression's zone; empty: TIME_ZONE."),
    )
    missed = models.CharField(
        _("missed runs"),
        max_length=16,
        choices=[(policy, policy) for policy in MISSED_POLICIES],
        default="run_once",
        help_text=_("What happens to runs that fell due while no scheduler ran."),
    )
    timeout = models.IntegerField(_("timeout"), null=True, blank=True)
    result_ttl = models.IntegerField(_("result TTL"), null=True, blank=True)
    failure_ttl = models.IntegerField(_("failure TTL"), null=True, blank=True)
    ttl = models.IntegerField(_("TTL while queued"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    enabled = models.BooleanField(
        _("enabled"),
        default=True,
        help_text=_("Unticked: paused; runs due meanwhile are skipped, not made up."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("periodic job")
        verbose_name_plural = _("periodic jobs")

    def __str__(self) -> str:
        return self.name

    def as_item(self) -> dict[str, Any]:
        """The row in ``JOBQUEUE_CRON``'s form (only the options it sets)."""
        item: dict[str, Any] = {
            "func": self.func,
            "name": self.name,
            "queue": self.queue,
            "args": self.args if self.args is not None else [],
            "kwargs": self.kwargs if self.kwargs is not None else {},
            "missed": self.missed,
        }
        if self.cron:
            item["cron"] = self.cron
        if self.interval is not None:
            item["interval"] = self.interval
        if self.timezone:
            item["timezone"] = self.timezone
        for option in DURATION_OPTIONS:
            if getattr(self, option) is not None:
                item[option] = getattr(self, option)
        if self.description:
            item["description"] = self.description
        return item

    def as_entry(self) -> CronEntry:
        """The engine entry the scheduler fires (paused when not enabled).

        Its epoch is the row's creation time: a row deleted and created again
        under the same name starts afresh instead of running at once for the
        occurrences its predecessor's record says were missed.
        """
        epoch = self.created_at.isoformat() if self.created_at else None
        return build_entry(self.as_item(), paused=not self.enabled, epoch=epoch)

    def clean(self) -> None:
        """The checks of ``JOBQUEUE_CRON`` entries, plus: no name of ``JOBQUEUE_CRON``'s."""
        errors: dict[str, list[str]] = {}
        if self.name and self.name in setting_names():
            errors.setdefault("name", []).append(
                str(_("JOBQUEUE_CRON already has an entry of this name; choose another."))
            )
        where = str(_("This periodic job"))
        for problem in entry_problems(where, self.as_item(), configured_queues()):
            field = PROBLEM_FIELDS.get(problem.id or "")
            if problem.id == "django_jobqueue.E033" and "exactly one" not in problem.msg:
                field = "interval"
            # "This periodic job (name): bad thing" reads as "Bad thing" beside its field.
            text = problem.msg.removeprefix(f"{where} ({self.name or self.func}): ")
            text = text[:1].upper() + text[1:] + (f" {problem.hint}" if problem.hint else "")
            errors.setdefault(field or "__all__", []).append(text)
        if errors:
            raise ValidationError(errors)
