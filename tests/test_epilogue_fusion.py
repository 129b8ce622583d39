"""Elementwise consumers applied by their producer's lowering (bufferize's epilogues) in the
places models put them: a residual computed after the conv, constant bounds emitted at
their first use, a producer inside a control-flow region. Each function's top-level IR
runs in the reference interpreter and, lowered, through the host JIT on the same inputs.

Tolerance: f32 sums of at most 128 products of N(0, 1) values in other orders: 1e-5 of
the output's scale.
"""

from __future__ import annotations

import re

import numpy as np
from helpers_kernels import constant, elementwise, identity_map, tensor
from test_nhwc_conv import RELU, f32, generic, run_both


def test_residual_computed_after_the_conv_and_constant_bounds_still_fuse() -> None:
    """TFLite's order: the residual (here relu(r)) comes after the conv, RELU6's bounds are
    rank-0 constants emitted at their first use; the consumer still runs in the conv's
    stores, the residual moved before the conv and the bounds literals."""
    w = f32(1, 1, 8, 16)
    y, t, bt = (1, 4, 4, 16), tensor((1, 4, 4, 16)), tensor([16])
    scalar = "affine_map<(d0, d1, d2, d3) -> ()>"
    operands = [("%y", t, identity_map(4)), ("%rr", t, identity_map(4))]
    operands += [("%lo", "tensor<f32>", scalar), ("%hi", "tensor<f32>", scalar)]
    clip = """%sum = arith.addf %a0, %a1 : f32
    %low = arith.maximumf %sum, %a2 : f32
    %clip = arith.minimumf %low, %a3 : f32
    top.yield %clip : f32"""
    text = f"""
    func.func @main(%x: {tensor((1, 4, 4, 8))}, %b: {bt}, %r: {t}) -> {t} {{
      {constant("w", w)}
      %y = top.conv2d nhwc_hwcf %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0]
          pad_high [0, 0] groups 1 : ({tensor((1, 4, 4, 8))}, {tensor(w.shape)}, {bt}) -> {t}
      {generic("rr", y, ["%r"], RELU)}
      %lo = graph.constant dense<0.0> : tensor<f32>
      %hi = graph.constant dense<6.0> : tensor<f32>
      {elementwise("e", y, operands, clip)}
      func.return %e : {t}
    }}"""
    lowered = run_both(text, [f32(1, 4, 4, 8) * 2, f32(16), f32(*y) * 2])
    assert re.search(r"arith.minimumf .* : vector<16xf32>", lowered), "expected the fused clip"
    assert not re.search(r"loop.load \S+\[\] : memref<f32>", lowered), "expected literal bounds"


def test_matmuls_in_a_branch_apply_their_bias_epilogue() -> None:
    """silero-vad's LSTM cell in an If branch: two matmuls by constants and one generic
    adding both with their biases, which the second matmul's GEMV applies; the branch's
    matmuls get their packed operands like the function body's."""
    w1, w2 = f32(512, 128), f32(512, 128)
    row, t = "affine_map<(d0, d1) -> (d1)>", tensor((1, 512))
    operands = [("%m1", t, identity_map(2)), ("%b1", tensor([512]), row)]
    operands += [("%m2", t, identity_map(2)), ("%b2", tensor([512]), row)]
    sum_of_four = """%s1 = arith.addf %a0, %a1 : f32
    %s2 = arith.addf %s1, %a2 : f32
    %s3 = arith.addf %s2, %a3 : f32
    top.yield %s3 : f32"""
    text = f"""
    func.func @main(%x: tensor<1x128xf32>, %cond: tensor<i1>) -> {t} {{
      %out = top.if %cond : tensor<i1> -> ({t}) {{
        {constant("w1", w1)}
        {constant("w2", w2)}
        %m1 = top.matmul %x, %w1 transpose_rhs : (tensor<1x128xf32>, tensor<512x128xf32>) -> {t}
        %m2 = top.matmul %x, %w2 transpose_rhs : (tensor<1x128xf32>, tensor<512x128xf32>) -> {t}
        {constant("b1", f32(512))}
        {constant("b2", f32(512))}
        {elementwise("r", (1, 512), operands, sum_of_four)}
        top.region_yield %r : {t}
      }} else {{
        %one = arith.constant 1.0 : f32
        %ones = top.fill %one : f32 -> {t}
        top.region_yield %ones : {t}
      }}
      func.return %out : {t}
    }}"""
    lowered = run_both(text, [f32(1, 128), np.array(True)])
    assert "vector.fma" in lowered, "expected the GEMV kernel in the branch"
