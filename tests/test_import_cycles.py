"""No two modules of our packages import each other, directly or round a longer circle.

The import graph comes from grimp (import-linter's graph library), which reads every
``import`` statement, those inside functions included: a function-local import hides a
circle from Python's import machinery but not from the design. Each strongly connected
component of more than one module of that graph is a circle; the test lists every one with
the imports (and their lines) that close it.

import-linter's ``acyclic_siblings`` contract in pyproject.toml checks the same thing at
package level in ``lint-imports``; this test is the module-level check, and the one that
names the modules and lines.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import numpy as np
import pytest

ROOT_PACKAGES = ("nasbench", "surrogates", "strategies")

#: Circles tolerated while a change removes them: none. An entry only tolerates a circle whose
#: modules all lie within it, so any new circle, or a known one that grows, still fails; the
#: test warns about entries that no longer match anything.
KNOWN_CIRCLES: dict[str, frozenset[str]] = {}


def import_graph(*packages: str) -> grimp.ImportGraph:
    """The import graph of ``packages`` (importable by name), function-local imports included."""
    return grimp.build_graph(*packages, cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Every import circle of ``graph``: its strongly connected components of two or more
    modules (scipy's ``connected_components(connection="strong")``).

    Returns:
        Each circle's module names, sorted; the circles sorted.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted(graph.modules)
    pos = {m: i for i, m in enumerate(names)}
    edges = [(pos[m], pos[t]) for m in names for t in graph.find_modules_directly_imported_by(m)]
    rows, cols = zip(*edges, strict=True) if edges else ((), ())
    adj = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(names), len(names)))
    _, label = connected_components(adj, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for m, lab in zip(names, label, strict=True):
        groups.setdefault(int(lab), []).append(m)
    return sorted(tuple(g) for g in groups.values() if len(g) > 1)


def unexplained(
    cycles: Iterable[tuple[str, ...]], known: Mapping[str, frozenset[str]]
) -> list[tuple[str, ...]]:
    """The circles that no entry of ``known`` covers (all their modules within one entry)."""
    return [c for c in cycles if not any(set(c) <= allowed for allowed in known.values())]


def describe(graph: grimp.ImportGraph, cycle: tuple[str, ...]) -> str:
    """A circle and every import inside it, with its line: what to cut to break it."""
    members = set(cycle)
    lines = ["circle of " + ", ".join(cycle) + ":"]
    for importer in cycle:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            for detail in graph.get_import_details(importer=importer, imported=imported) or [
                {"line_number": "?", "line_contents": ""}
            ]:
                lines.append(
                    f"    {importer}:{detail['line_number']} -> {imported}   {detail['line_contents']}"
                )
    return "\n".join(lines)


def test_no_two_modules_import_each_other() -> None:
    graph = import_graph(*ROOT_PACKAGES)
    cycles = import_cycles(graph)
    new = unexplained(cycles, KNOWN_CIRCLES)
    assert not new, "import circles (function-local imports count too):\n" + "\n".join(
        describe(graph, c) for c in new
    )
    stale = [name for name, allowed in KNOWN_CIRCLES.items() if not any(set(c) <= allowed for c in cycles)]
    if stale:
        warnings.warn(
            f"KNOWN_CIRCLES entries that match no circle any more, delete them: {stale}", stacklevel=1
        )


# ---- the detector itself, on a throwaway package ------------------------------------------
def _write_package(root: Path, name: str, modules: Mapping[str, str]) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for mod, body in modules.items():
        (pkg / f"{mod}.py").write_text(body)


@pytest.fixture
def circle_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> grimp.ImportGraph:
    """``circlepkg``: a <-> b at module level, c -> d -> e -> c through a function-local
    import, and f -> a outside any circle."""
    _write_package(
        tmp_path,
        "circlepkg",
        {
            "a": "from circlepkg import b\n",
            "b": "import circlepkg.a\n",
            "c": "from circlepkg.d import X\n",
            "d": "X = 1\nfrom circlepkg import e\n",
            "e": "def later():\n    from circlepkg.c import something\n    return something\n",
            "f": "import circlepkg.a\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return import_graph("circlepkg")


def test_the_detector_finds_direct_longer_and_function_local_circles(
    circle_package: grimp.ImportGraph,
) -> None:
    assert import_cycles(circle_package) == [
        ("circlepkg.a", "circlepkg.b"),
        ("circlepkg.c", "circlepkg.d", "circlepkg.e"),
    ]
    text = describe(circle_package, ("circlepkg.c", "circlepkg.d", "circlepkg.e"))
    assert "circlepkg.e:2 -> circlepkg.c" in text


def test_an_allow_list_covers_only_the_circle_it_names(circle_package: grimp.ImportGraph) -> None:
    cycles = import_cycles(circle_package)
    known = {"a/b": frozenset({"circlepkg.a", "circlepkg.b"})}
    assert unexplained(cycles, known) == [("circlepkg.c", "circlepkg.d", "circlepkg.e")]
    # a known circle that grows by one module is no longer covered
    assert unexplained(cycles, {"c/d": frozenset({"circlepkg.c", "circlepkg.d"})}) == cycles
    assert unexplained(cycles, {}) == cycles


def test_a_package_without_circles_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_package(
        tmp_path,
        "linepkg",
        {"a": "import linepkg.b\n", "b": "def f():\n    import linepkg.c\n", "c": "X = 1\n"},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(import_graph("linepkg")) == []
