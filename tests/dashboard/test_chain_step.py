"""The job page's row for a step of a chain (``_chain_step.html``)."""

from __future__ import annotations

from django.template.loader import render_to_string

from django_jobqueue.engine import Job
from tests.django import tasks

TEMPLATE = "django_jobqueue/dashboard/_chain_step.html"


def _job(chain):
    job = Job.create(tasks.add, (1, 2))
    job.chain = chain
    return job


def test_a_later_step_says_where_it_stands_and_what_it_is_given():
    html = render_to_string(TEMPLATE, {"job": _job({"step": 2, "of": 3, "prev": "k1"})})
    assert 'id="job-chain"' in html
    assert "step 2 of 3" in html
    assert "result of the step before" in html


def test_the_first_step_is_given_nothing():
    html = render_to_string(TEMPLATE, {"job": _job({"step": 1, "of": 3, "next": "k2"})})
    assert "step 1 of 3" in html
    assert "result of the step before" not in html


def test_a_job_outside_any_chain_has_no_row():
    assert render_to_string(TEMPLATE, {"job": _job(None)}).strip() == ""


def test_the_job_page_of_a_step_shows_the_row(as_user, jq):
    from django_jobqueue.engine import Chain, Step

    from .conftest import ADMIN

    admin = as_user("superuser")
    chain = Chain(Step(tasks.add, 1, 2), Step(tasks.add, 3)).enqueue(jq("default"))
    second = chain.jobs[1]
    html = admin.get(ADMIN + f"queues/default/jobs/{second.id}/").content.decode()
    assert 'id="job-chain"' in html and "step 2 of 2" in html
    other = jq("default").enqueue(tasks.add, 1, 2)
    assert (
        'id="job-chain"'
        not in admin.get(ADMIN + f"queues/default/jobs/{other.id}/").content.decode()
    )
