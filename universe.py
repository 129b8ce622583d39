"""The pass registry: lamina's passes (with the dialects of context.py), for lamina-opt
and (through the `xdsl.universe` entry point) for plain `xdsl-opt` from the same
environment. It sits above every pass (docs/architecture.md).

Each entry is a `LazyImport` (context.py) so that listing the universe imports nothing
heavy; tests/test_registries.py checks that each loads from below this layer.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from xdsl.passes import ModulePass, PassPipeline, PassPipelineCallbackType
from xdsl.universe import Universe
from xdsl.utils.exceptions import ArgSpecParseError

from lamina.context import LAMINA_DIALECTS, LazyImport
from lamina.errors import LaminaError

LAMINA_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "apply-rules": LazyImport("lamina.rewrites.apply_rules", "ApplyRulesPass"),
    "graph-partition": LazyImport("lamina.lowering.partition", "GraphPartitionPass"),
    "convert-graph-to-top": LazyImport("lamina.lowering.graph_to_top", "ConvertGraphToTopPass"),
    "top-fuse-elementwise": LazyImport(
        "lamina.rewrites.top.fuse_elementwise", "TopFuseElementwisePass"
    ),
    "convert-top-to-loop": LazyImport("lamina.lowering.top_to_loop", "ConvertTopToLoopPass"),
    "plan-memory": LazyImport("lamina.lowering.plan_memory", "PlanMemoryPass"),
    "loop-expand-float-formats": LazyImport(
        "lamina.rewrites.loop.expand_float_formats", "LoopExpandFloatFormatsPass"
    ),
    "loop-to-neon": LazyImport("lamina.lowering.loop_to_neon", "LoopToNeonPass"),
    "loop-to-hvx": LazyImport("lamina.lowering.loop_to_hvx", "LoopToHVXPass"),
    "loop-to-x86": LazyImport("lamina.lowering.loop_to_x86", "LoopToX86Pass"),
    "loop-to-ocl-dot": LazyImport("lamina.lowering.loop_to_ocl_dot", "LoopToOCLDotPass"),
    "convert-loop-to-llvm": LazyImport("lamina.codegen.loop_to_llvm", "ConvertLoopToLLVMPass"),
    "convert-loop-to-ocl": LazyImport("lamina.lowering.loop_to_ocl", "ConvertLoopToOCLPass"),
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
