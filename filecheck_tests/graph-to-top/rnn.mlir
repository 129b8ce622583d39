// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// lstm over 2 steps: one projection matmul X·Wᵀ for both steps (W regrouped by gate and
// transposed per gate), then per step a slice of the projection, Hₛ₋₁·Rᵀ and one fused
// gate generic (new h, new c)
// CHECK-LABEL: func.func @lstm
// CHECK-SAME: (%[[X:.*]]: tensor<2x1x3xf32>, %[[W:.*]]: tensor<1x8x3xf32>, %[[R:.*]]: tensor<1x8x2xf32>)
// CHECK: %[[WG:.*]] = top.reshape %[[W]] : tensor<1x8x3xf32> -> tensor<1x4x2x3xf32>
// CHECK: %[[WT:.*]] = top.transpose %[[WG]] permutation [0, 1, 3, 2] : tensor<1x4x2x3xf32> -> tensor<1x4x3x2xf32>
// CHECK: %[[XF:.*]] = top.reshape %[[X]] : tensor<2x1x3xf32> -> tensor<1x1x2x3xf32>
// CHECK: %[[P:.*]] = top.matmul %[[XF]], %[[WT]] : (tensor<1x1x2x3xf32>, tensor<1x4x3x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK: %[[RG:.*]] = top.reshape %[[R]] : tensor<1x8x2xf32> -> tensor<1x4x2x2xf32>
// CHECK: %[[RT:.*]] = top.transpose %[[RG]] permutation [0, 1, 3, 2]
// CHECK: %[[P0:.*]] = top.slice %[[P]] offsets [0, 0, 0, 0] strides [1, 1, 1, 1] : tensor<1x4x2x2xf32> -> tensor<1x4x1x2xf32>
// CHECK: %[[HR0:.*]] = top.matmul %{{.*}}, %[[RT]] : (tensor<1x1x1x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x1x2xf32>
// CHECK: %[[H1:.*]], %[[C1:.*]] = top.generic {{.*}} ins(%{{.*}}, %[[P0]], %[[P0]], %[[P0]], %[[P0]], %[[HR0]], %[[HR0]], %[[HR0]], %[[HR0]], %{{.*}} :
// CHECK: math.tanh
// CHECK: top.yield
// CHECK: %[[P1:.*]] = top.slice %[[P]] offsets [0, 0, 1, 0] strides [1, 1, 1, 1]
// CHECK: %[[HR1:.*]] = top.matmul %[[H1]], %[[RT]] :
// CHECK: %[[H2:.*]], %{{.*}} = top.generic {{.*}} ins(%[[H1]], %[[P1]], {{.*}}, %[[HR1]], {{.*}}, %[[C1]] :
// CHECK: %[[YH:.*]] = top.reshape %[[H2]] : tensor<1x1x1x2xf32> -> tensor<1x1x2xf32>
// CHECK: func.return %[[YH]] : tensor<1x1x2xf32>
func.func @lstm(%x: tensor<2x1x3xf32>, %w: tensor<1x8x3xf32>, %r: tensor<1x8x2xf32>) -> tensor<1x1x2xf32> {
  %n = graph.none : none
  %y, %yh, %yc = graph.lstm %x, %w, %r, %n, %n, %n, %n, %n {hidden_size = 2 : i64} : (tensor<2x1x3xf32>, tensor<1x8x3xf32>, tensor<1x8x2xf32>, none, none, none, none, none) -> (none, tensor<1x1x2xf32>, none)
  func.return %yh : tensor<1x1x2xf32>
}

// gru (linear_before_reset = 0), bidirectional over one step: the reverse direction's X is
// reversed in time (a stride -1 slice) and stacked under the forward one for the one
// projection; a step is H·R_zrᵀ, r ⊙ H, (r ⊙ H)·R_hᵀ and the update generic, both directions
// batched; Y is the steps concatenated, the reverse half reversed back, transposed to
// [T, D, B, H]
// CHECK-LABEL: func.func @gru
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x3xf32>, %[[W:.*]]: tensor<2x6x3xf32>, %[[R:.*]]: tensor<2x6x2xf32>)
// CHECK: %[[XR:.*]] = top.slice %[[X]] offsets [0, 0, 0] strides [-1, 1, 1] : tensor<1x1x3xf32> -> tensor<1x1x3xf32>
// CHECK: %[[XS:.*]] = top.concat %{{.*}}, %{{.*}} axis 0 : (tensor<1x1x1x3xf32>, tensor<1x1x1x3xf32>) -> tensor<2x1x1x3xf32>
// CHECK: %[[P:.*]] = top.matmul %[[XS]], %{{.*}} : (tensor<2x1x1x3xf32>, tensor<2x3x3x2xf32>) -> tensor<2x3x1x2xf32>
// CHECK: %[[RZR:.*]] = top.slice %{{.*}} offsets [0, 0, 0, 0] strides [1, 1, 1, 1] : tensor<2x3x2x2xf32> -> tensor<2x2x2x2xf32>
// CHECK: %[[RH:.*]] = top.slice %{{.*}} offsets [0, 2, 0, 0] strides [1, 1, 1, 1] : tensor<2x3x2x2xf32> -> tensor<2x1x2x2xf32>
// CHECK: %[[HZR:.*]] = top.matmul %{{.*}}, %[[RZR]] : (tensor<2x1x1x2xf32>, tensor<2x2x2x2xf32>) -> tensor<2x2x1x2xf32>
// CHECK: %[[RESET:.*]] = top.generic
// CHECK: %[[HH:.*]] = top.matmul %[[RESET]], %[[RH]] : (tensor<2x1x1x2xf32>, tensor<2x1x2x2xf32>) -> tensor<2x1x1x2xf32>
// CHECK: %[[H:.*]] = top.generic {{.*}} ins({{.*}}%[[HZR]]{{.*}}%[[HH]]
// CHECK: %[[BACK:.*]] = top.slice %[[H]] offsets [1, 0, 0, 0]
// CHECK: top.slice %[[BACK]] offsets [0, 0, 0, 0] strides [1, -1, 1, 1]
// CHECK: %[[Y:.*]] = top.transpose
// CHECK: func.return %[[Y]], %{{.*}} : tensor<1x2x1x2xf32>, tensor<2x1x2xf32>
func.func @gru(%x: tensor<1x1x3xf32>, %w: tensor<2x6x3xf32>, %r: tensor<2x6x2xf32>) -> (tensor<1x2x1x2xf32>, tensor<2x1x2xf32>) {
  %n = graph.none : none
  %y, %yh = graph.gru %x, %w, %r, %n, %n, %n {hidden_size = 2 : i64, direction = "bidirectional"} : (tensor<1x1x3xf32>, tensor<2x6x3xf32>, tensor<2x6x2xf32>, none, none, none) -> (tensor<1x2x1x2xf32>, tensor<2x1x2xf32>)
  func.return %y, %yh : tensor<1x2x1x2xf32>, tensor<2x1x2xf32>
}
