"""The dialect registry: lamina's dialects (`LAMINA_DIALECTS`, for lamina-opt and
`xdsl-opt`) and the xDSL context every lamina tool and API parses and builds IR in.

It imports dialects only, so every layer above them may build a context
(docs/architecture.md); the passes are registered above them, in universe.py. Each entry
is a factory so that listing the dialects imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func
from xdsl.dialects.math import Math
from xdsl.dialects.vector import Vector
from xdsl.ir import Dialect

import lamina.xdsl_patches  # noqa: F401  (linear-time string lexing before any parse)

# Installs lamina's weight store as the builtin dialect's resource store before anything
# parses a `dense_resource` (see dialects/weights.py).
import lamina.dialects.weights  # noqa: F401  # isort: skip


def _graph() -> Dialect:
    from lamina.dialects.graph import Graph

    return Graph


def _top() -> Dialect:
    from lamina.dialects.top import Top

    return Top


def _loop() -> Dialect:
    from lamina.dialects.loop import Loop

    return Loop


def _neon() -> Dialect:
    from lamina.dialects.isa.neon import Neon

    return Neon


def _hvx() -> Dialect:
    from lamina.dialects.isa.hvx import HVX

    return HVX


def _ocl() -> Dialect:
    from lamina.dialects.isa.ocl import OCL

    return OCL


def _part() -> Dialect:
    from lamina.dialects.partition import Partition

    return Partition


LAMINA_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "graph": _graph,
    "top": _top,
    "loop": _loop,
    "neon": _neon,
    "hvx": _hvx,
    "ocl": _ocl,
    "part": _part,
}


def make_context() -> Context:
    """A context with builtin, func, arith, math, vector and all lamina dialects loaded."""
    ctx = Context()
    for dialect in (Builtin, Func, Arith, Math, Vector):
        ctx.load_dialect(dialect)
    for factory in LAMINA_DIALECTS.values():
        ctx.load_dialect(factory())
    return ctx
