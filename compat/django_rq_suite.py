"""django-rq's own test suite, run against django_jobqueue: how much of a switch is imports.

    bin/django-rq-suite --source DIR [-k EXPR] [--keep DIR] [FILE ...]

DIR is a checkout of https://github.com/rq/django-rq (nothing of django-rq is
kept in this repository). Its ``tests/`` are copied to a work folder and only
what names a module is rewritten, the way a project switching over would:

- ``from django_rq.X import a`` loads each name from ``django_jobqueue.X`` when
  that module exists, else from ``django_jobqueue``; ``from rq.X import a`` the
  same from ``django_jobqueue.engine`` (``rq`` is django-rq's engine, and ours
  replaces it). A name neither has becomes a placeholder that fails the tests
  that use it (and only those), saying which name it was;
- ``import rq`` becomes ``import django_jobqueue.engine as rq``;
- dotted paths in strings (``INSTALLED_APPS``, ``mock.patch`` targets,
  ``'QUEUE_CLASS': 'tests.fixtures.…'`` stays, ``'rq.serializers.JSONSerializer'``,
  ``'rq.logutils.ColorizingStreamHandler'`` in ``LOGGING``) get the same
  renames; logger names such as ``'rq.worker'`` are left alone.

Its settings keep ``RQ_QUEUES`` and ``RQ`` and set no ``JOBQUEUE_QUEUES`` (the
run stops if they do), so what is measured is how we read django-rq's settings.
They point at localhost:6379; the run gives them a private redis-server on a
free port instead (one line of ``tests/redis_config.py``), so nobody's data is
touched.

Prints passed/failed/errors/skipped per file and the total; exits 0 (it
measures, it does not judge). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compat.rq_suite import MISSING, imported_names, report  # noqa: E402

#: The two packages a django-rq project imports, and what replaces each.
RENAMES = {"django_rq": "django_jobqueue", "rq": "django_jobqueue.engine"}

#: ``from django_rq.x import (a, b as c)``, over several lines when parenthesized.
FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from (?P<package>django_rq|rq)(?P<module>(?:\.\w+)*) import "
    r"(?:\((?P<group>[^)]*)\)|(?P<line>[^\n]*))",
    re.MULTILINE,
)
IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)import (?P<package>django_rq|rq)(?P<module>(?:\.\w+)*)\s*$",
    re.MULTILINE,
)
#: A dotted path in a string: 'django_rq.anything' or 'rq.module.Name' (a class or
#: function after a module, so that logger names like 'rq.worker' stay).
DOTTED_STRING = re.compile(
    r"""(?P<quote>['"])(?:(?P<djrq>django_rq)(?P<rest>(?:\.\w+)*)"""
    r"""|(?P<rq>rq)(?P<path>(?:\.[a-z_]\w*)+\.[A-Za-z_]\w*))(?P=quote)"""
)
#: Where django-rq's tests find Redis; the run puts its private server's port here.
REDIS_PORT_LINE = re.compile(r"^REDIS_PORT = 6379$", re.MULTILINE)

#: Loaded by the rewritten imports; lives next to django-rq's tests in the work folder.
SHIM = (
    '''"""django-rq's imports, looked up in django_jobqueue (written by django_rq_suite)."""

import importlib

RENAMES = __RENAMES__
WHERE = "django_jobqueue"


'''
    + MISSING
    + '''


def _module(dotted):
    try:
        return importlib.import_module(dotted)
    except ImportError:
        return None


def load(package, module, *names):
    """Each name from <replacement><module>, else the replacement package, else Missing."""
    base = RENAMES[package]
    places = [m for m in (_module(base + module), _module(base)) if m is not None]
    found = []
    for name in names:
        for place in places:
            if hasattr(place, name):
                found.append(getattr(place, name))
                break
            try:  # a submodule: from django_rq import thread_queue
                found.append(importlib.import_module(f"{place.__name__}.{name}"))
                break
            except ImportError:
                pass
        else:
            found.append(Missing(f"{package}{module}.{name}"))
    return found
'''
).replace("__RENAMES__", repr(RENAMES))


def rewrite(source: str) -> str:
    """``source`` with django_rq and rq imports (and dotted-path strings) renamed."""

    def from_import(match: re.Match) -> str:
        indent, package, module = match["indent"], match["package"], match["module"]
        args, lhs = imported_names(match)
        load = "from _django_rq_suite_shim import load as _shim_load"
        return f"{indent}{load}; {lhs} = _shim_load({package!r}, {module!r}, {args})"

    def import_(match: re.Match) -> str:
        indent, package, module = match["indent"], match["package"], match["module"]
        alias = f"import {RENAMES[package]} as {package}"
        # "import rq.job" binds rq, with rq.job loaded: the same, renamed.
        return f"{indent}import {RENAMES[package]}{module}; {alias}" if module else indent + alias

    def dotted(match: re.Match) -> str:
        quote = match["quote"]
        if match["djrq"]:
            return f"{quote}django_jobqueue{match['rest']}{quote}"
        path = match["path"]
        # Worker log handlers are Django-side here (django_jobqueue.logutils).
        package = "django_jobqueue" if path.startswith(".logutils.") else "django_jobqueue.engine"
        return f"{quote}{package}{path}{quote}"

    # Strings first: the rewritten imports name the old packages in strings.
    source = DOTTED_STRING.sub(dotted, source)
    source = FROM_IMPORT.sub(from_import, source)
    return IMPORT.sub(import_, source)


def test_module(dotted: list[str]) -> str:
    """The file of a junit classname: tests.tests.QueuesTest is in tests.py."""
    return (dotted[1] if len(dotted) > 1 else dotted[0]) + ".py"


def prepare(source: Path, work: Path, redis_port: int) -> Path:
    """Copy django-rq's tests into ``work``, rewritten; returns the copy's folder."""
    if not (source / "tests" / "settings.py").is_file() or not (source / "django_rq").is_dir():
        raise SystemExit(f"{source} is not a checkout of rq/django-rq (no tests/settings.py).")
    tests = work / "tests"
    shutil.copytree(source / "tests", tests, dirs_exist_ok=True)
    for path in tests.rglob("*.py"):
        path.write_text(rewrite(path.read_text()))
    settings = (tests / "settings.py").read_text()
    if "JOBQUEUE_QUEUES" in settings:
        raise SystemExit(
            "django-rq's tests/settings.py sets JOBQUEUE_QUEUES: RQ_QUEUES would not be read."
        )
    config = tests / "redis_config.py"
    text, found = REDIS_PORT_LINE.subn(f"REDIS_PORT = {redis_port}", config.read_text())
    if not found:
        raise SystemExit(f"{config}: no 'REDIS_PORT = 6379' line to point at the private Redis.")
    config.write_text(text)
    (work / "_django_rq_suite_shim.py").write_text(SHIM)
    return tests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True, metavar="DIR", help="a checkout of rq/django-rq")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and leave it for reading")
    parser.add_argument("-k", help="only tests matching this pytest expression")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per test (default 60)")
    parser.add_argument("files", nargs="*", help="django-rq test files to run (default: all)")
    args = parser.parse_args()

    from tests.redis_rigs import RedisServer

    work = Path(args.keep or tempfile.mkdtemp(prefix="django-rq-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    junit = work / "junit.xml"
    with RedisServer() as server:
        tests = prepare(Path(args.source).resolve(), work, server.port)
        # Not this repository: its own tests/ package would shadow django-rq's.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBQUEUE_", "DJANGO_"))}
        env["PYTHONPATH"] = str(work)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-o",
            "addopts=",
            "-o",
            "python_files=test_*.py tests.py",
            "--ds",
            "tests.settings",
            # A module whose import fails is one error, not the end of the run.
            "--continue-on-collection-errors",
            "--rootdir",
            str(work),
            f"--junitxml={junit}",
            f"--timeout={args.timeout}",
        ]
        if args.k:
            command += ["-k", args.k]
        command += [str(tests / f) for f in args.files] or [str(tests)]
        subprocess.run(command, cwd=work, env=env, stdout=subprocess.DEVNULL)
    print("django-rq's test suite, imports rewritten to django_jobqueue:")
    if not junit.exists():  # Django itself did not start: pytest's message says why
        print("no test ran: pytest stopped before collecting (see its output above)")
        return
    report(junit, file_of=test_module)
    print(f"(django-rq's rewritten tests and junit.xml are in {work})")


if __name__ == "__main__":
    main()
