// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-fuse}' | filecheck %s

// add(conv(x, w, none), k) -> conv(x, w, k) for a per-channel k of shape (1, C, 1, 1)
// CHECK-LABEL: func.func @conv_add
// CHECK:         %[[B:.*]] = graph.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.conv %x, %w, %[[B]] {kernel_shape = array<i64: 1, 1>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @conv_add(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = graph.constant dense<[[[[1.0]]], [[[1.0]]]]> : tensor<2x1x1x1xf32>
  %n = graph.none : none
  %c = graph.conv %x, %w, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32>
  %k = graph.constant dense<[[[[1.0]], [[2.0]]]]> : tensor<1x2x1x1xf32>
  %y = graph.add %c, %k : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// add(k, conv(x, w, b)) -> conv(x, w, b + k); k of shape (C, 1, 1)
// CHECK-LABEL: func.func @add_conv_commuted
// CHECK:         %[[B:.*]] = graph.constant dense<[2.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    graph.conv %x, %w, %[[B]]
func.func @add_conv_commuted(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = graph.constant dense<[[[[1.0]]], [[[1.0]]]]> : tensor<2x1x1x1xf32>
  %b = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %c = graph.conv %x, %w, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %k = graph.constant dense<[[[1.0]], [[2.0]]]> : tensor<2x1x1xf32>
  %y = graph.add %k, %c : (tensor<2x1x1xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// an add that is not per channel stays
// CHECK-LABEL: func.func @conv_add_per_pixel
// CHECK:         graph.conv
// CHECK:         graph.add
func.func @conv_add_per_pixel(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = graph.constant dense<1.0> : tensor<1x1x1x1xf32>
  %n = graph.none : none
  %c = graph.conv %x, %w, %n : (tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>, none) -> tensor<1x1x2x2xf32>
  %k = graph.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = graph.add %c, %k : (tensor<1x1x2x2xf32>, tensor<2x2xf32>) -> tensor<1x1x2x2xf32>
  func.return %y : tensor<1x1x2x2xf32>
}

// batch_normalization(gemm(a, b, c)) -> gemm(a, b * s, (beta_c * c - mean) * s + beta)
// CHECK-LABEL: func.func @gemm_bn
// CHECK:         %[[B:.*]] = graph.constant dense<{{\[\[}}2.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.constant dense<[5.000000e+00, 0.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.gemm %a, %[[B]], %[[C]] {beta = 1.000000e+00 : f32, transB = 1 : i64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @gemm_bn(%a: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %b = graph.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %c = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %g = graph.gemm %a, %b, %c {beta = 2.0 : f32, transB = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %gamma = graph.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %beta = graph.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %mean = graph.constant dense<[0.0, 4.0]> : tensor<2xf32>
  %var = graph.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %y, %rm, %rv = graph.batch_normalization %g, %gamma, %beta, %mean, %var {epsilon = 0.0 : f32} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<3x2xf32>, none, none)
  func.return %y : tensor<3x2xf32>
}

// add(gemm(a, b, none), d) -> gemm(a, b, d)
// CHECK-LABEL: func.func @gemm_add
// CHECK-NEXT:    %[[D:.*]] = graph.constant dense<[1.000000e+00, 2.000000e+00]>
// CHECK-NEXT:    %[[Y:.*]] = graph.gemm %a, %b, %[[D]] {beta = 1.000000e+00 : f32}
// CHECK-NEXT:    func.return %[[Y]]
func.func @gemm_add(%a: tensor<3x2xf32>, %b: tensor<2x2xf32>) -> tensor<3x2xf32> {
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n : (tensor<3x2xf32>, tensor<2x2xf32>, none) -> tensor<3x2xf32>
  %d = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = graph.add %d, %g : (tensor<2xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  func.return %y : tensor<3x2xf32>
}

// a conv with a second user keeps its batch_normalization: folding would duplicate it
// CHECK-LABEL: func.func @conv_bn_two_users
// CHECK:         graph.conv
// CHECK:         graph.batch_normalization
func.func @conv_bn_two_users(%x: tensor<1x1x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %w = graph.constant dense<2.0> : tensor<1x1x1x1xf32>
  %n = graph.none : none
  %c = graph.conv %x, %w, %n : (tensor<1x1x4x4xf32>, tensor<1x1x1x1xf32>, none) -> tensor<1x1x4x4xf32>
  %p = graph.constant dense<1.0> : tensor<1xf32>
  %y, %rm, %rv = graph.batch_normalization %c, %p, %p, %p, %p : (tensor<1x1x4x4xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> (tensor<1x1x4x4xf32>, none, none)
  func.return %y, %c : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}
