"""Why each of RQ's tests that still fails does: the list in docs/compat.rst.

    python -m compat.rq_reasons JUNIT_XML > docs/rq_failures.inc
    python -m compat.rq_reasons --table BEFORE JUNIT_XML > docs/rq_results.inc

Reads the junit file that ``bin/rq-suite --keep DIR`` leaves in DIR and prints,
per RQ test file, its failing tests grouped by reason, as reStructuredText.
A reason is found by matching the failure's message against :data:`REASONS`,
first match wins; a failure no pattern explains is listed as "not explained
yet" with its message, so that nothing is hidden by the grouping.

Each reason has a kind:

``internal``
    The test reads or calls something of RQ's that is not its public API
    (key names, private helpers, ``rq.utils``, the ``rq`` command line
    module, execution records): a compatible engine need not copy it.
``differs``
    A behaviour django-jobqueue chose to do differently; docs/compat.rst says
    why, under the same title.
``missing``
    Public RQ API we do not have yet. The drop-in issue stays open while any
    test fails for such a reason.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from compat.rq_suite import test_file

#: (pattern on the failure message, kind, reason), first match wins.
REASONS: list[tuple[str, str, str]] = [
    # -- behaviours we chose ------------------------------------------------
    (
        r"is defined inside another function|is not a dotted path|"
        r"A callback must be a module-level function|cannot be imported by a worker",
        "differs",
        "Functions workers cannot import are refused at enqueue",
    ),
    (r"SignatureError|signature|not signed", "differs", "Job payloads are signed"),
    (
        r"Invalid job id|ValueError not raised|is not callable|DID NOT WARN",
        "differs",
        "Stricter checks of ids and options",
    ),
    (r"'>' not supported|'<' not supported", "differs", "Comparing a queue with a string"),
    (
        r"queue\.remove|CanceledJobRegistry.*remove",
        "differs",
        "Queue.remove() cancels the job",
    ),
    # -- RQ internals -------------------------------------------------------
    (r"rq\.utils\.|rq\.cli|No module named 'rq'|'rqworker'", "internal", "RQ's utils and CLI"),
    (
        r"prepare_execution|rq\.executions|execution_registry|ExecutionRegistry",
        "internal",
        "RQ's execution records",
    ),
    (
        r"rq\.intermediate_queue|IntermediateQueue|execute_job",
        "internal",
        "RQ's intermediate queue",
    ),
    (r"rq\.worker_registration|rq\.scripts\.|rq\.timeouts|rq\.defaults", "internal", "RQ helpers"),
    (
        r"key_for|redis_queue_namespace_prefix|from_queue_key|dependencies_key|"
        r"_prepare_for_queue|push_job_id|_default_timeout|register_dependency|"
        r"_dependency_id|to_dict|\bdata\b|Result.* has no attribute 'create",
        "internal",
        "RQ's key layout and private methods",
    ),
    (r"Unknown enqueue option\(s\) 'status'", "differs", "Job.create(status=...)"),
    (
        r"rq\.scheduler\.RQScheduler|ReadyJobRegistry|move_dependents_to_ready|enqueue_dependents|"
        r"Unknown registry ''|RateLimitRegistry' object has no attribute 'register'|"
        r"clean_group_registries|REDIS_GROUP_CLEANING_KEY|dequeue_any|push_job_id|"
        r"handle_job_failure|handle_job_success|perform_job|prepare_job_execution|subscribe|"
        r"start_workers|stop_workers|death_penalty_class|_callback_name|executions_key|"
        r"get_executions|current_execution_count|redis_job_namespace_prefix|"
        r"JobRegistry' object has no attribute 'add'|does not have the attribute|"
        r"'float' and 'datetime\.timedelta'|'float' object has no attribute",
        "internal",
        "RQ's worker, scheduler and registry internals",
    ),
    (
        r"Queue\.__init__\(\) got an unexpected keyword",
        "differs",
        "Queue() refuses unknown keywords",
    ),
    (r"rq:|b'rq:|'rq:", "internal", "RQ's key names"),
    # -- not yet -------------------------------------------------------------
    (r"has no counterpart in django_jobqueue\.engine", "missing", "An RQ name we lack"),
    (r"has no attribute|unexpected keyword argument", "missing", "An RQ method or keyword we lack"),
]


def reason_of(message: str) -> tuple[str, str]:
    for pattern, kind, reason in REASONS:
        if re.search(pattern, message):
            return kind, reason
    return "missing", "Not explained yet"


def failures(junit: Path) -> dict[str, dict[tuple[str, str], list[tuple[str, str]]]]:
    """file -> (kind, reason) -> [(test, first line of its message)]."""
    found: dict[str, dict[tuple[str, str], list[tuple[str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for case in ET.parse(junit).getroot().iter("testcase"):
        for child in case:
            if child.tag not in ("failure", "error"):
                continue
            message = (child.get("message") or child.text or "").strip()
            first = message.splitlines()[0] if message else child.tag
            file = test_file((case.get("classname") or "").split("."))
            found[file][reason_of(message)].append((case.get("name", "?"), first))
    return found


def rst(junit: Path) -> str:
    lines: list[str] = []
    kinds: dict[str, int] = defaultdict(int)
    for file, reasons in sorted(failures(junit).items()):
        total = sum(len(t) for t in reasons.values())
        lines += ["", f"``{file}`` ({total})", "~" * (len(file) + 4 + len(f" ({total})")), ""]
        for (kind, reason), tests in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
            kinds[kind] += len(tests)
            names = ", ".join(f"``{name}``" for name, _ in sorted(tests))
            lines.append(f"- {kind}: {reason} ({len(tests)}): {names}")
            if reason == "Not explained yet":
                for name, first in sorted(tests):
                    lines.append(f"    - ``{name}``: {_literal(first[:160])}")
    head = [
        "Failing tests by kind: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        + "."
    ]
    return "\n".join(head + lines) + "\n"


def passed_per_file(junit: Path) -> dict[str, tuple[int, int]]:
    """file -> (passed, tests); a module that failed to import counts as one error."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case in ET.parse(junit).getroot().iter("testcase"):
        file = test_file((case.get("classname") or case.get("name", "")).split("."))
        outcome = {child.tag for child in case}
        counts[file][1] += 1
        if not outcome & {"failure", "error", "skipped"}:
            counts[file][0] += 1
    return {file: (c[0], c[1]) for file, c in counts.items()}


def passed_before(before: Path) -> dict[str, tuple[int, int]]:
    """file -> (passed, tests) of the run the table compares with.

    BEFORE is that run's junit file or, once it is gone, the table this module
    wrote then (docs/rq_results.inc): its "before" column is kept as it was.
    """
    if before.suffix == ".xml":
        return passed_per_file(before)
    cells = re.findall(r"^\s+\* - ``(.+?)``\n\s+- (\d+)$", before.read_text(), re.MULTILINE)
    return {file: (int(passed), 0) for file, passed in cells}


def table(before: Path, after: Path) -> str:
    """The per-file list-table of passed tests, before and after."""
    old, new = passed_before(before), passed_per_file(after)
    rows = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 40 20 20",
        "",
        "   * - RQ 3.0.0 test file",
        "     - before",
        "     - now",
    ]
    totals = [0, 0, 0]
    for file in sorted(set(old) | set(new)):
        was = old.get(file, (0, 0))
        now, tests = new.get(file, (0, 0))
        rows += [f"   * - ``{file}``", f"     - {was[0]}", f"     - {now} of {tests}"]
        totals = [totals[0] + was[0], totals[1] + now, totals[2] + tests]
    rows += ["   * - **all**", f"     - **{totals[0]}**", f"     - **{totals[1]} of {totals[2]}**"]
    return "\n".join(rows) + "\n"


def _literal(text: str) -> str:
    text = " ".join(text.replace("`", "'").split())  # no space may end a literal
    return f"``{text}``" if text else "(no message)"


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        sys.stdout.write(table(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.stdout.write(rst(Path(sys.argv[1])))
