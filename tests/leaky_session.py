"""Run only by tests/test_processes.py, in a nested pytest: a test that leaves a process."""

import subprocess
import sys

_kept = []


def test_leaves_a_process_running():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)  # leaked"])
    _kept.append(proc)
    print(f"leaked pid {proc.pid}")
