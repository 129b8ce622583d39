// RUN: lamina-opt %s --split-input-file -p 'apply-rules{set=graph-fuse-quantized-conv}' | filecheck %s

// conv(dequantize(x), dequantize(w) per output channel, b) -> cast(conv_integer(x, w, xz, wz))
// scaled by xs * ws per channel, plus b per channel
// CHECK-LABEL: func.func @conv
// CHECK: %[[I:.*]] = graph.conv_integer %x, %w, %xz, %wz {pads = array<i64: 1, 0, 1, 0>, strides = array<i64: 2, 1>} : (tensor<1x2x5x5xui8>, tensor<2x2x3x1xi8>, tensor<ui8>, tensor<2xi8>) -> tensor<1x2x3x5xi32>
// CHECK: %[[F:.*]] = graph.cast %[[I]] {to = 1 : i64} : (tensor<1x2x3x5xi32>) -> tensor<1x2x3x5xf32>
// CHECK: %[[S:.*]] = graph.constant dense<{{\[\[\[}}2.500000e-01]], {{\[\[}}1.000000e-01]]]> : tensor<2x1x1xf32>
// CHECK: %[[M:.*]] = graph.mul %[[F]], %[[S]] : (tensor<1x2x3x5xf32>, tensor<2x1x1xf32>) -> tensor<1x2x3x5xf32>
// CHECK: %[[B:.*]] = graph.constant dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}-2.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK: %[[Y:.*]] = graph.add %[[M]], %[[B]] : (tensor<1x2x3x5xf32>, tensor<2x1x1xf32>) -> tensor<1x2x3x5xf32>
// CHECK: func.return %[[Y]]
// CHECK-NOT: graph.dequantize_linear
func.func @conv(%x: tensor<1x2x5x5xui8>) -> tensor<1x2x3x5xf32> {
  %xs = graph.constant dense<5.000000e-01> : tensor<f32>
  %xz = graph.constant dense<128> : tensor<ui8>
  %w = graph.constant dense<[[[[1], [2], [3]], [[-4], [5], [6]]], [[[7], [-8], [9]], [[1], [2], [-3]]]]> : tensor<2x2x3x1xi8>
  %ws = graph.constant dense<[5.000000e-01, 2.000000e-01]> : tensor<2xf32>
  %wz = graph.constant dense<0> : tensor<2xi8>
  %b = graph.constant dense<[1.000000e+00, -2.000000e+00]> : tensor<2xf32>
  %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<1x2x5x5xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x5x5xf32>
  %wf = graph.dequantize_linear %w, %ws, %wz {axis = 0 : i64} : (tensor<2x2x3x1xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x2x3x1xf32>
  %y = graph.conv %xf, %wf, %b {pads = array<i64: 1, 0, 1, 0>, strides = array<i64: 2, 1>} : (tensor<1x2x5x5xf32>, tensor<2x2x3x1xf32>, tensor<2xf32>) -> tensor<1x2x3x5xf32>
  func.return %y : tensor<1x2x3x5xf32>
}

// -----

// without a bias: no add
// CHECK-LABEL: func.func @conv_without_bias
// CHECK: graph.conv_integer %x, %w, %xz, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xi8>, tensor<2x2x1x1xi8>, tensor<i8>, none) -> tensor<1x2x3x3xi32>
// CHECK: %[[S:.*]] = graph.constant dense<1.250000e-01> : tensor<1x1x1xf32>
// CHECK: %[[Y:.*]] = graph.mul %{{.*}}, %[[S]] : (tensor<1x2x3x3xf32>, tensor<1x1x1xf32>) -> tensor<1x2x3x3xf32>
// CHECK-NEXT: func.return %[[Y]]
func.func @conv_without_bias(%x: tensor<1x2x3x3xi8>) -> tensor<1x2x3x3xf32> {
  %xs = graph.constant dense<5.000000e-01> : tensor<f32>
  %xz = graph.constant dense<-3> : tensor<i8>
  %w = graph.constant dense<[[[[1]], [[-2]]], [[[4]], [[2]]]]> : tensor<2x2x1x1xi8>
  %ws = graph.constant dense<2.500000e-01> : tensor<f32>
  %n = graph.none : none
  %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<1x2x3x3xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x3x3xf32>
  %wf = graph.dequantize_linear %w, %ws, %n : (tensor<2x2x1x1xi8>, tensor<f32>, none) -> tensor<2x2x1x1xf32>
  %y = graph.conv %xf, %wf, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

// not taken: x of 16 bits (no 8-bit dot product), x's scale per channel
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: graph.conv_integer
// CHECK-COUNT-2: graph.conv %
func.func @not_taken(%x: tensor<1x2x3x3xi16>, %y8: tensor<1x2x3x3xui8>) -> (tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>) {
  %xs = graph.constant dense<5.000000e-01> : tensor<f32>
  %cs = graph.constant dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
  %w = graph.constant dense<[[[[1]], [[-2]]], [[[4]], [[2]]]]> : tensor<2x2x1x1xi8>
  %ws = graph.constant dense<2.500000e-01> : tensor<f32>
  %n = graph.none : none
  %xf = graph.dequantize_linear %x, %xs, %n : (tensor<1x2x3x3xi16>, tensor<f32>, none) -> tensor<1x2x3x3xf32>
  %yf = graph.dequantize_linear %y8, %cs, %n {axis = 1 : i64} : (tensor<1x2x3x3xui8>, tensor<2xf32>, none) -> tensor<1x2x3x3xf32>
  %wf = graph.dequantize_linear %w, %ws, %n : (tensor<2x2x1x1xi8>, tensor<f32>, none) -> tensor<2x2x1x1xf32>
  %a = graph.conv %xf, %wf, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x3x3xf32>
  %b = graph.conv %yf, %wf, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x3x3xf32>
  func.return %a, %b : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>
}
