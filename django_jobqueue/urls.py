"""The dashboard outside the admin: ``path("jobs/", include("django_jobqueue.urls"))``.

Not needed when the admin is used: the dashboard is already part of
``admin.site.urls``. The pages still use the admin's templates, login and
permissions, so the admin must be installed and mounted too.
"""

from django.contrib import admin

from .dashboard.urls import build_urlpatterns

app_name = "django_jobqueue"

urlpatterns = build_urlpatterns(admin.site)
