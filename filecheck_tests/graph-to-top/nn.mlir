// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt | filecheck %s

// conv with SAME_UPPER auto_pad -> explicit pads (stride 2, 5 -> 3: total pad 2)
// CHECK-LABEL: func.func @conv_same_upper
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x5x5xf32>, %[[W:.*]]: tensor<8x3x3x3xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[Y:.*]] = top.conv2d nchw_fchw %[[X]], %[[W]], %[[B]] strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x3x5x5xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x3x3xf32>
// CHECK: func.return %[[Y]]
func.func @conv_same_upper(%x: tensor<1x3x5x5xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x3x3xf32> {
  %y = graph.conv %x, %w, %b {auto_pad = "SAME_UPPER", strides = array<i64: 2, 2>} : (tensor<1x3x5x5xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x3x3xf32>
  func.return %y : tensor<1x8x3x3xf32>
}

// 1-D conv: a 2-D conv over a height of 1
// CHECK-LABEL: func.func @conv_1d
// CHECK: top.reshape %{{.*}} : tensor<1x2x7xf32> -> tensor<1x2x1x7xf32>
// CHECK: top.reshape %{{.*}} : tensor<4x2x3xf32> -> tensor<4x2x1x3xf32>
// CHECK: top.conv2d nchw_fchw {{.*}} strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x2x1x7xf32>, tensor<4x2x1x3xf32>) -> tensor<1x4x1x5xf32>
// CHECK: top.reshape %{{.*}} : tensor<1x4x1x5xf32> -> tensor<1x4x5xf32>
func.func @conv_1d(%x: tensor<1x2x7xf32>, %w: tensor<4x2x3xf32>) -> tensor<1x4x5xf32> {
  %n = graph.none : none
  %y = graph.conv %x, %w, %n : (tensor<1x2x7xf32>, tensor<4x2x3xf32>, none) -> tensor<1x4x5xf32>
  func.return %y : tensor<1x4x5xf32>
}

// batch_normalization with constant parameters: folded into scale' and bias' constants
// CHECK-LABEL: func.func @batch_norm_folded
// CHECK-DAG: %[[S:.*]] = graph.constant dense<{{.*}}> : tensor<2xf32>
// CHECK-DAG: %[[T:.*]] = graph.constant dense<{{.*}}> : tensor<2xf32>
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK-NOT: graph.batch_normalization
func.func @batch_norm_folded(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %s = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = graph.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %m = graph.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %v = graph.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y, %rm, %rv = graph.batch_normalization %x, %s, %b, %m, %v : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x3x3xf32>, none, none)
  func.return %y : tensor<1x2x3x3xf32>
}

// max pool with ceil_mode: the result type already holds the ceil size
// CHECK-LABEL: func.func @max_pool_ceil
// CHECK: top.pool max nchw %{{.*}} kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x1x6x6xf32> -> tensor<1x1x3x3xf32>
func.func @max_pool_ceil(%x: tensor<1x1x6x6xf32>) -> tensor<1x1x3x3xf32> {
  %y, %i = graph.max_pool %x {ceil_mode = 1 : i64, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>} : (tensor<1x1x6x6xf32>) -> (tensor<1x1x3x3xf32>, none)
  func.return %y : tensor<1x1x3x3xf32>
}

// CHECK-LABEL: func.func @average_pool_count_include_pad
// CHECK: top.pool avg nchw %{{.*}} kernel [3, 3] strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] count_include_pad : tensor<1x1x4x4xf32> -> tensor<1x1x4x4xf32>
func.func @average_pool_count_include_pad(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %y = graph.average_pool %x {count_include_pad = 1 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  func.return %y : tensor<1x1x4x4xf32>
}

// CHECK-LABEL: func.func @global_average_pool
// CHECK: top.reduce mean %{{.*}} axes [2, 3] keepdims : tensor<1x8x7x7xf32> -> tensor<1x8x1x1xf32>
func.func @global_average_pool(%x: tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32> {
  %y = graph.global_average_pool %x : (tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32>
  func.return %y : tensor<1x8x1x1xf32>
}

// gemm: alpha op(A) op(B) + beta C -> matmul transpose_rhs, then one generic
// CHECK-LABEL: func.func @gemm
// CHECK-SAME: (%[[A:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<3x4xf32>, %[[C:.*]]: tensor<3xf32>)
// CHECK: %[[AB:.*]] = top.matmul %[[A]], %[[B]] transpose_rhs : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[AB]], %[[C]] : tensor<2x3xf32>, tensor<3xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @gemm(%a: tensor<2x4xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>) -> tensor<2x3xf32> {
  %y = graph.gemm %a, %b, %c {alpha = 0.5 : f32, transB = 1 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// mat_mul with a 1-D rhs: [K] -> [K, 1], matmul, then the 1 is dropped
// CHECK-LABEL: func.func @mat_mul_vector
// CHECK: top.reshape %{{.*}} : tensor<4xf32> -> tensor<4x1xf32>
// CHECK: top.matmul %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<4x1xf32>) -> tensor<2x3x1xf32>
// CHECK: top.reshape %{{.*}} : tensor<2x3x1xf32> -> tensor<2x3xf32>
func.func @mat_mul_vector(%a: tensor<2x3x4xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  %y = graph.mat_mul %a, %b : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// softmax(x) = exp(x - max) / sum(exp(x - max)) along axis 1
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[X:.*]]: tensor<2x5xf32>)
// CHECK: %[[M:.*]] = top.reduce max %[[X]] axes [1] keepdims : tensor<2x5xf32> -> tensor<2x1xf32>
// CHECK: %[[E:.*]] = top.generic {{.*}} ins(%[[X]], %[[M]] : tensor<2x5xf32>, tensor<2x1xf32>)
// CHECK: arith.subf
// CHECK-NEXT: math.exp
// CHECK: %[[S:.*]] = top.reduce sum %[[E]] axes [1] keepdims : tensor<2x5xf32> -> tensor<2x1xf32>
// CHECK: top.generic {{.*}} ins(%[[E]], %[[S]] : tensor<2x5xf32>, tensor<2x1xf32>)
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %y = graph.softmax %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x5xf32>
  func.return %y : tensor<2x5xf32>
}

// lrn: x^2, an avg pool (count_include_pad) over channels seen as [N, 1, C, H*W], then x / (bias + alpha avg)^beta
// CHECK-LABEL: func.func @lrn
// CHECK: top.reshape %{{.*}} : tensor<1x6x2x2xf32> -> tensor<1x1x6x4xf32>
// CHECK: top.pool avg nchw %{{.*}} kernel [5, 1] strides [1, 1] dilations [1, 1] pad_low [2, 0] pad_high [2, 0] count_include_pad : tensor<1x1x6x4xf32> -> tensor<1x1x6x4xf32>
// CHECK: top.reshape %{{.*}} : tensor<1x1x6x4xf32> -> tensor<1x6x2x2xf32>
// CHECK: math.powf
func.func @lrn(%x: tensor<1x6x2x2xf32>) -> tensor<1x6x2x2xf32> {
  %y = graph.lrn %x {size = 5 : i64} : (tensor<1x6x2x2xf32>) -> tensor<1x6x2x2xf32>
  func.return %y : tensor<1x6x2x2xf32>
}

// reduce_mean with constant axes (negative resolved), keepdims = 0
// CHECK-LABEL: func.func @reduce_mean
// CHECK: top.reduce mean %{{.*}} axes [1] : tensor<2x3x4xf32> -> tensor<2x4xf32>
// CHECK-NOT: graph.constant
func.func @reduce_mean(%x: tensor<2x3x4xf32>) -> tensor<2x4xf32> {
  %axes = graph.constant dense<[-2]> : tensor<1xi64>
  %y = graph.reduce_mean %x, %axes {keepdims = 0 : i64} : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
