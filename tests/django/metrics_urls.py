"""The metrics endpoints mounted as a project would (used by test_metrics.py)."""

from django.urls import include, path

urlpatterns = [path("jobqueue/", include("django_jobqueue.metrics.urls"))]
