// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// topk: per row, k sequential picks, each a scan of the row that keeps the best element
// ranked after the previous pick (a worse value, or the same value further on)
// CHECK-LABEL: func.func @topk
// CHECK-SAME: %[[X:[^:]*]]: memref<3x4xf32>, %[[V:[^:]*]]: memref<3x2xf32>, %[[I:[^:]*]]: memref<3x2xi64>)
// CHECK: loop.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK: %{{.*}}, %{{.*}} = loop.for %[[J:.*]] = {{.*}} iter_args(%[[PV:.*]] = %{{.*}}, %[[PI:.*]] = %{{.*}}) -> (f32, index) {
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = loop.for %[[N:.*]] = {{.*}} iter_args({{.*}}) -> (f32, index, i1) {
// CHECK: %[[E:.*]] = loop.load %[[X]][%[[ROW]], %[[N]]] : memref<3x4xf32>
// CHECK: arith.cmpf ogt, %[[PV]], %[[E]] : f32
// CHECK: arith.cmpi sgt, %[[N]], %[[PI]] : index
// CHECK: loop.yield
// CHECK: loop.store %{{.*}}, %[[V]][%[[ROW]], %[[J]]] : memref<3x2xf32>
// CHECK: loop.store %{{.*}}, %[[I]][%[[ROW]], %[[J]]] : memref<3x2xi64>
func.func @topk(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  %v, %i = top.topk %x axis 1 largest : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
  func.return %v, %i : tensor<3x2xf32>, tensor<3x2xi64>
}

// -----

// scatter_nd add: copy data, then one sequential nest over the updates combining in order;
// the index is wrapped (negative + 4) and clamped into [0, 3]
// CHECK-LABEL: func.func @scatter_nd
// CHECK-SAME: %[[D:[^:]*]]: memref<4x3xf32>, %[[IDX:[^:]*]]: memref<2x1xi64>, %[[U:[^:]*]]: memref<2x3xf32>, %[[Y:[^:]*]]: memref<4x3xf32>)
// CHECK: loop.store %{{.*}}, %[[Y]]
// CHECK: loop.for %[[P:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: loop.for %[[Q:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: %[[RAW:.*]] = loop.load %[[IDX]][%[[P]], %{{.*}}] : memref<2x1xi64>
// CHECK: %[[ROW:.*]] = arith.minsi
// CHECK-NEXT: %[[UPD:.*]] = loop.load %[[U]][%[[P]], %[[Q]]] : memref<2x3xf32>
// CHECK-NEXT: %[[OLD:.*]] = loop.load %[[Y]][%[[ROW]], %[[Q]]] : memref<4x3xf32>
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[OLD]], %[[UPD]] : f32
// CHECK-NEXT: loop.store %[[NEW]], %[[Y]][%[[ROW]], %[[Q]]] : memref<4x3xf32>
func.func @scatter_nd(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %s = top.scatter_nd add %d[%i], %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return %s : tensor<4x3xf32>
}

// -----

// gather_nd: y[p, j] = data[idx[p, 0], idx[p, 1], j]
// CHECK-LABEL: func.func @gather_nd
// CHECK-SAME: %[[D:[^:]*]]: memref<2x3x4xf32>, %[[IDX:[^:]*]]: memref<5x2xi64>, %[[Y:[^:]*]]: memref<5x4xf32>)
// CHECK: loop.for %[[P:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK: %[[A:.*]] = arith.minsi
// CHECK: %[[B:.*]] = arith.minsi
// CHECK-NEXT: %[[E:.*]] = loop.load %[[D]][%[[A]], %[[B]], %[[J]]] : memref<2x3x4xf32>
// CHECK-NEXT: loop.store %[[E]], %[[Y]][%[[P]], %[[J]]] : memref<5x4xf32>
func.func @gather_nd(%d: tensor<2x3x4xf32>, %i: tensor<5x2xi64>) -> tensor<5x4xf32> {
  %g = top.gather_nd %d[%i] : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
  func.return %g : tensor<5x4xf32>
}
