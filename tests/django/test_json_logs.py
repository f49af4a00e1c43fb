"""``rqworker --log-format json``: one JSON object per line, the job's facts as fields."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from django_jobqueue import Retry, enqueue
from django_jobqueue.conf import find_problems
from django_jobqueue.logutils import JSONFormatter

from . import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enqueue_at_once(settings):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"


def json_lines(manage_py, *args):
    proc = manage_py("rqworker", "--burst", *args, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, out
    return [json.loads(line) for line in lines]  # every line is one JSON object


def about(lines, job):
    (line,) = [line for line in lines if line.get("job_id") == job.id]
    return line


@pytest.mark.parametrize("worker_class", ["simple", "fork", "pool"])
def test_each_job_is_one_object_with_its_outcome(jq, manage_py, worker_class):
    ok = enqueue(tasks.add, 1, 2)
    failed = enqueue(tasks.fail, "no luck")
    retried = enqueue(tasks.fail, "once more", retry=Retry(max=1, interval=60))
    lines = json_lines(manage_py, "--log-format", "json", "--worker-class", worker_class)

    line = about(lines, ok)
    assert line["queue"] == "default"
    assert line["function"] == "tests.django.tasks.add"
    assert line["outcome"] == "finished"
    assert line["level"] == "INFO"
    assert isinstance(line["duration"], float) and 0 <= line["duration"] < 60
    assert line["message"].endswith(f"({ok.id}) OK in {line['duration']:.3f} s")
    assert "traceback" not in line

    line = about(lines, failed)
    assert (line["outcome"], line["level"]) == ("failed", "ERROR")
    assert "\n" not in line["message"]
    assert "ValueError: no luck" in line["traceback"]

    assert about(lines, retried)["outcome"] == "retried"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_the_setting_chooses_json_and_the_option_wins(jq, manage_py):
    manage_py.env["JQ_TEST_LOG_FORMAT"] = "json"
    job = enqueue(tasks.add, 2, 2)
    assert about(json_lines(manage_py, "--worker-class", "simple"), job)["outcome"] == "finished"

    job = enqueue(tasks.add, 3, 3)
    proc = manage_py(
        "rqworker",
        "--burst",
        "--worker-class",
        "simple",
        "--log-format",
        "text",
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    assert f"({job.id}) OK in" in err
    assert not err.lstrip().startswith("{")


def test_an_unknown_format_is_refused(jq, settings):
    settings.JOBQUEUE_WORKER = {"LOG_FORMAT": "yaml"}
    (problem,) = [p for p in find_problems() if "LOG_FORMAT" in p.msg]
    assert problem.id == "django_jobqueue.E013"
    assert "('text', 'json')" in problem.msg
    with pytest.raises(CommandError, match="invalid choice: 'yaml'"):
        call_command("rqworker", "--burst", "--log-format", "yaml")


def test_a_record_with_an_exception_keeps_it_out_of_the_message():
    try:
        raise KeyError("missing")
    except KeyError:
        record = logging.LogRecord(
            "django_jobqueue.worker",
            logging.ERROR,
            __file__,
            1,
            "lost %s\nmore",
            ("it",),
            sys.exc_info(),
        )
    line = json.loads(JSONFormatter().format(record))
    assert line["message"] == "lost it"
    assert line["traceback"].startswith("more\nTraceback (most recent call last):")
    assert line["traceback"].rstrip().endswith("KeyError: 'missing'")
    assert line["time"].endswith("+00:00")


@pytest.fixture
def jobqueue_logger():
    """The ``django_jobqueue`` logger, put back as it was after the test."""
    logger = logging.getLogger("django_jobqueue")
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers.clear()
    yield logger
    logger.handlers[:], logger.propagate, logger.level = saved


def test_json_wins_over_root_handlers_but_not_over_the_projects_own(jobqueue_logger, caplog):
    from django_jobqueue.management.commands.rqworker import Command

    assert logging.getLogger().handlers  # caplog's: a project with a root handler
    Command(stderr=io.StringIO())._configure_logging(1, "json")
    (handler,) = jobqueue_logger.handlers
    assert isinstance(handler.formatter, JSONFormatter)
    assert jobqueue_logger.propagate is False

    own = logging.StreamHandler(io.StringIO())
    jobqueue_logger.handlers[:] = [own]
    Command(stderr=io.StringIO())._configure_logging(1, "json")
    assert jobqueue_logger.handlers == [own]
    assert own.formatter is None
