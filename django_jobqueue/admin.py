"""Mounts the dashboard in the admin site, with no URLconf change by the user.

The table-less :class:`~django_jobqueue.models.Dashboard` model gives the app
its section in the admin index; its ModelAdmin replaces the usual
changelist/add/change URLs with the dashboard's pages.

:class:`~django_jobqueue.models.PeriodicJob` has an ordinary ModelAdmin: the
periodic jobs edited at run time.
"""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cron import default_timezone
from .dashboard.urls import build_urlpatterns
from .models import Dashboard, PeriodicJob


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    def get_urls(self):
        opts = self.model._meta
        return build_urlpatterns(
            self.admin_site, changelist_name=f"{opts.app_label}_{opts.model_name}_changelist"
        )

    def has_add_permission(self, request):
        return False


@admin.register(PeriodicJob)
class PeriodicJobAdmin(admin.ModelAdmin):
    """Periodic jobs edited at run time: the running scheduler applies a change within seconds.

    The form's validation is the model's ``clean()``: the checks of
    ``JOBQUEUE_CRON`` entries. Pause and resume are actions of the change list.
    """

    list_display = ("name", "func", "schedule", "queue", "enabled", "updated_at")
    list_filter = ("enabled", "queue")
    search_fields = ("name", "func", "description")
    readonly_fields = ("created_at", "updated_at")
    actions = ("pause", "resume")
    # Arguments are short JSON: a two-line box, not the default ten.
    formfield_overrides = {
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}
    }
    fieldsets = (
        (None, {"fields": ("name", "func", "args", "kwargs", "queue", "enabled")}),
        (_("When"), {"fields": ("cron", "timezone", "interval", "missed")}),
        (
            _("Job options"),
            {
                "classes": ("collapse",),
                "fields": ("timeout", "result_ttl", "failure_ttl", "ttl", "description"),
            },
        ),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("schedule"))
    def schedule(self, obj: PeriodicJob) -> str:
        if obj.cron:
            return f"{obj.cron} ({obj.timezone or default_timezone()})"
        return _("every %(seconds)s s") % {"seconds": obj.interval}

    @admin.action(description=_("Pause the selected periodic jobs"), permissions=["change"])
    def pause(self, request, queryset):
        self._set_enabled(request, queryset, False)

    @admin.action(description=_("Resume the selected periodic jobs"), permissions=["change"])
    def resume(self, request, queryset):
        self._set_enabled(request, queryset, True)

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        # save() per row (not update()) so updated_at moves and signals run.
        changed = 0
        for job in queryset.exclude(enabled=enabled):
            job.enabled = enabled
            job.save(update_fields=["enabled", "updated_at"])
            changed += 1
        message = (
            _("%(count)d periodic job(s) resumed.")
            if enabled
            else _("%(count)d periodic job(s) paused; runs that fall due meanwhile are skipped.")
        )
        self.message_user(request, message % {"count": changed}, messages.SUCCESS)
