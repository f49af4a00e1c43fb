"""Sphinx configuration of the django-jobqueue documentation.

Build with: sphinx-build -W -b html docs docs/_build/html
"""

project = "django-jobqueue"
author = "django-jobqueue contributors"
copyright = "django-jobqueue contributors"
release = "0.1.0"
version = "0.1"

extensions = []

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []

html_theme = "alabaster"
html_static_path = []
html_title = f"{project} {release}"
