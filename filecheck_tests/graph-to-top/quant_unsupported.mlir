// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p convert-graph-to-top

func.func @per_axis_scale_of_the_wrong_length(%x: tensor<1x3x4xi8>, %s: tensor<4xf32>) -> tensor<1x3x4xf32> {
  %n = graph.none : none
  // expected-error@+1 {{a per-axis scale of shape [4] for x [1, 3, 4] on axis 1}}
  %y = graph.dequantize_linear %x, %s, %n {axis = 1 : i64} : (tensor<1x3x4xi8>, tensor<4xf32>, none) -> tensor<1x3x4xf32>
  func.return %y : tensor<1x3x4xf32>
}

// -----

func.func @zero_point_of_another_shape(%x: tensor<1x3x4xf32>, %s: tensor<3xf32>, %z: tensor<4xi8>) -> tensor<1x3x4xi8> {
  // expected-error@+1 {{a zero point tensor<4xi8> of another shape than the scale tensor<3xf32>}}
  %y = graph.quantize_linear %x, %s, %z {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<3xf32>, tensor<4xi8>) -> tensor<1x3x4xi8>
  func.return %y : tensor<1x3x4xi8>
}
