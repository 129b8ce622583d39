"""The registries of context.py (dialects) and universe.py (passes) name what they import
lazily as `module:name` strings, which the import graph of test_architecture.py cannot see:
each entry must load, be what its registry holds, and come from a layer no higher than its
registry's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from test_architecture import ROOT, layer_of, package_files
from xdsl.ir import Dialect
from xdsl.passes import ModulePass

from lamina.context import LAMINA_DIALECTS, LazyImport
from lamina.universe import LAMINA_PASSES

REGISTRIES: list[tuple[str, Mapping[str, Callable[[], Any]], Callable[[Any], bool]]] = [
    ("context.py", LAMINA_DIALECTS, lambda entry: isinstance(entry, Dialect)),
    ("universe.py", LAMINA_PASSES, lambda entry: issubclass(entry, ModulePass)),
]


@pytest.mark.parametrize(
    ("registry", "entries", "holds"), REGISTRIES, ids=[r for r, _, _ in REGISTRIES]
)
def test_every_entry_loads_from_a_layer_not_above_its_registry(
    registry: str, entries: Mapping[str, Callable[[], Any]], holds: Callable[[Any], bool]
):
    files = package_files(ROOT)
    highest = layer_of(registry)
    assert highest is not None
    for name, factory in entries.items():
        assert isinstance(factory, LazyImport), name
        loaded = factory()
        assert holds(loaded) and loaded.name == name
        layer = layer_of(files[factory.module])
        assert layer is not None and layer <= highest, f"{name}: {factory.module}"
