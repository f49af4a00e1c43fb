"""The Paginator adapter: a count and one range read per page."""

from __future__ import annotations

from django.core.paginator import Paginator

from django_jobqueue.dashboard.pagination import JobRange, queue_range, registry_range
from tests.engine import jobs


def test_job_range_reads_only_the_slice_it_is_asked_for():
    reads = []
    ids = [f"j{i}" for i in range(103)]

    def read(start, stop):
        reads.append((start, stop))
        return ids[start:stop]

    source = JobRange(len(ids), read, lambda chunk: [None] * len(chunk))
    paginator = Paginator(source, 25)
    assert paginator.num_pages == 5
    page = paginator.page(5)
    assert [job_id for job_id, _ in page.object_list] == ["j100", "j101", "j102"]
    assert reads == [(100, 103)]
    assert source[200:300] == [] and source[5:5] == []


def test_queue_range_pages_across_priorities_list_and_priorities(jq):
    q = jq("default")
    for i in range(4):
        q.enqueue_call(jobs.add, args=(i, i), job_id=f"hi{i}", priority=10)
    for i in range(5):
        q.enqueue(jobs.add, i, i, job_id=f"mid{i}")
    for i in range(3):
        q.enqueue_call(jobs.add, args=(i, i), job_id=f"lo{i}", priority=-10)
    expected = list(reversed(q.get_job_ids()))
    source = queue_range(q)
    assert len(source) == 12
    for size in (1, 2, 5, 7, 12):
        got = []
        for number in Paginator(source, size).page_range:
            got += [job_id for job_id, _ in Paginator(source, size).page(number).object_list]
        assert got == expected, size
    ((job_id, job),) = source[3:4]
    assert job_id == expected[3] and job.id == job_id


def test_registry_range_is_newest_first(jq, run_jobs):
    q = jq("default")
    for i in range(6):
        q.enqueue(jobs.fail, job_id=f"f{i}", failure_ttl=100 + i)
    run_jobs()
    source = registry_range(q, q.failed_job_registry)
    assert [job_id for job_id, _ in source[0:4]] == ["f5", "f4", "f3", "f2"]
    assert [job_id for job_id, _ in source[4:10]] == ["f1", "f0"]
