"""The settings reference (docs/settings.rst) names every setting, option and check id.

The lists come from the code itself, so a setting added to ``conf.py`` (or
read anywhere in the package) without a line in the reference fails here.
"""

import re
from pathlib import Path

import pytest

import django_jobqueue
from django_jobqueue import conf, cron

PACKAGE = Path(django_jobqueue.__file__).parent
REFERENCE = PACKAGE.parent / "docs" / "settings.rst"

SETTING_READ = re.compile(
    r"""(?:getattr|hasattr)\(\s*settings,\s*["'](JOBQUEUE_\w+)["']|settings\.(JOBQUEUE_\w+)"""
)
CHECK_ID = re.compile(r"django_jobqueue\.([EW]\d{3})")


def sources():
    return {path: path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def settings_read():
    """Every JOBQUEUE_* setting the package reads, with the first file that reads it."""
    found = {}
    for path, text in sources().items():
        for match in SETTING_READ.finditer(text):
            found.setdefault(match.group(1) or match.group(2), path.name)
    return found


def check_ids():
    return {m for text in sources().values() for m in CHECK_ID.findall(text)}


@pytest.fixture(scope="module")
def reference():
    return REFERENCE.read_text()


def test_the_scan_sees_the_settings_conf_py_reads():
    # Guards the regular expression: were it to match nothing, the test
    # below would pass vacuously.
    found = settings_read()
    conf_source = Path(conf.__file__).read_text()
    in_conf = set(re.findall(r"\b(JOBQUEUE_[A-Z_]+[A-Z])\b", conf_source))
    in_conf -= {conf.DEFAULT_URL_ENV, f"{conf.DEFAULT_URL_ENV}_FILE"}  # environment variables
    assert {"JOBQUEUE_QUEUES", "JOBQUEUE_WORKER", "JOBQUEUE_CRON"} <= set(found)
    assert in_conf <= set(found), (
        f"settings named in conf.py but not seen read: {in_conf - set(found)}"
    )


def test_every_setting_has_a_section(reference):
    missing = {
        name: where
        for name, where in settings_read().items()
        if not re.search(rf"^``{name}``\n~+$", reference, re.MULTILINE)
    }
    assert not missing, (
        f"docs/settings.rst has no section for {missing} (setting: file that reads it); "
        "add one with its type, default, meaning and check ids."
    )


@pytest.mark.parametrize(
    "what, keys",
    [
        ("JOBQUEUE_QUEUES options", conf.QUEUE_KEYS),
        ("JOBQUEUE_WORKER keys", conf.WORKER_KEYS),
        ("JOBQUEUE_CRON entry keys", cron.ENTRY_KEYS),
    ],
)
def test_every_option_is_in_the_reference(reference, what, keys):
    missing = sorted(key for key in keys if f"* - ``{key}``" not in reference)
    assert not missing, f"docs/settings.rst lists no {what} row for: {', '.join(missing)}"


def test_every_check_id_is_in_the_table(reference):
    ids = check_ids()
    assert {"E001", "E013", "E030", "W001"} <= ids
    table = reference.split("Check ids\n---------", 1)[1]
    missing = sorted(i for i in ids if not re.search(rf"^{i}\s", table, re.MULTILINE))
    assert not missing, f"docs/settings.rst's check table lacks: {', '.join(missing)}"
