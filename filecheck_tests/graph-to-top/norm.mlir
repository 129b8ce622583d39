// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// lp_pool(x, p = 2): |x|^2, an average pool counting pads, times the kernel size, sqrt
// CHECK-LABEL: func.func @lp_pool
// CHECK: %[[SQ:.*]] = top.generic
// CHECK: math.absf
// CHECK: arith.mulf
// CHECK: %[[AVG:.*]] = top.pool avg nchw %[[SQ]] kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] count_include_pad
// CHECK: top.generic {{.*}} ins(%[[AVG]] : tensor<1x2x2x2xf32>)
// CHECK: %[[FOUR:.*]] = arith.constant 4.000000e+00 : f32
// CHECK: %[[SUM:.*]] = arith.mulf %{{.*}}, %[[FOUR]] : f32
// CHECK: math.sqrt %[[SUM]] : f32
func.func @lp_pool(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %r = graph.lp_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, p = 2 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  func.return %r : tensor<1x2x2x2xf32>
}

// instance_norm(x, s, b): mean and variance over the spatial dims (kept), then
// (x - mean) / sqrt(var + eps), then s[c] x + b[c]
// CHECK-LABEL: func.func @instance_norm
// CHECK: %[[MEAN:.*]] = top.reduce mean %{{.*}} axes [2, 3] keepdims : tensor<2x3x4x5xf32> -> tensor<2x3x1x1xf32>
// CHECK: top.reduce mean %{{.*}} axes [2, 3] keepdims : tensor<2x3x4x5xf32> -> tensor<2x3x1x1xf32>
// CHECK: math.sqrt
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]
func.func @instance_norm(%x: tensor<2x3x4x5xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3x4x5xf32> {
  %r = graph.instance_normalization %x, %s, %b {epsilon = 1.0e-05 : f32} : (tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x5xf32>
  func.return %r : tensor<2x3x4x5xf32>
}
