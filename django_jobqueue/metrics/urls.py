"""``metrics`` and ``stats.json``, mounted by
``path("jobqueue/", include("django_jobqueue.metrics.urls"))``."""

from django.urls import path

from . import views

app_name = "django_jobqueue_metrics"

urlpatterns = [
    path("metrics", views.prometheus, name="jobqueue_metrics"),
    path("stats.json", views.stats_json, name="jobqueue_stats_json"),
]
