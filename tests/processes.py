"""No process started by the test session outlives it (Linux; elsewhere this does nothing).

At start-up ``tests/conftest.py`` puts a fresh marker in the environment
(``JQ_TEST_SESSION=<uuid>``). Every process the tests start inherits it,
whatever starts it (``subprocess``, a worker's fork, a pool child of a worker
subprocess, a redis-server) and wherever it ends up (its own session, or
re-parented to init once its parent died), so ``/proc/<pid>/environ`` tells
which processes are the session's. Then:

* after each test, processes of the session whose parent died (orphans, such
  as the children of a pool killed with SIGKILL) get a moment to exit, and are
  killed if they do not;
* at the end of the session, every process of the session still alive is
  killed, and the run fails naming them;
* a watchdog process, started with the session, kills them all if pytest
  itself is killed (a timeout, SIGKILL) before it could.

Only the standard library: the watchdog runs this file as a script.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: The environment variable carrying the session's marker.
VARIABLE = "JQ_TEST_SESSION"

_PROC = Path("/proc")


def supported() -> bool:
    return sys.platform.startswith("linux") and _PROC.is_dir()


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time in clock ticks) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text.rsplit(b")", 1)[1].split()
    return fields[0].decode(), int(fields[1]), int(fields[19])


def _live() -> dict[int, tuple[int, int]]:
    """Every live process (not a zombie) as {pid: (parent pid, start time)}."""
    found = {}
    for name in os.listdir(_PROC):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None and stat[0] not in ("Z", "X"):
                found[int(name)] = stat[1:]
    return found


def _carries(pid: int, needle: bytes) -> bool:
    try:
        return needle in (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False


def marked(marker: str, live: dict[int, tuple[int, int]] | None = None) -> dict[int, int]:
    """Live processes (not zombies) carrying ``marker``, as {pid: parent pid}.

    Only processes started after this one are looked at: the marker is younger.
    """
    live = _live() if live is None else live
    me = os.getpid()
    born = live[me][1] if me in live else 0
    needle = f"{VARIABLE}={marker}\0".encode()
    return {
        pid: parent
        for pid, (parent, started) in live.items()
        if pid != me and started >= born and _carries(pid, needle)
    }


def descendants(root: int, live: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """Live processes below ``root`` in the process tree."""
    live = _live() if live is None else live
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in live.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def orphans(marker: str, root: int) -> set[int]:
    """Processes of the session that are no longer below ``root`` (their parent died)."""
    live = _live()
    return set(marked(marker, live)) - descendants(root, live) - {root}


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def wait_gone(pids, timeout: float) -> set[int]:
    """Wait up to ``timeout`` seconds for ``pids`` to exit; returns those still alive."""
    deadline = time.monotonic() + timeout
    left = {pid for pid in pids if alive(pid)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {pid for pid in left if alive(pid)}
    return left


def describe(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return f"pid {pid} (gone)"
    command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return f"pid {pid}: {command[:200]}"


def kill(pids) -> set[int]:
    """SIGKILL ``pids``; returns those still alive 5 s later (none, normally)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return wait_gone(pids, 5.0)


def kill_marked(marker: str, exclude=()) -> list[str]:
    """Kill every process carrying ``marker``; returns what they were (see :func:`describe`).

    A few rounds: a process may fork once more before its SIGKILL lands.
    """
    killed: list[str] = []
    for _ in range(10):
        pids = set(marked(marker)) - set(exclude)
        if not pids:
            break
        killed += [describe(pid) for pid in sorted(pids)]
        kill(pids)
    return killed


def start_watchdog(marker: str) -> subprocess.Popen:
    """A process that kills the session's processes once this one is gone.

    It waits for end-of-file on its standard input, whose other end only this
    process holds: closing it (see :func:`stop_watchdog`) or dying sends it.
    """
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    return subprocess.Popen(
        [sys.executable, "-I", str(Path(__file__).resolve()), marker],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # a Ctrl-C meant for pytest must not stop it first
    )


def stop_watchdog(watchdog: subprocess.Popen) -> None:
    assert watchdog.stdin is not None
    watchdog.stdin.close()
    try:
        watchdog.wait(30)
    except subprocess.TimeoutExpired:  # pragma: no cover - defensive
        watchdog.kill()
        watchdog.wait(5)


def _watch(marker: str) -> int:
    sys.stdin.buffer.read()  # returns at end-of-file: the test session has ended
    for process in kill_marked(marker):
        print(f"tests/processes.py: killed {process}, left by the test session", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_watch(sys.argv[1]))
