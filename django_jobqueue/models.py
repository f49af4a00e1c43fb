"""The one model of the app: a table-less anchor for the admin dashboard.

It has no rows and no database table (``managed = False``). It exists so that
the dashboard appears in the admin index under its own app section and so that
Django creates its permissions: ``view_dashboard`` to see the pages,
``change_dashboard`` to requeue, cancel and stop jobs, and
``delete_dashboard`` to delete jobs and empty queues.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ("view", "change", "delete")
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
