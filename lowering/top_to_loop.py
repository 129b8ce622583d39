"""`convert-top-to-loop`: bufferize a `top`-level module into the lamina kernel ABI and
lower every `top` op to `loop.for` nests over buffers.

    %y = top.generic {... ["parallel", "parallel"]} ins(%x, %b : ...) outs(%x : ...) {...}
 ->
    loop.for %i = %c0 to %c4 step %c1 parallel {
      loop.for %j = %c0 to %c16 step %c1 parallel vector 16 {
        %a = loop.load %x[%i, %j] ... ; <body> ; loop.store %r, %y[%i, %j] ...
      }
    }

Bufferization (which buffer each value lives in, the ABI, the weights blob) is
`lowering/bufferize.py`; the named ops are lowered in `top_to_loop_nn.py` (matmul, conv2d,
pool: the place to swap in tuned loop structures) and `top_to_loop_tensor.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DictionaryAttr, ModuleOp
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import Rewriter

from lamina.dialects import top
from lamina.dialects.top_shape import IndexOp
from lamina.lowering.bufferize import (
    Buffers,
    TopLowering,
    bufferize_function,
    unsupported,
    weights_attr,
)
from lamina.lowering.epilogue_fusion import is_top_op, needs_init, writes_nothing
from lamina.lowering.shape_function import SHAPES_OF
from lamina.lowering.top_to_loop_build import Emitter, Extent, copy, has_dynamic_dims
from lamina.lowering.top_to_loop_control import CONTROL_LOWERINGS
from lamina.lowering.top_to_loop_index import INDEX_LOOP_LOWERINGS
from lamina.lowering.top_to_loop_nn import Conv2dLowering, MatmulLowering, PoolLowering
from lamina.lowering.top_to_loop_tensor import (
    BroadcastLowering,
    ConcatLowering,
    DimLowering,
    FillLowering,
    GatherLowering,
    PadLowering,
    ReduceLowering,
    ReshapeLowering,
    SliceLowering,
    TransposeLowering,
)
from lamina.targets import DEFAULT_CACHES, CacheSizes


def _contiguous_in(amap: AffineMap, dim: int) -> bool:
    """Whether loop `dim` walks the operand of `amap` contiguously (or not at all)."""
    if not amap.results:
        return True
    *outer, last = amap.results
    if any(dim in e.used_dims() for e in outer):
        return False
    return dim not in last.used_dims() or last == AffineDimExpr(dim)


class GenericLowering(TopLowering):
    """top.generic -> one loop per iterator (in order): load every input and output element
    the body reads through its map, clone the body, store the yielded values. Reductions
    accumulate into the output buffer, which starts as a copy of the init."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.GenericOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        ins = [self.buffer(v, op) for v in op.inputs]
        outs = [self.buffer(v, op) for v in op.res]
        if needs_init(op):
            for init, out in zip(op.outputs, outs, strict=True):
                if (source := self.buffer(init, op)) is not out:
                    copy(em, source, out, self.vector_bits)
        maps = op.maps()
        out_maps = maps[len(ins) :]
        ranges = _loop_extents(op, em, [*ins, *outs])
        parallel = [
            it.data == top.IteratorType.PARALLEL
            and all(AffineDimExpr(d) in m.results for m in out_maps)
            for d, it in enumerate(op.iterator_types)
        ]
        inner = len(ranges) - 1
        vector = None
        if ranges and parallel[inner] and all(_contiguous_in(m, inner) for m in maps):
            vector = self.lanes(outs[0])
        block = op.body.block
        with em.nest(ranges, parallel, vector) as ivs:
            mapper: dict[SSAValue, SSAValue] = {}

            def indices(amap: AffineMap) -> list[SSAValue]:
                return [em.affine(e, ivs) for e in amap.results]

            for arg, buffer, amap in zip(block.args, [*ins, *outs], maps, strict=True):
                if arg.uses:
                    mapper[arg] = em.load(buffer, indices(amap))
            for body_op in block.ops:
                if isinstance(body_op, IndexOp):
                    mapper[body_op.result] = ivs[body_op.dim.value.data]
                elif isinstance(body_op, top.YieldOp):
                    for value, out, amap in zip(body_op.arguments, outs, out_maps, strict=True):
                        em.store(mapper.get(value, value), out, indices(amap))
                else:
                    em.emit(body_op.clone(value_mapper=mapper))
        rewriter.erase(op)


def _loop_extents(op: top.GenericOp, em: Emitter, buffers: list[SSAValue]) -> list[Extent]:
    """Each loop's trip count: `loop_ranges` at static shapes; with dynamic dims, the size
    of the first operand dim that the loop alone indexes, outputs first (they span the
    iteration space; an input may be read in part, like the table a Slice reads), taken at
    run time from its buffer when it is dynamic."""
    if not has_dynamic_dims(op):
        return list(op.loop_ranges())
    inputs = len(op.inputs)
    operands = list(zip(buffers, op.maps(), strict=True))
    operands = operands[inputs:] + operands[:inputs]
    ranges: list[Extent] = []
    for loop in range(len(op.iterator_types)):
        for buffer, amap in operands:
            axis = next((i for i, e in enumerate(amap.results) if e == AffineDimExpr(loop)), None)
            if axis is not None:
                ranges.append(em.extents(buffer)[axis])
                break
        else:
            raise unsupported(f"loop {loop} of '{op.name}' indexes no operand dim alone", op)
    return ranges


def top_to_loop_patterns(buffers: Buffers, vector_bits: int = 512) -> list[RewritePattern]:
    """The `<Op>Lowering` patterns of every `top` op, sharing `buffers` (from
    `bufferize_function`). Apply them in reverse op order so each op is unused when lowered."""
    kinds: list[type[TopLowering]] = [
        GenericLowering,
        MatmulLowering,
        Conv2dLowering,
        PoolLowering,
        ReduceLowering,
        TransposeLowering,
        PadLowering,
        GatherLowering,
        BroadcastLowering,
        FillLowering,
        ReshapeLowering,
        ConcatLowering,
        SliceLowering,
        DimLowering,
        *CONTROL_LOWERINGS,
        *INDEX_LOOP_LOWERINGS,
    ]
    return [kind(buffers, vector_bits) for kind in kinds]


def _lower_block(block: Block, patterns: RewritePattern, buffers: Buffers) -> None:
    """Lower the top ops of `block` in reverse, so that each op's results are unused when
    it goes (not through PatternRewriteWalker, which turns a pattern's LaminaError into a
    generic diagnostic); the blocks a control-flow lowering moves into loop-level regions
    are lowered right after it, while the values they read are still there."""
    for op in reversed(list(block.ops)):
        if op in buffers.dead or (is_top_op(op) and writes_nothing(op)):
            Rewriter.erase_op(op)
        elif is_top_op(op):
            patterns.match_and_rewrite(op, PatternRewriter(op))
            if op.parent is not None:
                raise unsupported(f"'{op.name}' has no lowering to loops", op)
            while buffers.pending:
                region_block = buffers.pending.pop()
                _lower_block(region_block, patterns, buffers)
                for arg in reversed(region_block.args):  # their buffers took over
                    region_block.erase_arg(arg)


def lower_top_ops(buffers: Buffers, vector_bits: int = 512) -> None:
    """Lower the `top` ops of the function that `bufferize_function` gave `buffers` (the
    GEMM blocks of matmuls sized for `buffers.caches`, a conv's pixels split into a task
    per one of `buffers.threads`) and finish it; raises if one has no lowering."""
    patterns = GreedyRewritePatternApplier(
        top_to_loop_patterns(buffers, vector_bits), dce_enabled=False
    )
    _lower_block(buffers.func.body.block, patterns, buffers)
    buffers.finish()


@dataclass(frozen=True)
class ConvertTopToLoopPass(ModulePass):
    """Lowers every function on tensors to the lamina kernel ABI on buffers.

    Afterwards: no `top` op, `graph.constant` or tensor value remains; each such function is
    `(%weights, %arena, inputs..., outputs...) -> ()` with `lamina.abi = "kernel-v1"` and
    `lamina.weights = "<key>"`, the key of a `dense_resource` blob listed in the module
    attribute `lamina.weights` (a dictionary key -> blob); constants are 64-byte aligned
    `loop.carve`s of `%weights`; intermediates are `loop.alloc`s, each freed by a
    `loop.dealloc` after its last use (`plan-memory` places them in `%arena`); outer
    parallel loops are `parallel`, innermost contiguous loops carry `vector N` with
    N = `vector_bits` / element bits (capped by the trip count); an op whose results have
    no element (a 0 dim) leaves no loop nest; `top.if` / `top.loop` are `loop.if` /
    `loop.while` whose regions write the result buffers (lowering/top_to_loop_control.py).
    With `int8_gemm`, the int8 matmuls and convs by constant weights are the register-tiled
    byte GEMM of `loop.byte_dot`s (lowering/top_to_loop_byte_gemm.py) where they fit it,
    for devices whose ISA pass makes those dot-product instructions (loop-to-x86); else
    they are i8 dot-product loops. The packed GEMM of an f32 matmul sizes its blocks for a
    per-core L1d of `l1d_bytes` and an L2 of `l2_bytes` (`matmul_gemm_blocking`). On
    `threads` > 1 (the threads the device's parallel loops run on) the row-form conv splits
    each B block's pixels into one parallel task per thread (lowering/top_to_loop_conv.py).
    """

    name = "convert-top-to-loop"

    vector_bits: int = 512
    int8_gemm: bool = False
    l1d_bytes: int = DEFAULT_CACHES.l1d
    l2_bytes: int = DEFAULT_CACHES.l2
    threads: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        blobs: dict[str, Attribute] = {}
        existing = op.attributes.get("lamina.weights")
        if isinstance(existing, DictionaryAttr):
            blobs.update(existing.data)
        for function in [f for f in op.walk() if isinstance(f, func.FuncOp)]:
            if function.is_declaration or {"lamina.abi", SHAPES_OF} & function.attributes.keys():
                continue
            caches = CacheSizes(self.l1d_bytes, self.l2_bytes)
            buffers = bufferize_function(
                function, self.vector_bits, self.int8_gemm, caches, self.threads
            )
            lower_top_ops(buffers, self.vector_bits)
            blobs[buffers.weights_key] = weights_attr(buffers)
        if blobs:
            op.attributes["lamina.weights"] = DictionaryAttr(blobs)


__all__ = [
    "ConvertTopToLoopPass",
    "GenericLowering",
    "lower_top_ops",
    "top_to_loop_patterns",
]
