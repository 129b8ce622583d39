// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// depth_to_space DCR, blocksize 2: channels split as (i, j, c), i and j moved next to h and w
// CHECK-LABEL: func.func @depth_to_space
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x2x3xf32>)
// CHECK: %[[V:.*]] = top.reshape %[[X]] : tensor<1x8x2x3xf32> -> tensor<1x2x2x2x2x3xf32>
// CHECK: %[[T:.*]] = top.transpose %[[V]] permutation [0, 3, 4, 1, 5, 2] : tensor<1x2x2x2x2x3xf32> -> tensor<1x2x2x2x3x2xf32>
// CHECK: %[[R:.*]] = top.reshape %[[T]] : tensor<1x2x2x2x3x2xf32> -> tensor<1x2x4x6xf32>
// CHECK: func.return %[[R]]
func.func @depth_to_space(%x: tensor<1x8x2x3xf32>) -> tensor<1x2x4x6xf32> {
  %r = graph.depth_to_space %x {blocksize = 2 : i64, mode = "DCR"} : (tensor<1x8x2x3xf32>) -> tensor<1x2x4x6xf32>
  func.return %r : tensor<1x2x4x6xf32>
}

// tile(x, [2, 3]): x viewed as 1x2x1x3, broadcast to 2x2x3x3, viewed as 4x9
// CHECK-LABEL: func.func @tile
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK: %[[V:.*]] = top.reshape %[[X]] : tensor<2x3xf32> -> tensor<1x2x1x3xf32>
// CHECK: %[[B:.*]] = top.broadcast %[[V]] : tensor<1x2x1x3xf32> -> tensor<2x2x3x3xf32>
// CHECK: %[[R:.*]] = top.reshape %[[B]] : tensor<2x2x3x3xf32> -> tensor<4x9xf32>
// CHECK: func.return %[[R]]
// CHECK-NOT: graph.tile
func.func @tile(%x: tensor<2x3xf32>) -> tensor<4x9xf32> {
  %repeats = graph.constant dense<[2, 3]> : tensor<2xi64>
  %r = graph.tile %x, %repeats : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<4x9xf32>
  func.return %r : tensor<4x9xf32>
}
