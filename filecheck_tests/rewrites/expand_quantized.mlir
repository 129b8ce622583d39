// RUN: lamina-opt %s -p 'apply-rules{set=graph-expand-quantized}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s

// q_linear_conv -> dequantize x (per tensor) and w (per output channel, axis 0), the int32
// bias dequantized with the scale xs * ws, a float conv with the same attributes, quantize
// CHECK-LABEL: func.func @q_linear_conv
// CHECK-DAG: %[[XF:.*]] = graph.dequantize_linear %x, %xs, %xz : (tensor<1x2x4x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xf32>
// CHECK-DAG: %[[WF:.*]] = graph.dequantize_linear %w, %ws, %wz {axis = 0 : i64} : {{.*}} -> tensor<3x2x1x1xf32>
// CHECK-DAG: %[[BS:.*]] = graph.constant dense<[5.000000e-02, 1.000000e-01, 2.000000e-01]> : tensor<3xf32>
// CHECK-DAG: %[[BF:.*]] = graph.dequantize_linear %b, %[[BS]], %{{.*}} {axis = 0 : i64} : (tensor<3xi32>, tensor<3xf32>, none) -> tensor<3xf32>
// CHECK: %[[C:.*]] = graph.conv %[[XF]], %[[WF]], %[[BF]] {kernel_shape = array<i64: 1, 1>} : {{.*}} -> tensor<1x3x4x4xf32>
// CHECK: %[[Y:.*]] = graph.quantize_linear %[[C]], %ys, %yz : (tensor<1x3x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x3x4x4xui8>
// CHECK: func.return %[[Y]]
func.func @q_linear_conv(%x: tensor<1x2x4x4xui8>, %w: tensor<3x2x1x1xi8>, %b: tensor<3xi32>) -> tensor<1x3x4x4xui8> {
  %xs = graph.constant dense<5.000000e-01> : tensor<f32>
  %xz = graph.constant dense<128> : tensor<ui8>
  %ws = graph.constant dense<[1.000000e-01, 2.000000e-01, 4.000000e-01]> : tensor<3xf32>
  %wz = graph.constant dense<0> : tensor<3xi8>
  %ys = graph.constant dense<2.500000e-01> : tensor<f32>
  %yz = graph.constant dense<10> : tensor<ui8>
  %y = graph.q_linear_conv %x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %b {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x4x4xui8>, tensor<f32>, tensor<ui8>, tensor<3x2x1x1xi8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<ui8>, tensor<3xi32>) -> tensor<1x3x4x4xui8>
  func.return %y : tensor<1x3x4x4xui8>
}

// q_linear_mat_mul -> a dequantized per row (axis -2), b per column (axis -1), mat_mul, quantize
// CHECK-LABEL: func.func @q_linear_mat_mul
// CHECK: %[[AF:.*]] = graph.dequantize_linear %a, %as, %az {axis = -2 : i64} : {{.*}} -> tensor<2x3xf32>
// CHECK: %[[BF:.*]] = graph.dequantize_linear %b, %bs, %bz {axis = -1 : i64} : {{.*}} -> tensor<3x4xf32>
// CHECK: %[[M:.*]] = graph.mat_mul %[[AF]], %[[BF]] : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[Y:.*]] = graph.quantize_linear %[[M]], %ys, %yz : (tensor<2x4xf32>, tensor<f32>, tensor<i8>) -> tensor<2x4xi8>
// CHECK: func.return %[[Y]]
func.func @q_linear_mat_mul(%a: tensor<2x3xi8>, %as: tensor<f32>, %az: tensor<i8>, %b: tensor<3x4xi8>, %bs: tensor<4xf32>, %bz: tensor<4xi8>, %ys: tensor<f32>, %yz: tensor<i8>) -> tensor<2x4xi8> {
  %y = graph.q_linear_mat_mul %a, %as, %az, %b, %bs, %bz, %ys, %yz : (tensor<2x3xi8>, tensor<f32>, tensor<i8>, tensor<3x4xi8>, tensor<4xf32>, tensor<4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xi8>
  func.return %y : tensor<2x4xi8>
}

// conv(x, w, dequantize(b)) with a constant int32 bias: the float bias b * bs, now
// CHECK-LABEL: func.func @conv_bias
// CHECK: %[[B:.*]] = graph.constant dense<[1.000000e+00, -1.500000e+00]> : tensor<2xf32>
// CHECK: graph.conv %xf, %w, %[[B]]
// CHECK-NOT: graph.dequantize_linear
func.func @conv_bias(%xf: tensor<1x2x3x3xf32>, %w: tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32> {
  %b = graph.constant dense<[4, -6]> : tensor<2xi32>
  %bs = graph.constant dense<2.500000e-01> : tensor<f32>
  %n = graph.none : none
  %bf = graph.dequantize_linear %b, %bs, %n : (tensor<2xi32>, tensor<f32>, none) -> tensor<2xf32>
  %y = graph.conv %xf, %w, %bf {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  func.return %y : tensor<1x2x3x3xf32>
}
