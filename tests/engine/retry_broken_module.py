"""A module that raises when imported: Retry rules naming a class in it must
not stop the worker that tries to import it (tests/engine/test_retry_*.py)."""

raise RuntimeError("this module cannot be imported")
