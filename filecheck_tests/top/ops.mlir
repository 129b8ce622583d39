// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @generic_add_bias
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[BIAS:.*]]: tensor<8xf32>, %[[INIT:.*]]: tensor<4x8xf32>)
// CHECK: %[[R:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[BIAS]] : tensor<4x8xf32>, tensor<8xf32>) outs(%[[INIT]] : tensor<4x8xf32>) {
// CHECK-NEXT: ^{{.*}}(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK-NEXT:   top.yield %[[S]] : f32
// CHECK-NEXT: } -> tensor<4x8xf32>
// CHECK: func.return %[[R]]
func.func @generic_add_bias(%a: tensor<4x8xf32>, %bias: tensor<8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %bias : tensor<4x8xf32>, tensor<8xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %out: f32):
    %s = arith.addf %x, %y : f32
    top.yield %s : f32
  } -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// A row sum of x * scale (scale broadcast over rows) with two outputs.
// CHECK-LABEL: func.func @generic_reduction
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], tag = "rowsum"} ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<1x8xf32>) outs(%{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xf32>) {
// CHECK: math.exp
// CHECK: top.yield %{{.*}}, %{{.*}} : f32, f32
// CHECK-NEXT: } -> tensor<4xf32>, tensor<4xf32>
func.func @generic_reduction(%x: tensor<4x8xf32>, %scale: tensor<1x8xf32>, %acc: tensor<4xf32>, %n: tensor<4xf32>) -> tensor<4xf32> {
  %s, %m = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], tag = "rowsum"} ins(%x, %scale : tensor<4x8xf32>, tensor<1x8xf32>) outs(%acc, %n : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32, %p: f32):
    %e = math.exp %a : f32
    %f = arith.mulf %e, %b : f32
    %t = arith.addf %o, %f : f32
    top.yield %t, %p : f32, f32
  } -> tensor<4xf32>, tensor<4xf32>
  func.return %s : tensor<4xf32>
}

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8x16xf32>, %[[BA:.*]]: tensor<3x1x4x8xi8>, %[[BB:.*]]: tensor<5x16x8xi8>)
// CHECK: top.matmul %[[A]], %[[B]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: top.matmul %[[BA]], %[[BB]] transpose_rhs : (tensor<3x1x4x8xi8>, tensor<5x16x8xi8>) -> tensor<3x5x4x16xi32>
// CHECK: top.matmul %[[B]], %[[A]] transpose_lhs transpose_rhs : (tensor<8x16xf32>, tensor<4x8xf32>) -> tensor<16x4xf32>
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %ba: tensor<3x1x4x8xi8>, %bb: tensor<5x16x8xi8>) {
  %0 = top.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = top.matmul %ba, %bb transpose_rhs : (tensor<3x1x4x8xi8>, tensor<5x16x8xi8>) -> tensor<3x5x4x16xi32>
  %2 = top.matmul %b, %a transpose_lhs transpose_rhs : (tensor<8x16xf32>, tensor<4x8xf32>) -> tensor<16x4xf32>
  func.return
}

// CHECK-LABEL: func.func @conv2d
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x224x224xf32>, %[[W:.*]]: tensor<64x3x3x3xf32>, %[[B:.*]]: tensor<64xf32>,
// CHECK: top.conv2d nchw_fchw %[[X]], %[[W]], %[[B]] strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x3x224x224xf32>, tensor<64x3x3x3xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
// CHECK: top.conv2d nhwc_hwcf %{{.*}}, %{{.*}} strides [1, 1] dilations [2, 2] pad_low [2, 0] pad_high [2, 0] groups 8 : (tensor<1x16x16x32xf32>, tensor<3x3x4x8xf32>) -> tensor<1x16x12x8xf32>
// CHECK: top.conv2d nchwc %{{.*}}, %{{.*}} strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x4x8x8x16xf32>, tensor<2x4x3x3x16x32xf32>) -> tensor<1x2x6x6x32xf32>
func.func @conv2d(%x: tensor<1x3x224x224xf32>, %w: tensor<64x3x3x3xf32>, %b: tensor<64xf32>, %xh: tensor<1x16x16x32xf32>, %wh: tensor<3x3x4x8xf32>, %xc: tensor<1x4x8x8x16xf32>, %wc: tensor<2x4x3x3x16x32xf32>) {
  %0 = top.conv2d nchw_fchw %x, %w, %b strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x3x224x224xf32>, tensor<64x3x3x3xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
  %1 = top.conv2d nhwc_hwcf %xh, %wh strides [1, 1] dilations [2, 2] pad_low [2, 0] pad_high [2, 0] groups 8 : (tensor<1x16x16x32xf32>, tensor<3x3x4x8xf32>) -> tensor<1x16x12x8xf32>
  %2 = top.conv2d nchwc %xc, %wc strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x4x8x8x16xf32>, tensor<2x4x3x3x16x32xf32>) -> tensor<1x2x6x6x32xf32>
  func.return
}

// CHECK-LABEL: func.func @pool
// CHECK: top.pool max nchw %{{.*}} kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
// CHECK: top.pool avg nhwc %{{.*}} kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] count_include_pad : tensor<1x5x5x8xf32> -> tensor<1x3x3x8xf32>
// CHECK: top.pool max nchwc %{{.*}} kernel [2] strides [1] dilations [1] pad_low [0] pad_high [0] : tensor<1x2x10x16xf32> -> tensor<1x2x9x16xf32>
func.func @pool(%x: tensor<1x64x112x112xf32>, %y: tensor<1x5x5x8xf32>, %z: tensor<1x2x10x16xf32>) {
  %0 = top.pool max nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  %1 = top.pool avg nhwc %y kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] count_include_pad : tensor<1x5x5x8xf32> -> tensor<1x3x3x8xf32>
  %2 = top.pool max nchwc %z kernel [2] strides [1] dilations [1] pad_low [0] pad_high [0] : tensor<1x2x10x16xf32> -> tensor<1x2x9x16xf32>
  func.return
}

// CHECK-LABEL: func.func @reduce
// CHECK: top.reduce sum %{{.*}} axes [1] keepdims : tensor<4x8xf32> -> tensor<4x1xf32>
// CHECK: top.reduce log_sum_exp %{{.*}} axes [0, 1] : tensor<4x8xf32> -> tensor<f32>
func.func @reduce(%x: tensor<4x8xf32>) {
  %0 = top.reduce sum %x axes [1] keepdims : tensor<4x8xf32> -> tensor<4x1xf32>
  %1 = top.reduce log_sum_exp %x axes [0, 1] : tensor<4x8xf32> -> tensor<f32>
  func.return
}

// CHECK-LABEL: func.func @transpose
// CHECK: top.transpose %{{.*}} permutation [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
func.func @transpose(%x: tensor<1x3x4x5xf32>) {
  %0 = top.transpose %x permutation [0, 2, 3, 1] : tensor<1x3x4x5xf32> -> tensor<1x4x5x3xf32>
  func.return
}

// CHECK-LABEL: func.func @pad
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[C:.*]]: f32)
// CHECK: top.pad constant %[[X]] value %[[C]] low [0, 1] high [0, 1] : (tensor<4x8xf32>, f32) -> tensor<4x10xf32>
// CHECK: top.pad reflect %[[X]] low [1, 1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x10xf32>
// CHECK: top.pad edge %[[X]] low [0, 0] high [2, 0] : (tensor<4x8xf32>) -> tensor<6x8xf32>
func.func @pad(%x: tensor<4x8xf32>, %c: f32) {
  %0 = top.pad constant %x value %c low [0, 1] high [0, 1] : (tensor<4x8xf32>, f32) -> tensor<4x10xf32>
  %1 = top.pad reflect %x low [1, 1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x10xf32>
  %2 = top.pad edge %x low [0, 0] high [2, 0] : (tensor<4x8xf32>) -> tensor<6x8xf32>
  func.return
}

// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[D:.*]]: tensor<100x16xf32>, %[[I:.*]]: tensor<2x3xi64>)
// CHECK: top.gather %[[D]][%[[I]]] axis 0 : (tensor<100x16xf32>, tensor<2x3xi64>) -> tensor<2x3x16xf32>
// CHECK: top.gather %[[D]][%[[I]]] axis 1 : (tensor<100x16xf32>, tensor<2x3xi64>) -> tensor<100x2x3xf32>
func.func @gather(%d: tensor<100x16xf32>, %i: tensor<2x3xi64>) {
  %0 = top.gather %d[%i] axis 0 : (tensor<100x16xf32>, tensor<2x3xi64>) -> tensor<2x3x16xf32>
  %1 = top.gather %d[%i] axis 1 : (tensor<100x16xf32>, tensor<2x3xi64>) -> tensor<100x2x3xf32>
  func.return
}

// CHECK-LABEL: func.func @broadcast
// CHECK: top.broadcast %{{.*}} : tensor<4x1xf32> -> tensor<2x4x8xf32>
// CHECK: top.broadcast %{{.*}} : tensor<?x1xf32> -> tensor<?x8xf32>
func.func @broadcast(%x: tensor<4x1xf32>, %y: tensor<?x1xf32>) {
  %0 = top.broadcast %x : tensor<4x1xf32> -> tensor<2x4x8xf32>
  %1 = top.broadcast %y : tensor<?x1xf32> -> tensor<?x8xf32>
  func.return
}

// CHECK-LABEL: func.func @fill
// CHECK: %[[C:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: top.fill %[[C]] : f32 -> tensor<4x8xf32>
func.func @fill() -> tensor<4x8xf32> {
  %c = arith.constant 0.0 : f32
  %0 = top.fill %c : f32 -> tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @reshape
// CHECK: top.reshape %{{.*}} : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
func.func @reshape(%x: tensor<1x512x1x1xf32>) -> tensor<1x512xf32> {
  %0 = top.reshape %x : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
  func.return %0 : tensor<1x512xf32>
}

// CHECK-LABEL: func.func @concat
// CHECK: top.concat %{{.*}}, %{{.*}} axis 1 : (tensor<1x64x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x96x8x8xf32>
func.func @concat(%a: tensor<1x64x8x8xf32>, %b: tensor<1x32x8x8xf32>) -> tensor<1x96x8x8xf32> {
  %0 = top.concat %a, %b axis 1 : (tensor<1x64x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x96x8x8xf32>
  func.return %0 : tensor<1x96x8x8xf32>
}

// CHECK-LABEL: func.func @slice
// CHECK: top.slice %{{.*}} offsets [1, 6] strides [1, -2] : tensor<3x7xf32> -> tensor<2x4xf32>
func.func @slice(%x: tensor<3x7xf32>) -> tensor<2x4xf32> {
  %0 = top.slice %x offsets [1, 6] strides [1, -2] : tensor<3x7xf32> -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
