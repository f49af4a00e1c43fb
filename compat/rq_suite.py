"""RQ's own test suite, run against our engine: how much of RQ is a change of imports.

    bin/rq-suite [--version 3.0.0] [-k EXPR] [--keep DIR] [FILE ...]

Downloads RQ's source distribution from the package index at run time (nothing
of RQ is kept in this repository), unpacks its ``tests/`` without the ``rq``
package, and rewrites only the places where it names RQ's modules:

- ``from rq.X import a, b`` and ``from rq import a`` load each name from
  ``django_jobqueue.engine.X`` when that module exists, else from
  ``django_jobqueue.engine``; a name neither has becomes a placeholder that
  fails the tests that use it (and only those), saying which RQ name it was;
- ``import rq`` becomes ``import django_jobqueue.engine as rq``;
- a module path given to ``mock.patch`` as a string (``patch('rq.cron.now')``)
  names a module as an import does: it becomes the path of our module whose
  code reads that name, or stays RQ's (and fails) when we have none.

RQ's tests talk to ``Redis()`` on localhost:6379 and flush databases 4-16;
here a private redis-server on a free port takes their place (a conftest
changes redis-py's default port for the run), so nobody's data is touched.

Prints passed/failed/errors/skipped per file and the total; exits 0 (it
measures, it does not judge). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: ``from rq.x.y import (a, b as c)``, over several lines when parenthesized.
FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from rq(?P<module>(?:\.\w+)*) import "
    r"(?:\((?P<group>[^)]*)\)|(?P<line>[^\n]*))",
    re.MULTILINE,
)
IMPORT_RQ = re.compile(r"^(?P<indent>[ \t]*)import rq(?P<module>(?:\.\w+)*)\s*$", re.MULTILINE)

#: The placeholder both suites' shims define (each shim sets ``WHERE``).
MISSING = '''class Missing:
    """A name we lack: any use fails the test that uses it, and only that test."""

    def __init__(self, name):
        object.__setattr__(self, "_name", name)

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(f"{self._name} has no counterpart in {WHERE}")

    __call__ = _fail
    __iter__ = _fail
    __getitem__ = _fail
    __enter__ = _fail

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()

    def __mro_entries__(self, bases):
        # A class built on a missing one is defined, and fails when it is used.
        fail = self._fail
        return (type(self._name, (), {"__init__": fail, "__new__": fail}),)

    def __repr__(self):
        return f"<missing {self._name}>"
'''

#: Loaded by the rewritten imports; lives next to RQ's tests in the work folder.
SHIM = (
    '''"""Names RQ's tests import, looked up in django_jobqueue.engine (written by rq_suite)."""

import importlib

WHERE = "django_jobqueue.engine"


'''
    + MISSING
    + '''


def _module(dotted):
    try:
        return importlib.import_module("django_jobqueue.engine" + dotted)
    except ImportError:
        return None


def load(module, *names):
    """Each name from django_jobqueue.engine<module>, else the engine, else Missing."""
    places = [m for m in (_module(module), _module("")) if m is not None]
    found = []
    for name in names:
        for place in places:
            if hasattr(place, name):
                found.append(getattr(place, name))
                break
            try:  # a submodule: from rq import cli, from rq.cli import helpers
                found.append(importlib.import_module(f"{place.__name__}.{name}"))
                break
            except ImportError:
                pass
        else:
            found.append(Missing(f"rq{module}.{name}"))
    return found
'''
)

CONFTEST = '''"""Written by rq_suite: RQ's Redis() talks to the private server of this run."""

import functools
import os

import redis

PORT = int(os.environ["RQ_SUITE_REDIS_PORT"])
_init = redis.Redis.__init__
_from_url = redis.ConnectionPool.from_url.__func__


# Wrapped, so that inspect.signature(redis.Redis) still names Redis's keywords.
@functools.wraps(_init)
def __init__(self, *args, **kwargs):
    if len(args) < 2 and kwargs.get("port", 6379) == 6379 and "connection_pool" not in kwargs:
        kwargs["port"] = PORT
    _init(self, *args, **kwargs)


def from_url(cls, url, **kwargs):
    return _from_url(cls, url.replace(":6379", f":{PORT}"), **kwargs)


redis.Redis.__init__ = __init__
redis.ConnectionPool.from_url = classmethod(from_url)


def pytest_sessionfinish(session, exitstatus):
    # A test whose worker never got its shutdown leaves a non-daemon child that
    # multiprocessing would wait for at exit, for ever.
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
'''


def imported_names(match: re.Match) -> tuple[str, str]:
    """A ``from X import ...`` match as the names' reprs and the assignment target.

    ``(a, b as c)`` over several lines, comments and a trailing comma included:
    ``("'a', 'b'", "a, c")``; one name gets a trailing comma (``"a,"``).
    """
    body = match["group"] if match["group"] is not None else match["line"]
    body = body.split("#", 1)[0] if match["group"] is None else body
    names, targets = [], []
    for part in re.sub(r"#[^\n]*", "", body).replace("\n", " ").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, alias = part.partition(" as ")
        names.append(name.strip())
        targets.append((alias or name).strip())
    lhs = ", ".join(targets) + ("," if len(targets) == 1 else "")
    return ", ".join(repr(n) for n in names), lhs


#: ``patch('rq.cron.now')``: a module path given to ``mock.patch`` as a string.
PATCH_TARGET = re.compile(r"""(?P<call>patch\(\s*)(?P<quote>['"])rq\.(?P<path>[\w.]+)(?P=quote)""")

#: RQ modules whose code lives in a module of ours with another name (RQ's
#: ``rq/cron.py`` is our ``cron_scheduler.py``; our ``cron.py`` re-exports it).
MODULE_ALIASES = {"cron": ("cron_scheduler",)}


def patch_target(path: str) -> str | None:
    """Our module path for RQ's ``rq.<path>`` patch target, or None when we have none.

    A patch replaces a name in the module whose code reads it, so the target
    is the longest module path of ours (or an alias of it) that has the
    first attribute after it.
    """
    import importlib

    parts = path.split(".")
    for size in range(len(parts) - 1, 0, -1):
        module, rest = ".".join(parts[:size]), parts[size:]
        # The alias first: it holds the code of RQ's module (our ``cron.py``
        # only re-exports names, so patching them there would change nothing).
        for name in (*MODULE_ALIASES.get(module, ()), module):
            try:
                found = importlib.import_module(f"django_jobqueue.engine.{name}")
            except ImportError:
                continue
            if hasattr(found, rest[0]):
                return f"django_jobqueue.engine.{name}.{'.'.join(rest)}"
    return None


def rewrite(source: str) -> str:
    def patched(match: re.Match) -> str:
        target = patch_target(match["path"])
        if target is None:
            return match[0]  # left as RQ's: the test fails, naming an RQ module
        return f"{match['call']}{match['quote']}{target}{match['quote']}"

    def from_import(match: re.Match) -> str:
        indent, module = match["indent"], match["module"]
        args, lhs = imported_names(match)
        load = "from _rq_suite_shim import load as _rq_load"
        return f"{indent}{load}; {lhs} = _rq_load({module!r}, {args})"

    source = PATCH_TARGET.sub(patched, FROM_IMPORT.sub(from_import, source))
    return IMPORT_RQ.sub(
        lambda m: f"{m['indent']}import django_jobqueue.engine{m['module']} as rq", source
    )


def download(version: str, into: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(into),
            f"rq=={version}",
        ],
        check=True,
    )
    return next(into.glob(f"rq-{version}.tar.gz"))


def prepare(sdist: Path, work: Path) -> Path:
    with tarfile.open(sdist) as archive:
        members = [m for m in archive.getmembers() if "/tests/" in m.name]
        archive.extractall(work, members=members, filter="data")
    tests = next(work.glob("rq-*/tests"))
    for path in tests.rglob("*.py"):
        path.write_text(rewrite(path.read_text()))
    (tests.parent / "_rq_suite_shim.py").write_text(SHIM)
    (tests.parent / "conftest.py").write_text(CONFTEST)
    return tests


def test_file(dotted: list[str]) -> str:
    """The test file of a junit classname split on dots: its first ``test_`` part."""
    return next((n for n in dotted if n.startswith("test_")), dotted[-1]) + ".py"


def report(junit: Path, file_of: Callable[[list[str]], str] = test_file) -> int:
    counts: dict[str, Counter] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        file = file_of((case.get("classname") or case.get("name", "")).split("."))
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "errors", "skipped": "skipped"}[child.tag]
        counts.setdefault(file, Counter())[outcome] += 1
    total = Counter()
    print(f"{'file':34} {'passed':>7} {'failed':>7} {'errors':>7} {'skipped':>8} {'tests':>6}")
    for file in sorted(counts):
        c = counts[file]
        total += c
        print(
            f"{file:34} {c['passed']:7} {c['failed']:7} {c['errors']:7} {c['skipped']:8} "
            f"{sum(c.values()):6}"
        )
    print(
        f"{'TOTAL':34} {total['passed']:7} {total['failed']:7} {total['errors']:7} "
        f"{total['skipped']:8} {sum(total.values()):6}"
    )
    return total["passed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", default="3.0.0", help="RQ release (default: 3.0.0)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and leave it for reading")
    parser.add_argument("-k", help="only tests matching this pytest expression")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per test (default 60)")
    parser.add_argument("files", nargs="*", help="RQ test files to run (default: all)")
    args = parser.parse_args()

    from tests.redis_rigs import RedisServer

    work = Path(args.keep or tempfile.mkdtemp(prefix="rq-suite-"))
    work.mkdir(parents=True, exist_ok=True)
    tests = prepare(download(args.version, work), work)
    junit = work / "junit.xml"
    with RedisServer() as server:
        env = {
            **os.environ,
            "RQ_SUITE_REDIS_PORT": str(server.port),
            "PYTHONPATH": os.pathsep.join([str(tests.parent), str(ROOT)]),
        }
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
            # A module whose import fails is one error, not the end of the run.
            "--continue-on-collection-errors",
            "--rootdir",
            str(tests.parent),
            f"--junitxml={junit}",
            f"--timeout={args.timeout}",
        ]
        if args.k:
            command += ["-k", args.k]
        command += [str(tests / f) for f in args.files] or [str(tests)]
        subprocess.run(command, cwd=tests.parent, env=env, stdout=subprocess.DEVNULL)
    print(f"RQ {args.version}'s test suite, imports rewritten to django_jobqueue.engine:")
    report(junit)
    print(f"(RQ's rewritten tests and junit.xml are in {work})")


if __name__ == "__main__":
    main()
