// The fused ops' verifiers: one error per split.
// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @unknown_activation(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %n: none) {
  // expected-error@+1 {{unknown activation 'gelu' (expected one of relu, clip, sigmoid, leaky_relu, hard_sigmoid, tanh)}}
  %y = graph.fused_conv %x, %w, %n {activation = "gelu"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @clip_one_param(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %n: none) {
  // expected-error@+1 {{activation 'clip' takes 2 activation_params (min, max), got 1}}
  %y = graph.fused_conv %x, %w, %n {activation = "clip", activation_params = array<f32: 0.0>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @relu_with_param(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>, %n: none) {
  // expected-error@+1 {{activation 'relu' takes 0 activation_params (none), got 1}}
  %y = graph.fused_gemm %a, %b, %n {activation = "relu", activation_params = array<f32: 1.0>} : (tensor<2x8xf32>, tensor<8x4xf32>, none) -> tensor<2x4xf32>
  func.return
}

// -----

func.func @missing_activation(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>, %n: none) {
  // expected-error@+1 {{property 'activation' expected}}
  %y = graph.fused_gemm %a, %b, %n : (tensor<2x8xf32>, tensor<8x4xf32>, none) -> tensor<2x4xf32>
  func.return
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>, %n: none) {
  // expected-error@+1 {{x : tensor<1x3x8x8xf32> has 3 channels but w : tensor<4x2x3x3xf32> with group = 1 expects 2}}
  %y = graph.fused_conv %x, %w, %n {activation = "relu"} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_output_shape(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %n: none) {
  // expected-error@+1 {{result 0 : tensor<1x4x8x8xf32> should have shape 1x4x6x6}}
  %y = graph.fused_conv %x, %w, %n {activation = "tanh"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x8x8xf32>
  func.return
}

// -----

func.func @gemm_inner(%a: tensor<2x8xf32>, %b: tensor<7x4xf32>, %n: none) {
  // expected-error@+1 {{inner dimensions of a : tensor<2x8xf32> and b : tensor<7x4xf32> differ (8 != 7; trans_a = 0, trans_b = 0)}}
  %y = graph.fused_gemm %a, %b, %n {activation = "sigmoid"} : (tensor<2x8xf32>, tensor<7x4xf32>, none) -> tensor<2x4xf32>
  func.return
}
