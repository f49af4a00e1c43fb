"""Webhooks: an HTTP request a worker sends when a job has ended (RQ's ``Webhook``).

A job enqueued with ``webhooks=[Webhook(url, "finished"), ...]`` keeps them,
as JSON, in its hash. Once the job's outcome is recorded (see
:mod:`.outcome`), each webhook whose ``job_status`` is the job's final status
is sent, one after the other, by the process that recorded it: a ``finished``
one after a success, a ``failed`` one after a failure that is not retried
(never for a stopped job, nor for an attempt that will be retried).

Delivery is best effort, at most once: one request per webhook, no retry; an
error (refused connection, timeout, HTTP error status) is logged and
swallowed, so a webhook never changes a job's outcome or stops a worker.
Sending blocks the worker for up to ``timeout`` seconds per webhook. Only the
standard library is used (:mod:`urllib.request`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

if TYPE_CHECKING:
    from .job import Job

logger = logging.getLogger("django_jobqueue.webhook")

#: The final statuses a webhook can be sent for.
STATUSES = ("finished", "failed")
METHODS = ("GET", "POST")
#: Seconds a webhook's request may take unless told otherwise.
DEFAULT_TIMEOUT = 10


@dataclass(init=False, eq=True)
class Webhook:
    """An HTTP request to make when a job ends with ``job_status``.

    Args:
        url: an ``http://`` or ``https://`` URL.
        job_status: ``"finished"`` or ``"failed"``: the outcome it is sent for.
        method: ``"GET"`` (no body) or ``"POST"`` (a JSON body, see
            :meth:`get_payload`).
        headers: extra request headers, or None.
        timeout: seconds the request may take, a whole number above 0.

    Raises:
        ValueError: a bad URL, status, method or timeout.
        TypeError: headers that are not a dict.
    """

    url: str
    job_status: Literal["finished", "failed"]
    method: Literal["GET", "POST"]
    headers: dict[str, str] | None
    timeout: int

    def __init__(
        self,
        url: str,
        job_status: Literal["finished", "failed"],
        *,
        method: Literal["GET", "POST"] = "GET",
        headers: dict[str, str] | None = None,
        timeout: int = DEFAULT_TIMEOUT,
    ) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Webhook url must be an http:// or https:// URL, not {url!r}.")
        if job_status not in STATUSES:
            raise ValueError(
                f"Webhook job_status must be 'finished' or 'failed', not {job_status!r}."
            )
        if method not in METHODS:
            raise ValueError(f"Webhook method must be 'GET' or 'POST', not {method!r}.")
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"Webhook headers must be a dict, not {type(headers).__name__}.")
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
            raise ValueError(
                f"Webhook timeout must be a whole number of seconds above 0, not {timeout!r}."
            )
        self.url = url
        self.job_status = job_status
        self.method = method
        self.headers = dict(headers) if headers else None
        self.timeout = timeout

    def to_dict(self) -> dict[str, Any]:
        """The webhook as JSON-ready data (as a job's hash keeps it)."""
        return {
            "url": self.url,
            "job_status": self.job_status,
            "method": self.method,
            "headers": self.headers,
            "timeout": self.timeout,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Webhook:
        """A webhook from :meth:`to_dict`'s data, checked again."""
        return cls(
            data["url"],
            data["job_status"],
            method=data.get("method", "GET"),
            headers=data.get("headers"),
            timeout=data.get("timeout", DEFAULT_TIMEOUT),
        )

    def get_payload(self, job: Job, *, exc_string: str | None = None) -> dict[str, Any]:
        """The JSON body of a POST: the job's id, function, status and times.

        A ``failed`` webhook adds ``exc_info`` (the traceback text). The
        result and the arguments are never sent.
        """
        payload: dict[str, Any] = {
            "job_id": job.id,
            "func_name": job.func_name,
            "status": self.job_status,
            "enqueued_at": _iso(job.enqueued_at),
            "ended_at": _iso(job.ended_at),
        }
        if self.job_status == "failed":
            payload["exc_info"] = exc_string
        return payload

    def send(self, job: Job, *, exc_string: str | None = None) -> bool:
        """Make the request once; returns whether it got a 2xx/3xx answer.

        Never raises: every error is logged as a warning.
        """
        try:
            headers = dict(self.headers or {})
            data = None
            if self.method == "POST":
                data = json.dumps(self.get_payload(job, exc_string=exc_string)).encode()
                headers = {"Content-Type": "application/json", **headers}
            request = Request(self.url, data=data, headers=headers, method=self.method)
            with urlopen(request, timeout=self.timeout):
                pass
        except Exception:
            logger.warning(
                "Webhook %s %s for job %s failed; the job is not affected.",
                self.method,
                self.url,
                job.id,
                exc_info=True,
            )
            return False
        return True


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def check(webhooks: Any) -> list[Webhook]:
    """``webhooks`` as a list, refusing anything but a sequence of :class:`Webhook`."""
    if isinstance(webhooks, (str, bytes, Webhook)) or not isinstance(webhooks, Sequence):
        raise TypeError("webhooks must be a list of Webhook(url, job_status) objects.")
    if not all(isinstance(webhook, Webhook) for webhook in webhooks):
        raise TypeError("webhooks must be a list of Webhook(url, job_status) objects.")
    return list(webhooks)


def dumps(webhooks: Sequence[Webhook]) -> str:
    return json.dumps([webhook.to_dict() for webhook in webhooks])


def loads(raw: Any) -> list[Webhook]:
    """The webhooks a job's hash keeps; [] (logged) when they cannot be read."""
    if not raw:
        return []
    try:
        return [Webhook.from_dict(data) for data in json.loads(raw)]
    except Exception:
        logger.warning("A job's webhooks could not be read; none will be sent.", exc_info=True)
        return []


def send_webhooks(job: Job, status: str, *, exc_string: str | None = None) -> None:
    """Send each of the job's webhooks for ``status``, in order; never raises."""
    for webhook in job.webhooks:
        if webhook.job_status == status:
            try:
                webhook.send(job, exc_string=exc_string)
            except Exception:  # a send() replaced by a subclass or a test
                logger.warning("Webhook for job %s failed.", job.id, exc_info=True)


__all__ = ["Webhook", "send_webhooks"]
