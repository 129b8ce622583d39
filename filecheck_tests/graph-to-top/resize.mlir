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

// resize linear x2 on the last dim: each output reads at most two inputs, so one gather
// per tap (k0 = the left neighbour, k1 = the right one) and one weighted sum with the
// taps' weights along that dim (O(taps x out), not a dense O(out x in) contraction)
// CHECK-LABEL: func.func @resize_linear
// CHECK: %[[K0:.*]] = graph.constant dense<[0, 0, 0, 1]> : tensor<4xi64>
// CHECK: %[[T0:.*]] = top.gather %[[X:.*]][%[[K0]]] axis 3 : (tensor<1x1x3x2xf32>, tensor<4xi64>) -> tensor<1x1x3x4xf32>
// CHECK: %[[W0:.*]] = graph.constant dense<[1.000000e+00, 7.500000e-01, 2.500000e-01, 1.000000e+00]> : tensor<4xf32>
// CHECK: %[[K1:.*]] = graph.constant dense<[0, 1, 1, 0]> : tensor<4xi64>
// CHECK: %[[T1:.*]] = top.gather %[[X]][%[[K1]]] axis 3
// CHECK: %[[W1:.*]] = graph.constant dense<[0.000000e+00, 2.500000e-01, 7.500000e-01, 0.000000e+00]> : tensor<4xf32>
// CHECK: %[[R:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[T0]], %[[T1]], %[[W0]], %[[W1]] : tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: ^{{.*}}(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[WA:.*]]: f32, %[[WB:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[PA:.*]] = arith.mulf %[[A]], %[[WA]] : f32
// CHECK-NEXT: %[[PB:.*]] = arith.mulf %[[B]], %[[WB]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[PA]], %[[PB]] : f32
// CHECK-NEXT: top.yield %[[S]] : f32
// CHECK: func.return %[[R]] : tensor<1x1x3x4xf32>
func.func @resize_linear(%x: tensor<1x1x3x2xf32>) -> tensor<1x1x3x4xf32> {
  %n = graph.none : none
  %scales = graph.constant dense<[1.0, 1.0, 1.0, 2.0]> : tensor<4xf32>
  %y = graph.resize %x, %n, %scales, %n {mode = "linear"} : (tensor<1x1x3x2xf32>, none, tensor<4xf32>, none) -> tensor<1x1x3x4xf32>
  func.return %y : tensor<1x1x3x4xf32>
}
