// RUN: lamina-opt %s --split-input-file -p 'apply-rules{set=graph-fuse-quantized}' | filecheck %s

// mat_mul(dequantize(x), dequantize(w) per column) -> cast(mat_mul_integer(x, w, xz, wz))
// scaled by xs * ws
// CHECK-LABEL: func.func @mat_mul
// CHECK: %[[I:.*]] = graph.mat_mul_integer %x, %w, %xz, %wz : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<ui8>, tensor<4xi8>) -> tensor<2x4xi32>
// CHECK: %[[F:.*]] = graph.cast %[[I]] {to = 1 : i64} : (tensor<2x4xi32>) -> tensor<2x4xf32>
// CHECK: %[[S:.*]] = graph.constant dense<[5.000000e-02, 1.000000e-01, 2.000000e-01, 4.000000e-01]> : tensor<4xf32>
// CHECK: %[[Y:.*]] = graph.mul %[[F]], %[[S]] : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
// CHECK: func.return %[[Y]]
// CHECK-NOT: graph.dequantize_linear
func.func @mat_mul(%x: tensor<2x3xui8>) -> tensor<2x4xf32> {
  %xs = graph.constant dense<5.000000e-01> : tensor<f32>
  %xz = graph.constant dense<128> : tensor<ui8>
  %w = graph.constant dense<[[1, -2, 3, 4], [5, 6, -7, 8], [9, 10, 11, -12]]> : tensor<3x4xi8>
  %ws = graph.constant dense<[1.000000e-01, 2.000000e-01, 4.000000e-01, 8.000000e-01]> : tensor<4xf32>
  %wz = graph.constant dense<0> : tensor<4xi8>
  %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<2x3xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xf32>
  %wf = graph.dequantize_linear %w, %ws, %wz {axis = 1 : i64} : (tensor<3x4xi8>, tensor<4xf32>, tensor<4xi8>) -> tensor<3x4xf32>
  %y = graph.mat_mul %xf, %wf : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// -----

// gemm(dequantize(x), dequantize(w) per output row, c) with transB = 1 -> the same on the
// transposed weights, plus c
// CHECK-LABEL: func.func @gemm
// CHECK: %[[WT:.*]] = graph.constant dense<{{\[\[}}1, 5], [-2, 6], [3, -7]]> : tensor<3x2xi8>
// CHECK: %[[I:.*]] = graph.mat_mul_integer %x, %[[WT]], %xz, %wz : (tensor<1x3xi8>, tensor<3x2xi8>, tensor<i8>, tensor<2xi8>) -> tensor<1x2xi32>
// CHECK: %[[F:.*]] = graph.cast %[[I]] {to = 1 : i64}
// CHECK: %[[S:.*]] = graph.mul %[[F]], %{{.*}} : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
// CHECK: %[[Y:.*]] = graph.add %[[S]], %c : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
// CHECK: func.return %[[Y]]
func.func @gemm(%x: tensor<1x3xi8>, %c: tensor<2xf32>) -> tensor<1x2xf32> {
  %xs = graph.constant dense<2.500000e-01> : tensor<f32>
  %xz = graph.constant dense<3> : tensor<i8>
  %w = graph.constant dense<[[1, -2, 3], [5, 6, -7]]> : tensor<2x3xi8>
  %ws = graph.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
  %wz = graph.constant dense<0> : tensor<2xi8>
  %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<1x3xi8>, tensor<f32>, tensor<i8>) -> tensor<1x3xf32>
  %wf = graph.dequantize_linear %w, %ws, %wz {axis = 0 : i64} : (tensor<2x3xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x3xf32>
  %y = graph.gemm %xf, %wf, %c {transB = 1 : i64} : (tensor<1x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  func.return %y : tensor<1x2xf32>
}

// -----

// weights quantized along the contracting dim (axis 0 of a MatMul's [K, N]) cannot be taken
// out of the sum: the rule does not apply
// CHECK-LABEL: func.func @mat_mul_per_row_weights
// CHECK: graph.dequantize_linear
// CHECK: graph.mat_mul %
// CHECK-NOT: graph.mat_mul_integer
func.func @mat_mul_per_row_weights(%x: tensor<2x3xui8>) -> tensor<2x2xf32> {
  %xs = graph.constant dense<5.000000e-01> : tensor<f32>
  %xz = graph.constant dense<128> : tensor<ui8>
  %w = graph.constant dense<[[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi8>
  %ws = graph.constant dense<[1.000000e-01, 2.000000e-01, 4.000000e-01]> : tensor<3xf32>
  %wz = graph.constant dense<0> : tensor<3xi8>
  %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<2x3xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xf32>
  %wf = graph.dequantize_linear %w, %ws, %wz {axis = 0 : i64} : (tensor<3x2xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<3x2xf32>
  %y = graph.mat_mul %xf, %wf : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  func.return %y : tensor<2x2xf32>
}

// -----

// conv(x, dequantize(w)) with constant w: the weights dequantized now ((w - wz) * ws per
// output channel), the conv by the float constant
// CHECK-LABEL: func.func @conv
// CHECK: %[[W:.*]] = graph.constant dense<{{\[\[\[\[}}5.000000e-01]], {{\[\[}}-1.000000e+00]]], {{\[\[\[}}6.000000e-01]], {{\[\[}}2.000000e-01]]]]> : tensor<2x2x1x1xf32>
// CHECK: graph.conv %xf, %[[W]], %{{.*}} {kernel_shape = array<i64: 1, 1>}
// CHECK-NOT: graph.dequantize_linear %w
func.func @conv(%xf: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = graph.constant dense<[[[[1]], [[-2]]], [[[4]], [[2]]]]> : tensor<2x2x1x1xi8>
  %ws = graph.constant dense<[5.000000e-01, 2.000000e-01]> : tensor<2xf32>
  %wz = graph.constant dense<[0, 1]> : tensor<2xi8>
  %n = graph.none : none
  %wf = graph.dequantize_linear %w, %ws, %wz {axis = 0 : i64} : (tensor<2x2x1x1xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x2x1x1xf32>
  %y = graph.conv %xf, %wf, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

// The QDQ form around a concat and a max pool (onnxruntime's quantized SqueezeNet): each
// concat input quantized with the concat's parameters, the max pool on the bytes, the
// quantize / dequantize pair of one scale and zero point gone; the bytes move.
// CHECK-LABEL: func.func @bytes_through_concat_and_pool
// CHECK-SAME: (%[[A:.*]]: tensor<1x2x5x5xui8>, %[[B:.*]]: tensor<1x2x5x5xui8>)
// CHECK: %[[FA:.*]] = graph.dequantize_linear %[[A]], %as, %z
// CHECK-NEXT: %[[QA:.*]] = graph.quantize_linear %[[FA]], %s, %z : (tensor<1x2x5x5xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2x5x5xui8>
// CHECK-NEXT: %[[C:.*]] = graph.concat %[[QA]], %[[B]] {axis = 1 : i64} : (tensor<1x2x5x5xui8>, tensor<1x2x5x5xui8>) -> tensor<1x4x5x5xui8>
// CHECK-NEXT: %[[P:.*]], %{{.*}} = graph.max_pool %[[C]] {{.*}} : (tensor<1x4x5x5xui8>) -> (tensor<1x4x2x2xui8>, none)
// CHECK-NEXT: func.return %[[P]] : tensor<1x4x2x2xui8>
func.func @bytes_through_concat_and_pool(%a: tensor<1x2x5x5xui8>, %b: tensor<1x2x5x5xui8>) -> tensor<1x4x2x2xui8> {
  %as = graph.constant dense<2.500000e-01> : tensor<f32>
  %s = graph.constant dense<5.000000e-01> : tensor<f32>
  %z = graph.constant dense<3> : tensor<ui8>
  %fa = graph.dequantize_linear %a, %as, %z : (tensor<1x2x5x5xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x5x5xf32>
  %fb = graph.dequantize_linear %b, %s, %z : (tensor<1x2x5x5xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x5x5xf32>
  %c = graph.concat %fa, %fb {axis = 1 : i64} : (tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>) -> tensor<1x4x5x5xf32>
  %qc = graph.quantize_linear %c, %s, %z : (tensor<1x4x5x5xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x5x5xui8>
  %fc = graph.dequantize_linear %qc, %s, %z : (tensor<1x4x5x5xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x5x5xf32>
  %p, %i = graph.max_pool %fc {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>} : (tensor<1x4x5x5xf32>) -> (tensor<1x4x2x2xf32>, none)
  %y = graph.quantize_linear %p, %s, %z : (tensor<1x4x2x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x2x2xui8>
  func.return %y : tensor<1x4x2x2xui8>
}

// -----

// A quantize by other parameters than its dequantize stays (it requantizes).
// CHECK-LABEL: func.func @requantized
// CHECK: graph.dequantize_linear
// CHECK: graph.quantize_linear
func.func @requantized(%a: tensor<4xui8>) -> tensor<4xui8> {
  %s = graph.constant dense<5.000000e-01> : tensor<f32>
  %t = graph.constant dense<2.500000e-01> : tensor<f32>
  %z = graph.constant dense<3> : tensor<ui8>
  %f = graph.dequantize_linear %a, %s, %z : (tensor<4xui8>, tensor<f32>, tensor<ui8>) -> tensor<4xf32>
  %y = graph.quantize_linear %f, %t, %z : (tensor<4xf32>, tensor<f32>, tensor<ui8>) -> tensor<4xui8>
  func.return %y : tensor<4xui8>
}

// -----

// quantize(cast(i) * c + b, ys, yz) with b = k * c -> round(cast(i + k) * (c / ys)) + yz
// CHECK-LABEL: func.func @requantize_biased
// CHECK: %[[K:.*]] = graph.constant dense<[3, -2]> : tensor<2xi32>
// CHECK: %[[J:.*]] = graph.add %i, %[[K]] : (tensor<1x2xi32>, tensor<2xi32>) -> tensor<1x2xi32>
// CHECK: %[[G:.*]] = graph.cast %[[J]] {to = 1 : i64} : (tensor<1x2xi32>) -> tensor<1x2xf32>
// CHECK: %[[M:.*]] = graph.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: %[[R:.*]] = graph.mul %[[G]], %[[M]]
// CHECK: %[[ONE:.*]] = graph.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[Q:.*]] = graph.quantize_linear %[[R]], %[[ONE]], %yz
// CHECK: func.return %[[Q]]
func.func @requantize_biased(%i: tensor<1x2xi32>) -> tensor<1x2xui8> {
  %c = graph.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
  %b = graph.constant dense<[7.500000e-01, -1.000000e+00]> : tensor<2xf32>
  %ys = graph.constant dense<2.500000e-01> : tensor<f32>
  %yz = graph.constant dense<3> : tensor<ui8>
  %f = graph.cast %i {to = 1 : i64} : (tensor<1x2xi32>) -> tensor<1x2xf32>
  %s = graph.mul %f, %c : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %y = graph.add %s, %b : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %q = graph.quantize_linear %y, %ys, %yz : (tensor<1x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2xui8>
  func.return %q : tensor<1x2xui8>
}

// -----

// a bias that is not whole units of c stays a float add (only the scales join)
// CHECK-LABEL: func.func @requantize_float_bias
// CHECK: %[[F:.*]] = graph.cast %i
// CHECK: %[[S:.*]] = graph.mul %[[F]], %c
// CHECK: %[[Y:.*]] = graph.add %[[S]], %b
// CHECK: graph.quantize_linear %[[Y]], %ys, %yz
func.func @requantize_float_bias(%i: tensor<1x2xi32>) -> tensor<1x2xui8> {
  %c = graph.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
  %b = graph.constant dense<[1.000000e-01, -1.000000e+00]> : tensor<2xf32>
  %ys = graph.constant dense<2.500000e-01> : tensor<f32>
  %yz = graph.constant dense<3> : tensor<ui8>
  %f = graph.cast %i {to = 1 : i64} : (tensor<1x2xi32>) -> tensor<1x2xf32>
  %s = graph.mul %f, %c : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %y = graph.add %s, %b : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %q = graph.quantize_linear %y, %ys, %yz : (tensor<1x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2xui8>
  func.return %q : tensor<1x2xui8>
}

// -----

// without a bias: quantize(cast(i) * c, ys, yz) -> quantize(cast(i) * (c / ys), 1, yz)
// CHECK-LABEL: func.func @requantize_unbiased
// CHECK: %[[F:.*]] = graph.cast %i
// CHECK: %[[M:.*]] = graph.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: %[[R:.*]] = graph.mul %[[F]], %[[M]]
// CHECK: %[[ONE:.*]] = graph.constant dense<1.000000e+00> : tensor<f32>
// CHECK: graph.quantize_linear %[[R]], %[[ONE]], %yz
func.func @requantize_unbiased(%i: tensor<1x2xi32>) -> tensor<1x2xui8> {
  %c = graph.constant dense<[2.500000e-01, 5.000000e-01]> : tensor<2xf32>
  %ys = graph.constant dense<2.500000e-01> : tensor<f32>
  %yz = graph.constant dense<3> : tensor<ui8>
  %f = graph.cast %i {to = 1 : i64} : (tensor<1x2xi32>) -> tensor<1x2xf32>
  %y = graph.mul %f, %c : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %q = graph.quantize_linear %y, %ys, %yz : (tensor<1x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2xui8>
  func.return %q : tensor<1x2xui8>
}
