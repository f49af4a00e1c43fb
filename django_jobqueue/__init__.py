"""django-jobqueue: a Redis job queue that is part of your Django project.

The engine's public names are importable from here (``from django_jobqueue
import Queue, Worker, job``) without touching Django settings; the Django
layer's helpers (``enqueue``, ``get_queue``, ...) are loaded on first use so
that importing the engine never imports Django.
"""

__version__ = "0.1.0"

from .engine import *  # noqa: E402,F401,F403
from .engine import __all__ as _engine_all  # noqa: E402

__all__ = list(_engine_all) + ["__version__"]
