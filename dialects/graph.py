"""The `graph` dialect: one op per ONNX operator, plus constants, `none` and `yield`.

The operator ops are generated into `graph_ops.py` (see `docs/graph-dialect.md` for the
conventions); this module adds the structural ops, the hand-written verifiers that later
levels rely on, `onnx_attributes`, and the `Graph` dialect object.
"""

from __future__ import annotations

from math import prod
from typing import ClassVar, cast

import numpy as np
from xdsl.dialect_interfaces.constant_materialization import ConstantMaterializationInterface
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    BytesAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    NoneType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    ParamAttrConstraint,
    VarConstraint,
    irdl_op_definition,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import ConstantLike, HasParent, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.graph_base import OnnxOp, onnx_op, register_verifier
from lamina.dialects.graph_conv_gemm import verify_conv as verify_conv
from lamina.dialects.graph_conv_gemm import verify_gemm as verify_gemm
from lamina.dialects.graph_fused import FusedConvOp as FusedConvOp
from lamina.dialects.graph_fused import FusedGemmOp as FusedGemmOp
from lamina.dialects.graph_layout import LAYOUT_OPS
from lamina.dialects.graph_layout import NhwcAveragePoolOp as NhwcAveragePoolOp
from lamina.dialects.graph_layout import NhwcConvOp as NhwcConvOp
from lamina.dialects.graph_layout import NhwcGlobalAveragePoolOp as NhwcGlobalAveragePoolOp
from lamina.dialects.graph_layout import NhwcMaxPoolOp as NhwcMaxPoolOp
from lamina.dialects.graph_ops import *  # noqa: F403 (re-export every generated op)
from lamina.dialects.graph_ops import (
    GENERATED_OPS,
    AbsOp,
    AcoshOp,
    AcosOp,
    AddOp,
    AndOp,
    AsinhOp,
    AsinOp,
    AtanhOp,
    AtanOp,
    BatchNormalizationOp,
    BitCastOp,
    BitShiftOp,
    BitwiseAndOp,
    BitwiseNotOp,
    BitwiseOrOp,
    BitwiseXorOp,
    CastLikeOp,
    CastOp,
    CausalConvWithStateOp,
    CeilOp,
    CeluOp,
    ClipOp,
    ConcatOp,
    CoshOp,
    CosOp,
    CumProdOp,
    CumSumOp,
    DivOp,
    EluOp,
    EqualOp,
    ErfOp,
    ExpOp,
    FloorOp,
    GeluOp,
    GreaterOp,
    GreaterOrEqualOp,
    HardmaxOp,
    HardSigmoidOp,
    HardSwishOp,
    IdentityOp,
    IfOp,
    InstanceNormalizationOp,
    IsInfOp,
    IsNaNOp,
    LeakyReluOp,
    LessOp,
    LessOrEqualOp,
    LinearAttentionOp,
    LogOp,
    LogSoftmaxOp,
    LoopOp,
    LpNormalizationOp,
    LRNOp,
    MatMulOp,
    MaxOp,
    MeanOp,
    MeanVarianceNormalizationOp,
    MinOp,
    MishOp,
    ModOp,
    MulOp,
    NegOp,
    NotOp,
    OrOp,
    PowOp,
    ReciprocalOp,
    ReduceL1Op,
    ReduceL2Op,
    ReduceLogSumExpOp,
    ReduceLogSumOp,
    ReduceMaxOp,
    ReduceMeanOp,
    ReduceMinOp,
    ReduceProdOp,
    ReduceSumOp,
    ReduceSumSquareOp,
    ReluOp,
    ReshapeOp,
    RoundOp,
    ScanOp,
    SeluOp,
    ShrinkOp,
    SigmoidOp,
    SignOp,
    SinhOp,
    SinOp,
    SoftmaxOp,
    SoftplusOp,
    SoftsignOp,
    SqrtOp,
    SubOp,
    SumOp,
    SwiGLUOp,
    SwishOp,
    TanhOp,
    TanOp,
    TensorScatterOp,
    ThresholdedReluOp,
    TransposeOp,
    TriluOp,
    WhereOp,
    XorOp,
)
from lamina.dialects.graph_quant import check_parameters as check_parameters
from lamina.dialects.graph_verify import (
    Shape,
    check_dims,
    describe,
    int_list,
    int_value,
    same_type,
    shape_of,
)
from lamina.dialects.weights import (
    WEIGHTS,
    element_type,
    is_elided_tensor,
    numpy_dtype,
    tensor_to_array,
)
from lamina.errors import LaminaError

DIM_PARAMS = "lamina.dim_params"
"""Attribute of a `func.func` whose inputs have named dynamic dims: per input, an array of
the ONNX dim_param of each dim ("" where it has none); dynamic-dim inference equates the
dims that share a name."""

DENSE_LIMIT = 16
"""Arrays with at most this many elements become `dense<...>`; larger ones `dense_resource`."""


@onnx_op("Constant", {})
@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A constant tensor: `dense<...>` when small, a `dense_resource` weight otherwise.

    Example:

        %c = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
        %w = graph.constant dense_resource<conv1.weight> : tensor<64x3x7x7xf32>
    """

    name = "graph.constant"

    T: ClassVar = VarConstraint("T", AnyAttr())
    output = result_def(T)
    value = prop_def(
        ParamAttrConstraint(DenseIntOrFPElementsAttr, (T, AnyAttr()))
        | ParamAttrConstraint(DenseResourceAttr, (AnyAttr(), T))
    )
    traits = traits_def(Pure(), ConstantLike())
    assembly_format = "attr-dict $value"

    def __init__(self, value: DenseIntOrFPElementsAttr | DenseResourceAttr) -> None:
        super().__init__(result_types=[value.get_type()], properties={"value": value})

    @staticmethod
    def from_array(array: np.ndarray, name: str = "w") -> ConstantOp:
        """A constant holding `array`; weights (> 16 elements) go to the weight store."""
        array = np.asarray(array)
        type = TensorType(element_type(array.dtype), array.shape)
        if array.size <= DENSE_LIMIT:
            data = array.astype(numpy_dtype(type.element_type), copy=False).tobytes()
            return ConstantOp(DenseIntOrFPElementsAttr(type, BytesAttr(data)))
        return ConstantOp(DenseResourceAttr(StringAttr(WEIGHTS.add(name, array)), type))

    def to_array(self) -> np.ndarray:
        """The value as a read-only array; no copy for weights. Weights elided when printed
        raise a `LaminaError` at this op."""
        try:
            return tensor_to_array(self.value)
        except LaminaError as e:
            e.op = e.op or self
            raise

    def zeros(self) -> np.ndarray:
        """Zeros of the constant's shape and dtype (for layouts that need only the shape)."""
        type = cast(TensorType[Attribute], self.output.type)
        return np.zeros(type.get_shape(), numpy_dtype(type.element_type))

    def is_elided(self) -> bool:
        """Whether the value is a weight whose bytes were elided when printed (its shape is
        known, its values are not)."""
        return is_elided_tensor(self.value)

    def verify_(self) -> None:
        if not isinstance(self.output.type, TensorType):
            raise VerifyException(f"graph.constant must be a tensor, got {self.output.type}")


@irdl_op_definition
class NoneOp(IRDLOperation):
    """The value of an optional input the model leaves out.

    Example:

        %n = graph.none : none
    """

    name = "graph.none"

    output = result_def(NoneType)
    traits = traits_def(Pure())
    assembly_format = "attr-dict `:` type($output)"

    def __init__(self) -> None:
        super().__init__(result_types=[NoneType()])


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a subgraph region of `graph.if`, `graph.loop` or `graph.scan` with its outputs.

    Example:

        graph.yield %cond, %v : tensor<i1>, tensor<4xf32>
    """

    name = "graph.yield"

    values = var_operand_def()
    traits = traits_def(IsTerminator(), HasParent(IfOp, LoopOp, ScanOp))
    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, *values: SSAValue | Operation) -> None:
        super().__init__(operands=[list(values)])


# --- attributes ---------------------------------------------------------------------------------


def attribute_value(attr: Attribute) -> object:
    """An ONNX attribute value as Python: int, float, str, lists of them, or a numpy array."""
    if isinstance(attr, IntegerAttr):
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return float(attr.value.data)
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DenseArrayBase):
        array = cast(DenseArrayBase[IntegerType | AnyFloat], attr)
        if isinstance(array.elt_type, IntegerType):
            return list(cast(DenseArrayBase[IntegerType], array).get_values())
        return list(cast(DenseArrayBase[AnyFloat], array).get_values())
    if isinstance(attr, ArrayAttr):
        return [cast(StringAttr, a).data for a in cast(ArrayAttr[Attribute], attr)]
    return tensor_to_array(attr)


def onnx_attributes(op: Operation) -> dict[str, object]:
    """The op's ONNX attributes as Python values, with the schema defaults filled in."""
    defaults: dict[str, object] = getattr(type(op), "onnx_defaults", {})
    values = dict(defaults)
    for name, attr in op.properties.items():
        values[name] = attribute_value(attr)
    return values


# --- verifiers (shared: graph_verify.py; conv, gemm: graph_conv_gemm.py; quant: graph_quant.py)


def _broadcast(op: Operation, values: list[SSAValue]) -> Shape | None:
    """The numpy-broadcast shape of `values`, None if one is unranked."""
    shapes = [shape_of(v) for v in values]
    if any(s is None for s in shapes):
        return None
    rank = max(len(cast(Shape, s)) for s in shapes)
    result: list[int] = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in cast(list[Shape], shapes) if i - rank + len(s) >= 0}
        static = dims - {1, -1}
        if len(static) > 1:
            types = ", ".join(describe(op, v) for v in values)
            raise VerifyException(f"operands do not broadcast: {types}")
        result.append(static.pop() if static else (-1 if -1 in dims else 1))
    return tuple(result)


def verify_broadcast(op: OnnxOp) -> None:
    """Elementwise ops: operands broadcast (numpy rules) to the result's shape (at once
    when every operand has the result's type, as in most of a model's elementwise ops)."""
    result = op.results[0].type
    if op.operands and all(same_type(v.type, result) for v in op.operands):
        return
    shape = _broadcast(op, list(op.operands))
    if shape is not None:
        check_dims(op, op.results[0], shape)


for _op_class in (AddOp, SubOp, MulOp, DivOp, PowOp, ModOp, AndOp, OrOp, XorOp, EqualOp,
                  GreaterOp, GreaterOrEqualOp, LessOp, LessOrEqualOp, BitShiftOp, BitwiseAndOp,
                  BitwiseOrOp, BitwiseXorOp, MaxOp, MinOp, MeanOp, SumOp, WhereOp):  # fmt: skip
    register_verifier(_op_class)(verify_broadcast)


@register_verifier(MatMulOp)
def verify_mat_mul(op: MatMulOp) -> None:
    a, b = shape_of(op.a), shape_of(op.b)
    if a is None or b is None:
        return
    if not a or not b:
        raise VerifyException(f"{describe(op, op.a)} and {describe(op, op.b)} must not be 0-D")
    a2, b2 = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    if a2[-1] >= 0 and b2[-2] >= 0 and a2[-1] != b2[-2]:
        raise VerifyException(
            f"inner dimensions of {describe(op, op.a)} and {describe(op, op.b)} differ"
        )
    batch_a, batch_b = a2[:-2], b2[:-2]
    rank = max(len(batch_a), len(batch_b))
    batch: list[int] = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in (batch_a, batch_b) if i - rank + len(s) >= 0}
        static = dims - {1, -1}
        if len(static) > 1:
            raise VerifyException(
                f"batch dimensions of {describe(op, op.a)} and {describe(op, op.b)} "
                "do not broadcast"
            )
        batch.append(static.pop() if static else (-1 if -1 in dims else 1))
    out = [*batch, *([a2[-2]] if len(a) > 1 else []), *([b2[-1]] if len(b) > 1 else [])]
    check_dims(op, op.y, tuple(out))


@register_verifier(ReshapeOp)
def verify_reshape(op: ReshapeOp) -> None:
    shape = shape_of(op.shape)
    if shape is not None and len(shape) != 1:
        raise VerifyException(f"{describe(op, op.shape)} should be 1-D")
    data, result = shape_of(op.data), shape_of(op.reshaped)
    if shape is not None and result is not None and shape[0] >= 0 and shape[0] != len(result):
        raise VerifyException(
            f"{describe(op, op.reshaped)} should have rank {shape[0]} like {describe(op, op.shape)}"
        )
    if data and result and min(data) >= 0 and min(result) >= 0 and prod(data) != prod(result):
        raise VerifyException(
            f"{describe(op, op.data)} and {describe(op, op.reshaped)} "
            "have different numbers of elements"
        )


@register_verifier(ConcatOp)
def verify_concat(op: ConcatOp) -> None:
    shapes = [s for v in op.inputs if (s := shape_of(v)) is not None]
    if not shapes:
        return
    rank, axis = len(shapes[0]), op.axis.value.data
    if not -rank <= axis < rank:
        raise VerifyException(f"axis = {axis} is out of range for {describe(op, op.inputs[0])}")
    axis %= rank
    out = list(shapes[0])
    for value in op.inputs[1:]:
        shape = shape_of(value)
        if shape is None:
            out[axis] = -1
            continue
        if len(shape) != rank or any(
            i != axis and a >= 0 and b >= 0 and a != b
            for i, (a, b) in enumerate(zip(shape, out, strict=True))
        ):
            raise VerifyException(
                f"{describe(op, value)} does not match {describe(op, op.inputs[0])} "
                f"outside axis {axis}"
            )
        out = [b if a < 0 else a for a, b in zip(out, shape, strict=True)]
        out[axis] = -1 if min(out[axis], shape[axis]) < 0 else out[axis] + shape[axis]
    if len(shapes) < len(op.inputs):
        out[axis] = -1
    check_dims(op, op.concat_result, tuple(out))


@register_verifier(TransposeOp)
def verify_transpose(op: TransposeOp) -> None:
    shape = shape_of(op.data)
    if shape is None:
        return
    perm = int_list(op.perm) or list(range(len(shape)))[::-1]
    if sorted(perm) != list(range(len(shape))):
        raise VerifyException(f"perm {perm} is not a permutation for {describe(op, op.data)}")
    check_dims(op, op.transposed, tuple(shape[p] for p in perm))


@register_verifier(BatchNormalizationOp)
def verify_batch_normalization(op: BatchNormalizationOp) -> None:
    x = shape_of(op.x)
    if x is None:
        return
    if len(x) < 2:
        raise VerifyException(f"{describe(op, op.x)} should have rank >= 2 (N x C x ...)")
    for value in (op.scale, op.b, op.input_mean, op.input_var):
        check_dims(op, value, (x[1],))
    check_dims(op, op.y, x)


def _same_shape(op: Operation, value: SSAValue, like: SSAValue) -> None:
    """`value` has `like`'s shape (where both are ranked)."""
    if same_type(value.type, like.type):
        return
    if (shape := shape_of(like)) is not None:
        check_dims(op, value, shape)


def _check_rank(op: Operation, value: SSAValue, rank: int) -> None:
    if (shape := shape_of(value)) is not None and len(shape) != rank:
        raise VerifyException(f"{describe(op, value)} should have rank {rank}")


SHAPE_PRESERVING = (
    AbsOp, AcosOp, AcoshOp, AsinOp, AsinhOp, AtanOp, AtanhOp, BitCastOp, BitwiseNotOp, CastOp,
    CastLikeOp, CeilOp, CeluOp, ClipOp, CosOp, CoshOp, CumProdOp, CumSumOp, EluOp, ErfOp, ExpOp,
    FloorOp, GeluOp, HardSigmoidOp, HardSwishOp, HardmaxOp, IdentityOp, InstanceNormalizationOp,
    IsInfOp, IsNaNOp, LRNOp, LeakyReluOp, LogOp, LogSoftmaxOp, LpNormalizationOp,
    MeanVarianceNormalizationOp, MishOp, NegOp, NotOp, ReciprocalOp, ReluOp, RoundOp, SeluOp,
    ShrinkOp, SigmoidOp, SignOp, SinOp, SinhOp, SoftmaxOp, SoftplusOp, SoftsignOp, SqrtOp,
    SwishOp, TanOp, TanhOp, ThresholdedReluOp, TriluOp,
)  # fmt: skip
"""Ops whose (first) result has the shape of their first operand."""

for _op_class in SHAPE_PRESERVING:
    register_verifier(_op_class)(lambda op: _same_shape(op, op.results[0], op.operands[0]))


def verify_reduce(op: Operation) -> None:
    """A reduction of `data` over `axes` (all of them when absent, unless
    `noop_with_empty_axes`): keepdims keeps the rank (each dim its own or 1), else the
    rank drops by the number of axes."""
    data, axes = shape_of(op.operands[0]), op.operands[1]
    result = shape_of(op.results[0])
    if data is None or result is None:
        return
    keepdims = int_value(op.properties.get("keepdims"), 1)
    noop = int_value(op.properties.get("noop_with_empty_axes"), 0)
    if keepdims:
        if len(result) != len(data) or any(
            r >= 0 and d >= 0 and r not in (d, 1) for r, d in zip(result, data, strict=True)
        ):
            dims = "x".join("?" if d < 0 else str(d) for d in data)
            raise VerifyException(f"{describe(op, op.results[0])} should have rank "
                                  f"{len(data)}, each dim that of {dims} or 1")  # fmt: skip
        return
    count = shape_of(axes) if isinstance(axes.type, TensorType) else (0,)
    if count is None or len(count) != 1 or count[0] < 0:
        return
    reduced = count[0] if count[0] or noop else len(data)
    if len(result) != len(data) - reduced:
        raise VerifyException(
            f"{describe(op, op.results[0])} should have rank {len(data) - reduced} "
            f"({len(data)} minus {reduced} reduced axes)"
        )


for _op_class in (ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp,
                  ReduceL1Op, ReduceL2Op, ReduceLogSumOp, ReduceLogSumExpOp,
                  ReduceSumSquareOp):  # fmt: skip
    register_verifier(_op_class)(verify_reduce)


@register_verifier(SwiGLUOp)
def verify_swi_glu(op: SwiGLUOp) -> None:
    """A and B have one shape (SwiGLU does not broadcast), the result too."""
    _same_shape(op, op.b, op.a)
    _same_shape(op, op.y, op.a)


@register_verifier(TensorScatterOp)
def verify_tensor_scatter(op: TensorScatterOp) -> None:
    _same_shape(op, op.present_cache, op.past_cache)
    if (past := shape_of(op.past_cache)) is not None:
        _check_rank(op, op.update, len(past))


@register_verifier(CausalConvWithStateOp)
def verify_causal_conv_with_state(op: CausalConvWithStateOp) -> None:
    """input [B, C, L], weight [C, 1, k], output [B, C, L]."""
    _check_rank(op, op.input, 3)
    _same_shape(op, op.output, op.input)
    if (x := shape_of(op.input)) is not None and (w := shape_of(op.weight)) is not None:
        check_dims(op, op.weight, (x[1], 1, w[2] if len(w) == 3 else -1))


@register_verifier(LinearAttentionOp)
def verify_linear_attention(op: LinearAttentionOp) -> None:
    """Packed [B, T, H*D] query, key, value and output; a [B, H_kv, d_k, d_v] state."""
    for value in (op.query, op.key, op.value, op.output):
        _check_rank(op, value, 3)
    _check_rank(op, op.present_state, 4)


class GraphConstantMaterialization(ConstantMaterializationInterface):
    """Folding patterns materialize their results as `graph.constant`."""

    def materialize_constant(self, value: Attribute, type: Attribute) -> Operation | None:
        if isinstance(value, DenseResourceAttr):
            return ConstantOp(value)
        if isinstance(value, DenseIntOrFPElementsAttr):
            return ConstantOp(cast(DenseIntOrFPElementsAttr, value))
        return None


ONNX_OPS: dict[str, type[IRDLOperation]] = {**GENERATED_OPS, "Constant": ConstantOp}
"""ONNX op_type -> op class, for every operator the dialect has."""

Graph = Dialect(
    "graph",
    [*GENERATED_OPS.values(), ConstantOp, NoneOp, YieldOp, FusedConvOp, FusedGemmOp, *LAYOUT_OPS],
    [],
    [GraphConstantMaterialization()],
)
