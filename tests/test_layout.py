"""The package's modules import each other one way: no import cycles.

Every import statement is an edge: at module level, in class bodies, under
``if``/``try``, and inside functions too. An import moved into a function
breaks the cycle at import time only; the two modules still need each other,
which is what this test is about. Imports under ``if TYPE_CHECKING:`` do not
count: they never run (annotations may name a module above). Nor do those
in a module's ``__getattr__`` (PEP 562): it only keeps a name importable from
the module that held it before it moved to one that imports this one.

Importing ``a.b.c`` also runs the ``__init__`` of ``a.b`` (unless the
importer lives inside ``a.b``, where it already ran), so that is an edge too.

Run ``python tests/test_layout.py`` to print the cycles, with ``--module-level``
to leave imports inside functions out.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "django_jobqueue"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: Cycles being taken apart elsewhere; each entry is a cycle's module set, such
#: as ``frozenset({f"{PACKAGE}.engine.worker", f"{PACKAGE}.engine.execution"})``.
ALLOWED: list[frozenset[str]] = []


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, functions: bool = True) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                if functions and not (node is tree and getattr(child, "name", "") == "__getattr__"):
                    visit(child)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]))
            else:
                visit(child)

    visit(tree)
    return found


def import_graph(functions: bool = True) -> dict[str, set[str]]:
    """Module -> the package's modules (and packages) that importing it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), str(path)), functions):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                base_name = ".".join(base + ([node.module] if node.module else []))
            else:
                base_name = node.module or ""
            targets.add(base_name)
            for alias in node.names:  # `from . import x` imports module x
                if f"{base_name}.{alias.name}" in modules:
                    targets.add(f"{base_name}.{alias.name}")
        for target in targets:
            parts = target.split(".")
            for end in range(1, len(parts) + 1):
                dotted = ".".join(parts[:end])
                # The importer's own packages are already being imported.
                if dotted in modules and dotted != name and not name.startswith(dotted + "."):
                    graph[name].add(dotted)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _describe(component: frozenset[str], graph: dict[str, set[str]]) -> str:
    edges = [
        f"  {a.removeprefix(PACKAGE + '.')} -> {b.removeprefix(PACKAGE + '.')}"
        for a in sorted(component)
        for b in sorted(graph[a] & component)
    ]
    return "\n".join(edges)


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    found = [c for c in cycles(graph) if not any(c <= allowed for allowed in ALLOWED)]
    assert not found, "Import cycles (module-level imports):\n" + "\n\n".join(
        _describe(c, graph) for c in found
    )


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]


def test_allowed_cycles_still_exist():
    """An allowance outliving its cycle is removed, so the cycle cannot come back unseen."""
    found = cycles(import_graph())
    gone = [sorted(a) for a in ALLOWED if not any(c & a for c in found)]
    assert not gone, f"cycles gone: drop them from ALLOWED: {gone}"


#: Underscored names that are other libraries' public API, or that we must read.
FOREIGN_PRIVATE_OK = {
    "_meta": "Django's documented model Options API",
    "_exit": "os._exit, the only way out of a forked child",
    "_replace": "namedtuple's public API",
    "_asdict": "namedtuple's public API",
    "_out": "the stream Django's OutputWrapper wraps: a log handler on the wrapper "
    "would style every worker log line as an error",
}


def private_reads() -> list[str]:
    """``obj._name`` in a module that neither defines nor assigns ``_name`` itself.

    A module may use the underscored names of its own classes and objects
    (those it defines, or assigns as attributes); reading another module's is
    reaching into state that module does not promise to keep.
    """
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        own = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or node.attr in own:
                continue
            if not node.attr.startswith("_") or node.attr.startswith("__"):
                continue
            if node.attr in FOREIGN_PRIVATE_OK:
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            where = path.relative_to(ROOT.parent)
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reads_the_private_names_of_another():
    assert private_reads() == []


def test_the_private_read_finder_finds_them(tmp_path, monkeypatch):
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "a.py").write_text("class A:\n    def __init__(self):\n        self._mine = 1\n")
    (package / "b.py").write_text("def peek(a):\n    return a._mine, a._meta\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", package)
    assert private_reads() == [f"{PACKAGE}/b.py:2: a._mine"]


if __name__ == "__main__":
    graph = import_graph(functions="--module-level" not in sys.argv)
    for component in cycles(graph):
        print(_describe(component, graph), end="\n\n")
