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
    DYNAMIC_INDEX,
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
    AddOp,
    AndOp,
    BatchNormalizationOp,
    BitCastOp,
    BitShiftOp,
    BitwiseAndOp,
    BitwiseOrOp,
    BitwiseXorOp,
    CausalConvWithStateOp,
    ConcatOp,
    ConvOp,
    CumProdOp,
    DivOp,
    EqualOp,
    GemmOp,
    GreaterOp,
    GreaterOrEqualOp,
    IfOp,
    LessOp,
    LessOrEqualOp,
    LinearAttentionOp,
    LoopOp,
    MatMulOp,
    MaxOp,
    MeanOp,
    MinOp,
    ModOp,
    MulOp,
    OrOp,
    PowOp,
    ReshapeOp,
    ScanOp,
    SubOp,
    SumOp,
    SwiGLUOp,
    SwishOp,
    TensorScatterOp,
    TransposeOp,
    WhereOp,
    XorOp,
)
from lamina.dialects.weights import WEIGHTS, element_type, numpy_dtype
from lamina.errors import LaminaError

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
        value = self.value
        return isinstance(value, DenseResourceAttr) and WEIGHTS.is_elided(
            value.resource_handle.data
        )

    def verify_(self) -> None:
        if not isinstance(self.output.type, TensorType):
            raise VerifyException(f"graph.constant must be a tensor, got {self.output.type}")


def tensor_to_array(attr: Attribute) -> np.ndarray:
    """The value of a TENSOR attribute (`dense` or `dense_resource`) as a read-only array."""
    if isinstance(attr, DenseResourceAttr):
        type = cast(TensorType[Attribute], attr.type)
        shape = type.get_shape()
        return WEIGHTS.array(attr.resource_handle.data, numpy_dtype(type.element_type), shape)
    if isinstance(attr, DenseIntOrFPElementsAttr):
        dtype = numpy_dtype(cast(DenseIntOrFPElementsAttr, attr).get_element_type())
        dense = cast(DenseIntOrFPElementsAttr, attr)
        return np.frombuffer(dense.data.data, dtype).reshape(dense.get_shape())
    raise VerifyException(f"expected a dense or dense_resource tensor, got {attr}")


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


# --- verifiers ----------------------------------------------------------------------------------

# Each checks what static types can show; a dynamic dimension (`?`) or an unranked tensor
# agrees with anything. Messages name the ONNX operand and its type.

Shape = tuple[int, ...]


def _shape(value: SSAValue) -> Shape | None:
    """The shape of a ranked tensor value (-1 for `?`), None for unranked tensors and none."""
    type = value.type
    if not isinstance(type, TensorType):
        return None
    shape = cast(TensorType[Attribute], type).get_shape()
    return tuple(-1 if d == DYNAMIC_INDEX else d for d in shape)


def _operand_name(op: Operation, index: int) -> str:
    """The ONNX name of operand `index` (`x`, or `inputs[1]` in a variadic group)."""
    fields = [name for name, _ in type(cast(IRDLOperation, op)).get_irdl_definition().operands]
    if len(fields) == len(op.operands):
        return fields[index]
    return f"{fields[-1]}[{index - len(fields) + 1}]"


def _describe(op: Operation, value: SSAValue) -> str:
    if value in op.results:
        return f"result {op.results.index(value)} : {value.type}"
    return f"{_operand_name(op, list(op.operands).index(value))} : {value.type}"


def _int_list(attr: Attribute | None) -> list[int] | None:
    return None if attr is None else cast(list[int], attribute_value(attr))


def _int(attr: Attribute | None, default: int) -> int:
    return default if attr is None else cast(int, attribute_value(attr))


def _check_dims(op: Operation, value: SSAValue, expected: Shape) -> None:
    """`value`'s type, if ranked, has `expected`'s rank and its static dims."""
    shape = _shape(value)
    if shape is None:
        return
    wrong = len(shape) != len(expected) or any(
        a >= 0 and b >= 0 and a != b for a, b in zip(shape, expected, strict=True)
    )
    if wrong:
        dims = "x".join("?" if d < 0 else str(d) for d in expected)
        raise VerifyException(f"{_describe(op, value)} should have shape {dims}")


def _broadcast(op: Operation, values: list[SSAValue]) -> Shape | None:
    """The numpy-broadcast shape of `values`, None if one is unranked."""
    shapes = [_shape(v) for v in values]
    if any(s is None for s in shapes):
        return None
    rank = max(len(cast(Shape, s)) for s in shapes)
    result: list[int] = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in cast(list[Shape], shapes) if i - rank + len(s) >= 0}
        static = dims - {1, -1}
        if len(static) > 1:
            types = ", ".join(_describe(op, v) for v in values)
            raise VerifyException(f"operands do not broadcast: {types}")
        result.append(static.pop() if static else (-1 if -1 in dims else 1))
    return tuple(result)


def verify_broadcast(op: OnnxOp) -> None:
    """Elementwise ops: operands broadcast (numpy rules) to the result's shape."""
    shape = _broadcast(op, list(op.operands))
    if shape is not None:
        _check_dims(op, op.results[0], shape)


for _op_class in (AddOp, SubOp, MulOp, DivOp, PowOp, ModOp, AndOp, OrOp, XorOp, EqualOp,
                  GreaterOp, GreaterOrEqualOp, LessOp, LessOrEqualOp, BitShiftOp, BitwiseAndOp,
                  BitwiseOrOp, BitwiseXorOp, MaxOp, MinOp, MeanOp, SumOp, WhereOp):  # fmt: skip
    register_verifier(_op_class)(verify_broadcast)


@register_verifier(ConvOp)
def verify_conv(op: ConvOp) -> None:
    x, w = _shape(op.x), _shape(op.w)
    if x is None or w is None:
        return
    if len(x) < 3 or len(w) != len(x):
        raise VerifyException(
            f"{_describe(op, op.x)} and {_describe(op, op.w)} should have the same rank >= 3"
        )
    spatial = len(x) - 2
    group = _int(op.group, 1)
    if x[1] >= 0 and w[1] >= 0 and x[1] != w[1] * group:
        raise VerifyException(
            f"{_describe(op, op.x)} has {x[1]} channels but {_describe(op, op.w)} with "
            f"group = {group} expects {w[1] * group}"
        )
    kernel = _int_list(op.kernel_shape) or list(w[2:])
    for attr, size in (("kernel_shape", spatial), ("strides", spatial),
                       ("dilations", spatial), ("pads", 2 * spatial)):  # fmt: skip
        values = _int_list(op.properties.get(attr))
        if values is not None and len(values) != size:
            raise VerifyException(
                f"{attr} has {len(values)} values but {_describe(op, op.x)} needs {size}"
            )
    if any(k >= 0 and d >= 0 and k != d for k, d in zip(kernel, w[2:], strict=True)):
        raise VerifyException(f"kernel_shape {kernel} differs from {_describe(op, op.w)}")
    if (b := _shape(op.b)) is not None:
        _check_dims(op, op.b, (w[0],))
        del b
    strides = _int_list(op.strides) or [1] * spatial
    dilations = _int_list(op.dilations) or [1] * spatial
    pads = _int_list(op.pads) or [0] * (2 * spatial)
    auto_pad = op.auto_pad.data if op.auto_pad is not None else "NOTSET"
    out = [x[0], w[0]]
    for i in range(spatial):
        size, k = x[2 + i], kernel[i]
        if size < 0 or k < 0:
            out.append(-1)
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // strides[i]))
        else:
            padded = size + (pads[i] + pads[i + spatial] if auto_pad == "NOTSET" else 0)
            out.append((padded - dilations[i] * (k - 1) - 1) // strides[i] + 1)
    _check_dims(op, op.y, tuple(out))


@register_verifier(GemmOp)
def verify_gemm(op: GemmOp) -> None:
    a, b = _shape(op.a), _shape(op.b)
    for value, shape in ((op.a, a), (op.b, b)):
        if shape is not None and len(shape) != 2:
            raise VerifyException(f"{_describe(op, value)} should be a matrix")
    if a is None or b is None:
        return
    m, k = (a[1], a[0]) if _int(op.trans_a, 0) else a
    k2, n = (b[1], b[0]) if _int(op.trans_b, 0) else b
    if k >= 0 and k2 >= 0 and k != k2:
        raise VerifyException(
            f"inner dimensions of {_describe(op, op.a)} and {_describe(op, op.b)} differ"
            f" ({k} != {k2}; trans_a = {_int(op.trans_a, 0)}, trans_b = {_int(op.trans_b, 0)})"
        )
    if (c := _shape(op.c)) is not None and (
        len(c) > 2
        or any(d not in (1, -1, e) and e >= 0 for d, e in zip(c[::-1], (n, m), strict=False))
    ):
        raise VerifyException(f"{_describe(op, op.c)} does not broadcast to {m}x{n}")
    _check_dims(op, op.y, (m, n))


@register_verifier(MatMulOp)
def verify_mat_mul(op: MatMulOp) -> None:
    a, b = _shape(op.a), _shape(op.b)
    if a is None or b is None:
        return
    if not a or not b:
        raise VerifyException(f"{_describe(op, op.a)} and {_describe(op, op.b)} must not be 0-D")
    a2, b2 = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    if a2[-1] >= 0 and b2[-2] >= 0 and a2[-1] != b2[-2]:
        raise VerifyException(
            f"inner dimensions of {_describe(op, op.a)} and {_describe(op, op.b)} differ"
        )
    batch_a, batch_b = a2[:-2], b2[:-2]
    rank = max(len(batch_a), len(batch_b))
    batch: list[int] = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in (batch_a, batch_b) if i - rank + len(s) >= 0}
        static = dims - {1, -1}
        if len(static) > 1:
            raise VerifyException(
                f"batch dimensions of {_describe(op, op.a)} and {_describe(op, op.b)} "
                "do not broadcast"
            )
        batch.append(static.pop() if static else (-1 if -1 in dims else 1))
    out = [*batch, *([a2[-2]] if len(a) > 1 else []), *([b2[-1]] if len(b) > 1 else [])]
    _check_dims(op, op.y, tuple(out))


@register_verifier(ReshapeOp)
def verify_reshape(op: ReshapeOp) -> None:
    shape = _shape(op.shape)
    if shape is not None and len(shape) != 1:
        raise VerifyException(f"{_describe(op, op.shape)} should be 1-D")
    data, result = _shape(op.data), _shape(op.reshaped)
    if shape is not None and result is not None and shape[0] >= 0 and shape[0] != len(result):
        raise VerifyException(
            f"{_describe(op, op.reshaped)} should have rank {shape[0]} "
            f"like {_describe(op, op.shape)}"
        )
    if data and result and min(data) >= 0 and min(result) >= 0 and prod(data) != prod(result):
        raise VerifyException(
            f"{_describe(op, op.data)} and {_describe(op, op.reshaped)} "
            "have different numbers of elements"
        )


@register_verifier(ConcatOp)
def verify_concat(op: ConcatOp) -> None:
    shapes = [s for v in op.inputs if (s := _shape(v)) is not None]
    if not shapes:
        return
    rank, axis = len(shapes[0]), op.axis.value.data
    if not -rank <= axis < rank:
        raise VerifyException(f"axis = {axis} is out of range for {_describe(op, op.inputs[0])}")
    axis %= rank
    out = list(shapes[0])
    for value in op.inputs[1:]:
        shape = _shape(value)
        if shape is None:
            out[axis] = -1
            continue
        if len(shape) != rank or any(
            i != axis and a >= 0 and b >= 0 and a != b
            for i, (a, b) in enumerate(zip(shape, out, strict=True))
        ):
            raise VerifyException(
                f"{_describe(op, value)} does not match {_describe(op, op.inputs[0])} "
                f"outside axis {axis}"
            )
        out = [b if a < 0 else a for a, b in zip(out, shape, strict=True)]
        out[axis] = -1 if min(out[axis], shape[axis]) < 0 else out[axis] + shape[axis]
    if len(shapes) < len(op.inputs):
        out[axis] = -1
    _check_dims(op, op.concat_result, tuple(out))


@register_verifier(TransposeOp)
def verify_transpose(op: TransposeOp) -> None:
    shape = _shape(op.data)
    if shape is None:
        return
    perm = _int_list(op.perm) or list(range(len(shape)))[::-1]
    if sorted(perm) != list(range(len(shape))):
        raise VerifyException(f"perm {perm} is not a permutation for {_describe(op, op.data)}")
    _check_dims(op, op.transposed, tuple(shape[p] for p in perm))


@register_verifier(BatchNormalizationOp)
def verify_batch_normalization(op: BatchNormalizationOp) -> None:
    x = _shape(op.x)
    if x is None:
        return
    if len(x) < 2:
        raise VerifyException(f"{_describe(op, op.x)} should have rank >= 2 (N x C x ...)")
    for value in (op.scale, op.b, op.input_mean, op.input_var):
        _check_dims(op, value, (x[1],))
    _check_dims(op, op.y, x)


def _same_shape(op: Operation, value: SSAValue, like: SSAValue) -> None:
    """`value` has `like`'s shape (where both are ranked)."""
    if (shape := _shape(like)) is not None:
        _check_dims(op, value, shape)


def _check_rank(op: Operation, value: SSAValue, rank: int) -> None:
    if (shape := _shape(value)) is not None and len(shape) != rank:
        raise VerifyException(f"{_describe(op, value)} should have rank {rank}")


for _op_class in (SwishOp, CumProdOp, BitCastOp):  # fmt: skip
    register_verifier(_op_class)(lambda op: _same_shape(op, op.results[0], op.operands[0]))


@register_verifier(SwiGLUOp)
def verify_swi_glu(op: SwiGLUOp) -> None:
    """A and B have one shape (SwiGLU does not broadcast), the result too."""
    _same_shape(op, op.b, op.a)
    _same_shape(op, op.y, op.a)


@register_verifier(TensorScatterOp)
def verify_tensor_scatter(op: TensorScatterOp) -> None:
    _same_shape(op, op.present_cache, op.past_cache)
    if (past := _shape(op.past_cache)) is not None:
        _check_rank(op, op.update, len(past))


@register_verifier(CausalConvWithStateOp)
def verify_causal_conv_with_state(op: CausalConvWithStateOp) -> None:
    """input [B, C, L], weight [C, 1, k], output [B, C, L]."""
    _check_rank(op, op.input, 3)
    _same_shape(op, op.output, op.input)
    if (x := _shape(op.input)) is not None and (w := _shape(op.weight)) is not None:
        _check_dims(op, op.weight, (x[1], 1, w[2] if len(w) == 3 else -1))


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
