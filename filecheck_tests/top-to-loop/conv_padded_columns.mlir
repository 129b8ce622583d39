// RUN: lamina-opt %s -p convert-top-to-loop | filecheck %s
// RUN: lamina-opt %s -p 'convert-top-to-loop{threads=2}' | filecheck %s --check-prefix=TASKS

// The im2col block of a 12x12 output covers 144 pixels, padded to 160 columns (whole
// micro-tiles of 32): every K row of Bp gets zeros past its 144 pixels, so the
// micro-kernel never multiplies what the arena held there (a denormal costs a
// microcode assist per FMA).
// CHECK-LABEL: func.func @padded_columns
// CHECK-DAG: %[[C160:[0-9]+]] = arith.constant 160 : index
// CHECK-DAG: %[[C12:[0-9]+]] = arith.constant 12 : index
// CHECK-DAG: %[[ZERO:[0-9]+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[BP:[0-9]+]] = loop.alloc() : memref<72x160xf32>
// CHECK: %[[ROWS:[0-9]+]] = arith.minsi %[[C12]], %{{.*}} : index
// CHECK: loop.for %[[KK:[0-9]+]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK: loop.load %{{.*}} : memref<1x8x12x12xf32>
// CHECK: %[[END:[0-9]+]] = arith.muli %[[ROWS]], %[[C12]] : index
// CHECK-NEXT: loop.for %[[J:[0-9]+]] = %[[END]] to %[[C160]] step %{{.*}} parallel vector 1 {
// CHECK-NEXT: loop.store %[[ZERO]], %[[BP]][%[[KK]], %[[J]]] : memref<72x160xf32>

// On two threads the block's 5 micro-panels are split into two pixel tasks (columns
// [0, 64) and [64, 160)), each zeroing the padding in its own columns.
// TASKS-LABEL: func.func @padded_columns
// TASKS-DAG: %[[C12:[0-9]+]] = arith.constant 12 : index
// TASKS-DAG: %[[C32:[0-9]+]] = arith.constant 32 : index
// TASKS-DAG: %[[ZERO:[0-9]+]] = arith.constant 0.000000e+00 : f32
// TASKS: %[[BP:[0-9]+]] = loop.alloc() : memref<72x160xf32>
// TASKS: loop.for %[[TASK:[0-9]+]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// TASKS: %[[FIRST:[0-9]+]] = arith.muli %{{.*}}, %[[C32]] : index
// TASKS-NEXT: %[[END:[0-9]+]] = arith.muli %{{.*}}, %[[C32]] : index
// TASKS: %[[ROWS:[0-9]+]] = arith.minsi %[[C12]], %{{.*}} : index
// TASKS-NEXT: %[[PIXELS:[0-9]+]] = arith.muli %[[ROWS]], %[[C12]] : index
// TASKS: loop.for %[[KK:[0-9]+]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// TASKS: loop.load %{{.*}} : memref<1x8x12x12xf32>
// TASKS: %[[TAIL:[0-9]+]] = arith.maxsi %[[PIXELS]], %[[FIRST]] : index
// TASKS-NEXT: loop.for %[[J:[0-9]+]] = %[[TAIL]] to %[[END]] step %{{.*}} parallel vector 1 {
// TASKS-NEXT: loop.store %[[ZERO]], %[[BP]][%[[KK]], %[[J]]] : memref<72x160xf32>
func.func @padded_columns(%x: tensor<1x8x12x12xf32>) -> tensor<1x16x12x12xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<16x8x3x3xf32>
  %y = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x8x12x12xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x12x12xf32>
  func.return %y : tensor<1x16x12x12xf32>
}
