"""The yardstick of the RQ drop-in (compat/): what it rewrites, and how it counts."""

from __future__ import annotations

import textwrap

from compat.rq_reasons import passed_before, reason_of, table
from compat.rq_suite import patch_target, rewrite


def test_imports_load_rq_names_from_the_engine():
    source = textwrap.dedent(
        """\
        from rq import Queue
        from rq.job import (Job,  # a comment
            JobStatus as Status,
        )
        import rq
        """
    )
    assert rewrite(source).splitlines() == [
        "from _rq_suite_shim import load as _rq_load; Queue, = _rq_load('', 'Queue')",
        "from _rq_suite_shim import load as _rq_load; Job, Status = _rq_load('.job', 'Job', "
        "'JobStatus')",
        "import django_jobqueue.engine as rq",
    ]


def test_patch_targets_name_the_module_whose_code_reads_the_name():
    assert patch_target("cron.now") == "django_jobqueue.engine.cron_scheduler.now"
    assert patch_target("webhook.urlopen") == "django_jobqueue.engine.webhook.urlopen"
    assert patch_target("no_such_module.thing") is None
    line = "with mock.patch('rq.webhook.urlopen'), patch(\"rq.no_such.x\"):"
    assert rewrite(line) == (
        "with mock.patch('django_jobqueue.engine.webhook.urlopen'), patch(\"rq.no_such.x\"):"
    )


def test_a_failure_nobody_explained_counts_as_missing():
    assert reason_of("AssertionError: 1 != 2") == ("missing", "Not explained yet")
    assert (
        reason_of("NotImplementedError: rq.x has no counterpart in django_jobqueue.engine")[0]
        == "missing"
    )


def junit(tmp_path, cases):
    body = "".join(
        f'<testcase classname="tests.{file[:-3]}.T" name="{name}">{"<failure/>" * (not ok)}'
        "</testcase>"
        for file, name, ok in cases
    )
    path = tmp_path / "junit.xml"
    path.write_text(f"<testsuites><testsuite>{body}</testsuite></testsuites>")
    return path


def test_the_table_keeps_the_before_column_of_an_earlier_table(tmp_path):
    first = junit(tmp_path, [("test_a.py", "x", True), ("test_a.py", "y", False)])
    earlier = tmp_path / "rq_results.inc"
    earlier.write_text(table(first, first))
    assert passed_before(earlier) == {"test_a.py": (1, 0)}
    now = junit(tmp_path, [("test_a.py", "x", True), ("test_a.py", "y", True)])
    assert "   * - ``test_a.py``\n     - 1\n     - 2 of 2" in table(earlier, now)
