"""Reading and laying out dependency chains."""

from __future__ import annotations

from django_jobqueue.dashboard.graph import NODE_HEIGHT, NODE_WIDTH, dependency_graph
from tests.engine import jobs


def test_a_job_alone_is_a_trivial_graph(jq):
    q = jq("default")
    job = q.enqueue(jobs.add, 1, 2)
    graph = dependency_graph(q.connection, q.keys, job.key)
    assert graph.is_trivial and graph.nodes[0].role == "self" and not graph.edges


def test_a_long_chain_is_layered_and_placed(jq, run_jobs):
    q = jq("default")
    chain = [q.enqueue(jobs.add, 0, 0, job_id="c0")]
    for i in range(1, 6):
        chain.append(q.enqueue(jobs.add, i, i, job_id=f"c{i}", depends_on=chain[-1]))
    graph = dependency_graph(q.connection, q.keys, chain[2].key)
    layers = {n.id: n.layer for n in graph.nodes}
    assert layers == {"c0": -2, "c1": -1, "c2": 0, "c3": 1, "c4": 2, "c5": 3}
    ys = sorted({n.y for n in graph.nodes})
    assert len(ys) == 6 and ys[1] - ys[0] > NODE_HEIGHT
    assert graph.width >= NODE_WIDTH and graph.height > 6 * NODE_HEIGHT
    assert all(e.path.startswith("M") for e in graph.edges)


def test_a_huge_chain_is_cut(jq):
    q = jq("default")
    parent = q.enqueue(jobs.add, 0, 0, job_id="p")
    for i in range(30):
        q.enqueue(jobs.add, i, i, job_id=f"k{i}", depends_on=parent)
    graph = dependency_graph(q.connection, q.keys, parent.key, max_nodes=10)
    assert graph.truncated and len(graph.nodes) == 10
    # Ten siblings in one layer sit side by side.
    assert len({n.x for n in graph.nodes if n.layer == 1}) == 9
