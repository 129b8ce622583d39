"""The pass registry: lamina's passes (with the dialects of context.py), for lamina-opt
and (through the `xdsl.universe` entry point) for plain `xdsl-opt` from the same
environment. It sits above every pass (docs/architecture.md).

Each entry is a factory so that listing the universe imports nothing heavy.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from xdsl.passes import ModulePass, PassPipeline, PassPipelineCallbackType
from xdsl.universe import Universe
from xdsl.utils.exceptions import ArgSpecParseError

from lamina.context import LAMINA_DIALECTS
from lamina.errors import LaminaError


def _apply_rules() -> type[ModulePass]:
    from lamina.rewrites.apply_rules import ApplyRulesPass

    return ApplyRulesPass


def _convert_graph_to_top() -> type[ModulePass]:
    from lamina.lowering.graph_to_top import ConvertGraphToTopPass

    return ConvertGraphToTopPass


def _fuse_elementwise() -> type[ModulePass]:
    from lamina.rewrites.top.fuse_elementwise import TopFuseElementwisePass

    return TopFuseElementwisePass


def _convert_top_to_loop() -> type[ModulePass]:
    from lamina.lowering.top_to_loop import ConvertTopToLoopPass

    return ConvertTopToLoopPass


def _plan_memory() -> type[ModulePass]:
    from lamina.lowering.plan_memory import PlanMemoryPass

    return PlanMemoryPass


def _expand_float_formats() -> type[ModulePass]:
    from lamina.rewrites.loop.expand_float_formats import LoopExpandFloatFormatsPass

    return LoopExpandFloatFormatsPass


def _convert_loop_to_llvm() -> type[ModulePass]:
    from lamina.codegen.loop_to_llvm import ConvertLoopToLLVMPass

    return ConvertLoopToLLVMPass


def _loop_to_neon() -> type[ModulePass]:
    from lamina.lowering.loop_to_neon import LoopToNeonPass

    return LoopToNeonPass


def _loop_to_hvx() -> type[ModulePass]:
    from lamina.lowering.loop_to_hvx import LoopToHVXPass

    return LoopToHVXPass


def _convert_loop_to_ocl() -> type[ModulePass]:
    from lamina.lowering.loop_to_ocl import ConvertLoopToOCLPass

    return ConvertLoopToOCLPass


def _graph_partition() -> type[ModulePass]:
    from lamina.lowering.partition import GraphPartitionPass

    return GraphPartitionPass


LAMINA_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "apply-rules": _apply_rules,
    "graph-partition": _graph_partition,
    "convert-graph-to-top": _convert_graph_to_top,
    "top-fuse-elementwise": _fuse_elementwise,
    "convert-top-to-loop": _convert_top_to_loop,
    "plan-memory": _plan_memory,
    "loop-expand-float-formats": _expand_float_formats,
    "loop-to-neon": _loop_to_neon,
    "loop-to-hvx": _loop_to_hvx,
    "convert-loop-to-llvm": _convert_loop_to_llvm,
    "convert-loop-to-ocl": _convert_loop_to_ocl,
}

LAMINA_UNIVERSE = Universe(all_dialects=LAMINA_DIALECTS, all_passes=LAMINA_PASSES)


def parse_pass_pipeline(
    spec: str, callback: PassPipelineCallbackType | None = None
) -> PassPipeline:
    """The pipeline `spec` (`a,b{opt=1}`) over lamina's passes; a malformed spec, an unknown
    pass (with the nearest names) or a bad option raises `LaminaError`."""
    try:
        return PassPipeline.parse_spec(LAMINA_PASSES, spec, callback)
    except ArgSpecParseError as e:  # a BaseException in xDSL: caught here, by name
        where = str(e).splitlines()[1:]  # "pass-pipeline:1:13", the text, a caret, the message
        column = where[0].rsplit(":", 1)[-1] if where else "?"
        message = where[-1].strip() if where else str(e)
        raise LaminaError(f"bad pass pipeline '{spec}': column {column}: {message}") from None
    except ValueError as e:  # unknown pass or bad option
        raise LaminaError(f"bad pass pipeline '{spec}': {e}{_suggestion(spec)}") from None


def _suggestion(spec: str) -> str:
    names = [part.split("{")[0].strip() for part in spec.split(",")]
    unknown = [name for name in names if name and name not in LAMINA_PASSES]
    close = [m for name in unknown for m in difflib.get_close_matches(name, LAMINA_PASSES, 1)]
    return f" (did you mean '{close[0]}'?)" if close else ""
