"""The xDSL context every lamina tool and API parses and builds IR in."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func
from xdsl.dialects.math import Math
from xdsl.dialects.vector import Vector

import lamina.xdsl_patches  # noqa: F401  (linear-time string lexing before any parse)
from lamina.universe import LAMINA_DIALECTS


def make_context() -> Context:
    """A context with builtin, func, arith, math, vector and all lamina dialects loaded."""
    ctx = Context()
    for dialect in (Builtin, Func, Arith, Math, Vector):
        ctx.load_dialect(dialect)
    for factory in LAMINA_DIALECTS.values():
        ctx.load_dialect(factory())
    return ctx
