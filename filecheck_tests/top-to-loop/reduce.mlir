// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// A float reduction: a parallel loop over the kept dim, a sequential one over the reduced
// dim carrying the accumulator, whose combining op may reassociate (so LLVM can split the
// chain into vector lanes); the mean's division comes after.
// CHECK-LABEL: func.func @row_mean
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: %[[SUM:.*]] = loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK-NEXT: %[[V:.*]] = loop.load %{{.*}}[%[[I]], %[[J]]] : memref<4x80xf32>
// CHECK-NEXT: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[V]] fastmath<reassoc> : f32
// CHECK-NEXT: loop.yield %[[NEXT]] : f32
// CHECK: arith.divf %[[SUM]], %{{.*}} : f32
func.func @row_mean(%x: tensor<4x80xf32>) -> tensor<4x1xf32> {
  %0 = top.reduce mean %x axes [1] keepdims : tensor<4x80xf32> -> tensor<4x1xf32>
  func.return %0 : tensor<4x1xf32>
}

// -----

// The mean of short trailing rows (GlobalAveragePool on 13x13 planes; at most 4 vectors):
// per channel, one accumulator per piece of a row (8 + 4 + 1 lanes at 16), summed over
// the rows, then each piece's lanes summed into one scalar and divided by 169.
// CHECK-LABEL: func.func @plane_mean
// CHECK: loop.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK: %[[S8:.*]], %[[S4:.*]], %[[S1:.*]] = loop.for %[[H:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A8:.*]] = %{{.*}}, %[[A4:.*]] = %{{.*}}, %[[A1:.*]] = %{{.*}}) -> (vector<8xf32>, vector<4xf32>, f32) {
// CHECK-NEXT: %[[V8:.*]] = loop.vload %{{.*}}[%{{.*}}, %[[C]], %[[H]], %{{.*}}] : memref<1x6x13x13xf32>, vector<8xf32>
// CHECK-NEXT: arith.addf %[[A8]], %[[V8]] fastmath<reassoc> : vector<8xf32>
// CHECK-NEXT: %[[V4:.*]] = loop.vload %{{.*}}[%{{.*}}, %[[C]], %[[H]], %{{.*}}] : memref<1x6x13x13xf32>, vector<4xf32>
// CHECK-NEXT: arith.addf %[[A4]], %[[V4]] fastmath<reassoc> : vector<4xf32>
// CHECK-NEXT: %[[V1:.*]] = loop.load %{{.*}}[%{{.*}}, %[[C]], %[[H]], %{{.*}}] : memref<1x6x13x13xf32>
// CHECK-NEXT: arith.addf %[[A1]], %[[V1]] fastmath<reassoc> : f32
// CHECK: %[[T8:.*]] = vector.reduction <add>, %[[S8]], %{{.*}} : vector<8xf32> into f32
// CHECK-NEXT: %[[T4:.*]] = vector.reduction <add>, %[[S4]], %[[T8]] : vector<4xf32> into f32
// CHECK-NEXT: %[[T:.*]] = arith.addf %[[T4]], %[[S1]] : f32
// CHECK-NEXT: %[[MEAN:.*]] = arith.divf %[[T]], %{{.*}} : f32
// CHECK-NEXT: loop.store %[[MEAN]], %{{.*}}[%{{.*}}, %[[C]], %{{.*}}, %{{.*}}] : memref<1x6x1x1xf32>
func.func @plane_mean(%x: tensor<1x6x13x13xf32>) -> tensor<1x6x1x1xf32> {
  %0 = top.reduce mean %x axes [2, 3] keepdims : tensor<1x6x13x13xf32> -> tensor<1x6x1x1xf32>
  func.return %0 : tensor<1x6x1x1xf32>
}

// -----

// The max of a float row reassociates too; an integer sum has nothing to reassociate.
// CHECK-LABEL: func.func @row_max
// CHECK: arith.maximumf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
func.func @row_max(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %0 = top.reduce max %x axes [1] : tensor<4x8xf32> -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @int_sum
// CHECK: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK-NOT: fastmath
func.func @int_sum(%x: tensor<4x8xi32>) -> tensor<4xi32> {
  %0 = top.reduce sum %x axes [1] : tensor<4x8xi32> -> tensor<4xi32>
  func.return %0 : tensor<4xi32>
}
