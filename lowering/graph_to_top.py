"""`convert-graph-to-top`: the graph dialect (one op per ONNX operator) to the top dialect
(structured tensor ops).

The patterns live by family: elementwise ops (`graph_to_top_elementwise`), neural-network
ops (`graph_to_top_nn`) and data movement / shape ops (`graph_to_top_shape`).
`graph_to_top_patterns()` lists them all so pipelines can compose them.

Before lowering, result types that import left dynamic are refined where the operands now
have static shapes (after `graph-fold-constants` turned Shape -> Range -> ... chains into
constants): the op's reference kernel runs once on its constant operands and zeros, and its
results' shapes become the types (`refine_result_types`). Ops whose result shape depends on
the values of a computed operand (`SHAPE_OPERANDS`, NonZero, ...) are refined only when
those operands are constants. Subgraph values are typed the same way, block arguments
before and control-op results after their regions; while If / Loop / Scan remain, constants
are folded again and types refined again (`refine_and_fold`), so shape tests inside
subgraphs decide their Ifs.

After the pass: no graph op remains but `graph.constant` (weights, which the top level
reads as they are; the next lowering packs them) and `graph.none`; constants and `none`s
left without uses are erased. Static shapes are required: a dynamic dim, an unsupported
attribute value or an op without a lowering raises `UnsupportedOpError`
("not supported: ...") naming the op and its ONNX node; with several such ops, one error
lists them all, a line each (`graph_to_top_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    FunctionType,
    ModuleOp,
    NoneType,
    TensorType,
    UnrankedTensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)
from xdsl.rewriter import Rewriter
from xdsl.transforms.dead_code_elimination import region_dce

from lamina.dialects import graph
from lamina.dialects.weights import numpy_dtype
from lamina.errors import LaminaError, UnsupportedError, all_unsupported
from lamina.lowering.graph_dims import SymbolicShapes
from lamina.lowering.graph_dims_infer import symbolic_shapes
from lamina.lowering.graph_to_top_attention import ATTENTION_LOWERINGS
from lamina.lowering.graph_to_top_causal_conv import CAUSAL_CONV_LOWERINGS
from lamina.lowering.graph_to_top_common import GraphLowering, unsupported
from lamina.lowering.graph_to_top_control import (
    CONTROL_LOWERINGS,
    CONTROL_OPS,
    type_block_arguments,
    type_control_results,
)
from lamina.lowering.graph_to_top_conv_transpose import CONV_TRANSPOSE_LOWERINGS
from lamina.lowering.graph_to_top_cumulative import CUMULATIVE_LOWERINGS
from lamina.lowering.graph_to_top_deform import DEFORM_LOWERINGS
from lamina.lowering.graph_to_top_depth_space import DEPTH_SPACE_LOWERINGS
from lamina.lowering.graph_to_top_dynamic import DYNAMIC_LOWERINGS
from lamina.lowering.graph_to_top_einsum import EINSUM_LOWERINGS
from lamina.lowering.graph_to_top_elementwise import ElementwiseLowering
from lamina.lowering.graph_to_top_errors import (
    CollectUnsupported,
    errors_on_a_copy,
    outermost,
)
from lamina.lowering.graph_to_top_index import INDEX_LOWERINGS
from lamina.lowering.graph_to_top_layout import LAYOUT_LOWERINGS
from lamina.lowering.graph_to_top_linear_attention import LINEAR_ATTENTION_LOWERINGS
from lamina.lowering.graph_to_top_loss import LOSS_LOWERINGS
from lamina.lowering.graph_to_top_math import MATH_LOWERINGS
from lamina.lowering.graph_to_top_nn import NN_LOWERINGS
from lamina.lowering.graph_to_top_norm import NORM_LOWERINGS
from lamina.lowering.graph_to_top_pool import POOL_LOWERINGS
from lamina.lowering.graph_to_top_quant import QUANT_LOWERINGS
from lamina.lowering.graph_to_top_resize import RESIZE_LOWERINGS
from lamina.lowering.graph_to_top_rnn import RNN_LOWERINGS
from lamina.lowering.graph_to_top_roi import ROI_LOWERINGS
from lamina.lowering.graph_to_top_rotary import ROTARY_LOWERINGS
from lamina.lowering.graph_to_top_sample import SAMPLE_LOWERINGS
from lamina.lowering.graph_to_top_scatter import SCATTER_LOWERINGS
from lamina.lowering.graph_to_top_shape import SHAPE_LOWERINGS
from lamina.lowering.graph_to_top_signal import SIGNAL_LOWERINGS
from lamina.lowering.graph_to_top_sort import SORT_LOWERINGS
from lamina.lowering.graph_to_top_tensor_scatter import TENSOR_SCATTER_LOWERINGS
from lamina.lowering.graph_to_top_text import TEXT_LOWERINGS
from lamina.lowering.graph_to_top_value_shaped import VALUE_SHAPED_LOWERINGS
from lamina.lowering.graph_to_top_widen import widen_half_float_ops
from lamina.lowering.shape_function import shape_function
from lamina.rewrites.graph.fold_if import InlineConstantIf

_KEPT = (graph.ConstantOp, graph.NoneOp)
"""Graph ops that stay after the pass."""


_LOWERINGS: list[type[GraphLowering]] = [
    *DYNAMIC_LOWERINGS,  # first: the static lowerings of these ops take static shapes only
    ElementwiseLowering,
    *NORM_LOWERINGS,  # before NN_LOWERINGS: BatchNormalization in training mode
    *POOL_LOWERINGS,  # before NN_LOWERINGS: MaxPool with indices
    *NN_LOWERINGS,
    *SHAPE_LOWERINGS,
    *INDEX_LOWERINGS,
    *LOSS_LOWERINGS,
    *RESIZE_LOWERINGS,
    *ATTENTION_LOWERINGS,
    *RNN_LOWERINGS,
    *CONV_TRANSPOSE_LOWERINGS,
    *CUMULATIVE_LOWERINGS,
    *ROTARY_LOWERINGS,
    *TENSOR_SCATTER_LOWERINGS,
    *CAUSAL_CONV_LOWERINGS,
    *DEPTH_SPACE_LOWERINGS,
    *LINEAR_ATTENTION_LOWERINGS,
    *CONTROL_LOWERINGS,
    *MATH_LOWERINGS,
    *LAYOUT_LOWERINGS,
    *EINSUM_LOWERINGS,
    *VALUE_SHAPED_LOWERINGS,
    *SORT_LOWERINGS,
    *SCATTER_LOWERINGS,
    *SIGNAL_LOWERINGS,
    *SAMPLE_LOWERINGS,
    *TEXT_LOWERINGS,
    *ROI_LOWERINGS,
    *DEFORM_LOWERINGS,
    *QUANT_LOWERINGS,
]


def graph_to_top_patterns() -> list[GraphLowering]:
    """Every graph -> top lowering pattern, one per source op family."""
    lowerings = _LOWERINGS
    return [lowering() for lowering in lowerings]


class LoweringsByOpType(RewritePattern):
    """`lowerings` tried on an op in order until one rewrites it, as
    `GreedyRewritePatternApplier` tries them, but only those whose `source` holds the op's
    type: one dict lookup an op instead of a call per lowering (89 of them; a MediaPipe
    model's 1,100 ops made 57,000 calls)."""

    def __init__(self, lowerings: list[GraphLowering]) -> None:
        self.lowerings = lowerings
        self.by_type: dict[type[Operation], list[GraphLowering]] = {}

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        candidates = self.by_type.get(type(op))
        if candidates is None:
            candidates = [
                lowering for lowering in self.lowerings if isinstance(op, lowering.source)
            ]
            self.by_type[type(op)] = candidates
        for lowering in candidates:
            lowering.match_and_rewrite(op, rewriter)
            if rewriter.has_done_action:
                return


def lowered_op_types() -> frozenset[type[Operation]]:
    """The graph op classes `convert-graph-to-top` lowers."""
    lowerings = _LOWERINGS
    return frozenset(t for lowering in lowerings for t in lowering.source)


def _is_graph_op(op: Operation) -> bool:
    return op.name.startswith("graph.")


SHAPE_OPERANDS: dict[str, tuple[int, ...]] = {
    **dict.fromkeys(["Reshape", "Expand", "Tile", "Squeeze", "Unsqueeze", "Split"], (1,)),
    **dict.fromkeys(["TopK", "OneHot", "CumSum", "Upsample", "CenterCropPad"], (1,)),
    "CumProd": (1,),
    **dict.fromkeys(["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp"], (1,)),
    **dict.fromkeys(["ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd"], (1,)),
    **dict.fromkeys(["ReduceSum", "ReduceSumSquare"], (1,)),
    "Pad": (1, 3),
    "Slice": (1, 2, 3, 4),
    "Resize": (1, 2, 3),
    "ConstantOfShape": (0,),
    "Range": (0, 1, 2),
    "Col2Im": (1, 2),
    "Loop": (0, 1),
    "Compress": (1,),
    "MaxUnpool": (2,),
    "Dropout": (1, 2),  # ratio and training_mode decide whether it is random
    **dict.fromkeys(["HannWindow", "HammingWindow", "BlackmanWindow"], (0,)),
    "DFT": (1, 2),
    "STFT": (1, 3),
    "AffineGrid": (1,),
}
"""ONNX operand slots whose values (not only shapes) decide a result's shape."""

VALUE_SHAPED = frozenset({"NonZero", "Unique", "NonMaxSuppression"})
"""ONNX ops whose result shape depends on the values of their data operands."""


def _is_tensor(t: Attribute) -> bool:
    return isinstance(t, TensorType | UnrankedTensorType)


def _static(value: SSAValue) -> tuple[int, ...] | None:
    t = value.type
    if isinstance(t, TensorType) and DYNAMIC_INDEX not in t.get_shape():
        return t.get_shape()
    return None


def _probe_inputs(op: Operation) -> list[np.ndarray | None] | None:
    """The operands to run `op`'s kernel on (constants as they are, zeros for computed
    values), or None when a shape is unknown or a shape-deciding operand is computed."""
    op_type: str = getattr(type(op), "onnx_op_type", "")
    slots = range(len(op.operands)) if op_type in VALUE_SHAPED else SHAPE_OPERANDS.get(op_type, ())
    probe: list[np.ndarray | None] = []
    for index, value in enumerate(op.operands):
        if isinstance(value.type, NoneType):
            probe.append(None)
        elif isinstance(value.owner, graph.ConstantOp):
            probe.append(value.owner.to_array())
        elif index in slots or (shape := _static(value)) is None:
            return None
        else:
            element = cast(TensorType[Attribute], value.type).get_element_type()
            probe.append(np.zeros(shape, numpy_dtype(element)))
    return probe


def _refine(op: Operation) -> None:
    """Give `op`'s dynamic tensor results the static shapes its kernel produces."""
    from lamina.kernels import OnnxKernel

    probe = _probe_inputs(op)
    if probe is None or op.regions:
        return
    op_type: str = getattr(type(op), "onnx_op_type")  # noqa: B009
    try:
        outputs = OnnxKernel(op_type, graph.onnx_attributes(op), len(op.results))(probe)
    except (LaminaError, Exception):  # no refinement; the lowering reports the dynamic shape
        return
    for result, output in zip(list(op.results), outputs, strict=False):
        if _static(result) is None and isinstance(output, np.ndarray):
            array = cast(np.ndarray[Any, Any], output)
            _set_shape(result, tuple(int(n) for n in array.shape))


def _set_shape(result: SSAValue, shape: tuple[int, ...]) -> None:
    """Give a dynamic tensor `result` the static `shape` if its known dims agree."""
    t = result.type
    if isinstance(t, UnrankedTensorType):
        element = cast(UnrankedTensorType[Attribute], t).element_type
    elif isinstance(t, TensorType):
        ranked = cast(TensorType[Attribute], t)
        known = ranked.get_shape()
        if len(known) != len(shape) or any(
            k not in (DYNAMIC_INDEX, n) for k, n in zip(known, shape, strict=True)
        ):
            return
        element = ranked.get_element_type()
    else:
        return
    Rewriter.replace_value_with_new_type(result, TensorType(element, shape))


def _refine_nested(parent: Operation) -> None:
    """Refine the ops nested in `parent` in order; a control op's region arguments are
    typed before its regions and its results after them."""
    for region in parent.regions:
        for block in region.blocks:
            for op in block.ops:
                if isinstance(op, CONTROL_OPS):
                    type_block_arguments(op)
                    _refine_nested(op)
                    type_control_results(op)
                    continue
                dynamic = any(_is_tensor(r.type) and _static(r) is None for r in op.results)
                if dynamic and _is_graph_op(op) and hasattr(type(op), "onnx_op_type"):
                    _refine(op)
                _refine_nested(op)


def refine_result_types(module: ModuleOp) -> None:
    """Static result types for graph ops whose operands became static (see the module doc);
    function signatures follow their returned values."""
    _refine_nested(module)
    for function in module.walk():
        if isinstance(function, func.FuncOp) and not function.is_declaration:
            returned = function.body.blocks[-1].last_op
            if isinstance(returned, func.ReturnOp):
                outputs: list[Attribute] = [v.type for v in returned.arguments]
                function.function_type = FunctionType.from_lists(
                    function.function_type.inputs.data, outputs
                )


def _typing_state(module: ModuleOp) -> tuple[int, int]:
    """(ops, dynamic tensor results): what folding and refining can still lower."""
    ops = list(module.walk())
    dynamic = sum(_is_tensor(r.type) and _static(r) is None for op in ops for r in op.results)
    return len(ops), dynamic


def refine_and_fold(module: ModuleOp) -> None:
    """`refine_result_types`; while control flow remains, fold constants again (shape tests
    inside subgraphs become constants once refined types are static, and decide their
    Ifs) and refine again, until nothing changes."""
    refine_result_types(module)
    state = _typing_state(module)
    while any(isinstance(op, CONTROL_OPS) for op in module.walk()):
        # the rule language (lark, its parser) loads only for a module with control flow
        from lamina.rewrites.apply_rules import apply_rules, compile_rule_file, rule_set_path

        rules = compile_rule_file(rule_set_path("graph-fold-constants"))
        apply_rules(module, rules, [InlineConstantIf()])
        refine_result_types(module)
        state, previous = _typing_state(module), state
        if state == previous:
            break


@dataclass(frozen=True)
class ConvertGraphToTopPass(ModulePass):
    """Lowers every graph op but `graph.constant` / `graph.none` to top ops."""

    name = "convert-graph-to-top"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        refine_and_fold(op)
        widen_half_float_ops(op)
        lowered = lowered_op_types()
        errors = [
            unsupported(child, "no lowering to the top dialect")
            for child in op.walk()
            if _is_graph_op(child) and not isinstance(child, _KEPT) and type(child) not in lowered
        ]
        patterns = GreedyRewritePatternApplier([LoweringsByOpType(graph_to_top_patterns())])
        if errors:  # fail before rewriting anything
            errors = outermost([*errors, *errors_on_a_copy(op, patterns)])
            raise all_unsupported(_in_walk_order(errors, op))
        collect = CollectUnsupported(patterns)
        with symbolic_shapes(op) as table:
            PatternRewriteWalker(collect, apply_recursively=False).rewrite_module(op)
        failed = collect.failed_ops()
        errors = collect.errors
        for child in op.walk():
            if _is_graph_op(child) and not isinstance(child, _KEPT) and child not in failed:
                errors.append(unsupported(child, "left after convert-graph-to-top"))
        if errors:
            raise all_unsupported(_in_walk_order(outermost(errors), op))
        for child in reversed(list(op.walk())):
            if isinstance(child, _KEPT) and not child.results[0].uses:
                child.detach()
                child.erase()
        for function in table:  # the shape arithmetic that dims now stand for
            region_dce(function.regions[0])
        for function in _shape_functions(table):
            op.body.block.add_op(function)


def _shape_functions(table: dict[Operation, SymbolicShapes]) -> list[func.FuncOp]:
    """The shape function of each function with dynamic inputs (lowering/shape_function)."""
    functions: list[func.FuncOp] = []
    for function, shapes in table.items():
        try:
            functions.append(shape_function(cast(func.FuncOp, function), shapes))
        except ValueError as error:
            raise unsupported(function, f"the output dims: {error}") from None
    return functions


def _in_walk_order(errors: list[UnsupportedError], module: ModuleOp) -> list[UnsupportedError]:
    """`errors` sorted by where their ops are in `module` (errors without an op last)."""
    position = {child: index for index, child in enumerate(module.walk())}
    return sorted(errors, key=lambda e: position.get(cast(Operation, e.op), len(position)))
