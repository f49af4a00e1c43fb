"""The dashboard mounted standalone as well as in the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("jobs/", include("django_jobqueue.urls")),
]
