// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// A float reduction: a parallel loop over the kept dim, a sequential one over the reduced
// dim carrying the accumulator, whose combining op may reassociate (so LLVM can split the
// chain into vector lanes); the mean's division comes after.
// CHECK-LABEL: func.func @row_mean
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: %[[SUM:.*]] = loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK-NEXT: %[[V:.*]] = loop.load %{{.*}}[%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NEXT: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[V]] fastmath<reassoc> : f32
// CHECK-NEXT: loop.yield %[[NEXT]] : f32
// CHECK: arith.divf %[[SUM]], %{{.*}} : f32
func.func @row_mean(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = top.reduce mean %x axes [1] keepdims : tensor<4x8xf32> -> tensor<4x1xf32>
  func.return %0 : tensor<4x1xf32>
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
