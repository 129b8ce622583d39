// RUN: lamina-opt %s -p convert-top-to-loop | filecheck %s

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
func.func @padded_columns(%x: tensor<1x8x12x12xf32>) -> tensor<1x16x12x12xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<16x8x3x3xf32>
  %y = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x8x12x12xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x12x12xf32>
  func.return %y : tensor<1x16x12x12xf32>
}
