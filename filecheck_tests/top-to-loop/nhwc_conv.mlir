// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// A 1x1 NHWC conv is a GEMM over the output pixels with X itself as A: the filter is
// carved in B panels (1 panel x K = 8 x NR = 32), the parallel loop runs over panels of
// 8 pixels, the micro-kernel's k loop carries one 16-lane and one 8-lane accumulator per
// pixel (F = 24 = 16 + 8), reads X in place, and the bias and the fused relu apply to the
// sums before they are stored straight into the output.
// CHECK-LABEL: func.func @pointwise
// CHECK-SAME: (%[[W:.*]]: memref<{{.*}}xi8>, %{{.*}}: memref<0xi8>, %[[X:.*]]: memref<1x4x4x8xf32>, %[[BIAS:.*]]: memref<24xf32>, %[[OUT:.*]]: memref<1x4x4x24xf32>)
// CHECK: %[[B:.*]] = loop.carve %[[W]][{{.*}}] : memref<{{.*}}xi8> -> memref<1x8x32xf32>
// CHECK: loop.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK: loop.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: loop.vload %[[B]][%{{.*}}, %[[K]], %{{.*}}] : memref<1x8x32xf32>, vector<16xf32>
// CHECK: loop.vload %[[B]][%{{.*}}, %[[K]], %{{.*}}] : memref<1x8x32xf32>, vector<8xf32>
// CHECK: loop.load %[[X]][%{{.*}}, %{{.*}}, %{{.*}}, %[[K]]] : memref<1x4x4x8xf32>
// CHECK: vector.fma
// CHECK: loop.vload %[[BIAS]][%{{.*}}] : memref<24xf32>, vector<16xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: loop.vstore %{{.*}}, %[[OUT]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x4x4x24xf32>, vector<16xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: loop.vstore %{{.*}}, %[[OUT]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x4x4x24xf32>, vector<8xf32>
// CHECK-NOT: top.
// CHECK: func.return
func.func @pointwise(%x: tensor<1x4x4x8xf32>, %b: tensor<24xf32>) -> tensor<1x4x4x24xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<1x1x8x24xf32>
  %y = top.conv2d nhwc_hwcf %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x4x4x8xf32>, tensor<1x1x8x24xf32>, tensor<24xf32>) -> tensor<1x4x4x24xf32>
  %zero = arith.constant 0.000000e+00 : f32
  %init = top.fill %zero : f32 -> tensor<1x4x4x24xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y : tensor<1x4x4x24xf32>) outs(%init : tensor<1x4x4x24xf32>) {
  ^bb0(%a: f32, %o: f32):
    %z = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %a, %z : f32
    top.yield %m : f32
  } -> tensor<1x4x4x24xf32>
  func.return %r : tensor<1x4x4x24xf32>
}

// -----

// A depthwise NHWC conv vectorised along the channels: the nine taps' weights loaded once
// per row, the unchecked interior four pixels a step (36 FMAs), the border pixels with a
// select for the taps outside X.
// CHECK-LABEL: func.func @depthwise
// CHECK: loop.for %[[OH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-COUNT-9: loop.vload %{{.*}} : memref<3x3x1x16xf32>, vector<16xf32>
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-COUNT-36: vector.fma
// CHECK: func.return
func.func @depthwise(%x: tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32> {
  %w = graph.constant dense<2.500000e-01> : tensor<3x3x1x16xf32>
  %y = top.conv2d nhwc_hwcf %x, %w strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 16 : (tensor<1x6x6x16xf32>, tensor<3x3x1x16xf32>) -> tensor<1x6x6x16xf32>
  func.return %y : tensor<1x6x6x16xf32>
}
