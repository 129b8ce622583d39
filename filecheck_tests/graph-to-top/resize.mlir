// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// resize nearest x2 on the last dim: every row of the interpolation matrix is one-hot, so
// a gather of the rows it picks (k = o / 2); the batch and channel dims (scale 1) are left
// alone
// CHECK-LABEL: func.func @resize_nearest
// CHECK: %[[K:.*]] = graph.constant dense<[0, 0, 1, 1]> : tensor<4xi64>
// CHECK: %[[R:.*]] = top.gather %{{.*}}[%[[K]]] axis 3 : (tensor<1x1x3x2xf32>, tensor<4xi64>) -> tensor<1x1x3x4xf32>
// CHECK: func.return %[[R]] : tensor<1x1x3x4xf32>
func.func @resize_nearest(%x: tensor<1x1x3x2xf32>) -> tensor<1x1x3x4xf32> {
  %n = graph.none : none
  %scales = graph.constant dense<[1.0, 1.0, 1.0, 2.0]> : tensor<4xf32>
  %y = graph.resize %x, %n, %scales, %n {mode = "nearest"} : (tensor<1x1x3x2xf32>, none, tensor<4xf32>, none) -> tensor<1x1x3x4xf32>
  func.return %y : tensor<1x1x3x4xf32>
}

// resize linear x2 on the last dim: one contraction with the constant interpolation
// matrix W[o, k]
// CHECK-LABEL: func.func @resize_linear
// CHECK: %[[W:.*]] = graph.constant dense<{{.*}}> : tensor<4x2xf32>
// CHECK: %[[R:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[W]] : tensor<1x1x3x2xf32>, tensor<4x2xf32>)
// CHECK: ^{{.*}}(%[[X:.*]]: f32, %[[WV:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[X]], %[[WV]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK-NEXT: top.yield %[[S]] : f32
// CHECK: func.return %[[R]] : tensor<1x1x3x4xf32>
func.func @resize_linear(%x: tensor<1x1x3x2xf32>) -> tensor<1x1x3x4xf32> {
  %n = graph.none : none
  %scales = graph.constant dense<[1.0, 1.0, 1.0, 2.0]> : tensor<4xf32>
  %y = graph.resize %x, %n, %scales, %n {mode = "linear"} : (tensor<1x1x3x2xf32>, none, tensor<4xf32>, none) -> tensor<1x1x3x4xf32>
  func.return %y : tensor<1x1x3x4xf32>
}
