"""Mounts the dashboard in the admin site, with no URLconf change by the user.

The table-less :class:`~django_jobqueue.models.Dashboard` model gives the app
its section in the admin index; its ModelAdmin replaces the usual
changelist/add/change URLs with the dashboard's pages.
"""

from django.contrib import admin

from .dashboard.urls import build_urlpatterns
from .models import Dashboard


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    def get_urls(self):
        opts = self.model._meta
        return build_urlpatterns(
            self.admin_site, changelist_name=f"{opts.app_label}_{opts.model_name}_changelist"
        )

    def has_add_permission(self, request):
        return False
