"""Signed calls as a Django site has them: keys from SECRET_KEY, a real rqworker.

The engine's tests (tests/engine/test_signing.py) rewrite each signed field
in every execution model; these check the same promise end to end, with the
key Django derives and rotates.
"""

from __future__ import annotations

import pytest

from django_jobqueue import get_queue
from tests.engine import jobs
from tests.engine.test_signing import EXPLOIT

pytestmark = pytest.mark.django_db(transaction=True)

OLD_KEY = "the-secret-key-before-the-rotation"
NEW_KEY = "the-secret-key-after-the-rotation"


@pytest.fixture
def marks(tmp_path):
    path = tmp_path / "marks"
    path.touch()
    return path


def run_rqworker(manage_py, marks, secret_key=None, fallbacks=()):
    env = manage_py.env  # the fixture's own environment: changed for the processes it starts next
    env["JQ_TEST_MARKS"] = str(marks)
    if secret_key:
        env["JQ_TEST_SECRET_KEY"] = secret_key
        env["JQ_TEST_SECRET_KEY_FALLBACKS"] = " ".join(fallbacks)
    proc = manage_py("rqworker", "--burst", "default")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def test_a_rewritten_function_never_runs_in_rqworker(jq, manage_py, marks, monkeypatch):
    monkeypatch.setenv("JQ_TEST_MARKS", str(marks))
    queue = get_queue()
    tampered = queue.enqueue(jobs.echo, EXPLOIT)
    jq.hset(tampered.key, "func", "builtins.exec")
    honest = queue.enqueue(jobs.mark, "honest")
    run_rqworker(manage_py, marks)
    assert marks.read_text().split() == ["honest"]
    assert tampered.get_status() == "failed"
    assert "tampered with in Redis or written with another signing key" in tampered.exc_info
    assert honest.get_status() == "finished"


def test_jobs_signed_before_a_secret_key_rotation_still_run(jq, settings, manage_py, marks):
    settings.SECRET_KEY = OLD_KEY
    before = get_queue().enqueue(jobs.mark, "before")
    run_rqworker(manage_py, marks, NEW_KEY, fallbacks=[OLD_KEY])
    assert before.get_status() == "finished"

    stale = get_queue().enqueue(jobs.mark, "stale")
    run_rqworker(manage_py, marks, NEW_KEY)  # the old key dropped from the fallbacks
    assert stale.get_status() == "failed"
    assert "written with another signing key" in stale.exc_info
    assert marks.read_text().split() == ["before"]
