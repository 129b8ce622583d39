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

// pad(x, pads, v) with a computed v: zero pads, then a select on a constant mask of the
// positions that came from x; v is read at its only element
// CHECK-LABEL: func.func @pad_computed_value
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[V:.*]]: tensor<1xf32>)
// CHECK: %[[P:.*]] = top.pad constant %[[X]] low [1, 0] high [0, 2] : (tensor<2x3xf32>) -> tensor<3x5xf32>
// CHECK: %[[M:.*]] = graph.constant dense<{{.*}}> : tensor<3x5xi1>
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[P]], %[[M]], %[[V]] : tensor<3x5xf32>, tensor<3x5xi1>, tensor<1xf32>)
// CHECK: ^{{.*}}(%[[A:.*]]: f32, %[[IN:.*]]: i1, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK: arith.select %[[IN]], %[[A]], %[[B]] : f32
func.func @pad_computed_value(%x: tensor<2x3xf32>, %v: tensor<1xf32>) -> tensor<3x5xf32> {
  %pads = graph.constant dense<[1, 0, 0, 2]> : tensor<4xi64>
  %n = graph.none : none
  %r = graph.pad %x, %pads, %v, %n {mode = "constant"} : (tensor<2x3xf32>, tensor<4xi64>, tensor<1xf32>, none) -> tensor<3x5xf32>
  func.return %r : tensor<3x5xf32>
}
