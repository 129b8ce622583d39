// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// A strided slice: y[i, j] = x[1 + i, 6 - 2 j]; the inner loop is not vectorized since its
// stride is not 1.
// CHECK-LABEL: func.func @slice_strided
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[X:.*]]: memref<3x7xf32>, %[[Y:.*]]: memref<2x4xf32>)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[M2:.*]] = arith.constant -2 : index
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6 : index
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: %[[R:.*]] = arith.addi %[[I]], %[[ONE]] : index
// CHECK-NEXT: %[[JS:.*]] = arith.muli %[[J]], %[[M2]] : index
// CHECK-NEXT: %[[C:.*]] = arith.addi %[[JS]], %[[SIX]] : index
// CHECK-NEXT: %[[V:.*]] = loop.load %[[X]][%[[R]], %[[C]]] : memref<3x7xf32>
// CHECK-NEXT: loop.store %[[V]], %[[Y]][%[[I]], %[[J]]] : memref<2x4xf32>
func.func @slice_strided(%x: tensor<3x7xf32>) -> tensor<2x4xf32> {
  %s = top.slice %x offsets [1, 6] strides [1, -2] : tensor<3x7xf32> -> tensor<2x4xf32>
  func.return %s : tensor<2x4xf32>
}

// -----

// Unit strides along the last dim: the inner loop is a vector loop.
// CHECK-LABEL: func.func @slice_rows
// CHECK: loop.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 4 {
func.func @slice_rows(%x: tensor<6x4xf32>) -> tensor<2x4xf32> {
  %s = top.slice %x offsets [2, 0] strides [2, 1] : tensor<6x4xf32> -> tensor<2x4xf32>
  func.return %s : tensor<2x4xf32>
}
