"""A module whose import is itself the attack: importing it leaves a mark.

The signed-call tests name it as a job's function to prove that a tampered
job is refused before anything it names is imported.
"""

from tests.engine.jobs import mark

mark("imported")


def anything(*args, **kwargs):
    mark("pwned")
