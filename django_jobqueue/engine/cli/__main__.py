"""``python -m django_jobqueue.engine.cli``: the ``jobqueue`` command."""

from . import main

if __name__ == "__main__":
    main()
