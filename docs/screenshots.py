"""Retake the dashboard screenshots in docs/_static/screenshots/.

Run from a checkout, in a virtualenv with the ``test`` extra (selenium) and
Debian's ``chromium`` and ``chromium-driver`` installed::

    python docs/screenshots.py

It starts everything it needs privately and stops it on exit: a throw-away
``redis-server`` on a free port, the demo site (``testproject``) on a free
port with a SQLite database in a temporary folder, and a worker pool. It fills
the queues with jobs of every status, so that each page has something to show,
waits until the pool runs a job that reports its progress (for the workers
page), then saves one PNG per page, 1200 pixels wide.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "_static" / "screenshots"
WIDTH = 1200
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# The demo's settings plus two periodic jobs, for the periodic jobs page.
SETTINGS = """
from testproject.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
JOBQUEUE_CRON = [
    {"func": "testproject.demo.tasks.add", "args": [1, 2], "cron": "0 7 * * 1-5",
     "name": "weekday-report", "queue": "low", "timezone": "Europe/Paris"},
    {"func": "testproject.demo.tasks.count_words", "args": ["tick tock"],
     "interval": 300, "name": "heartbeat"},
]
"""

# A job that reports its progress, for the workers page; written next to the settings.
TASKS = '''
import time

from django_jobqueue import get_current_job


def resize_images(count, fast):
    """Resize ``count`` images: the first ``fast`` quickly, then one a minute, so
    that the screenshot catches the job part way through."""
    job = get_current_job()
    for done in range(count):
        job.set_progress(done, count, f"resizing image {done + 1} of {count}")
        time.sleep(0.1 if done < fast else 60)  # 0.1 s: each report is written
    return count
'''
#: Images the progress job has resized when the screenshots are taken (of 300).
PROGRESS_AT = 137


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.redis_rigs import RedisServer, find_free_port

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="jobqueue-screenshots-"))
    (tmp / "screenshot_settings.py").write_text(SETTINGS)
    (tmp / "screenshot_tasks.py").write_text(TASKS)
    processes: list[subprocess.Popen] = []
    with RedisServer() as redis_server:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "screenshot_settings",
            "REDIS_URL": redis_server.url,
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "DEBUG": "false",
        }
        os.environ.update(env)
        sys.path.insert(0, str(tmp))
        try:
            manage = [sys.executable, str(ROOT / "manage.py")]
            subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
            subprocess.run(
                [*manage, "createsuperuser", "--noinput", "--username", "admin"],
                env={
                    **env,
                    "DJANGO_SUPERUSER_PASSWORD": "admin",
                    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
                },
                check=True,
            )
            chained, progressing = fill_queues(manage, env)
            # A pool that stays up (for the workers page): two of its three
            # children run the slow jobs of queue high, one reporting progress.
            processes.append(
                subprocess.Popen(
                    [
                        *manage,
                        "rqworker",
                        "high",
                        "default",
                        "--processes",
                        "3",
                        "--name",
                        "worker-1",
                        "-v0",
                    ],
                    env=env,
                )
            )
            port = find_free_port()
            processes.append(
                subprocess.Popen(
                    [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/admin/login/")
            wait_for_progress(progressing)
            shoot(base, chained)
        finally:
            for process in reversed(processes):
                # Once: warm shutdown; a second time (the worker still runs the slow
                # job): cold, which stops it.
                for _ in range(2):
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(5)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                if process.poll() is None:
                    process.kill()
                    process.wait()
            shutil.rmtree(tmp, ignore_errors=True)


def fill_queues(manage: list[str], env: dict) -> tuple[str, Any]:
    """Jobs of every status; returns the id of a job with a dependency chain, and
    the job that will report its progress once the pool runs it."""
    import django

    django.setup()
    import screenshot_tasks

    from django_jobqueue import Dependency, Retry, get_queue
    from testproject.demo import tasks

    default, high, low = get_queue("default"), get_queue("high"), get_queue("low")
    parts = [default.enqueue(tasks.add, i, i * 10) for i in range(1, 9)]
    total = default.enqueue(tasks.sum_results, *(j.id for j in parts[:3]), depends_on=parts[:3])
    default.enqueue(tasks.count_words, "the quick brown fox jumps over the lazy dog")
    for message in ("invoice 1043 has no customer", "the SMTP server refused the message"):
        default.enqueue(tasks.fail, message)
    broken = default.enqueue(tasks.fail, "upstream API returned 502", retry=Retry(max=1))
    default.enqueue(tasks.add, 1, 1, depends_on=Dependency(broken))
    subprocess.run([*manage, "rqworker", "default", "--burst", "-v0"], env=env, check=True)
    # Left for later, so they stay queued, scheduled, deferred or canceled.
    for i in range(12):
        low.enqueue(tasks.count_words, f"report number {i} for the weekly digest", priority=i % 3)
    default.enqueue_in(timedelta(hours=2), tasks.add, 20, 22)
    default.enqueue_in(timedelta(minutes=15), tasks.count_words, "later")
    default.enqueue(tasks.add, 2, 2, depends_on=low.enqueue(tasks.slow, 1)).cancel()
    high.enqueue(tasks.slow, 600, job_timeout=900)
    progressing = high.enqueue(screenshot_tasks.resize_images, 300, PROGRESS_AT, job_timeout=900)
    return total.id, progressing


def wait_for_progress(job: Any, timeout: float = 60) -> None:
    """Until ``job`` has reported :data:`PROGRESS_AT` images done."""
    deadline = time.monotonic() + timeout
    while True:
        job.refresh()
        progress = job.progress
        if progress is not None and progress.done >= PROGRESS_AT:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"Job {job.id} did not report its progress in {timeout} s.")
        time.sleep(0.2)


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def shoot(base: str, job_id: str) -> None:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WIDTH},900")
    options.add_argument("--force-device-scale-factor=1")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(base + "/admin/login/")
        driver.find_element(By.NAME, "username").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys("admin")
        driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        time.sleep(1)
        # Fold the admin's navigation sidebar: the wide tables then fit in 1200 pixels.
        driver.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        dash = "/admin/django_jobqueue/dashboard/"
        pages = {
            "overview": dash,
            "queue": dash + "queues/low/",
            "failed": dash + "queues/default/failed/",
            "job": dash + f"queues/default/jobs/{job_id}/",
            "workers": dash + "workers/",
            "cron": dash + "cron/",
        }
        for name, path in pages.items():
            driver.set_window_size(WIDTH, 600)  # measure the page, not the last window
            driver.get(base + path)
            time.sleep(1)  # the overview's chart draws after load
            height, chrome = driver.execute_script(
                "return [document.documentElement.scrollHeight,"
                " window.outerHeight - window.innerHeight]"
            )
            driver.set_window_size(WIDTH, min(height, 1800) + chrome)
            time.sleep(0.3)
            driver.save_screenshot(str(OUT / f"{name}.png"))
            print(f"saved {OUT / name}.png")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
