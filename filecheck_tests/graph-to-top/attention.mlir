// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// attention(q, k, v) without a mask: q and k scaled by sqrt(scale) = 0.5, qk = q k^T, a
// guarded softmax along the keys (max, exp, sum, divide), then p v
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x3x4xf32>, %[[K:.*]]: tensor<1x2x5x4xf32>, %[[V:.*]]: tensor<1x2x5x4xf32>)
// CHECK: %[[QS:.*]] = top.generic {{.*}} ins(%[[Q]] : tensor<1x2x3x4xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: %[[KS:.*]] = top.generic {{.*}} ins(%[[K]] : tensor<1x2x5x4xf32>)
// CHECK: %[[QK:.*]] = top.matmul %[[QS]], %[[KS]] transpose_rhs : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x5xf32>
// CHECK: %[[MAX:.*]] = top.reduce max %[[QK]] axes [3] keepdims : tensor<1x2x3x5xf32> -> tensor<1x2x3x1xf32>
// CHECK: %[[EX:.*]] = top.generic {{.*}} ins(%[[QK]], %[[MAX]] : tensor<1x2x3x5xf32>, tensor<1x2x3x1xf32>)
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = top.reduce sum %[[EX]] axes [3] keepdims : tensor<1x2x3x5xf32> -> tensor<1x2x3x1xf32>
// CHECK: %[[P:.*]] = top.generic {{.*}} ins(%[[EX]], %[[SUM]] : tensor<1x2x3x5xf32>, tensor<1x2x3x1xf32>)
// CHECK: arith.divf
// CHECK: %[[Y:.*]] = top.matmul %[[P]], %[[V]] : (tensor<1x2x3x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32>
// CHECK: func.return %[[Y]] : tensor<1x2x3x4xf32>
func.func @attention(%q: tensor<1x2x3x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x3x4xf32> {
  %n = graph.none : none
  %y, %pk, %pv, %qk = graph.attention %q, %k, %v, %n, %n, %n, %n {scale = 0.25 : f32} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>, none, none, none, none) -> (tensor<1x2x3x4xf32>, none, none, none)
  func.return %y : tensor<1x2x3x4xf32>
}
