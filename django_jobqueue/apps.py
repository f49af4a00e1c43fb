from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobQueueConfig(AppConfig):
    name = "django_jobqueue"
    label = "django_jobqueue"
    verbose_name = _("Job queue")
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import checks, conf, signals  # noqa: F401  (registers checks and receivers)

        signals.connect()
        conf.configure_engine()
