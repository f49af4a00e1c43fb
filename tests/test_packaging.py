"""What a user installs: the wheel built from this tree carries what the app reads at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    # From a copy: setuptools reuses a build/ folder left in the tree, which
    # would hide a file the package data no longer names.
    tree = tmp_path_factory.mktemp("tree") / "src"
    shutil.copytree(
        REPO_ROOT,
        tree,
        ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__"),
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("django_jobqueue-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_marks_the_package_typed(wheel_files):
    # PEP 561: without it a user's mypy or pyright ignores our annotations.
    assert "django_jobqueue/py.typed" in wheel_files


def test_the_wheel_carries_the_files_read_at_run_time(wheel_files):
    source = {
        str(path.relative_to(REPO_ROOT))
        for pattern in ("engine/scripts/*.lua", "**/templates/**/*.html", "**/static/**/*.*")
        for path in (REPO_ROOT / "django_jobqueue").glob(pattern)
    }
    assert source and any(name.endswith(".lua") for name in source)
    assert source <= wheel_files


def test_the_wheel_holds_no_tests_or_demo_site(wheel_files):
    assert not {name for name in wheel_files if name.startswith(("tests/", "testproject/"))}
