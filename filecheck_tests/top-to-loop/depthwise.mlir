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
