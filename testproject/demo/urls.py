from django.urls import path

from . import views

app_name = "demo"

urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/", views.jobs, name="jobs"),
    path("enqueue/<str:kind>/", views.enqueue, name="enqueue"),
    path("forget/", views.forget, name="forget"),
]
