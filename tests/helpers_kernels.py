"""Helpers shared by the tests that write their kernels as IR text: parsing, lowering
top-level IR to planned loop IR, a pool checked against the top interpreter, a reference conv, and pieces of IR text (f32 tensor types, weight constants,
index constants, elementwise and relu epilogues, a scaled row reduction, an i8 dot-product
kernel)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from lamina.context import make_context
from lamina.dialects.weights import WEIGHTS
from lamina.lowering.plan_memory import PlanMemoryPass
from lamina.lowering.top_to_loop import ConvertTopToLoopPass
from lamina.runtime.jit import JitFunction
from lamina.runtime.reference.top_interpreter import run_top


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


def check_pool(
    layout: str,
    kind: str,
    x: np.ndarray,
    kernel: Sequence[int],
    stride: int,
    pads: Sequence[int],
    flags: str,
) -> None:
    """`top.pool kind layout` (nchw or nhwc) of `x`: a `kernel` window, `stride` and pads
    (low, high) alike on both spatial dims, `flags` after them. Lowered, it loads vectors
    and runs through the host JIT to what the top interpreter gives (rtol 1e-6: exact up
    to the rounding of one division)."""
    (kh, kw), (low, high) = kernel, pads
    spatial = (1, 2) if layout == "nhwc" else (2, 3)
    y_shape = list(x.shape)
    for axis, k in zip(spatial, kernel, strict=True):
        y_shape[axis] = (x.shape[axis] + low + high - k) // stride + 1
    xt, yt = tensor(x.shape), tensor(y_shape)
    text = f"""
    func.func @main(%x: {xt}) -> {yt} {{
      %y = top.pool {kind} {layout} %x kernel [{kh}, {kw}] strides [{stride}, {stride}]
          dilations [1, 1] pad_low [{low}, {low}] pad_high [{high}, {high}]{flags} : {xt} -> {yt}
      func.return %y : {yt}
    }}"""
    (expected,) = run_top(parse(text), [x])
    module = lower(text)
    assert "loop.vload" in str(module), f"expected the vectorised {layout} pool"
    (y,) = JitFunction(module, threads=1)(x)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)  # pyright: ignore


def conv_nchw(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    strides: Sequence[int],
    dilations: Sequence[int],
    low: Sequence[int],
    high: Sequence[int],
    groups: int,
) -> np.ndarray:
    """The reference NCHW / FCHW conv (pads: top/left `low`, bottom/right `high`), summed in
    float64 through strided patches, rounded to f32."""
    n, _, h, wd = x.shape
    f, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (low[0], high[0]), (low[1], high[1])))
    oh = (h + low[0] + high[0] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + low[1] + high[1] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    y = np.zeros((n, f, oh, ow), np.float64)
    per_group = f // groups
    for fo in range(f):
        g = fo // per_group
        for i in range(kh):
            for j in range(kw):
                h0, w0 = i * dilations[0], j * dilations[1]
                patch = xp[
                    :,
                    g * cg : (g + 1) * cg,
                    h0 : h0 + strides[0] * (oh - 1) + 1 : strides[0],
                    w0 : w0 + strides[1] * (ow - 1) + 1 : strides[1],
                ]
                y[:, fo] += np.einsum("nchw,c->nhw", patch, w[fo, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y.astype(np.float32)


def identity_map(rank: int) -> str:
    """The text of the identity affine map on `rank` dims."""
    dims = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({dims}) -> ({dims})>"


def elementwise(
    name: str, shape: Sequence[int], operands: Sequence[tuple[str, str, str]], body: str
) -> str:
    """The lines defining `%<name>`, an f32 tensor of `shape` that a parallel top.generic
    over `operands` writes into a zero-filled tensor (`%<name>_zero`, `%<name>_init`). Each
    operand is (SSA value, type, indexing map); `body`, its lines ending in top.yield, sees
    their elements as %a0, %a1, ..."""
    out = tensor(shape)
    values = ", ".join(value for value, _, _ in operands)
    types = ", ".join(type_ for _, type_, _ in operands)
    maps = ", ".join([*(map_ for _, _, map_ in operands), identity_map(len(shape))])
    parallel = ", ".join(['"parallel"'] * len(shape))
    arguments = "".join(f"%a{i}: f32, " for i in range(len(operands)))
    return f"""%{name}_zero = arith.constant 0.0 : f32
      %{name}_init = top.fill %{name}_zero : f32 -> {out}
      %{name} = top.generic {{indexing_maps = [{maps}], iterator_types = [{parallel}]}}
          ins({values} : {types}) outs(%{name}_init : {out}) {{
      ^bb0({arguments}%o: f32):
{textwrap.indent(textwrap.dedent(body).strip(), " " * 8)}
      }} -> {out}"""


def return_elementwise(
    shape: Sequence[int], operands: Sequence[tuple[str, str, str]], body: str
) -> str:
    """The last lines of a top-level function returning `elementwise` `%r`."""
    return f"""{elementwise("r", shape, operands, body)}
      func.return %r : {tensor(shape)}"""


def return_relu_of_sum(shape: Sequence[int], operands: Sequence[tuple[str, str, str]]) -> str:
    """`return_elementwise` of max(sum of `operands`, 0): the epilogue the lowerings fuse."""
    sums, total = "", "%a0"
    for i in range(1, len(operands)):
        sums += f"%s{i} = arith.addf {total}, %a{i} : f32\n"
        total = f"%s{i}"
    relu = f"%z = arith.constant 0.0 : f32\n%m = arith.maximumf {total}, %z : f32\n"
    return return_elementwise(shape, operands, sums + relu + "top.yield %m : f32")


def scaled_row_reduction(init: str, body: str) -> str:
    """A top-level @main(%x: tensor<4x8xf32>, %scale: tensor<1x8xf32>) -> tensor<4xf32>:
    one top.generic reducing the rows of x (d1 a reduction), scale broadcast along the rows,
    into a tensor filled with the f32 `init`. `body`, its lines ending in top.yield, sees %a
    of x, %b of scale and the accumulator %o."""
    return f"""
func.func @main(%x: tensor<4x8xf32>, %scale: tensor<1x8xf32>) -> tensor<4xf32> {{
  %init_value = arith.constant {init} : f32
  %init = top.fill %init_value : f32 -> tensor<4xf32>
  %r = top.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                     affine_map<(d0, d1) -> (0, d1)>,
                                     affine_map<(d0, d1) -> (d0)>],
                    iterator_types = ["parallel", "reduction"]}}
      ins(%x, %scale : tensor<4x8xf32>, tensor<1x8xf32>) outs(%init : tensor<4xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
{textwrap.indent(textwrap.dedent(body).strip(), "    ")}
  }} -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}}
"""


def index_constants(*values: int) -> str:
    """The lines of a function body defining the index constant %c<n> of each of `values`."""
    return "".join(f"  %c{n} = arith.constant {n} : index\n" for n in values)


def dot_kernel(ext: str, k: int) -> str:
    """out[i, j] = sum_k ext(x[i, k]) * ext(y[j, k]) over i8 rows (`ext`: extsi / extui)."""
    return f"""
func.func @dots(%w: memref<64xi8>, %arena: memref<64xi8>, %x: memref<5x{k}xi8>,
                %y: memref<3x{k}xi8>, %out: memref<5x3xi32>)
    attributes {{lamina.abi = "kernel-v1"}} {{
{index_constants(0, 1, 3, 5)}  %ck = arith.constant {k} : index
  %zero = arith.constant 0 : i32
  loop.for %i = %c0 to %c5 step %c1 parallel {{
    loop.for %j = %c0 to %c3 step %c1 parallel {{
      %s = loop.for %kk = %c0 to %ck step %c1 iter_args(%acc = %zero) -> (i32) {{
        %a = loop.load %x[%i, %kk] : memref<5x{k}xi8>
        %b = loop.load %y[%j, %kk] : memref<3x{k}xi8>
        %ea = arith.{ext} %a : i8 to i32
        %eb = arith.{ext} %b : i8 to i32
        %p = arith.muli %ea, %eb : i32
        %n = arith.addi %acc, %p : i32
        loop.yield %n : i32
      }}
      loop.store %s, %out[%i, %j] : memref<5x3xi32>
    }}
  }}
  func.return
}}
"""
