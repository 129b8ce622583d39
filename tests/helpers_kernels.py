"""Helpers shared by the tests that write their kernels as IR text: parsing, the text of f32
tensor types and weight constants, and top-level IR lowered to planned loop IR."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from lamina.context import make_context
from lamina.dialects.weights import WEIGHTS
from lamina.lowering.plan_memory import PlanMemoryPass
from lamina.lowering.top_to_loop import ConvertTopToLoopPass


def parse(text: str) -> ModuleOp:
    """`text` parsed in lamina's context and verified."""
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def tensor(shape: Sequence[int]) -> str:
    """The text of the f32 tensor type of `shape`."""
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def constant(name: str, array: np.ndarray) -> str:
    """The line defining `%<name>` as a graph.constant of `array`, stored in WEIGHTS."""
    key = WEIGHTS.add("kernel_test", array)
    return f"%{name} = graph.constant dense_resource<{key}> : {tensor(array.shape)}"


def lower(text: str, vector_bits: int = 512) -> ModuleOp:
    """Top-level IR `text` after convert-top-to-loop (for `vector_bits`) and plan-memory,
    verified before and after."""
    module = parse(text)
    ConvertTopToLoopPass(vector_bits=vector_bits).apply(make_context(), module)
    PlanMemoryPass().apply(make_context(), module)
    module.verify()
    return module
