"""The dialect registry: lamina's dialects (`LAMINA_DIALECTS`, for lamina-opt and
`xdsl-opt`) and the xDSL context every lamina tool and API parses and builds IR in.

It imports dialects only, so every layer above them may build a context
(docs/architecture.md); the passes are registered above them, in universe.py. Each entry
is a `LazyImport` so that listing the dialects imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from xdsl.context import Context
from xdsl.ir import Dialect

import lamina.xdsl_patches  # noqa: F401  (linear-time string lexing before any parse)

# Installs lamina's weight store as the builtin dialect's resource store before anything
# parses a `dense_resource` (see dialects/weights.py).
import lamina.dialects.weights  # noqa: F401  # isort: skip


@dataclass(frozen=True)
class LazyImport:
    """A registry entry: the factory of `name` in `module`, which imports `module` only
    when called, so that listing a registry imports nothing heavy."""

    module: str
    name: str

    def __call__(self) -> Any:
        return getattr(import_module(self.module), self.name)


LAMINA_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "graph": LazyImport("lamina.dialects.graph", "Graph"),
    "top": LazyImport("lamina.dialects.top", "Top"),
    "loop": LazyImport("lamina.dialects.loop", "Loop"),
    "neon": LazyImport("lamina.dialects.isa.neon", "Neon"),
    "hvx": LazyImport("lamina.dialects.isa.hvx", "HVX"),
    "x86vector": LazyImport("lamina.dialects.isa.x86", "X86Vector"),
    "ocl": LazyImport("lamina.dialects.isa.ocl", "OCL"),
    "part": LazyImport("lamina.dialects.partition", "Partition"),
}


_XDSL_DIALECTS: tuple[Callable[[], Dialect], ...] = (
    LazyImport("xdsl.dialects.builtin", "Builtin"),
    LazyImport("xdsl.dialects.func", "Func"),
    LazyImport("xdsl.dialects.arith", "Arith"),
    LazyImport("xdsl.dialects.math", "Math"),
    LazyImport("xdsl.dialects.vector", "Vector"),
)
"""The xDSL dialects lamina's IR uses besides its own (imported by `make_context`, not
by lamina-opt, which registers xDSL's dialects by name and loads those a file uses)."""


def make_context() -> Context:
    """A context with builtin, func, arith, math, vector and all lamina dialects loaded."""
    ctx = Context()
    for factory in (*_XDSL_DIALECTS, *LAMINA_DIALECTS.values()):
        ctx.load_dialect(factory())
    return ctx
