// One verifier error of the NHWC layout ops per split.
// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @conv_channels(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x2x4xf32>, %n: none) {
  // expected-error@+1 {{x : tensor<1x8x8x3xf32> has 3 channels but w : tensor<3x3x2x4xf32> with group = 1 expects 2}}
  %y = graph.nhwc_conv %x, %w, %n : (tensor<1x8x8x3xf32>, tensor<3x3x2x4xf32>, none) -> tensor<1x6x6x4xf32>
  func.return
}

// -----

func.func @conv_output_shape(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %n: none) {
  // expected-error@+1 {{result : tensor<1x4x6x6xf32> should have shape 1x6x6x4}}
  %y = graph.nhwc_conv %x, %w, %n : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, none) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_rank(%x: tensor<1x8x3xf32>, %w: tensor<3x3x3x4xf32>, %n: none) {
  // expected-error@+1 {{x : tensor<1x8x3xf32> should be N x H x W x C (rank 4)}}
  %y = graph.nhwc_conv %x, %w, %n : (tensor<1x8x3xf32>, tensor<3x3x3x4xf32>, none) -> tensor<*xf32>
  func.return
}

// -----

func.func @conv_bias(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{b : tensor<3xf32> should have shape 4}}
  %y = graph.nhwc_conv %x, %w, %b : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, tensor<3xf32>) -> tensor<*xf32>
  func.return
}

// -----

func.func @max_pool_shape(%x: tensor<1x8x8x4xf32>) {
  // expected-error@+1 {{result : tensor<1x4x4x8xf32> should have shape 1x4x4x4}}
  %y = graph.nhwc_max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32>
  func.return
}

// -----

func.func @average_pool_kernel(%x: tensor<1x8x8x4xf32>) {
  // expected-error@+1 {{kernel_shape [2] should have 2 values}}
  %y = graph.nhwc_average_pool %x {kernel_shape = array<i64: 2>} : (tensor<1x8x8x4xf32>) -> tensor<*xf32>
  func.return
}

// -----

func.func @global_average_pool_shape(%x: tensor<1x8x8x4xf32>) {
  // expected-error@+1 {{result : tensor<1x4x1x1xf32> should have shape 1x1x1x4}}
  %y = graph.nhwc_global_average_pool %x : (tensor<1x8x8x4xf32>) -> tensor<1x4x1x1xf32>
  func.return
}

// -----

func.func @conv_strides(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %n: none) {
  // expected-error@+1 {{strides has 1 values but x : tensor<1x8x8x3xf32> needs 2}}
  %y = graph.nhwc_conv %x, %w, %n {strides = array<i64: 1>} : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, none) -> tensor<*xf32>
  func.return
}
