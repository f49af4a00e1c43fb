"""Django settings for the test suite (``DJANGO_SETTINGS_MODULE=tests.settings``).

The database is SQLite in memory unless ``DATABASE_URL`` is set, e.g.
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/test``.

``JOBQUEUE_QUEUES`` below is only a placeholder: ``tests/conftest.py`` points
every queue at the session's Redis (a private server, or ``REDIS_URL``) before
any test runs, so the suite never writes to a shared Redis by accident.
"""

import environ

env = environ.Env()

SECRET_KEY = "django-jobqueue-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Serves the admin's CSS and JS in the dashboard's browser tests (live_server).
    "django.contrib.staticfiles",
    "django_jobqueue",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite://:memory:")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"

# Replaced by conftest.py with the session's Redis URL (see the module docstring).
JOBQUEUE_QUEUES = {
    "default": {"URL": "redis://127.0.0.1:6379/0"},
    "high": {"URL": "redis://127.0.0.1:6379/0"},
    "low": {"URL": "redis://127.0.0.1:6379/0"},
}
