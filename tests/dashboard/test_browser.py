"""The dashboard in a real headless Chromium, against a live test server.

Uses Debian's ``chromium`` and ``chromedriver`` through Selenium, which is
given both paths so that it never tries to download a browser or a driver.
Without them the tests are skipped locally, and fail under ``CI=true``.

Screenshots of the main pages go to ``$JOBQUEUE_SCREENSHOTS`` (or a fresh
temporary folder); the folder is printed at the start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from django_jobqueue.engine import Worker
from tests.engine import jobs

from .conftest import ADMIN

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def _unavailable() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def screenshots(request) -> Path:
    folder = Path(
        os.environ.get("JOBQUEUE_SCREENSHOTS") or tempfile.mkdtemp(prefix="jobqueue-screenshots-")
    )
    folder.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\ndashboard screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def chromium():
    problem = _unavailable()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"The browser tests must run in CI, but {problem}.")
        pytest.skip(problem)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="jobqueue-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(2)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Browser:
    """A few helpers over the WebDriver, bound to the live server."""

    def __init__(self, driver, base_url: str, screenshots: Path):
        self.driver = driver
        self.base = base_url
        self.shots = screenshots

    def get(self, path: str) -> None:
        self.driver.get(self.base + path)

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def link(self, text: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.LINK_TEXT, text)

    def follow(self, element) -> None:
        """Click something that loads a new page, and wait for that page."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.css("html")
        element.click()

        def left(driver) -> bool:
            try:
                page.tag_name
            except WebDriverException:  # stale, or "does not belong to the document"
                return True
            return False

        wait = WebDriverWait(self.driver, 10)
        wait.until(left)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    @property
    def text(self) -> str:
        return self.css("body").text

    @property
    def path(self) -> str:
        return self.driver.current_url[len(self.base) :]

    def login(self, username: str) -> None:
        self.driver.delete_all_cookies()
        self.get("/admin/login/")
        self.css("#id_username").send_keys(username)
        self.css("#id_password").send_keys("pw")
        self.follow(self.css("input[type=submit]"))
        assert "/admin/login/" not in self.driver.current_url, self.text

    def shot(self, name: str) -> None:
        """Save a screenshot of the whole page (the window grows to fit it)."""
        size = self.driver.get_window_size()
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(size["width"], min(max(height + 140, 600), 4000))
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))
        self.driver.set_window_size(size["width"], size["height"])


@pytest.fixture
def browser(chromium, live_server, transactional_db, users, jq, screenshots):
    chromium.delete_all_cookies()
    return Browser(chromium, live_server.url, screenshots)


def test_log_in_and_see_the_queues(browser, jq, run_jobs):
    q = jq("default")
    for i in range(3):
        q.enqueue(jobs.add, i, i)
    q.enqueue(jobs.fail, "boom")
    run_jobs()
    for i in range(5):
        q.enqueue(jobs.add, i, 1)
    jq("high").enqueue(jobs.echo, "urgent")
    browser.login("superuser")
    browser.get("/admin/")
    assert "job queue" in browser.text.lower()
    browser.shot("01-admin-index")
    browser.follow(browser.link("Queues"))
    assert browser.path == ADMIN
    rows = {
        row.find_element("css selector", "th").text: row.text
        for row in browser.all("#result_list tbody tr")
    }
    assert set(rows) == {"default", "high", "low"}
    assert rows["default"].split()[1:3] == ["5", "0"]  # queued, started
    assert browser.all("#throughput svg rect.jq-finished")  # the chart shows this minute
    browser.shot("02-overview")


def test_open_a_failed_job_read_its_traceback_and_requeue_it(browser, jq, run_jobs):
    q = jq("default")
    failed = q.enqueue(jobs.fail, "disk full")
    run_jobs()
    browser.login("superuser")
    browser.get(ADMIN)
    browser.follow(browser.css("#result_list tbody tr td.jq-failed a"))
    assert browser.path == f"{ADMIN}queues/default/failed/"
    assert "ValueError: disk full" in browser.css("#result_list").text
    browser.shot("03-failed-list")
    browser.follow(browser.link(failed.id))
    assert "ValueError: disk full" in browser.css("#traceback pre").text
    assert "raise ValueError(message)" in browser.css("#traceback pre").text
    browser.shot("04-failed-job")
    browser.follow(browser.css("a.jq-action-requeue"))
    assert "Requeue job" in browser.css("#question").text
    browser.shot("05-confirm-requeue")
    browser.follow(browser.css("input[type=submit][value^='Yes']"))
    assert "was requeued" in browser.css(".messagelist").text
    assert browser.css("#job-status").text == "Queued"
    browser.get(f"{ADMIN}queues/default/failed/")
    assert failed.id not in browser.css("#result_list").text
    assert "No jobs." in browser.css("#result_list").text


def test_delete_jobs(browser, jq):
    from selenium.webdriver.support.select import Select

    q = jq("default")
    keep, drop, other = (q.enqueue(jobs.add, i, i) for i in range(3))
    browser.login("superuser")
    browser.get(f"{ADMIN}queues/default/")
    browser.shot("06-queue")
    # Bulk: tick one row, pick "Delete selected jobs", Go, confirm.
    browser.css(f"input.action-select[value='{drop.id}']").click()
    assert "1 of 3 selected" in browser.css(".action-counter").text  # admin's actions.js runs
    Select(browser.css("select[name=action]")).select_by_value("delete")
    browser.follow(browser.css("button[name=index]"))
    assert "Delete 1 queued job" in browser.css("#question").text
    browser.follow(browser.css("input[type=submit][value^='Yes']"))
    assert "Deleted 1 job." in browser.css(".messagelist").text
    assert drop.id not in browser.css("#result_list").text
    # One job from its own page.
    browser.follow(browser.link(other.id))
    browser.follow(browser.css("a.jq-action-delete"))
    browser.follow(browser.css("input[type=submit][value^='Yes']"))
    assert "was deleted" in browser.css(".messagelist").text
    assert browser.path == f"{ADMIN}queues/default/"
    assert [a.text for a in browser.all("#result_list tbody th a")] == [keep.id]


def test_follow_a_dependency_chain_to_a_parent(browser, jq, run_jobs):
    default, high = jq("default"), jq("high")
    root = default.enqueue(jobs.add, 1, 1)
    run_jobs()
    left = high.enqueue(jobs.add, 2, 2, depends_on=root)  # cross-queue
    right = default.enqueue(jobs.add, 3, 3, depends_on=root)
    gone = default.enqueue(jobs.add, 4, 4)
    join = default.enqueue(jobs.add, 5, 5, depends_on=[left, right, gone])  # a diamond
    gone.delete()
    browser.login("superuser")
    browser.get(f"{ADMIN}queues/default/jobs/{join.id}/")
    relations = {
        row.find_elements("css selector", "td")[1].text: row.text
        for row in browser.all("#dependency-list tbody tr")
    }
    assert set(relations) == {root.id, left.id, right.id, gone.id, join.id}
    assert "deleted or expired" in relations[gone.id]
    assert "high" in relations[left.id]
    assert len(browser.all("#dependencies svg g.jq-node")) == 5
    assert len(browser.all("#dependencies svg path.jq-edge")) == 5
    browser.shot("07-dependency-chain")
    browser.follow(browser.css(f"#dependencies svg a[href$='/queues/high/jobs/{left.id}/']"))
    assert browser.path == f"{ADMIN}queues/high/jobs/{left.id}/"
    assert "Job " + left.id in browser.text


def test_workers_page(browser, jq, key_prefix):
    q = jq("default")
    worker = Worker([q, jq("low")], connection=q.connection, prefix=key_prefix, name="web-1.worker")
    worker.register_birth()
    try:
        browser.login("superuser")
        browser.get(ADMIN)
        browser.follow(browser.css(".object-tools a[href$='/workers/']"))
        row = browser.css("#result_list tbody tr").text
        assert "web-1.worker" in row and "default, low" in row
        browser.shot("08-workers")
    finally:
        worker.register_death()


def test_periodic_jobs_page_and_run_now(browser, jq, settings, key_prefix):
    settings.JOBQUEUE_CRON = [
        {
            "func": "tests.engine.jobs.add",
            "cron": "0 7 * * 1-5",
            "args": [1, 2],
            "name": "morning-report",
            "timezone": "Europe/Paris",
        },
        {"func": "tests.engine.jobs.fail", "interval": 300, "queue": "low", "missed": "skip"},
    ]
    scheduled = jq("default").enqueue_in(3600, jobs.add, 5, 5)
    browser.login("superuser")
    browser.get(ADMIN)
    browser.follow(browser.css(".object-tools a.jq-cron"))
    assert browser.path == f"{ADMIN}cron/"
    table = browser.css("#result_list").text
    assert "morning-report" in table and "0 7 * * 1-5 (Europe/Paris)" in table
    assert "No worker runs the scheduler" in browser.text
    browser.shot("12-periodic-jobs")
    browser.follow(browser.css("#cron-morning-report a.jq-cron-run"))
    assert "Enqueue a run of morning-report" in browser.css("#question").text
    browser.follow(browser.css("input[type=submit][value^='Yes']"))
    assert "was enqueued" in browser.css(".messagelist").text
    assert "Queued" in browser.css("#cron-morning-report .jq-last-outcome").text
    browser.shot("13-periodic-jobs-after-run")
    browser.get(f"{ADMIN}queues/default/scheduled/")
    assert scheduled.id in browser.css("#result_list").text
    assert browser.css("#result_list td.jq-runs-at").text
    browser.shot("14-scheduled-list")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_periodic_jobs_of_the_table_in_the_admin_and_the_dashboard(browser, jq, settings, theme):
    from django_jobqueue.models import PeriodicJob

    settings.JOBQUEUE_CRON = [
        {"func": "tests.engine.jobs.add", "cron": "0 7 * * 1-5", "name": "morning-report"}
    ]
    PeriodicJob.objects.create(
        name="nightly-export",
        func="tests.engine.jobs.add",
        args=[1, 2],
        cron="30 2 * * *",
        timezone="Europe/Paris",
        queue="low",
        description="Orders as CSV",
    )
    PeriodicJob.objects.create(
        name="cache-warmup", func="tests.engine.jobs.add", interval=300, enabled=False
    )
    table = "/admin/django_jobqueue/periodicjob/"
    browser.login("superuser")
    browser.get(ADMIN)
    _theme(browser, theme)
    browser.get(table)
    assert "nightly-export" in browser.css("#result_list").text
    assert "30 2 * * * (Europe/Paris)" in browser.css("#result_list").text
    browser.shot(f"40-{theme}-periodicjob-changelist")
    browser.follow(browser.link("nightly-export"))
    assert browser.css("#id_cron").get_attribute("value") == "30 2 * * *"
    browser.shot(f"41-{theme}-periodicjob-change")
    browser.css("#id_cron").clear()
    browser.css("#id_cron").send_keys("61 2 * * *")
    browser.follow(browser.css("input[name=_save]"))
    assert "Five fields" in browser.css(".errorlist").text  # the checks of JOBQUEUE_CRON
    browser.shot(f"42-{theme}-periodicjob-change-error")
    browser.get(f"{ADMIN}cron/")
    rows = browser.css("#result_list").text
    assert "JOBQUEUE_CRON, read-only" in rows and "editable" in rows and "Paused" in rows
    browser.shot(f"43-{theme}-periodic-jobs-with-table")
    browser.follow(browser.css("#cron-nightly-export a.jq-cron-edit"))
    assert browser.path.startswith(table)
    browser.driver.execute_script("localStorage.removeItem('theme');")


def test_a_user_without_permission_is_refused(browser, jq, run_jobs):
    q = jq("default")
    failed = q.enqueue(jobs.fail)
    run_jobs()
    browser.login("viewer")
    browser.get(f"{ADMIN}queues/default/jobs/{failed.id}/")
    assert "Traceback" in browser.text
    assert not browser.all(".object-tools a")  # no action offered
    assert not browser.all("#action-toggle")
    browser.get(f"{ADMIN}queues/default/jobs/{failed.id}/requeue/")
    assert "403" in browser.text or "Forbidden" in browser.text
    assert failed.get_status() == "failed"
    browser.get(f"{ADMIN}queues/default/failed/")
    assert failed.id in browser.css("#result_list").text
    browser.shot("09-viewer-failed-list")


def test_dark_theme(browser, jq, run_jobs):
    q = jq("default")
    q.enqueue(jobs.add, 1, 2)
    q.enqueue(jobs.fail)
    run_jobs()
    browser.login("superuser")
    browser.get(ADMIN)
    browser.driver.execute_script("localStorage.setItem('theme', 'dark');")
    browser.get(ADMIN)
    browser.shot("10-overview-dark")
    browser.get(f"{ADMIN}queues/default/failed/")
    browser.shot("11-failed-list-dark")
    browser.driver.execute_script("localStorage.removeItem('theme');")


# -- themes and narrow screens -------------------------------------------------------------

#: Every state a badge or a graph node can show: jobs' and workers'.
STATES = (
    "queued",
    "started",
    "deferred",
    "scheduled",
    "rate_limited",
    "finished",
    "failed",
    "stopped",
    "canceled",
    "missing",
    "idle",
    "busy",
    "suspended",
)

#: The WCAG contrast ratio of each badge's text and background, and of each graph
#: node's text and box; states are added to the page so that all are measured.
CONTRASTS_JS = """
const states = arguments[0];
const main = document.querySelector('#content-main') || document.body;
const probe = document.createElement('div');
probe.id = 'jq-probe';
probe.innerHTML = states.map(s => `<span class="jq-status jq-status-${s}">${s}</span>`).join(' ')
  + '<div class="jq-graph"><svg width="10" height="10">' + states.map(s =>
    `<g class="jq-node jq-node-${s}"><rect width="5" height="5"/><text>${s}</text>`
    + `<text class="jq-node-status">${s}</text></g>`).join('') + '</svg></div>';
main.appendChild(probe);
function rgb(text) {
  const m = text.match(/rgba?\\(([^)]+)\\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
  return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
}
function background(el) {
  for (; el; el = el.parentElement) {
    const c = rgb(getComputedStyle(el).backgroundColor);
    if (c && c.a > 0) return c;
  }
  return {r: 255, g: 255, b: 255, a: 1};
}
function luminance(c) {
  const f = v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
}
function ratio(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
const out = [];
for (const el of document.querySelectorAll('.jq-status')) {
  const name = [...el.classList].find(c => c.startsWith('jq-status-')) || 'jq-status';
  out.push([name, el.closest('#jq-probe') ? 'probe' : 'page',
            ratio(rgb(getComputedStyle(el).color), background(el))]);
}
for (const node of document.querySelectorAll('g.jq-node')) {
  const name = [...node.classList].find(c => c.startsWith('jq-node-') && c !== 'jq-node-self');
  const box = rgb(getComputedStyle(node.querySelector('rect')).fill);
  for (const text of node.querySelectorAll('text')) {
    out.push([name + (text.classList.contains('jq-node-status') ? ' status' : ' id'),
              node.closest('#jq-probe') ? 'probe' : 'page',
              ratio(rgb(getComputedStyle(text).fill), box)]);
  }
}
probe.remove();
return out;
"""


def _theme(browser, theme: str) -> None:
    """ "light", "dark" (the admin's toggle), or "auto-dark" (the system's preference)."""
    browser.driver.execute_script(
        "localStorage.setItem('theme', arguments[0]);", "auto" if theme == "auto-dark" else theme
    )
    browser.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {
            "features": [
                {
                    "name": "prefers-color-scheme",
                    "value": "dark" if theme == "auto-dark" else "light",
                }
            ]
        },
    )


@pytest.fixture
def every_state(jq, run_jobs, key_prefix):
    """Jobs in every state on 'default', a dependency chain through several, a busy worker."""
    from django_jobqueue.engine.worker import stop_job

    q = jq("default")
    finished = q.enqueue(jobs.add, 1, 1, job_id="finished-job")
    failed = q.enqueue(jobs.fail, "broken", job_id="failed-job")
    run_jobs()
    canceled = q.enqueue(jobs.add, 2, 2, job_id="canceled-job")
    canceled.cancel()
    scheduled = q.enqueue_in(3600, jobs.add, 3, 3, job_id="scheduled-job")
    worker = Worker([q], connection=q.connection, prefix=key_prefix, name="busy-worker")
    worker.register_birth()
    stopped = q.enqueue(jobs.add, 4, 4, job_id="stopped-job")
    worker.dequeue()
    worker.register_death()
    stop_job(stopped)
    worker = Worker([q], connection=q.connection, prefix=key_prefix, name="busy-worker")
    worker.register_birth()
    running = q.enqueue(
        jobs.echo,
        "a rather long argument to see how the call wraps",
        record_identifier="customer-invoice-2026-000123",
        job_id="running-job",
    )
    worker.current_job = worker.dequeue()
    worker.current_job.set_progress(420, 1000, "copying invoices")
    worker.heartbeat()
    queued = q.enqueue(jobs.add, 5, 5, depends_on=[finished, scheduled], job_id="queued-job")
    deferred = q.enqueue(
        jobs.add, 6, 6, depends_on=[finished, scheduled, running, failed], job_id="deferred-job"
    )
    q.enqueue(jobs.add, 7, 7, depends_on=deferred, job_id="child-job")
    for i in range(3):
        q.enqueue(jobs.add, i, i)
    try:
        yield {"queued": queued, "deferred": deferred, "running": running, "failed": failed}
    finally:
        worker.register_death()


@pytest.mark.parametrize("theme", ["light", "dark", "auto-dark"])
def test_every_state_reads_well_in_each_theme(browser, every_state, theme):
    browser.login("superuser")
    browser.get(ADMIN)
    _theme(browser, theme)
    pages = [
        f"{ADMIN}queues/default/jobs/deferred-job/",
        f"{ADMIN}queues/default/",
        f"{ADMIN}queues/default/started/",
        f"{ADMIN}queues/default/failed/",
        f"{ADMIN}workers/",
    ]
    try:
        for number, path in enumerate(pages):
            browser.get(path)
            mode = browser.driver.execute_script(
                "return getComputedStyle(document.documentElement).colorScheme"
            )
            assert ("dark" in mode) == (theme != "light"), mode
            contrasts = browser.driver.execute_script(CONTRASTS_JS, list(STATES))
            seen = {name for name, where, _ in contrasts if where == "page"}
            low = [(n, w, round(r, 2)) for n, w, r in contrasts if r < 4.5]
            assert not low, f"{path}: {low}"
            assert len(contrasts) >= 3 * len(STATES)
            if number == 0:
                assert {"jq-node-finished id", "jq-node-deferred status"} <= seen
            browser.shot(f"20-{theme}-{number}-{path.strip('/').replace('/', '-')}")
    finally:
        _theme(browser, "light")
        browser.driver.execute_script("localStorage.removeItem('theme');")


#: What each table of the page does at this width; see test_tables_fit_narrow_and_wide_screens.
LAYOUT_JS = """
const out = {pageOverflow: document.documentElement.scrollWidth - window.innerWidth, tables: []};
function scrollBox(el) {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll') return p;
  }
  return null;
}
function lineBreaks(cell) {
  // The character before each line break in the cell's text.
  const found = [];
  let prev = null, top = null;
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getBoundingClientRect();
      if (!rect.width && !rect.height) continue;
      if (top !== null && rect.top > top + rect.height / 2) found.push(prev);
      top = rect.top; prev = node.data[i];
    }
  }
  return found;
}
function lines(el) {
  const range = document.createRange();
  range.selectNodeContents(el);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
}
for (const table of document.querySelectorAll('#content-main table')) {
  const box = scrollBox(table);
  const t = table.getBoundingClientRect();
  const info = {
    id: table.id || table.className,
    boxRight: box ? box.getBoundingClientRect().right : null,
    clippedHeaders: [], idShare: null, callBreaks: [], multiLineDates: [],
  };
  for (const th of table.querySelectorAll('thead th')) {
    const span = th.querySelector('.text span') || th;
    if (span.scrollWidth > span.clientWidth + 1 || th.getBoundingClientRect().right > t.right + 1)
      info.clippedHeaders.push(th.textContent.trim());
  }
  const idCell = table.querySelector('tbody th.jq-id');
  if (idCell) info.idShare = idCell.getBoundingClientRect().width / t.width;
  for (const cell of table.querySelectorAll('.jq-call')) info.callBreaks.push(...lineBreaks(cell));
  for (const cell of table.querySelectorAll('tbody td')) {
    const text = cell.textContent.trim();
    if (/^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d/.test(text) && lines(cell) > 1)
      info.multiLineDates.push(text);
  }
  out.tables.push(info);
}
return out;
"""


@pytest.mark.parametrize("width", [390, 1366])
def test_tables_fit_narrow_and_wide_screens(browser, every_state, width):
    """Tables scroll in their own box; headers whole; narrow ids; calls and dates unbroken."""
    browser.login("superuser")
    size = browser.driver.get_window_size()
    browser.driver.set_window_size(width, 900)
    inner = browser.driver.execute_script("return window.innerWidth")
    pages = [
        ADMIN,
        f"{ADMIN}queues/default/",
        f"{ADMIN}queues/default/started/",
        f"{ADMIN}queues/default/failed/",
        f"{ADMIN}queues/default/scheduled/",
        f"{ADMIN}queues/default/jobs/deferred-job/",
        f"{ADMIN}queues/default/jobs/running-job/",
        f"{ADMIN}workers/",
    ]
    problems = []
    try:
        for number, path in enumerate(pages):
            browser.get(path)
            layout = browser.driver.execute_script(LAYOUT_JS)
            browser.shot(f"30-{width}-{number}-{path.strip('/').replace('/', '-')}")
            if layout["pageOverflow"] > 0:
                problems.append((path, "the page scrolls sideways", layout["pageOverflow"]))
            for table in layout["tables"]:
                where = (path, table["id"])
                if table["boxRight"] is None or table["boxRight"] > inner + 1:
                    problems.append((*where, "no scroll box of its own", table["boxRight"]))
                if table["clippedHeaders"]:
                    problems.append((*where, "clipped headers", table["clippedHeaders"]))
                if table["idShare"] is not None and table["idShare"] > 0.2 and width > 1000:
                    problems.append((*where, "the ID column is wide", table["idShare"]))
                bad = [c for c in table["callBreaks"] if c not in ".,( =/-"]
                if bad:
                    problems.append((*where, "calls broken inside a name", bad))
                if table["multiLineDates"]:
                    problems.append((*where, "dates on two lines", table["multiLineDates"]))
    finally:
        browser.driver.set_window_size(size["width"], size["height"])
    assert not problems, "\n".join(map(str, problems))


# -- finding jobs: filters, sort, what deferred jobs wait on -------------------------------


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_filter_sort_and_see_what_deferred_jobs_wait_on(browser, jq, run_jobs, theme):
    from selenium.webdriver.support.select import Select

    q = jq("default")
    for i in range(4):
        q.enqueue(jobs.fail, f"disk full on /srv/{i}", job_id=f"disk-{i}")
    for i in range(3):
        q.enqueue(jobs.fail, "No route to host", job_id=f"route-{i}")
    q.enqueue(jobs.soak, 1, fail_always=True, job_id="soak-1")
    run_jobs()
    parent = q.enqueue(jobs.add, 1, 1, job_id="parent")
    q.enqueue(jobs.add, 2, 2, depends_on=[parent, "disk-0"], job_id="waits-on-a-failure")
    q.enqueue(jobs.add, 3, 3, depends_on=parent, job_id="waits-fine")
    gone = q.enqueue(jobs.add, 4, 4, job_id="gone")
    q.enqueue(jobs.add, 5, 5, depends_on=gone, job_id="waits-on-nothing")
    gone.delete()
    browser.login("superuser")
    browser.get(ADMIN)
    _theme(browser, theme)
    try:
        # Filter the failed list by typing in its form, then sort by a column.
        browser.get(f"{ADMIN}queues/default/failed/")
        browser.css("#jq-filters input[name=func]").send_keys("jobs.fail")
        browser.css("#jq-filters input[name=exc]").send_keys("disk")
        browser.follow(browser.css("#jq-filters input[type=submit]"))
        assert "func=jobs.fail" in browser.path and "exc=disk" in browser.path
        assert "4 jobs match" in browser.css(".jq-filter-summary").text
        browser.follow(browser.css("#result_list th.sortable a[href*='o=-func']"))
        assert "o=-func" in browser.path
        # One function: ties keep the list's own order, newest first.
        assert [a.text for a in browser.all("#result_list tbody th a")] == [
            "disk-3",
            "disk-2",
            "disk-1",
            "disk-0",
        ]
        browser.shot(f"40-{theme}-failed-filtered-sorted")
        # Tick every row shown, delete: the confirmation lists those four.
        browser.css("#action-toggle").click()
        Select(browser.css("select[name=action]")).select_by_value("delete")
        browser.follow(browser.css("button[name=index]"))
        assert "Delete 4 failed jobs" in browser.css("#question").text
        # disk-0 has a deferred dependent: the confirmation says it would wait forever.
        assert "1 deferred job depends on the jobs deleted" in browser.css(".jq-stranded").text
        browser.shot(f"41-{theme}-confirm-delete-warns")
        browser.driver.back()
        # The Deferred list: parents, their status, and who waits forever.
        browser.get(f"{ADMIN}queues/default/deferred/")
        rows = {
            row.find_element("css selector", "th").text: row.text
            for row in browser.all("#result_list tbody tr")
        }
        assert set(rows) == {"waits-on-a-failure", "waits-fine", "waits-on-nothing"}
        assert "waits forever" in rows["waits-on-a-failure"]
        assert "waits forever" in rows["waits-on-nothing"]
        assert "deleted or expired" in rows["waits-on-nothing"]
        assert "waits forever" not in rows["waits-fine"]
        contrasts = browser.driver.execute_script(CONTRASTS_JS, list(STATES))
        low = [(n, w, round(r, 2)) for n, w, r in contrasts if r < 4.5]
        assert not low, low
        browser.shot(f"42-{theme}-deferred-waits-on")
        # Requeue all the jobs a filter matches: the confirmation names the filter.
        browser.get(
            f"{ADMIN}queues/default/failed/bulk/?action=requeue&select_across=1&exc=No+route"
        )
        assert "Requeue 3 failed jobs" in browser.css("#question").text
        assert "exception contains “No route”" in browser.css(".jq-confirm-note").text
        browser.shot(f"43-{theme}-confirm-requeue-matching")
    finally:
        _theme(browser, "light")
        browser.driver.execute_script("localStorage.removeItem('theme');")
