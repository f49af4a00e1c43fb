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

# Titles of docs/compat.rst's "Behaviours we chose to do differently".
FUNCTIONS = "Functions workers cannot import are refused at enqueue"
SIGNED = "Job payloads are signed"
DEPENDS_ON = "``depends_on`` an id no queue holds is refused"
PAST = "A time already past enters the queue at once"
ORDER = "``enqueue_many`` returns the jobs in the order of the calls"
SCHEDULER = "RQ's ``RQScheduler`` beside our scheduler"
DEFAULTS = "``rq.defaults`` values are ours"
EQUALITY = "Comparing a queue with something else"
STATUS = "``Job.create(status=...)`` and ``job.set_status()``"
PIPELINE = "``cancel`` and ``delete`` on a caller's pipeline"
FUNC_NAME = "A job's function name and arguments"
JOB_IDS = "Job ids may hold ``:``"
TTL = "``ttl=-1`` means no limit"
WORKERS = "Workers"
REGISTRIES = "Registries"
WORKER_REGISTRATION = "Worker registration"
COMMAND = "The ``rq`` command"
FEATURES = "Rate limits, repeats, groups, cron"

# Titles of docs/compat.rst's "RQ's internals we do not copy".
KEY_NAMES = "RQ's key names and storage format"
EXECUTIONS = "RQ's execution records"
INTERMEDIATE = "RQ's intermediate queue"
PRIVATE = "RQ's private methods and attributes"
RQ_STRINGS = "RQ's module paths in strings, and processes that import rq"
RQ_UTILS = "RQ's private helpers (rq.utils, rq.scripts, rq.timeouts)"
CLOCK = "``rq.utils.now`` returns a datetime (our clock is a float)"
TRANSACTIONS = "RQ's multi-step transactions (WATCH, ready registry)"

#: (pattern on the failure message, kind, reason), first match wins.
REASONS: list[tuple[str, str, str]] = [
    # -- behaviours we chose ------------------------------------------------
    (
        r"is defined inside another function|is not a dotted path|"
        r"A callback must be a module-level function|cannot be imported by a worker",
        "differs",
        FUNCTIONS,
    ),
    (r"SignatureError|signature|not signed", "differs", SIGNED),
    (r"Unknown enqueue option\(s\) 'status'|set_status\(\) got an unexpected", "differs", STATUS),
    (r"which no queue holds", "differs", DEPENDS_ON),
    (r"after a caller's pipeline would run|cannot be enqueued in a pipeline", "differs", PIPELINE),
    (r"ReadyJobRegistry|ready_job_registry", "differs", REGISTRIES),
    (r"No such file or directory: 'rqworker'", "differs", COMMAND),
    # -- RQ internals -------------------------------------------------------
    (
        r"prepare_execution|prepare_job_execution|rq\.executions|execution_registry|"
        r"ExecutionRegistry|"
        r"get_executions|current_execution_count|executions_key|add_execution|"
        r"execution_id",
        "internal",
        EXECUTIONS,
    ),
    (r"IntermediateQueue|intermediate_queue", "internal", INTERMEDIATE),
    (
        r"'rq:|\brq:[a-z_]+|redis_job_namespace_prefix|key_for|dependents_key|"
        r"dependencies_key|zlib\.error|Error -3 while decompressing",
        "internal",
        KEY_NAMES,
    ),
    (
        r"No module named 'rq'|No module found for 'rq\.|'rq\.[A-Za-z_.]+'|"
        r"rq\.timeouts\.JobTimeoutException",
        "internal",
        RQ_STRINGS,
    ),
    (
        r"rq\.utils\.|rq\.scripts\.|rq\.defaults\.RQ_KEY_PREFIX|"
        r"rq\.worker_registration",
        "internal",
        RQ_UTILS,
    ),
    (
        r"'float' and 'datetime\.timedelta'|'float' object has no attribute "
        r"'(replace|timestamp)'|'datetime\.datetime' object cannot be interpreted",
        "internal",
        CLOCK,
    ),
    (
        r"has no attribute '_|does not have the attribute '_|move_dependents_to_ready|"
        r"enqueue_ready_jobs_by_queue|'subscribe'|'fork_work_horse'|_callback_name",
        "internal",
        PRIVATE,
    ),
    # -- not yet -------------------------------------------------------------
    (r"has no counterpart in django_jobqueue\.engine", "missing", "An RQ name we lack"),
    (r"has no attribute|unexpected keyword argument", "missing", "An RQ method or keyword we lack"),
]

#: Failures whose message does not tell why: (file, test) -> (kind, reason).
#: Each was read in RQ's test source; the comment says what the test does.
BY_TEST: dict[tuple[str, str], tuple[str, str]] = {
    # RQ's key names read with redis-py (rq:queue:default ...).
    ("test_cli.py", "test_cli_enqueue"): ("internal", KEY_NAMES),
    ("test_cli.py", "test_cli_enqueue_args"): ("internal", KEY_NAMES),
    ("test_cli.py", "test_cli_enqueue_retry"): ("internal", KEY_NAMES),
    ("test_cli.py", "test_cli_enqueue_with_serializer"): ("internal", KEY_NAMES),
    ("test_queue.py", "test_enqueue"): ("internal", KEY_NAMES),
    ("test_group.py", "test_group_added_to_registry"): ("internal", KEY_NAMES),
    ("test_job.py", "test_persistence_of_typical_jobs"): ("internal", KEY_NAMES),
    ("test_job.py", "test_compressed_exc_info_handling"): ("internal", KEY_NAMES),
    ("test_job.py", "test_compressed_job_data_handling"): ("internal", KEY_NAMES),
    ("test_job.py", "test_job_is_unimportable"): ("internal", KEY_NAMES),
    ("test_job.py", "test_fetch"): ("differs", SIGNED),  # a job hash written by hand
    ("test_job.py", "test_fetching_unreadable_data"): ("differs", FUNC_NAME),
    ("test_job.py", "test_unpickleable_result"): ("internal", PRIVATE),  # sets job._result
    # The job's status set by hand (job._status = ...; save()).
    ("test_queue.py", "test_enqueue_job_with_dependency"): ("differs", STATUS),
    ("test_queue.py", "test_enqueue_job_with_dependency_and_timeout"): ("differs", STATUS),
    ("test_queue.py", "test_enqueue_job_with_dependency_by_id"): ("differs", STATUS),
    ("test_queue.py", "test_enqueue_job_with_multiple_finished_dependencies"): ("differs", STATUS),
    ("test_queue.py", "test_enqueue_job_with_multiple_queued_dependencies"): ("differs", STATUS),
    ("test_registry.py", "test_cleanup_skips_finished_jobs"): ("differs", STATUS),
    ("test_retry.py", "test_cleanup_handles_retries"): ("differs", STATUS),
    ("test_queue.py", "test_enqueue_many_with_generator"): ("differs", ORDER),
    ("test_queue.py", "test_equality"): ("differs", EQUALITY),
    ("test_queue.py", "test_enqueue_at"): ("differs", PAST),  # fractions of a second kept
    ("test_scheduler.py", "test_enqueue_at"): ("differs", PAST),
    ("test_scheduler.py", "test_enqueue_at_at_front"): ("differs", PAST),
    ("test_scheduler.py", "test_enqueue_at_with_pipeline"): ("differs", PAST),
    ("test_cli.py", "test_cli_enqueue_schedule_at"): ("differs", PAST),
    ("test_cli.py", "test_worker_with_scheduler"): ("differs", PAST),
    ("test_scheduler.py", "test_should_reacquire_locks"): ("differs", DEFAULTS),
    ("test_worker.py", "test_get_heartbeat_ttl"): ("differs", DEFAULTS),
    ("test_scheduler.py", "test_run_maintenance_tasks"): ("differs", SCHEDULER),
    ("test_scheduler.py", "test_work_burst"): ("differs", SCHEDULER),
    ("test_scheduler.py", "test_work_burst_scheduler_cleans_up_on_error"): ("differs", SCHEDULER),
    ("test_rate_limit.py", "test_delete_with_pipeline_removes_from_registry"): (
        "differs",
        PIPELINE,
    ),
    ("test_registry.py", "test_get_expired_job_ids"): ("differs", REGISTRIES),
    ("test_registry.py", "test_worker_handle_job_failure"): ("differs", WORKERS),
    ("test_retry.py", "test_retry_interval"): ("differs", WORKERS),  # handle_job_failure records
    ("test_worker.py", "test_handle_retry"): ("differs", WORKERS),
    ("test_worker.py", "test_disable_default_exception_handler"): ("differs", WORKERS),
    ("test_spawn_worker.py", "test_horse_uses_exception_handlers"): ("differs", WORKERS),
    ("test_cli.py", "test_exception_handlers"): ("differs", WORKERS),
    ("test_worker.py", "test_worker_configures_socket_timeout"): ("differs", WORKERS),
    ("test_commands.py", "test_stop_job_command"): ("differs", WORKERS),
    ("test_worker.py", "test_execution_property"): ("internal", EXECUTIONS),
    ("test_commands.py", "test_stop_execution_command"): ("internal", EXECUTIONS),
    ("test_registry.py", "test_cleanup_moves_jobs_to_failed_job_registry"): (
        "internal",
        EXECUTIONS,
    ),
    ("test_registry.py", "test_get_job_ids"): ("internal", EXECUTIONS),
    ("test_registry.py", "test_get_job_ids_does_not_cleanup"): ("internal", EXECUTIONS),
    ("test_registry.py", "test_contains"): ("internal", EXECUTIONS),
    ("test_retry.py", "test_retry"): ("internal", EXECUTIONS),
    ("test_webhooks.py", "test_abandoned_terminal_failure_fires_failed_webhook"): (
        "internal",
        EXECUTIONS,
    ),
    ("test_queue.py", "test_dequeue_any_reliable"): ("internal", INTERMEDIATE),
    ("test_queue.py", "test_intermediate_queue"): ("internal", INTERMEDIATE),
    ("test_queue.py", "test_enqueue_job_with_dependency_and_pipeline"): ("differs", PIPELINE),
    ("test_job_dependency.py", "test_dependencies_finished_watches_job"): ("differs", STATUS),
    ("test_job_dependency.py", "test_cancel_does_not_queue_dependents_before_cancel_commits"): (
        "internal",
        TRANSACTIONS,
    ),
    ("test_job_dependency.py", "test_create_and_cancel_job_enqueue_dependents_with_pipeline"): (
        "differs",
        PIPELINE,
    ),
    ("test_rate_limit.py", "test_release_after_aborted_immediate_repeat"): (
        "internal",
        TRANSACTIONS,
    ),
    ("test_group.py", "test_cleanup_checks_alive_jobs_with_one_exists_call"): ("internal", PRIVATE),
    ("test_cron_job.py", "test_cron_string_spring_forward"): ("differs", FEATURES),
    ("test_worker.py", "test_request_force_stop_ignores_consecutive_signals"): (
        "internal",
        PRIVATE,
    ),
    ("test_worker.py", "test_custom_queue_class"): ("internal", RQ_STRINGS),  # 'rq.Queue'
    ("test_cli.py", "test_job_class_argument"): ("internal", RQ_STRINGS),  # 'rq.job.Job'
    ("test_cli.py", "test_worker_class_argument"): ("internal", RQ_STRINGS),  # 'rq.Worker'
    ("test_cli.py", "test_config_file_default_options"): ("internal", RQ_STRINGS),  # port 6379
    # CliConfig (rq.cli.helpers) given 'rq.job.Job' as its death penalty class.
    ("test_cli.py", "test_death_penalty_class"): ("internal", RQ_STRINGS),
    ("test_key_prefix.py", "test_invalid_prefix_rejected"): ("internal", RQ_STRINGS),
    ("test_cli.py", "test_suspend_and_resume"): ("differs", COMMAND),
    ("test_cli.py", "test_info"): ("differs", COMMAND),
    ("test_cli.py", "test_info_only_queues"): ("differs", COMMAND),
    ("test_cli.py", "test_info_only_workers"): ("differs", COMMAND),
    ("test_cli.py", "test_cli_enqueue_doc_test"): ("differs", FUNC_NAME),  # args as a tuple
    ("test_worker_registration.py", "test_clean_large_registry"): ("differs", WORKER_REGISTRATION),
    ("test_worker_registration.py", "test_clean_registry"): ("differs", WORKER_REGISTRATION),
    (
        "test_worker_registration.py",
        "test_clean_registry_checks_alive_workers_with_one_exists_call",
    ): (
        "differs",
        WORKER_REGISTRATION,
    ),
    ("test_worker_registration.py", "test_worker_registration"): ("differs", WORKER_REGISTRATION),
    ("test_job.py", "test_create_job_with_invalid_id"): ("differs", JOB_IDS),
    ("test_queue.py", "test_enqueue_with_ttl"): ("differs", TTL),
    ("test_rate_limit.py", "test_rate_limit_requires_default_key_prefixes"): ("differs", FEATURES),
    ("test_rate_limit.py", "test_promotion_uses_base_class_namespace_prefixes"): (
        "differs",
        FEATURES,
    ),
    ("test_scheduler.py", "test_remove_jobs"): ("differs", REGISTRIES),
    ("test_job.py", "test_create_job_with_serializer"): ("differs", FUNC_NAME),
}


def reason_of(message: str, file: str = "", test: str = "") -> tuple[str, str]:
    if (file, test) in BY_TEST:
        return BY_TEST[(file, test)]
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
            name = case.get("name", "?")
            found[file][reason_of(message, file, name)].append((name, first))
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
