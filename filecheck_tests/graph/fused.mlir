// Round trip of the fused ops (dialects/graph_fused.py), custom and generic form.
// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @fused_conv_relu(
func.func @fused_conv_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  // CHECK: %{{.*}} = graph.fused_conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, activation = "relu"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.fused_conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, activation = "relu"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// CHECK-LABEL: func.func @fused_conv_clip(
func.func @fused_conv_clip(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %n: none) -> tensor<1x4x8x8xf32> {
  // CHECK: graph.fused_conv %x, %w, %n {pads = array<i64: 1, 1, 1, 1>, activation = "clip", activation_params = array<f32: 0.000000e+00, 6.000000e+00>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x8x8xf32>
  %y = graph.fused_conv %x, %w, %n {pads = array<i64: 1, 1, 1, 1>, activation = "clip", activation_params = array<f32: 0.0, 6.0>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @fused_gemm_leaky_relu(
func.func @fused_gemm_leaky_relu(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>, %c: tensor<4xf32>) -> tensor<2x4xf32> {
  // CHECK: graph.fused_gemm %a, %b, %c {transB = 1 : i64, activation = "leaky_relu", activation_params = array<f32: 1.000000e-01>} : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %y = graph.fused_gemm %a, %b, %c {transB = 1 : i64, activation = "leaky_relu", activation_params = array<f32: 0.1>} : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @fused_gemm_hard_sigmoid(
func.func @fused_gemm_hard_sigmoid(%a: tensor<8x2xf32>, %b: tensor<8x4xf32>, %n: none) -> tensor<2x4xf32> {
  // CHECK: graph.fused_gemm %a, %b, %n {transA = 1 : i64, activation = "hard_sigmoid", activation_params = array<f32: 2.000000e-01, 5.000000e-01>} : (tensor<8x2xf32>, tensor<8x4xf32>, none) -> tensor<2x4xf32>
  %y = graph.fused_gemm %a, %b, %n {transA = 1 : i64, activation = "hard_sigmoid", activation_params = array<f32: 0.2, 0.5>} : (tensor<8x2xf32>, tensor<8x4xf32>, none) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
