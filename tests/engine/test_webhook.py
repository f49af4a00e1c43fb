"""Webhooks: what is sent, when, and that a failing one harms nothing."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from django_jobqueue.engine import Job, Retry, Webhook

from . import jobs


class _Hooks(BaseHTTPRequestHandler):
    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/slow":
            time.sleep(3)
        self.server.seen.append((self.command, self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        self.send_response(500 if self.path == "/error" else 200)
        self.end_headers()

    do_GET = do_POST = _record

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"  # type: ignore[attr-defined]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _hooks(server, method="POST"):
    return [
        Webhook(f"{server.url}/done", "finished", method=method, headers={"X-Token": "t"}),
        Webhook(f"{server.url}/fail", "failed", method=method),
    ]


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("ftp://example.com", "finished"), {}),
        (("http://", "finished"), {}),
        (("http://example.com", "stopped"), {}),
        (("http://example.com", "finished"), {"method": "PUT"}),
        (("http://example.com", "finished"), {"timeout": 0}),
        (("http://example.com", "finished"), {"timeout": 1.5}),
    ],
)
def test_a_bad_webhook_is_refused(args, kwargs):
    with pytest.raises(ValueError):
        Webhook(*args, **kwargs)


def test_webhooks_must_be_a_list_of_webhook(queue):
    with pytest.raises(TypeError):
        queue.enqueue(jobs.add, 1, 1, webhooks=Webhook("http://example.com", "finished"))
    with pytest.raises(TypeError):
        queue.enqueue(jobs.add, 1, 1, webhooks=["http://example.com"])
    assert queue.count == 0


def test_webhooks_survive_redis_and_a_bad_field_reads_as_none(queue, redis_conn):
    hooks = [Webhook("http://a.example/x", "failed", method="POST", headers={"A": "b"}, timeout=3)]
    made = queue.enqueue(jobs.add, 1, 1, webhooks=hooks)
    fetch = lambda: Job.fetch(made.id, redis_conn, origin=queue.name, prefix=queue.keys.prefix)  # noqa: E731
    assert fetch().webhooks == hooks
    redis_conn.hset(made.key, "webhooks", "not json")
    assert fetch().webhooks == []


def test_a_finished_job_posts_its_finished_webhook_only(queue, make_worker, server):
    made = queue.enqueue(jobs.add, 1, 1, webhooks=_hooks(server))
    make_worker([queue]).work(burst=True)
    ((method, path, headers, body),) = server.seen
    assert (method, path, headers["X-Token"]) == ("POST", "/done", "t")
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload.pop("enqueued_at") and payload.pop("ended_at")
    assert payload == {
        "job_id": made.id,
        "func_name": "tests.engine.jobs.add",
        "status": "finished",
    }


def test_a_failed_job_sends_its_failed_webhook_with_the_traceback(queue, make_worker, server):
    queue.enqueue(jobs.fail, "kaput", webhooks=_hooks(server))
    make_worker([queue]).work(burst=True)
    ((method, path, _, body),) = server.seen
    assert (method, path) == ("POST", "/fail")
    assert "ValueError: kaput" in json.loads(body)["exc_info"]


def test_a_get_webhook_has_no_body(queue, make_worker, server):
    queue.enqueue(jobs.add, 1, 1, webhooks=_hooks(server, method="GET"))
    make_worker([queue]).work(burst=True)
    assert [(m, p, b) for m, p, _, b in server.seen] == [("GET", "/done", b"")]


def test_retried_attempts_send_nothing_the_final_failure_once(queue, make_worker, server):
    queue.enqueue(jobs.fail, webhooks=_hooks(server), retry=Retry(max=2))
    make_worker([queue]).work(burst=True, max_jobs=2)
    assert server.seen == []
    make_worker([queue]).work(burst=True)
    assert [p for _, p, _, _ in server.seen] == ["/fail"]


def test_the_forking_worker_sends_them_too(queue, make_worker, server):
    from django_jobqueue.engine import Worker

    queue.enqueue(jobs.add, 1, 1, webhooks=_hooks(server))
    make_worker([queue], cls=Worker).work(burst=True)
    assert [p for _, p, _, _ in server.seen] == ["/done"]


def test_an_inline_queue_sends_them(make_queue, server):
    make_queue("sync", is_async=False).enqueue(jobs.fail, webhooks=_hooks(server))
    assert [p for _, p, _, _ in server.seen] == ["/fail"]


def test_a_failing_webhook_changes_nothing(queue, make_worker, server, caplog):
    dead = Webhook("http://127.0.0.1:9/gone", "finished")  # nothing listens on port 9
    erring = Webhook(f"{server.url}/error", "finished", method="POST")
    slow = Webhook(f"{server.url}/slow", "finished", timeout=1)
    made = queue.enqueue(jobs.add, 2, 3, webhooks=[dead, erring, slow])
    after = queue.enqueue(jobs.add, 1, 1)
    started = time.monotonic()
    make_worker([queue]).work(burst=True)
    assert time.monotonic() - started < 2.5  # the slow endpoint cost its timeout, no more
    assert made.result == 5 and after.result == 2
    assert caplog.text.count("the job is not affected") == 3


def test_stopped_and_canceled_jobs_send_nothing(queue, make_worker, server):
    from django_jobqueue.engine.outcome import record_failure

    queue.enqueue(jobs.add, 1, 1, webhooks=_hooks(server)).cancel()
    queue.enqueue(jobs.add, 1, 1, webhooks=_hooks(server))
    worker = make_worker([queue])
    taken = worker.dequeue()
    assert record_failure(taken, "stopped on purpose", worker.name, status="stopped") == "stopped"
    assert server.seen == []


@pytest.mark.parametrize("retry", [None, Retry(max=1)])
def test_an_abandoned_job_sends_its_failed_webhook_once_it_is_failed(
    queue, make_worker, server, retry
):
    job = queue.enqueue(jobs.add, 1, 1, webhooks=_hooks(server), retry=retry)
    make_worker([queue], worker_ttl=1).dequeue()  # its worker then dies
    time.sleep(1.1)
    assert queue.started_job_registry.cleanup(timestamp=time.time() + 3600) == 1
    if retry is None:
        assert job.is_failed
        assert [p for _, p, _, _ in server.seen] == ["/fail"]
        body = json.loads(server.seen[0][3])
        assert body["job_id"] == job.id and "abandoned" in body["exc_info"]
    else:
        assert job.is_queued and server.seen == []
