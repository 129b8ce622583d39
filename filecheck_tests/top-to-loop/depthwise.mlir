// RUN: lamina-opt %s -p 'convert-top-to-loop{vector_bits=512}' | filecheck %s

// An i32 depthwise conv (the exact integer conv of a quantized model) takes the direct
// depthwise kernel: i32 phase planes, each tap's weight broadcast once, and per vector of
// outputs a multiply and an add per tap (no FMA: integer arithmetic wraps as ONNX allows)
// CHECK-LABEL: func.func @depthwise_i32
// CHECK: loop.alloc() : memref<2x1x160xi32>
// CHECK: vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK: %[[TAP:.*]] = loop.vload %{{.*}} : memref<2x1x160xi32>, vector<16xi32>
// CHECK: %[[P:.*]] = arith.muli %{{.*}}, %[[TAP]] : vector<16xi32>
// CHECK: arith.addi %{{.*}}, %[[P]] : vector<16xi32>
// CHECK-NOT: vector.fma
func.func @depthwise_i32(%x: tensor<1x2x8x8xi32>, %w: tensor<2x1x3x3xi32>) -> tensor<1x2x8x8xi32> {
  %y = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 2 : (tensor<1x2x8x8xi32>, tensor<2x1x3x3xi32>) -> tensor<1x2x8x8xi32>
  func.return %y : tensor<1x2x8x8xi32>
}

// The phase planes of a padded stride-2 depthwise conv: which plane rows and columns read
// X is decided at compile time, so padding is stored as is and X is copied without
// clamps or selects (phase (0, 0): plane rows 1..3 and columns 1..3 read X at 2i - 1)
// CHECK-LABEL: func.func @depthwise_planes_filled
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PLANES:.*]] = loop.alloc() : memref<2x4x45xf32>
// CHECK-NOT: arith.select
// CHECK: loop.for %[[P:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 16 {
// CHECK-NEXT: loop.store %[[ZERO]], %[[PLANES]][%{{.*}}, %{{.*}}, %[[P]]] : memref<2x4x45xf32>
// CHECK-NOT: arith.select
// CHECK: %[[V:.*]] = loop.load %x[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x2x7x7xf32>
// CHECK-NEXT: %[[AT:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT: loop.store %[[V]], %[[PLANES]][%{{.*}}, %{{.*}}, %[[AT]]] : memref<2x4x45xf32>
// CHECK-NOT: arith.select
// CHECK: vector.fma
func.func @depthwise_planes_filled(%x: tensor<1x2x7x7xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32> {
  %y = top.conv2d nchw_fchw %x, %w strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 2 : (tensor<1x2x7x7xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}
