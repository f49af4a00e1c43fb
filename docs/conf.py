"""Sphinx configuration of the django-jobqueue documentation.

Build with: sphinx-build -W -b html docs docs/_build/html
"""

import os
import sys
from pathlib import Path

# autodoc imports the package, and the Django layer needs configured settings:
# the test suite's settings name no Redis that is contacted at import time.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

project = "django-jobqueue"
author = "django-jobqueue contributors"
copyright = "django-jobqueue contributors"
release = "0.1.0"
version = "0.1"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []

# The docstrings use Google style (Args:, Returns:); napoleon reads it.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Show defaults as written (``_UNSET``), not as their repr (``<object object at ...>``).
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"{project} {release}"
