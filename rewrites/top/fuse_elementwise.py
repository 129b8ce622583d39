"""`top-fuse-elementwise`: producer/consumer fusion of elementwise `top.generic`s (MLIR's
linalg elementwise-op fusion) and folding of `top.fill`s into the generics that read them.

    %p = top.generic ins(%x) outs(%f0) { exp }       %c = top.generic ins(%x) outs(%f1) {
    %c = top.generic ins(%p) outs(%f1) { relu }  ->     exp ; relu }

    %z = top.fill %cst ; top.generic ins(%a, %z)  ->  top.generic ins(%a) { %cst ; ... }

A producer fuses into its consumer when both are all-parallel, the producer has one result,
read only by the consumer (as inputs, all through one map), its body does not read its init,
and both the producer's output map and the consumer's map of that input are permutations
(so the fused nest computes each producer element once: no recomputation). The fused
generic takes the consumer's place, its inputs are the consumer's with the producer's
spliced in (maps composed through the producer's inverted output map, duplicates merged)
and its body is the producer's body then the consumer's. The producer's `top.fill` init,
never read, goes with it.

Neither rewrite changes a generic's iteration space: a fusion whose result would not
verify or would run other loop extents is not made, and a fill that alone gives a loop its
extent stays an input.

Afterwards: no all-parallel generic reads the single-use result of a fusable producer, no
generic input is a `top.fill` of an `arith.constant` except one that alone sizes a loop,
and fills and constants left unused are erased. Named ops (conv2d, matmul, ...) are left
alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Attribute, Block, Operation, OpResult, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.top_shape import IndexOp


def _all_parallel(op: top.GenericOp) -> bool:
    return all(it.data == top.IteratorType.PARALLEL for it in op.iterator_types)


def _is_permutation(amap: AffineMap) -> bool:
    return (
        len(amap.results) == amap.num_dims
        and amap.is_projected_permutation()
        and amap.inverse_permutation() is not None
    )


def _fusable_producer(value: SSAValue, consumer: top.GenericOp) -> top.GenericOp | None:
    """The producer of `value` if it may be fused into `consumer` (see the module doc)."""
    producer = value.owner if isinstance(value, OpResult) else None
    if not isinstance(producer, top.GenericOp) or len(producer.res) != 1:
        return None
    if not _all_parallel(producer) or producer.body.block.args[-1].uses:
        return None
    if any(isinstance(o, IndexOp) for g in (producer, consumer) for o in g.body.block.ops):
        return None  # top.index names a loop of its own generic
    if not _is_permutation(producer.maps()[-1]):
        return None
    uses = list(value.uses)
    reads = [u for u in uses if u.operation is consumer and u.index < len(consumer.inputs)]
    if len(reads) != len(uses):
        return None
    maps = consumer.maps()
    read_maps = {maps[u.index] for u in reads}
    if len(read_maps) != 1 or not _is_permutation(read_maps.pop()):
        return None
    return producer


class _Builder:
    """The operand list, maps and block of a generic under construction; an operand read
    through a map it already has reuses that block argument."""

    def __init__(self) -> None:
        self.block = Block()
        self.operands: list[SSAValue] = []
        self.maps: list[AffineMap] = []
        self._args: dict[tuple[SSAValue, AffineMap], SSAValue] = {}

    def operand(self, value: SSAValue, amap: AffineMap, dedupe: bool = True) -> SSAValue:
        key = (value, amap)
        if dedupe and key in self._args:
            return self._args[key]
        tensor = value.type
        assert isa(tensor, TensorType[Attribute]), "generic operands are tensors"
        arg = self.block.insert_arg(tensor.get_element_type(), len(self.block.args))
        self.operands.append(value)
        self.maps.append(amap)
        self._args[key] = arg
        return arg

    def clone_body(
        self, body: Block, mapper: dict[SSAValue, SSAValue], *, with_yield: bool
    ) -> Sequence[SSAValue]:
        """Clone `body`'s ops into the block; returns the (mapped) yielded values."""
        for op in body.ops:
            if isinstance(op, top.YieldOp) and not with_yield:
                return [mapper.get(v, v) for v in op.arguments]
            self.block.add_op(op.clone(value_mapper=mapper))
        return []


def fuse_into(producer: top.GenericOp, consumer: top.GenericOp) -> top.GenericOp:
    """The generic computing `consumer` with `producer`'s result computed inline."""
    fused_value = producer.res[0]
    c_maps = consumer.maps()
    p_maps = producer.maps()
    position = list(consumer.inputs).index(fused_value)
    inverse = p_maps[-1].inverse_permutation()
    assert inverse is not None, "checked by _fusable_producer"
    to_producer_loops = inverse.compose(c_maps[position])
    b = _Builder()
    mapper: dict[SSAValue, SSAValue] = {}
    producer_args = producer.body.block.args
    for i, value in enumerate(consumer.inputs):
        if value == fused_value:
            if i == position:
                for arg, p_in, p_map in zip(producer_args, producer.inputs, p_maps, strict=False):
                    mapper[arg] = b.operand(p_in, p_map.compose(to_producer_loops))
                (inline,) = b.clone_body(producer.body.block, mapper, with_yield=False)
            mapper[consumer.body.block.args[i]] = inline  # pyright: ignore[reportPossiblyUnboundVariable]
        else:
            mapper[consumer.body.block.args[i]] = b.operand(value, c_maps[i])
    num_inputs = len(b.operands)
    out_args = consumer.body.block.args[len(consumer.inputs) :]
    for arg, init, amap in zip(
        out_args, consumer.outputs, c_maps[len(consumer.inputs) :], strict=True
    ):
        mapper[arg] = b.operand(init, amap, dedupe=False)
    body_ops = list(consumer.body.block.ops)
    for op in body_ops:
        b.block.add_op(op.clone(value_mapper=mapper))
    fused = top.GenericOp(
        b.operands[:num_inputs],
        b.operands[num_inputs:],
        Region(b.block),
        b.maps,
        [it.data for it in consumer.iterator_types],
        list(consumer.res.types),
    )
    fused.attributes |= consumer.attributes
    return fused


def _erase_if_unused(op: Operation | None, rewriter: PatternRewriter) -> None:
    """Erase a fill (and then its constant) that nothing reads any more."""
    if isinstance(op, top.FillOp | arith.ConstantOp) and not any(r.uses for r in op.results):
        operand = op.operands[0].owner if op.operands else None
        rewriter.erase(op)
        _erase_if_unused(operand if isinstance(operand, Operation) else None, rewriter)


class FuseElementwiseProducer(RewritePattern):
    """consumer(producer(x)) -> one generic, both all-parallel elementwise."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.GenericOp, rewriter: PatternRewriter) -> None:
        if not _all_parallel(op):
            return
        for value in dict.fromkeys(op.inputs):
            producer = _fusable_producer(value, op)
            if producer is None:
                continue
            fused = fuse_into(producer, op)
            if not keeps_iteration_space(op, fused):
                fused.erase()
                continue
            init = producer.outputs[0].owner
            rewriter.replace(op, fused)
            rewriter.erase(producer)
            _erase_if_unused(init if isinstance(init, Operation) else None, rewriter)
            return


class FoldFillInput(RewritePattern):
    """generic(ins(%a, fill(%cst))) -> generic(ins(%a)) with %cst cloned into its body."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.GenericOp, rewriter: PatternRewriter) -> None:
        block = op.body.block
        for i, value in enumerate(op.inputs):
            fill = value.owner
            if not isinstance(fill, top.FillOp) or not isinstance(
                fill.value.owner, arith.ConstantOp
            ):
                continue
            if not any(_pins_alone(op, i, loop) for loop in range(len(op.iterator_types))):
                constant = fill.value.owner.clone()
                rewriter.insert_op(constant, InsertPoint.at_start(block))
                block.args[i].replace_all_uses_with(constant.result)
                rewriter.replace(op, _drop_input(op, i))
            _erase_if_unused(fill, rewriter)
            return


def keeps_iteration_space(old: top.GenericOp, new: top.GenericOp) -> bool:
    """Whether `new` runs the loops of `old` and verifies: every loop still read alone by
    some operand, with the same extent, and every operand dim of that extent. Only `new`
    itself is verified (its maps, block arguments and yield): the ops of its body are
    clones of verified ops with operands of the same types, and verifying them again on
    every fusion made a chain of n fusions cost n^2 op verifications."""
    try:
        new.verify(verify_nested_ops=False)
    except VerifyException:
        return False
    return new.loop_ranges() == old.loop_ranges()


def _loops_read_alone(amap: AffineMap) -> set[int]:
    return {r.position for r in amap.results if isinstance(r, AffineDimExpr)}


def _pins_alone(op: top.GenericOp, operand: int, loop: int) -> bool:
    """Whether operand `operand` is the only one giving `loop` its extent (a fill that
    sizes a loop nothing else reads alone must stay)."""
    maps = op.maps()
    readers = [k for k, amap in enumerate(maps) if loop in _loops_read_alone(amap)]
    return readers == [operand]


def _drop_input(op: top.GenericOp, index: int) -> top.GenericOp:
    """`op` without input `index` (whose block argument is unused)."""
    body = op.detach_region(op.body)
    body.block.erase_arg(body.block.args[index])
    maps = [m for i, m in enumerate(op.maps()) if i != index]
    inputs = [v for i, v in enumerate(op.inputs) if i != index]
    new = top.GenericOp(
        inputs,
        list(op.outputs),
        body,
        maps,
        [it.data for it in op.iterator_types],
        list(op.res.types),
    )
    new.attributes |= op.attributes
    return new


def fuse_elementwise_patterns() -> list[RewritePattern]:
    """The patterns of `top-fuse-elementwise`, for pipelines that compose them."""
    return [FuseElementwiseProducer(), FoldFillInput()]


@dataclass(frozen=True)
class TopFuseElementwisePass(ModulePass):
    """Fuses chains of elementwise `top.generic`s and folds constant `top.fill` inputs into
    generic bodies (see the module doc for what holds afterwards)."""

    name = "top-fuse-elementwise"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier(fuse_elementwise_patterns()), apply_recursively=True
        ).rewrite_module(op)
