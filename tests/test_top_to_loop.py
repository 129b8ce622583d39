"""convert-top-to-loop + plan-memory, checked numerically: each case is top IR written by
hand, run by the loop interpreter after lowering and planning, and compared with numpy
(and with the top interpreter when it exists).

Tolerances: float32 sums in a different order than numpy's pairwise sums, so results agree
to a few ulps of the largest partial sum (rtol 1e-5, atol 1e-5 on values of order 1-10).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from helpers_kernels import conv_nchw, parse, scaled_row_reduction, tensor
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp

from lamina.context import make_context
from lamina.dialects import loop
from lamina.dialects.weights import WEIGHTS
from lamina.errors import UnsupportedError, UnsupportedOpError
from lamina.lowering.plan_memory import PlanMemoryPass
from lamina.lowering.top_to_loop import ConvertTopToLoopPass
from lamina.runtime.reference.loop_interpreter import run_loop

RNG = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def lower(text: str, plan: bool = True) -> ModuleOp:
    module = parse(text)
    ctx = make_context()
    ConvertTopToLoopPass().apply(ctx, module)
    module.verify()
    if plan:
        PlanMemoryPass().apply(ctx, module)
        module.verify()
    return module


def reference(text: str, inputs: Sequence[np.ndarray]) -> list[np.ndarray] | None:
    """The top interpreter's results, when that interpreter is available."""
    try:
        from lamina.runtime.reference.top_interpreter import (  # pyright: ignore
            run_top,  # pyright: ignore
        )
    except ImportError:
        return None
    try:
        return list(run_top(parse(text), list(inputs)))  # pyright: ignore
    except UnsupportedError:
        return None  # a case the top interpreter does not cover (yet): numpy decides


def check(text: str, inputs: Sequence[np.ndarray], expected: Sequence[np.ndarray], **tol: float):
    tol = {"rtol": 1e-5, "atol": 1e-5} | tol
    for plan in (False, True):
        got = run_loop(lower(text, plan), inputs)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, **tol)  # pyright: ignore
    top_results = reference(text, inputs)
    if top_results is not None:
        for g, e in zip(top_results, expected, strict=True):
            np.testing.assert_allclose(g, e, **tol)  # pyright: ignore


def weight(array: np.ndarray) -> str:
    """A `dense_resource` key holding `array` (for `graph.constant` in test IR)."""
    return WEIGHTS.add("test_w", array)


# --- matmul -----------------------------------------------------------------------------------


def test_matmul_8x16x4_with_constant_rhs_matches_numpy() -> None:
    a, b = f32(8, 16), f32(16, 4)
    text = f"""
    func.func @main(%a: tensor<8x16xf32>) -> tensor<8x4xf32> {{
      %b = graph.constant dense_resource<{weight(b)}> : tensor<16x4xf32>
      %c = top.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
      func.return %c : tensor<8x4xf32>
    }}"""
    check(text, [a], [a @ b])


def test_batched_matmul_with_transposes_and_broadcast_batch() -> None:
    a, b = f32(3, 1, 8, 4), f32(5, 6, 8)
    text = """
    func.func @main(%a: tensor<3x1x8x4xf32>, %b: tensor<5x6x8xf32>) -> tensor<3x5x4x6xf32> {
      %c = top.matmul %a, %b transpose_lhs transpose_rhs
          : (tensor<3x1x8x4xf32>, tensor<5x6x8xf32>) -> tensor<3x5x4x6xf32>
      func.return %c : tensor<3x5x4x6xf32>
    }"""
    expected = np.matmul(a.swapaxes(-1, -2), b.swapaxes(-1, -2))
    check(text, [a, b], [expected])


def test_int8_matmul_accumulates_in_i32() -> None:
    a = RNG.integers(-128, 128, (4, 8)).astype(np.int8)
    b = RNG.integers(-128, 128, (8, 16)).astype(np.int8)
    text = """
    func.func @main(%a: tensor<4x8xi8>, %b: tensor<8x16xi8>) -> tensor<4x16xi32> {
      %c = top.matmul %a, %b : (tensor<4x8xi8>, tensor<8x16xi8>) -> tensor<4x16xi32>
      func.return %c : tensor<4x16xi32>
    }"""
    check(text, [a, b], [a.astype(np.int32) @ b.astype(np.int32)])


# --- conv2d -----------------------------------------------------------------------------------


def conv2d_text(
    layout: str,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    y_shape: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    low: Sequence[int],
    high: Sequence[int],
    groups: int,
    *,
    constant_filter: bool = False,
) -> str:
    """A @main of one top.conv2d `layout` on f32 arguments shaped like `x`, `w` (with
    `constant_filter`, a graph.constant of `w` instead) and `b` (None: no bias), returning
    its result of shape `y_shape`; the geometry as conv_nchw takes it."""
    xt, wt, yt = tensor(x.shape), tensor(w.shape), tensor(y_shape)
    operands = [("%x", xt), ("%w", wt)] + ([] if b is None else [("%b", tensor(b.shape))])
    arguments = [
        f"{name}: {type_}" for name, type_ in operands if name != "%w" or not constant_filter
    ]
    filter_constant = (
        f"%w = graph.constant dense_resource<{weight(w)}> : {wt}\n      " if constant_filter else ""
    )
    return f"""
    func.func @main({", ".join(arguments)}) -> {yt} {{
      {filter_constant}%y = top.conv2d {layout} {", ".join(name for name, _ in operands)}
          strides {list(strides)} dilations {list(dilations)} pad_low {list(low)}
          pad_high {list(high)} groups {groups}
          : ({", ".join(type_ for _, type_ in operands)}) -> {yt}
      func.return %y : {yt}
    }}"""


def test_conv2d_nchw_with_stride_pad_groups_and_bias() -> None:
    x, w, b = f32(1, 4, 9, 8), f32(6, 2, 3, 3), f32(6)
    geometry = ((2, 2), (1, 1), (1, 1), (1, 0), 2)
    text = conv2d_text("nchw_fchw", x, w, b, (1, 6, 5, 4), *geometry, constant_filter=True)
    check(text, [x, b], [conv_nchw(x, w, b, *geometry)])


def test_conv2d_nchw_with_dilation_and_asymmetric_pads() -> None:
    x, w = f32(2, 3, 7, 7), f32(4, 3, 2, 3)
    geometry = ((1, 1), (2, 1), (2, 0), (0, 0), 1)
    text = conv2d_text("nchw_fchw", x, w, None, (2, 4, 7, 5), *geometry)
    check(text, [x, w], [conv_nchw(x, w, None, *geometry)])


def test_conv2d_nhwc_hwcf_with_groups() -> None:
    x, w = f32(1, 6, 6, 4), f32(3, 3, 2, 6)
    geometry = ((1, 1), (1, 1), (1, 1), (1, 1), 2)
    text = conv2d_text("nhwc_hwcf", x, w, None, (1, 6, 6, 6), *geometry)
    y = conv_nchw(x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1), None, *geometry)
    check(text, [x, w], [y.transpose(0, 2, 3, 1)])


def test_conv2d_nchwc_blocked_with_bias() -> None:
    x, w, b = f32(1, 2, 5, 5, 4), f32(2, 2, 3, 3, 4, 8), f32(2, 8)
    geometry = ((2, 2), (1, 1), (1, 1), (1, 1), 1)
    text = conv2d_text("nchwc", x, w, b, (1, 2, 3, 3, 8), *geometry)
    xn = x.transpose(0, 1, 4, 2, 3).reshape(1, 8, 5, 5)
    wn = w.transpose(0, 5, 1, 4, 2, 3).reshape(16, 8, 3, 3)
    y = conv_nchw(xn, wn, b.reshape(-1), *geometry)
    check(text, [x, w, b], [y.reshape(1, 2, 8, 3, 3).transpose(0, 1, 3, 4, 2)])


# --- pool -------------------------------------------------------------------------------------


def pool_nchw(x, kind, kernel, strides, low, high, out, include_pad=False):  # type: ignore
    pads = [(0, 0), (0, 0)] + [
        (lo, max(hi, (o - 1) * s + k - lo - n))
        for lo, hi, o, s, k, n in zip(low, high, out, strides, kernel, x.shape[2:], strict=True)
    ]
    xp = np.pad(x.astype(np.float64), pads, constant_values=np.nan)
    inside = np.pad(np.ones(x.shape[2:]), pads[2:])
    padded = np.pad(
        np.ones([n + lo + hi for n, lo, hi in zip(x.shape[2:], low, high, strict=True)]),
        [(0, p[1] - hi) for p, hi in zip(pads[2:], high, strict=True)],
    )
    counted = padded if include_pad else inside
    y = np.full((*x.shape[:2], *out), -np.inf if kind == "max" else 0.0)
    count = np.zeros(out)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            window = (
                slice(i, i + strides[0] * (out[0] - 1) + 1, strides[0]),
                slice(j, j + strides[1] * (out[1] - 1) + 1, strides[1]),
            )
            part = xp[(slice(None), slice(None), *window)]
            if kind == "max":
                y = np.fmax(y, part)
            else:
                y += np.nan_to_num(part)
                count += counted[window]
    return (y if kind == "max" else y / count).astype(np.float32)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_with_padding_matches_numpy(kind: str) -> None:
    x = f32(1, 3, 7, 7)
    text = f"""
    func.func @main(%x: tensor<1x3x7x7xf32>) -> tensor<1x3x4x4xf32> {{
      %y = top.pool {kind} nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1]
          pad_low [1, 1] pad_high [1, 1] : tensor<1x3x7x7xf32> -> tensor<1x3x4x4xf32>
      func.return %y : tensor<1x3x4x4xf32>
    }}"""
    check(text, [x], [pool_nchw(x, kind, (3, 3), (2, 2), (1, 1), (1, 1), (4, 4))])


def test_avg_pool_count_include_pad_in_ceil_mode() -> None:
    x = f32(1, 2, 7, 7)
    # ceil mode: (7 + 1 + 0 - 3) / 2 + 1 rounded up = 4: the last window leaves the pads,
    # and its taps past them are not counted even with count_include_pad
    text = """
    func.func @main(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> {
      %y = top.pool avg nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1]
          pad_low [1, 1] pad_high [0, 0] count_include_pad
          : tensor<1x2x7x7xf32> -> tensor<1x2x4x4xf32>
      func.return %y : tensor<1x2x4x4xf32>
    }"""
    expected = pool_nchw(x, "avg", (3, 3), (2, 2), (1, 1), (0, 0), (4, 4), include_pad=True)
    check(text, [x], [expected])


def test_max_pool_nhwc() -> None:
    x = f32(1, 5, 5, 3)
    text = """
    func.func @main(%x: tensor<1x5x5x3xf32>) -> tensor<1x2x2x3xf32> {
      %y = top.pool max nhwc %x kernel [2, 2] strides [2, 2] dilations [1, 1]
          pad_low [0, 0] pad_high [0, 0] : tensor<1x5x5x3xf32> -> tensor<1x2x2x3xf32>
      func.return %y : tensor<1x2x2x3xf32>
    }"""
    expected = x[:, :4, :4, :].reshape(1, 2, 2, 2, 2, 3).max(axis=(2, 4))
    check(text, [x], [expected])


# --- reduce, transpose, pad, gather, broadcast ------------------------------------------------

_REDUCE = {
    "sum": lambda x, a, k: x.sum(axis=a, keepdims=k),
    "mean": lambda x, a, k: x.mean(axis=a, keepdims=k),
    "prod": lambda x, a, k: x.prod(axis=a, keepdims=k),
    "max": lambda x, a, k: x.max(axis=a, keepdims=k),
    "min": lambda x, a, k: x.min(axis=a, keepdims=k),
    "l1": lambda x, a, k: np.abs(x).sum(axis=a, keepdims=k),
    "l2": lambda x, a, k: np.sqrt((x * x).sum(axis=a, keepdims=k)),
    "sum_square": lambda x, a, k: (x * x).sum(axis=a, keepdims=k),
    "log_sum": lambda x, a, k: np.log(x.sum(axis=a, keepdims=k)),
    "log_sum_exp": lambda x, a, k: np.log(np.exp(x).sum(axis=a, keepdims=k)),
}


@pytest.mark.parametrize("kind", sorted(_REDUCE))
def test_reduce_kinds_match_numpy(kind: str) -> None:
    x = np.abs(f32(3, 4, 5)) + 0.5
    text = f"""
    func.func @main(%x: tensor<3x4x5xf32>) -> (tensor<3x1x1xf32>, tensor<4xf32>) {{
      %a = top.reduce {kind} %x axes [1, 2] keepdims : tensor<3x4x5xf32> -> tensor<3x1x1xf32>
      %b = top.reduce {kind} %x axes [0, 2] : tensor<3x4x5xf32> -> tensor<4xf32>
      func.return %a, %b : tensor<3x1x1xf32>, tensor<4xf32>
    }}"""
    ref = _REDUCE[kind]
    check(text, [x], [ref(x, (1, 2), True), ref(x, (0, 2), False)], rtol=1e-4)


def test_transpose_3d() -> None:
    x = f32(2, 3, 4)
    text = """
    func.func @main(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
      %t = top.transpose %x permutation [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
      func.return %t : tensor<4x2x3xf32>
    }"""
    check(text, [x], [x.transpose(2, 0, 1)])


def test_pad_constant_reflect_edge() -> None:
    x = f32(3, 4)
    text = """
    func.func @main(%x: tensor<3x4xf32>)
        -> (tensor<4x7xf32>, tensor<5x6xf32>, tensor<3x9xf32>) {
      %v = arith.constant 2.5 : f32
      %a = top.pad constant %x value %v low [1, 2] high [0, 1]
          : (tensor<3x4xf32>, f32) -> tensor<4x7xf32>
      %b = top.pad reflect %x low [1, 1] high [1, 1] : (tensor<3x4xf32>) -> tensor<5x6xf32>
      %c = top.pad edge %x low [0, 2] high [0, 3] : (tensor<3x4xf32>) -> tensor<3x9xf32>
      func.return %a, %b, %c : tensor<4x7xf32>, tensor<5x6xf32>, tensor<3x9xf32>
    }"""
    expected = [
        np.pad(x, ((1, 0), (2, 1)), constant_values=2.5),
        np.pad(x, ((1, 1), (1, 1)), mode="reflect"),
        np.pad(x, ((0, 0), (2, 3)), mode="edge"),
    ]
    check(text, [x], expected)


def test_gather_with_negative_indices_on_axis_1() -> None:
    data = f32(3, 5, 2)
    idx = np.array([[0, -1, 2], [4, -5, 1]], np.int64)
    text = """
    func.func @main(%d: tensor<3x5x2xf32>, %i: tensor<2x3xi64>) -> tensor<3x2x3x2xf32> {
      %g = top.gather %d[%i] axis 1
          : (tensor<3x5x2xf32>, tensor<2x3xi64>) -> tensor<3x2x3x2xf32>
      func.return %g : tensor<3x2x3x2xf32>
    }"""
    check(text, [data, idx], [np.take(data, idx, axis=1)])


def test_broadcast_and_fill() -> None:
    x = f32(4, 1)
    text = """
    func.func @main(%x: tensor<4x1xf32>) -> (tensor<2x4x8xf32>, tensor<3xf32>) {
      %b = top.broadcast %x : tensor<4x1xf32> -> tensor<2x4x8xf32>
      %c = arith.constant 1.5 : f32
      %f = top.fill %c : f32 -> tensor<3xf32>
      func.return %b, %f : tensor<2x4x8xf32>, tensor<3xf32>
    }"""
    check(text, [x], [np.broadcast_to(x, (2, 4, 8)), np.full(3, 1.5, np.float32)])


def test_reshape_and_concat() -> None:
    a, b = f32(2, 3, 4), f32(2, 5)
    text = """
    func.func @main(%a: tensor<2x3x4xf32>, %b: tensor<2x5xf32>) -> tensor<2x17xf32> {
      %r = top.reshape %a : tensor<2x3x4xf32> -> tensor<2x12xf32>
      %c = top.concat %r, %b axis 1 : (tensor<2x12xf32>, tensor<2x5xf32>) -> tensor<2x17xf32>
      func.return %c : tensor<2x17xf32>
    }"""
    check(text, [a, b], [np.concatenate([a.reshape(2, 12), b], axis=1)])


def test_chained_concats_written_in_place() -> None:
    """%p and %q are written into their slices of %c2's buffer (views), so is %c1."""
    x = f32(1, 2, 3, 2)
    text = """
    func.func @main(%x: tensor<1x2x3x2xf32>) -> tensor<1x6x2x3xf32> {
      %p = top.transpose %x permutation [0, 1, 3, 2] : tensor<1x2x3x2xf32> -> tensor<1x2x2x3xf32>
      %q = top.transpose %x permutation [0, 1, 3, 2] : tensor<1x2x3x2xf32> -> tensor<1x2x2x3xf32>
      %c1 = top.concat %p, %q axis 1 : (tensor<1x2x2x3xf32>, tensor<1x2x2x3xf32>) -> tensor<1x4x2x3xf32>
      %c2 = top.concat %c1, %p axis 1 : (tensor<1x4x2x3xf32>, tensor<1x2x2x3xf32>) -> tensor<1x6x2x3xf32>
      %r = top.transpose %c2 permutation [0, 1, 2, 3] : tensor<1x6x2x3xf32> -> tensor<1x6x2x3xf32>
      func.return %r : tensor<1x6x2x3xf32>
    }"""
    assert "loop.view" in str(lower(text, False))
    t = x.transpose(0, 1, 3, 2)
    check(text, [x], [np.concatenate([t, t, t], axis=1)])


# --- generic ----------------------------------------------------------------------------------


def test_generic_elementwise_with_broadcast_in_place_chain() -> None:
    x, bias = f32(4, 8), f32(8)
    text = """
    #id = affine_map<(d0, d1) -> (d0, d1)>
    #row = affine_map<(d0, d1) -> (d1)>
    func.func @main(%x: tensor<4x8xf32>, %bias: tensor<8xf32>) -> tensor<4x8xf32> {
      %a = top.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
          ins(%x, %bias : tensor<4x8xf32>, tensor<8xf32>) outs(%x : tensor<4x8xf32>) {
      ^bb0(%p: f32, %q: f32, %o: f32):
        %s = arith.addf %p, %q : f32
        top.yield %s : f32
      } -> tensor<4x8xf32>
      %r = top.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
          ins(%a : tensor<4x8xf32>) outs(%a : tensor<4x8xf32>) {
      ^bb0(%p: f32, %o: f32):
        %e = math.tanh %p : f32
        top.yield %e : f32
      } -> tensor<4x8xf32>
      func.return %r : tensor<4x8xf32>
    }"""
    check(text, [x, bias], [np.tanh(x + bias)])


def test_generic_reduction_accumulates_into_filled_output() -> None:
    x, scale = f32(4, 8), f32(1, 8)
    text = scaled_row_reduction(
        "0.0",
        """
        %e = math.exp %a : f32
        %f = arith.mulf %e, %b : f32
        %t = arith.addf %o, %f : f32
        top.yield %t : f32
        """,
    )
    check(text, [x, scale], [(np.exp(x) * scale).sum(axis=1)])


def test_returning_an_input_and_one_value_twice_copies() -> None:
    x = f32(5)
    text = """
    func.func @main(%x: tensor<5xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
      %t = top.transpose %x permutation [0] : tensor<5xf32> -> tensor<5xf32>
      func.return %x, %t, %t : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
    }"""
    check(text, [x], [x, x, x])


# --- structure --------------------------------------------------------------------------------


def test_lowered_function_has_kernel_abi_and_no_allocs_after_planning() -> None:
    text = """
    func.func @main(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>) -> tensor<4x8xf32> {
      %c = top.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
      %t = top.transpose %c permutation [1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
      func.return %t : tensor<4x8xf32>
    }"""
    module = lower(text)
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    assert [str(t) for t in function.function_type.inputs] == [
        "memref<0xi8>",
        "memref<128xi8>",
        "memref<8x16xf32>",
        "memref<16x4xf32>",
        "memref<4x8xf32>",
    ]
    assert not function.function_type.outputs
    assert function.attributes["lamina.arena_size"] == IntegerAttr(128, 64)
    assert not any(isinstance(op, loop.AllocOp | loop.DeallocOp) for op in module.walk())


def test_op_without_lowering_is_reported() -> None:
    text = """
    func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
      %b = graph.relu %a : (tensor<4xf32>) -> tensor<4xf32>
      func.return %b : tensor<4xf32>
    }"""
    with pytest.raises(UnsupportedOpError, match="graph.relu"):
        lower(text)


def test_small_matmul_keeps_the_reference_nest_and_big_one_gets_the_packed_gemm() -> None:
    def text(m: int, n: int, k: int) -> str:
        a, b, c = f"tensor<{m}x{k}xf32>", f"tensor<{k}x{n}xf32>", f"tensor<{m}x{n}xf32>"
        return f"""
        func.func @main(%a: {a}, %b: {b}) -> {c} {{
          %c = top.matmul %a, %b : ({a}, {b}) -> {c}
          func.return %c : {c}
        }}"""

    assert "vector.fma" not in str(lower(text(8, 4, 16)))
    assert "vector.fma" in str(lower(text(64, 64, 64)))
