"""The functions a rewrite rule can call, and how Python code adds more.

A rule calls `name(args)` in `where`, `let` and `rewrite`. Arguments are what the rule
holds: SSA values for `%x` (a list for `%xs...`), Python values for attributes (int, float,
str, lists) and numpy arrays. A function that returns an array (or a number) used as an
operand of a built op becomes a `graph.constant`.

    from lamina.rewrites.helpers import helper

    @helper
    def is_depthwise(w: SSAValue, group: int) -> bool:
        '''A conv whose group equals its output channels.'''
        return shape(w)[0] == group

The function must be registered before the rule file that calls it is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from xdsl.dialects.builtin import TensorType, UnrankedTensorType, i32
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.errors import LaminaError

F = TypeVar("F", bound=Callable[..., Any])

HELPERS: dict[str, Callable[..., Any]] = {}
"""name -> function, for every function rules can call."""


def helper(fn: F) -> F:
    """Registers `fn` under its own name as a function rules can call."""
    HELPERS[fn.__name__.removeprefix("_")] = fn
    return fn


def register_helper(name: str, fn: Callable[..., Any]) -> None:
    """Registers `fn` under `name` (replacing a helper of that name)."""
    HELPERS[name] = fn


# ---- values ----


def _owner(value: SSAValue) -> Operation | None:
    owner = value.owner
    return owner if isinstance(owner, Operation) else None


def _values(args: Sequence[Any]) -> list[SSAValue]:
    """`f(%a, %b)` and `f(%xs)` (a list binding) alike."""
    flat: list[SSAValue] = []
    for arg in args:
        flat += list(arg) if isinstance(arg, list | tuple) else [arg]
    return flat


@helper
def is_const(*values: SSAValue) -> bool:
    """Every value is the result of a `graph.constant`."""
    return all((op := _owner(v)) is not None and op.name == "graph.constant" for v in values)


@helper
def all_const(*values: SSAValue | list[SSAValue]) -> bool:
    """Every value (lists included) is a constant."""
    return is_const(*_values(values))


@helper
def is_none(value: SSAValue) -> bool:
    """The value is the placeholder of a missing optional input (`graph.none`)."""
    return (op := _owner(value)) is not None and op.name == "graph.none"


@helper
def value(v: SSAValue | np.ndarray) -> np.ndarray:
    """The array of a constant (an array stays itself)."""
    if isinstance(v, np.ndarray):
        return v
    op = _owner(v)
    if op is None or op.name != "graph.constant":
        raise LaminaError(f"value() of a value that is not a constant: {v}")
    return op.to_array()  # pyright: ignore[reportAttributeAccessIssue]


@helper
def bias(v: SSAValue, scale: float = 1.0) -> np.ndarray | float:
    """An optional bias input times `scale`: its array, or 0 for `graph.none`."""
    return 0.0 if is_none(v) else value(v) * scale


@helper
def uses(v: SSAValue) -> int:
    """How many operands use the value."""
    return v.uses.get_length()


def _type(v: SSAValue) -> Attribute:
    return v.type


helper(_type)


@helper
def shape(v: SSAValue) -> list[int | None] | None:
    """The dims of a ranked tensor (None for a dynamic dim); None if unranked."""
    t = v.type
    if not isinstance(t, TensorType):
        return None
    return [None if d < 0 else d for d in t.get_shape()]


@helper
def rank(v: SSAValue) -> int | None:
    """The rank of a ranked tensor, else None."""
    dims = shape(v)
    return None if dims is None else len(dims)


@helper
def is_static(v: SSAValue) -> bool:
    """A ranked tensor without dynamic dims."""
    dims = shape(v)
    return dims is not None and None not in dims


@helper
def dtype(v: SSAValue) -> str | None:
    """The element type as MLIR spells it: "f32", "i64", "i1", ...; None for `none`."""
    t = v.type
    return str(t.element_type) if isinstance(t, TensorType) else None


@helper
def evaluate(v: SSAValue) -> np.ndarray:
    """Runs the op defining `v` on its constant operands (the reference kernel) and returns
    the array of `v`; what constant folding calls."""
    from lamina.dialects.graph import onnx_attributes
    from lamina.kernels import run_onnx_op

    op = _owner(v)
    assert op is not None and hasattr(type(op), "onnx_op_type")
    inputs = [None if is_none(x) else value(x) for x in op.operands]
    attrs = onnx_attributes(op)
    outputs = run_onnx_op(type(op).onnx_op_type, inputs, attrs, len(op.results))  # pyright: ignore[reportAttributeAccessIssue]
    return np.asarray(outputs[op.results.index(v)])


# ---- numpy ----

for _name, _fn in {
    "sqrt": np.sqrt,
    "abs": np.abs,
    "reshape": np.reshape,
    "transpose": np.transpose,
    "array": np.asarray,
    "concat": np.concatenate,
    "prod": lambda a: int(np.prod(a)),
    "sum": np.sum,
    "all": lambda a: bool(np.all(a)),
    "any": lambda a: bool(np.any(a)),
    "len": len,
    "list": lambda a: list(np.asarray(a).tolist()) if isinstance(a, np.ndarray) else list(a),
    "range": lambda *a: list(range(*a)),
    "min": min,
    "max": max,
    "zeros": lambda s, t="float32": np.zeros(s, t),
    "ones": lambda s, t="float32": np.ones(s, t),
    "cast": lambda a, t: np.asarray(a).astype(t),
}.items():
    register_helper(_name, _fn)


@helper
def per_channel(a: np.ndarray, rank: int, axis: int = 0) -> np.ndarray:
    """A 1-D array shaped to broadcast along `axis` of a rank-`rank` tensor: (C,) -> (C, 1, 1, 1)
    for conv weights (axis 0), (1, C, 1, 1) for NCHW activations (axis 1)."""
    dims = [1] * rank
    dims[axis] = -1
    return np.reshape(a, dims)


# ---- layouts: permutations and pads ----


@helper
def perm(p: list[int] | None, rank: int) -> list[int]:
    """A Transpose `perm` attribute; absent means reversing the dims."""
    return list(p) if p is not None else list(reversed(range(rank)))


@helper
def compose_perm(first: list[int], second: list[int]) -> list[int]:
    """The perm of transpose(transpose(x, first), second)."""
    return [first[i] for i in second]


@helper
def inverse_perm(p: list[int]) -> list[int]:
    """The perm that undoes Transpose perm `p`."""
    return [int(i) for i in np.argsort(p)]


@helper
def permute_type(v: SSAValue, p: list[int]) -> Attribute:
    """The type of transpose(v, p): the dims of ranked tensor `v` permuted by `p`."""
    t = v.type
    assert isinstance(t, TensorType)
    dims = t.get_shape()
    return TensorType(t.element_type, [dims[i] for i in p])


@helper
def with_element_type(v: SSAValue, like: SSAValue) -> Attribute:
    """`v`'s tensor type with the element type of `like` (a dequantized value's type:
    `v`'s shape, its scale's element type)."""
    t, e = v.type, like.type
    assert isinstance(t, TensorType | UnrankedTensorType) and isinstance(e, TensorType)
    if isinstance(t, UnrankedTensorType):
        return UnrankedTensorType(e.element_type)
    return TensorType(e.element_type, t.get_shape())


@helper
def with_i32(v: SSAValue) -> Attribute:
    """`v`'s tensor type with element type i32 (the accumulator of an integer op)."""
    t = v.type
    assert isinstance(t, TensorType | UnrankedTensorType)
    if isinstance(t, UnrankedTensorType):
        return UnrankedTensorType(i32)
    return TensorType(i32, t.get_shape())


@helper
def permute_const(k: SSAValue, p: list[int], rank: int) -> np.ndarray | None:
    """The constant k2 with transpose(k2, p) == k after broadcasting k (rank <= `rank`) to
    rank `rank`: add(transpose(x, p), k) == transpose(add(x, k2), p). None if k has more dims."""
    a = value(k)
    if a.ndim > rank:
        return None
    return np.transpose(a.reshape((1,) * (rank - a.ndim) + a.shape), inverse_perm(p))


@helper
def channel_vector(b: SSAValue, y: SSAValue) -> np.ndarray | None:
    """The 1-D per-channel values of `b` if adding `b` to NCHW `y` adds one number per channel
    (b's shape is (C,1,..,1) or (1,C,1,..,1)), else None."""
    b_dims, y_dims = shape(b), shape(y)
    if b_dims is None or y_dims is None or len(b_dims) > len(y_dims) or len(y_dims) < 2:
        return None
    padded = [1] * (len(y_dims) - len(b_dims)) + list(b_dims)
    channels = y_dims[1]
    if channels is None or padded[0] != 1 or any(d != 1 for d in padded[2:]):
        return None
    if padded[1] not in (1, channels):
        return None
    return np.broadcast_to(value(b).reshape(-1), (channels,))


@helper
def spatial_pads(pads: SSAValue, rank: int) -> list[int] | None:
    """The pads of a Pad on an N,C,spatial... tensor as a conv `pads` attribute
    ([begin..., end...] of the spatial dims), or None if it pads N or C or crops."""
    p = [int(x) for x in value(pads)]
    begin, end = p[:rank], p[rank:]
    if len(p) != 2 * rank or min(p) < 0 or begin[:2] != [0, 0] or end[:2] != [0, 0]:
        return None
    return begin[2:] + end[2:]


@helper
def nhwc_spatial_pads(pads: SSAValue) -> list[int] | None:
    """The pads of a Pad on an N,H,W,C tensor as an nhwc_conv `pads` attribute ([top,
    left, bottom, right]), or None if it pads N or C or crops."""
    p = [int(x) for x in value(pads)]
    if len(p) != 8 or min(p) < 0 or p[0] or p[3] or p[4] or p[7]:
        return None
    return [p[1], p[2], p[5], p[6]]


@helper
def add_pads(a: list[int] | None, b: list[int]) -> list[int]:
    """Elementwise sum of two `pads` attributes; an absent attribute is all zeros."""
    return [x + y for x, y in zip(a or [0] * len(b), b, strict=True)]


@helper
def pad_value(v: SSAValue) -> float | None:
    """The scalar constant_value of a Pad (0 when absent, None when not a constant)."""
    if is_none(v):
        return 0.0
    return float(value(v).reshape(-1)[0]) if is_const(v) else None


# ---- requantization ----


@helper
def integer_bias(b: SSAValue, scale: SSAValue) -> np.ndarray | None:
    """The i32 sums that a constant bias `b` is in units of `scale` (a quantized bias,
    b = k * scale for integers k, as quantizers write it), or None if it is not one."""
    units = value(b).astype(np.float64) / value(scale).astype(np.float64)
    whole = np.round(units)
    if not np.all(np.isfinite(units)) or np.abs(units - whole).max(initial=0) > 1e-3:
        return None
    if np.abs(whole).max(initial=0) >= 2**31:
        return None
    return whole.astype(np.int32)


@helper
def requantize_scale(scale: SSAValue, y_scale: SSAValue) -> np.ndarray:
    """scale / y_scale in f32, as onnxruntime's QLinearConv and QGemm requantize with it."""
    return (value(scale).astype(np.float32) / value(y_scale).astype(np.float32)).astype(np.float32)


@helper
def unit_scale(y_scale: SSAValue) -> np.ndarray:
    """A scale of 1 of `y_scale`'s shape and type."""
    return np.ones_like(value(y_scale))


SHUFFLE_CHECK_ELEMENTS = 1 << 20
"""The largest tensor whose reshape-transpose-reshape is checked element by element for
being a channel shuffle (an int64 position array of this size, 8 MB, is built)."""


@helper
def shuffled_channels(
    x: SSAValue, grouped: SSAValue, p: list[int] | None, y: SSAValue
) -> np.ndarray | None:
    """The int64 indices `idx` with y == gather(x, idx, axis=1) when y is x reshaped to
    `grouped`'s shape, transposed by `p` and reshaped back to x's static shape (a channel
    shuffle), else None. Decided on the channels alone when `grouped` keeps x's batch
    and spatial dims and `p` leaves them in place (ShuffleNet's form); any other split is
    checked element by element, up to `SHUFFLE_CHECK_ELEMENTS`."""
    dims, split = _static_shape(x), _static_shape(grouped)
    if dims is None or split is None or shape(y) != dims or len(dims) < 2 or p is None:
        return None
    if len(p) != len(split):
        return None
    spatial = len(dims) - 2
    channel_axes = len(split) - 1 - spatial
    if (
        channel_axes >= 1
        and split[0] == dims[0]
        and split[1 + channel_axes :] == dims[2:]
        and p[0] == 0
        and p[1 + channel_axes :] == list(range(1 + channel_axes, len(split)))
    ):
        channels = np.arange(dims[1]).reshape(split[1 : 1 + channel_axes])
        moved = np.transpose(channels, [axis - 1 for axis in p[1 : 1 + channel_axes]])
        return moved.reshape(-1).astype(np.int64)
    if int(np.prod(dims)) > SHUFFLE_CHECK_ELEMENTS:
        return None
    positions = np.arange(int(np.prod(dims))).reshape(dims)
    moved = np.transpose(positions.reshape(split), p).reshape(dims)
    first_of_each_channel = moved[(0, slice(None)) + (0,) * spatial]
    idx = (first_of_each_channel // int(np.prod(dims[2:]))) % dims[1]
    if not np.array_equal(np.take(positions, idx, axis=1), moved):
        return None
    return idx.astype(np.int64)


def _static_shape(v: SSAValue) -> list[int] | None:
    """`v`'s shape when every dim is static, else None."""
    dims = shape(v)
    if dims is None or None in dims:
        return None
    return [d for d in dims if d is not None]
