"""The package's import graph follows docs/architecture.md: no circle between files, no
import from a lower layer to a higher one, no hand-written file over 600 lines.

Every `import` / `from ... import` counts, including those inside functions and under
`TYPE_CHECKING`: an import hidden in a function still ties the two files together.
Importing `lamina.a.b` counts as an edge to `a/b.py` only, not to the package `a/__init__.py`
Python runs first (otherwise every package would import itself through its modules).

`KNOWN_VIOLATIONS` lists what other work is still taking apart. The test fails on a
violation that is not listed and on a listed one that no longer occurs, so the list only
shrinks and always says exactly what is left.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import lamina

PACKAGE = "lamina"
ROOT = Path(lamina.__file__).parent
NOT_PACKAGE_CODE = {"tests", "filecheck_tests", "docs", "examples", "build", "__pycache__"}
GENERATED = {"dialects/graph_ops.py"}
MAX_LINES = 600

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors.py", "limits.py", "names.py", "progress.py", "xdsl_patches.py", "plugins.py"),
    ("dialects", "targets", "kernels"),
    ("context.py",),
    ("parser", "rewrites"),
    ("lowering",),
    ("codegen",),
    ("universe.py",),
    ("runtime",),
    ("compiler.py", "backend.py", "__init__.py"),
    ("tools", "benchmarks"),
)
"""docs/architecture.md's layers, bottom first: a file may import files of its own layer
and of the layers before it. An entry is a top-level file or folder of the package."""

KNOWN_VIOLATIONS: set[str] = set()
"""Each entry one circle (its files, sorted), upward import or long file."""


def package_files(root: Path) -> dict[str, str]:
    """Dotted module name -> path relative to `root`, for every hand-written or generated
    .py file of the package (tests and build output excluded)."""
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part in NOT_PACKAGE_CODE or part.startswith(".") for part in relative.parts):
            continue
        parts = [PACKAGE, *relative.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = relative.as_posix()
    return files


def imported_names(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    """Every dotted name an import statement anywhere in `tree` may load (for
    `from a import b`: both `a.b` and `a`)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(root: Path) -> dict[str, set[str]]:
    """File -> the files of the package it imports (paths relative to `root`)."""
    files = package_files(root)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse((root / path).read_text(encoding="utf-8"))
        targets = {
            _file_of(name, files)
            for name in imported_names(tree, module, path.endswith("__init__.py"))
        }
        graph[path] = {t for t in targets if t is not None and t != path}
    return graph


def _file_of(name: str, files: Mapping[str, str]) -> str | None:
    """The file that defines the longest prefix of `name`; None outside the package and
    for the package root itself."""
    while name and name != PACKAGE:
        if name in files:
            return files[name]
        name = name.rpartition(".")[0]
    return None


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one file (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(path: str) -> int | None:
    """The index in `LAYERS` of the file's top-level entry; None when it has no layer."""
    first = path.split("/")[0]
    return next((i for i, layer in enumerate(LAYERS) if first in layer), None)


def violations(root: Path) -> set[str]:
    """Every circle, upward import and long hand-written file, as KNOWN_VIOLATIONS spells
    them."""
    graph = import_graph(root)
    found = {"circle: " + " <-> ".join(c) for c in circles(graph)}
    for source, targets in graph.items():
        for target in targets:
            low, high = layer_of(source), layer_of(target)
            if low is not None and high is not None and high > low:
                found.add(f"upward: {source} -> {target}")
    for path in graph:
        if path not in GENERATED and _line_count(root / path) > MAX_LINES:
            found.add(f"long: {path}")
    return found


def _line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_every_top_level_entry_has_a_layer():
    entries = {path.split("/")[0] for path in package_files(ROOT).values()}
    assert {e for e in entries if layer_of(e) is None} == set()


@pytest.fixture(scope="module")
def package_violations() -> set[str]:
    """`violations(ROOT)`, read once for the two tests that compare it with the known ones."""
    return violations(ROOT)


def test_no_circle_upward_import_or_long_file_beyond_the_known_ones(package_violations: set[str]):
    assert package_violations - KNOWN_VIOLATIONS == set()


def test_every_known_violation_still_occurs(package_violations: set[str]):
    """An entry fixed elsewhere leaves the list, so it stays exact."""
    assert KNOWN_VIOLATIONS - package_violations == set()


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_check_sees_imports_inside_functions_and_under_type_checking(tmp_path: Path):
    _write(
        tmp_path,
        {
            "errors.py": "def f():\n    from lamina.dialects import graph\n",
            "dialects/graph.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..errors import LaminaError\n",
            "lowering/x.py": "import lamina.runtime.jit\n",
            "runtime/jit.py": "\n" * (MAX_LINES + 1),
        },
    )
    assert violations(tmp_path) == {
        "circle: dialects/graph.py <-> errors.py",
        "upward: errors.py -> dialects/graph.py",
        "upward: lowering/x.py -> runtime/jit.py",
        "long: runtime/jit.py",
    }
