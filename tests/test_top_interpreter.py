"""The top reference interpreter on hand-written top IR, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_kernels import conv_nchw, parse, return_elementwise, scaled_row_reduction

from lamina.errors import UnsupportedOpError
from lamina.runtime.reference.top_interpreter import run_top


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_reduction_generic_of_combine_form_reduces_with_numpy() -> None:
    x, s = rand(4, 8), rand(1, 8, seed=1)
    text = scaled_row_reduction(
        "1.0",
        """
        %p = arith.mulf %a, %b : f32
        %q = arith.addf %o, %p : f32
        top.yield %q : f32
        """,
    )
    (got,) = run_top(parse(text), [x, s])
    np.testing.assert_allclose(got, 1 + (x * s).sum(axis=1), rtol=1e-6)


def test_reduction_generic_of_any_other_body_runs_step_by_step() -> None:
    # o * 0.5 + p depends on the order: it must run in loop order
    text = scaled_row_reduction(
        "1.0",
        """
        %p = arith.mulf %a, %b : f32
        %z2 = arith.constant 0.5 : f32
        %h = arith.mulf %o, %z2 : f32
        %q = arith.addf %h, %p : f32
        top.yield %q : f32
        """,
    )
    x, s = rand(4, 8), rand(1, 8, seed=1)
    (got,) = run_top(parse(text), [x, s])
    expected = np.ones(4, np.float32)
    for j in range(8):
        expected = expected * 0.5 + x[:, j] * s[0, j]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_parallel_generic_with_transposed_output_and_slice_map() -> None:
    transposed_slice = "affine_map<(d0, d1) -> (d1, d0 * 2 + 1)>"
    exp = return_elementwise(
        (4, 3),
        [("%x", "tensor<3x8xf32>", transposed_slice)],
        """
        %e = math.exp %a0 : f32
        top.yield %e : f32
        """,
    )
    text = f"""
    func.func @f(%x: tensor<3x8xf32>) -> tensor<4x3xf32> {{
      {exp}
    }}
    """
    x = rand(3, 8)
    (got,) = run_top(parse(text), [x])
    np.testing.assert_allclose(got, np.exp(x[:, 1::2]).T, rtol=1e-6)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_conv2d_matches_the_numpy_reference_conv(groups: int) -> None:
    text = f"""
    func.func @f(%x: tensor<1x4x7x7xf32>, %w: tensor<8x{4 // groups}x3x3xf32>) -> tensor<1x8x4x4xf32> {{
      %y = top.conv2d nchw_fchw %x, %w strides [2, 2] dilations [1, 1] pad_low [1, 1]
          pad_high [1, 1] groups {groups}
          : (tensor<1x4x7x7xf32>, tensor<8x{4 // groups}x3x3xf32>) -> tensor<1x8x4x4xf32>
      func.return %y : tensor<1x8x4x4xf32>
    }}
    """
    x, w = rand(1, 4, 7, 7), rand(8, 4 // groups, 3, 3, seed=1)
    (got,) = run_top(parse(text), [x, w])
    np.testing.assert_allclose(
        got, conv_nchw(x, w, None, (2, 2), (1, 1), (1, 1), (1, 1), groups), rtol=1e-4, atol=1e-5
    )


def test_ceil_mode_avg_pool_counts_only_real_and_explicit_pad_positions() -> None:
    text = """
    func.func @f(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
      %y = top.pool avg nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0]
          pad_high [0, 0] : tensor<1x1x5x5xf32> -> tensor<1x1x3x3xf32>
      func.return %y : tensor<1x1x3x3xf32>
    }
    """
    x = rand(1, 1, 5, 5)
    (got,) = run_top(parse(text), [x])
    expected = np.array(
        [[x[0, 0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean() for j in range(3)] for i in range(3)]
    )
    np.testing.assert_allclose(got[0, 0], expected, rtol=1e-6)


def test_named_data_movement_ops() -> None:
    text = """
    func.func @f(%x: tensor<3x7xf32>) -> (tensor<2x4xf32>, tensor<7x3xf32>, tensor<21xf32>,
                                          tensor<3x9xf32>, tensor<6x7xf32>) {
      %s = top.slice %x offsets [1, 6] strides [1, -2] : tensor<3x7xf32> -> tensor<2x4xf32>
      %t = top.transpose %x permutation [1, 0] : tensor<3x7xf32> -> tensor<7x3xf32>
      %r = top.reshape %x : tensor<3x7xf32> -> tensor<21xf32>
      %p = top.pad reflect %x low [0, 1] high [0, 1] : (tensor<3x7xf32>) -> tensor<3x9xf32>
      %c = top.concat %x, %x axis 0 : (tensor<3x7xf32>, tensor<3x7xf32>) -> tensor<6x7xf32>
      func.return %s, %t, %r, %p, %c : tensor<2x4xf32>, tensor<7x3xf32>, tensor<21xf32>,
          tensor<3x9xf32>, tensor<6x7xf32>
    }
    """
    x = rand(3, 7)
    s, t, r, p, c = run_top(parse(text), [x])
    np.testing.assert_array_equal(s, x[1:, 6::-2])
    np.testing.assert_array_equal(t, x.T)
    np.testing.assert_array_equal(r, x.reshape(-1))
    np.testing.assert_array_equal(p, np.pad(x, [(0, 0), (1, 1)], mode="reflect"))
    np.testing.assert_array_equal(c, np.concatenate([x, x]))


def test_unknown_op_is_reported_before_running() -> None:
    text = """
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
      func.return %y : tensor<4xf32>
    }
    """
    with pytest.raises(UnsupportedOpError, match="'graph.relu' in the top interpreter"):
        run_top(parse(text), [rand(4)])
