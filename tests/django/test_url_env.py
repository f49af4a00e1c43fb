"""A queue's Redis URL from an environment variable (``URL_ENV``, ``JOBQUEUE_URL``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_jobqueue import get_queue
from django_jobqueue.conf import clear_cache, find_problems, get_settings


@pytest.fixture(autouse=True)
def _fresh_settings():
    clear_cache()
    yield
    clear_cache()


def problems_of(queue="default"):
    return [p for p in find_problems() if p.queue == queue]


def test_a_queue_reads_its_url_from_the_variable_it_names(settings, monkeypatch, redis_url):
    monkeypatch.setenv("MY_REDIS_URL", redis_url)
    settings.JOBQUEUE_QUEUES = {"default": {"URL_ENV": "MY_REDIS_URL"}}
    assert problems_of() == []
    assert get_settings().queue("default").connection.url == redis_url
    assert get_queue().connection.ping()


def test_the_variable_may_name_a_file_or_another_variable(
    settings, monkeypatch, tmp_path, redis_url
):
    secret = tmp_path / "redis_url"
    secret.write_text(redis_url + "\n")  # as secrets are often written
    monkeypatch.setenv("REDIS_URL_FILE", str(secret))
    monkeypatch.setenv("UPSTREAM", redis_url.replace("/0", "/3"))
    monkeypatch.setenv("OTHER_URL", "$UPSTREAM")
    settings.JOBQUEUE_QUEUES = {
        "default": {"URL_ENV": "REDIS_URL"},
        "high": {"URL_ENV": "OTHER_URL"},
    }
    assert find_problems() == []
    assert get_settings().queue("default").connection.url == redis_url
    assert get_settings().queue("high").connection.url.endswith("/3")


def test_an_unset_variable_is_named_and_breaks_that_queue_only(settings, monkeypatch, redis_url):
    monkeypatch.delenv("NOT_SET_URL", raising=False)
    settings.JOBQUEUE_QUEUES = {"default": {"URL": redis_url}, "low": {"URL_ENV": "NOT_SET_URL"}}
    (problem,) = problems_of("low")
    assert problem.id == "django_jobqueue.E021"
    assert problem.msg == (
        "JOBQUEUE_QUEUES['low']['URL_ENV'] names $NOT_SET_URL, "
        "which is not set (nor $NOT_SET_URL_FILE)."
    )
    assert "Set NOT_SET_URL to the queue's Redis URL" in problem.hint
    assert get_queue().connection.ping()  # the other queue works
    with pytest.raises(ImproperlyConfigured, match=r"\$NOT_SET_URL"):
        get_queue("low")


def test_a_bad_url_in_the_variable_names_the_variable_not_the_password(settings, monkeypatch):
    monkeypatch.setenv("BAD_URL", "redis://app:hunter22@db.example:99999/0")
    settings.JOBQUEUE_QUEUES = {"default": {"URL_ENV": "BAD_URL"}}
    (problem,) = problems_of()
    assert problem.id == "django_jobqueue.E012"
    assert problem.msg.startswith(
        "JOBQUEUE_QUEUES['default']['URL_ENV'] ($BAD_URL) has port '99999'"
    )
    assert "hunter22" not in str(problem)


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"URL_ENV": "X", "URL": "redis://localhost/0"}, "django_jobqueue.E003"),
        ({"URL_ENV": 42}, "django_jobqueue.E021"),
        ({"URL_ENV": ""}, "django_jobqueue.E021"),
    ],
)
def test_url_env_with_a_url_or_not_a_name_is_refused(settings, monkeypatch, options, check):
    monkeypatch.setenv("X", "redis://localhost/1")
    settings.JOBQUEUE_QUEUES = {"default": options}
    assert [p.id for p in problems_of()] == [check]


def test_without_queues_settings_jobqueue_url_is_the_default_queue(
    settings, monkeypatch, redis_url
):
    del settings.JOBQUEUE_QUEUES
    monkeypatch.setenv("JOBQUEUE_URL", redis_url.replace("/0", "/5"))
    assert get_settings().queue("default").connection.url.endswith("/5")
    monkeypatch.delenv("JOBQUEUE_URL")
    clear_cache()
    assert get_settings().queue("default").connection.url == "redis://127.0.0.1:6379/0"
