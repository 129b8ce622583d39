// RUN: lamina-opt %s -p 'convert-top-to-loop{threads=2}' | filecheck %s

// A 56x56 output of 16 filters over K = 72 makes two B blocks of 28 rows (1568 columns,
// 49 micro-panels of 32). On two threads the pixel-task loop wraps the block loop: each
// task packs, multiplies and copies out its own columns of both blocks, one parallel loop
// (one handoff to the pool) per conv, not one per block.
// CHECK-LABEL: func.func @two_blocks
// CHECK-DAG: %[[C2:[0-9]+]] = arith.constant 2 : index
// CHECK: %[[BP:[0-9]+]] = loop.alloc() : memref<72x1568xf32>
// CHECK: loop.for %[[TASK:[0-9]+]] = %{{.*}} to %[[C2]] step %{{.*}} parallel {
// CHECK-NOT: parallel
// CHECK: loop.for %[[JB:[0-9]+]] = %{{.*}} to %[[C2]] step %{{.*}} {
func.func @two_blocks(%x: tensor<1x8x56x56xf32>) -> tensor<1x16x56x56xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<16x8x3x3xf32>
  %y = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x8x56x56xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x56x56xf32>
  func.return %y : tensor<1x16x56x56xf32>
}
