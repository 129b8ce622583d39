// RUN: lamina-opt %s -p convert-graph-to-top --split-input-file --verify-diagnostics

func.func @conv_transpose_4d(%x: tensor<1x1x2x2x2x2xf32>, %w: tensor<1x1x2x2x2x2xf32>) -> tensor<1x1x3x3x3x3xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.conv_transpose': 4-D ConvTranspose}}
  %y = graph.conv_transpose %x, %w, %n : (tensor<1x1x2x2x2x2xf32>, tensor<1x1x2x2x2x2xf32>, none) -> tensor<1x1x3x3x3x3xf32>
  func.return %y : tensor<1x1x3x3x3x3xf32>
}

// -----

func.func @conv_transpose_wrong_result(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x2x2xf32>) -> tensor<1x1x5x5xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.conv_transpose': output size [4, 4] disagrees with the result type [5, 5]}}
  %y = graph.conv_transpose %x, %w, %n : (tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>, none) -> tensor<1x1x5x5xf32>
  func.return %y : tensor<1x1x5x5xf32>
}

// -----

func.func @col2im_computed_image_shape(%x: tensor<1x4x6xf32>, %image: tensor<2xi64>) -> tensor<1x1x3x4xf32> {
  %block = graph.constant dense<[2, 2]> : tensor<2xi64>
  // expected-error@+1 {{not supported: 'graph.col2im': image_shape must be a constant}}
  %y = graph.col2im %x, %image, %block : (tensor<1x4x6xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x3x4xf32>
  func.return %y : tensor<1x1x3x4xf32>
}
