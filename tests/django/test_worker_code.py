"""A worker runs the code it imported until it is restarted (docs/quickstart.rst says so)."""

from __future__ import annotations

import os

from django_jobqueue import get_queue

from .conftest import wait_until


def _run(queue, func: str):
    job = queue.enqueue(func)
    wait_until(lambda: job.get_status() == "finished", message=f"{func} did not finish")
    return job.return_value(refresh=True)


def test_a_pool_worker_keeps_the_code_it_imported_until_restarted(
    jq, settings, manage_py, tmp_path, monkeypatch
):
    settings.JOBQUEUE_COMMIT_MODE = "immediate"
    package = tmp_path / "codeapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module = package / "jobs.py"
    module.write_text("def version():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    manage_py.env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), manage_py.env["PYTHONPATH"]])
    options = ("rqworker", "--worker-class", "pool", "--processes", "1", "--without-scheduler")
    queue = get_queue()

    worker = manage_py(*options)
    assert _run(queue, "codeapp.jobs.version") == 1
    module.write_text("def version():\n    return 'two'\n")
    assert _run(queue, "codeapp.jobs.version") == 1  # the running worker: still the old code
    worker.terminate()
    assert worker.wait(30) == 0

    manage_py(*options)
    assert _run(queue, "codeapp.jobs.version") == "two"
