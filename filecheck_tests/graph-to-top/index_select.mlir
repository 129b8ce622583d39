// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// top_k(x, k = [2], axis = -1) -> top.topk along the normalized axis
// CHECK-LABEL: func.func @top_k
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK: %[[V:.*]], %[[I:.*]] = top.topk %[[X]] axis 1 largest : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
// CHECK: func.return %[[V]], %[[I]]
func.func @top_k(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  %k = graph.constant dense<2> : tensor<1xi64>
  %v, %i = graph.top_k %x, %k {axis = -1 : i64, largest = 1 : i64, sorted = 1 : i64} : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  func.return %v, %i : tensor<3x2xf32>, tensor<3x2xi64>
}

// scatter_elements(axis 1): each update's tuple is (its row, idx) -> top.scatter_nd
// CHECK-LABEL: func.func @scatter_elements
// CHECK-SAME: (%[[D:.*]]: tensor<3x4xf32>, %[[I:.*]]: tensor<2x2xi64>, %[[U:.*]]: tensor<2x2xf32>)
// CHECK: %[[ALONG:.*]] = top.reshape %[[I]] : tensor<2x2xi64> -> tensor<2x2x1xi64>
// CHECK: %[[IOTA:.*]] = graph.constant dense<[0, 1]> : tensor<2xi64>
// CHECK: %[[ROW:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[IOTA]] : tensor<2xi64>)
// CHECK: %[[TUPLES:.*]] = top.concat %[[ROW]], %[[ALONG]] axis 2 : (tensor<2x2x1xi64>, tensor<2x2x1xi64>) -> tensor<2x2x2xi64>
// CHECK: %[[Y:.*]] = top.scatter_nd add %[[D]][%[[TUPLES]]], %[[U]] : (tensor<3x4xf32>, tensor<2x2x2xi64>, tensor<2x2xf32>) -> tensor<3x4xf32>
// CHECK: func.return %[[Y]]
func.func @scatter_elements(%d: tensor<3x4xf32>, %i: tensor<2x2xi64>, %u: tensor<2x2xf32>) -> tensor<3x4xf32> {
  %y = graph.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = "add"} : (tensor<3x4xf32>, tensor<2x2xi64>, tensor<2x2xf32>) -> tensor<3x4xf32>
  func.return %y : tensor<3x4xf32>
}

// gather_nd(batch_dims 1): the batch position is prepended to each tuple
// CHECK-LABEL: func.func @gather_nd
// CHECK: %[[B:.*]] = top.generic
// CHECK: %[[TUPLES:.*]] = top.concat %[[B]], %{{.*}} axis 1 : (tensor<2x1xi64>, tensor<2x1xi64>) -> tensor<2x2xi64>
// CHECK: top.gather_nd %{{.*}}[%[[TUPLES]]] : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2xf32>
func.func @gather_nd(%d: tensor<2x3xf32>, %i: tensor<2x1xi64>) -> tensor<2xf32> {
  %y = graph.gather_nd %d, %i {batch_dims = 1 : i64} : (tensor<2x3xf32>, tensor<2x1xi64>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}

// einsum("bji,bjk->kbi"): a batched matmul; the transposes bring each input to
// [batch, rows / columns, contracted] and the product to the output's order
// CHECK-LABEL: func.func @einsum_matmul
// CHECK-SAME: (%[[A:.*]]: tensor<2x4x3xf32>, %[[B:.*]]: tensor<2x4x5xf32>)
// CHECK: %[[AT:.*]] = top.transpose %[[A]] permutation [0, 2, 1] : tensor<2x4x3xf32> -> tensor<2x3x4xf32>
// CHECK: %[[P:.*]] = top.matmul %[[AT]], %[[B]] : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
// CHECK: %[[Y:.*]] = top.transpose %[[P]] permutation [2, 0, 1] : tensor<2x3x5xf32> -> tensor<5x2x3xf32>
// CHECK: func.return %[[Y]]
func.func @einsum_matmul(%a: tensor<2x4x3xf32>, %b: tensor<2x4x5xf32>) -> tensor<5x2x3xf32> {
  %y = graph.einsum %a, %b {equation = "bji,bjk->kbi"} : (tensor<2x4x3xf32>, tensor<2x4x5xf32>) -> tensor<5x2x3xf32>
  func.return %y : tensor<5x2x3xf32>
}

// einsum("bii,bi->b"): a diagonal, so one generic: a loop per letter, the output's first,
// i reduced, the repeated letter read twice by one loop
// CHECK-LABEL: func.func @einsum_diagonal
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
// CHECK: %[[P:.*]] = arith.mulf
// CHECK: arith.addf %{{.*}}, %[[P]] : f32
func.func @einsum_diagonal(%a: tensor<2x3x3xf32>, %b: tensor<2x3xf32>) -> tensor<2xf32> {
  %y = graph.einsum %a, %b {equation = "bii,bi->b"} : (tensor<2x3x3xf32>, tensor<2x3xf32>) -> tensor<2xf32>
  func.return %y : tensor<2xf32>
}
