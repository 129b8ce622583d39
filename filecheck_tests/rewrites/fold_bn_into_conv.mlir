// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s

// batch_normalization(conv(x, w, b)) -> conv(x, w * s, (b - mean) * s + beta)
// CHECK-LABEL: func.func @conv_bn
// CHECK-NEXT:    %[[W:.*]] = graph.constant dense<[{{\[\[\[}}2.000000e+00]]], {{\[\[\[}}1.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.constant dense<[3.000000e+00, 0.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.conv %x, %[[W]], %[[B]] {kernel_shape = array<i64: 1, 1>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @conv_bn(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = graph.constant dense<[[[[1.0]]], [[[1.0]]]]> : tensor<2x1x1x1xf32>
  %b = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %c = graph.conv %x, %w, %b {kernel_shape = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %gamma = graph.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %beta = graph.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %mean = graph.constant dense<[0.0, 2.0]> : tensor<2xf32>
  %var = graph.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %y, %rm, %rv = graph.batch_normalization %c, %gamma, %beta, %mean, %var {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x4x4xf32>, none, none)
  func.return %y : tensor<1x2x4x4xf32>
}
