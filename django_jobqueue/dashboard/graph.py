"""A job's dependency chain: every ancestor and every dependent, laid out in layers.

Jobs name their parents (``deps``) and children (``dependents``) by job key,
which carries the queue, so chains may cross queues. The chain is read one
generation at a time, each in one pipeline; a key whose job is gone (deleted
or expired) becomes a node without status. Layers are longest paths from the
job, so in a diamond the join sits below both branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.keys import KeySpace
from ..engine.utils import as_shown, json_strings

#: Nodes read at most; a larger chain is cut (and says so).
MAX_NODES = 200

NODE_WIDTH = 200
NODE_HEIGHT = 46
H_GAP = 24
V_GAP = 42
MARGIN = 8


@dataclass
class Node:
    key: str
    queue: str
    id: str
    status: str | None = None
    description: str = ""
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    role: str = "ancestor"  # "ancestor", "self" or "dependent"
    layer: int = 0
    x: int = 0
    y: int = 0
    #: Filled in by the job page: a link (None when the job is gone or its
    #: queue is not configured here), the status as shown to people and the call.
    url: str | None = None
    status_label: str = ""
    #: The description, marked up to wrap between names (see ``display.breakable``).
    call: str = ""

    @property
    def missing(self) -> bool:
        return self.status is None

    @property
    def short_id(self) -> str:
        return self.id if len(self.id) <= 24 else self.id[:23] + "\u2026"

    @property
    def cx(self) -> int:
        return self.x + NODE_WIDTH // 2


@dataclass
class Edge:
    parent: Node
    child: Node

    @property
    def path(self) -> str:
        x1, y1 = self.parent.cx, self.parent.y + NODE_HEIGHT
        x2, y2 = self.child.cx, self.child.y - 4
        mid = (y1 + y2) // 2
        return f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    truncated: bool

    @property
    def is_trivial(self) -> bool:
        return len(self.nodes) <= 1


def _read(connection: Any, keys: list[str]) -> list[list[Any]]:
    pipe = connection.pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, ["status", "desc", "deps", "dependents", "func"])
    return pipe.execute()


def dependency_graph(
    connection: Any, ks: KeySpace, job_key: str, max_nodes: int = MAX_NODES
) -> Graph:
    """Read and lay out the chain around ``job_key`` (on ``connection``)."""
    nodes: dict[str, Node] = {}
    truncated = False

    def add(key: str, role: str) -> list[Node]:
        nonlocal truncated
        if key in nodes:
            return []
        if len(nodes) >= max_nodes:
            truncated = True
            return []
        try:
            queue, job_id = ks.split_job_key(key)
        except ValueError:
            return []
        node = nodes[key] = Node(key=key, queue=queue, id=job_id, role=role)
        return [node]

    root = add(job_key, "self")[0]
    # Parents upwards from ancestors, children downwards from dependents: one
    # generation (in both directions) per round trip.
    frontier = [root]
    while frontier:
        found: list[Node] = []
        for node, (status, desc, deps, dependents, func) in zip(
            frontier, _read(connection, [n.key for n in frontier])
        ):
            # As text whatever another program wrote there (see UnreadableJob).
            node.status = as_shown(status)
            # Without a stored description, the function's name (its arguments
            # would need unpickling with each queue's serializer).
            node.description = as_shown(desc) or (f"{as_shown(func)}(\u2026)" if func else "")
            node.parents = json_strings(deps)
            node.children = json_strings(dependents)
            if node.role != "dependent":
                for key in node.parents:
                    found += add(key, "ancestor")
            if node.role != "ancestor":
                for key in node.children:
                    found += add(key, "dependent")
        frontier = found
    # A link is known from either end (a vanished job knows neither).
    links = {(p, n.key) for n in nodes.values() for p in n.parents if p in nodes}
    links |= {(n.key, c) for n in nodes.values() for c in n.children if c in nodes}
    _assign_layers(nodes, links)
    width, height = _place(nodes, links)
    edges = [Edge(nodes[p], nodes[c]) for p, c in sorted(links)]
    return Graph(list(nodes.values()), edges, width, height, truncated)


def _assign_layers(nodes: dict[str, Node], links: set[tuple[str, str]]) -> None:
    """Ancestors get negative layers, dependents positive ones: longest paths to the job."""
    for node in nodes.values():
        node.layer = {"ancestor": -1, "self": 0, "dependent": 1}[node.role]
    for _ in range(len(nodes)):
        changed = False
        for parent, child in links:
            up, down = nodes[parent], nodes[child]
            if up.role == "ancestor" and up.layer > down.layer - 1:
                up.layer, changed = down.layer - 1, True
            if down.role == "dependent" and down.layer < up.layer + 1:
                down.layer, changed = up.layer + 1, True
        if not changed:
            break


def _place(nodes: dict[str, Node], links: set[tuple[str, str]]) -> tuple[int, int]:
    layers: dict[int, list[Node]] = {}
    for node in nodes.values():
        layers.setdefault(node.layer, []).append(node)
    order = sorted(layers)
    widest = max(len(layers[k]) for k in order)
    width = widest * NODE_WIDTH + (widest - 1) * H_GAP + 2 * MARGIN
    position: dict[str, float] = {}
    for row, layer in enumerate(order):
        members = layers[layer]
        # Put each node under the average position of its parents already placed.
        members.sort(key=lambda n: _barycenter(n, links, position))
        span = len(members) * NODE_WIDTH + (len(members) - 1) * H_GAP
        left = (width - span) // 2
        for i, node in enumerate(members):
            node.x = left + i * (NODE_WIDTH + H_GAP)
            node.y = MARGIN + row * (NODE_HEIGHT + V_GAP)
            position[node.key] = node.x
    height = len(order) * NODE_HEIGHT + (len(order) - 1) * V_GAP + 2 * MARGIN
    return width, height


def _barycenter(node: Node, links: set[tuple[str, str]], position: dict[str, float]) -> float:
    placed = [position[p] for p, c in links if c == node.key and p in position]
    return sum(placed) / len(placed) if placed else float("inf")
