// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// dft(x) along axis 1: the transform matrix M[k, c_out, n, c_in] is a constant, stored
// as M^T [n * c_in, k * c_out]; the samples become rows of n * c_in values and one matmul
// transforms them all
// CHECK-LABEL: func.func @dft
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x1xf32>)
// CHECK: %[[M:.*]] = graph.constant dense_resource<{{.*}}> : tensor<4x8xf32>
// CHECK: %[[ROWS:.*]] = top.reshape %[[X]] : tensor<1x4x1xf32> -> tensor<1x4xf32>
// CHECK: %[[P:.*]] = top.matmul %[[ROWS]], %[[M]] : (tensor<1x4xf32>, tensor<4x8xf32>) -> tensor<1x8xf32>
// CHECK: %[[Y:.*]] = top.reshape %[[P]] : tensor<1x8xf32> -> tensor<1x4x2xf32>
// CHECK: func.return %[[Y]]
func.func @dft(%x: tensor<1x4x1xf32>) -> tensor<1x4x2xf32> {
  %n = graph.none : none
  %axis = graph.constant dense<1> : tensor<i64>
  %y = graph.dft %x, %n, %axis {inverse = 0 : i64, onesided = 0 : i64} : (tensor<1x4x1xf32>, none, tensor<i64>) -> tensor<1x4x2xf32>
  func.return %y : tensor<1x4x2xf32>
}

// grid_sample nearest: per spatial dim a coordinate (y reads grid[..., 1], rounded half to
// even), an index and a weight (0 outside: zeros padding); X goes channels-last so one
// gather_nd of the tuple (n, y, x) fetches every channel; the weighted sum goes back to NCHW
// CHECK-LABEL: func.func @grid_sample
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x3x4xf32>, %[[G:.*]]: tensor<1x5x6x2xf32>)
// CHECK: %[[UY:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2, 1)>, {{.*}}} ins(%[[G]] : tensor<1x5x6x2xf32>)
// CHECK: math.roundeven
// CHECK: %[[IY:.*]] = top.generic {{.*}} ins(%[[UY]] : tensor<1x5x6xf32>) outs(%{{.*}} : tensor<1x5x6x1xi64>)
// CHECK: %[[WY:.*]] = top.generic {{.*}} ins(%[[UY]] : tensor<1x5x6xf32>) outs(%{{.*}} : tensor<1x5x6xf32>)
// CHECK: %[[UX:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2, 0)>, {{.*}}} ins(%[[G]] : tensor<1x5x6x2xf32>)
// CHECK: %[[IX:.*]] = top.generic {{.*}} ins(%[[UX]] : tensor<1x5x6xf32>) outs(%{{.*}} : tensor<1x5x6x1xi64>)
// CHECK: %[[XT:.*]] = top.transpose %[[X]] permutation [0, 2, 3, 1] : tensor<1x2x3x4xf32> -> tensor<1x3x4x2xf32>
// CHECK: %[[T:.*]] = top.concat %{{.*}}, %[[IY]], %[[IX]] axis 3 : (tensor<1x5x6x1xi64>, tensor<1x5x6x1xi64>, tensor<1x5x6x1xi64>) -> tensor<1x5x6x3xi64>
// CHECK: %[[TAP:.*]] = top.gather_nd %[[XT]][%[[T]]] : (tensor<1x3x4x2xf32>, tensor<1x5x6x3xi64>) -> tensor<1x5x6x2xf32>
// CHECK: %[[S:.*]] = top.generic {{.*}} ins(%[[TAP]], %{{.*}} : tensor<1x5x6x2xf32>, tensor<1x5x6xf32>)
// CHECK: %[[Y:.*]] = top.transpose %[[S]] permutation [0, 3, 1, 2] : tensor<1x5x6x2xf32> -> tensor<1x2x5x6xf32>
// CHECK: func.return %[[Y]]
func.func @grid_sample(%x: tensor<1x2x3x4xf32>, %g: tensor<1x5x6x2xf32>) -> tensor<1x2x5x6xf32> {
  %y = graph.grid_sample %x, %g {align_corners = 0 : i64, mode = "nearest", padding_mode = "zeros"} : (tensor<1x2x3x4xf32>, tensor<1x5x6x2xf32>) -> tensor<1x2x5x6xf32>
  func.return %y : tensor<1x2x5x6xf32>
}
