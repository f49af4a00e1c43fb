"""Integrations with other tools, each an optional extra (``django-jobqueue[sentry]``)."""
