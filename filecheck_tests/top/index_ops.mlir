// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @topk
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>, %[[Y:.*]]: tensor<5xi32>)
// CHECK: %{{.*}}, %{{.*}} = top.topk %[[X]] axis 1 largest : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
// CHECK: %{{.*}}, %{{.*}} = top.topk %[[Y]] axis 0 : tensor<5xi32> -> tensor<5xi32>, tensor<5xi64>
func.func @topk(%x: tensor<3x4xf32>, %y: tensor<5xi32>) {
  %v, %i = top.topk %x axis 1 largest : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
  %w, %j = top.topk %y axis 0 : tensor<5xi32> -> tensor<5xi32>, tensor<5xi64>
  func.return
}

// CHECK-LABEL: func.func @gather_nd
// CHECK-SAME: (%[[D:.*]]: tensor<2x3x4xf32>, %[[I:.*]]: tensor<5x2xi64>, %[[J:.*]]: tensor<2x1x3xi32>)
// CHECK: top.gather_nd %[[D]][%[[I]]] : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
// CHECK: top.gather_nd %[[D]][%[[J]]] : (tensor<2x3x4xf32>, tensor<2x1x3xi32>) -> tensor<2x1xf32>
func.func @gather_nd(%d: tensor<2x3x4xf32>, %i: tensor<5x2xi64>, %j: tensor<2x1x3xi32>) {
  %g = top.gather_nd %d[%i] : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
  %h = top.gather_nd %d[%j] : (tensor<2x3x4xf32>, tensor<2x1x3xi32>) -> tensor<2x1xf32>
  func.return
}

// CHECK-LABEL: func.func @scatter_nd
// CHECK-SAME: (%[[D:.*]]: tensor<4x3xf32>, %[[I:.*]]: tensor<2x1xi64>, %[[U:.*]]: tensor<2x3xf32>, %[[E:.*]]: tensor<2x2xi64>, %[[V:.*]]: tensor<2xf32>)
// CHECK: top.scatter_nd add %[[D]][%[[I]]], %[[U]] : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK: top.scatter_nd assign %[[D]][%[[E]]], %[[V]] : (tensor<4x3xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x3xf32>
// CHECK: top.scatter_nd min %[[D]][%[[E]]], %[[V]] : (tensor<4x3xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x3xf32>
func.func @scatter_nd(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>, %e: tensor<2x2xi64>, %v: tensor<2xf32>) {
  %s = top.scatter_nd add %d[%i], %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %t = top.scatter_nd assign %d[%e], %v : (tensor<4x3xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x3xf32>
  %m = top.scatter_nd min %d[%e], %v : (tensor<4x3xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x3xf32>
  func.return
}
