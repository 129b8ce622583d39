// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @dynamic_rows
// CHECK:         %[[N:.*]] = top.dim %{{.*}}, 0 : tensor<?x8xf32>
// CHECK-NEXT:    %{{.*}} = top.fill %{{.*}}(%[[N]]) : f32 -> tensor<?x8xf32>
// CHECK-NEXT:    %{{.*}} = top.reshape %{{.*}}(%[[N]]) : tensor<?x8xf32> -> tensor<?x2x4xf32>
// CHECK-NEXT:    %{{.*}} = top.fill %{{.*}} : f32 -> tensor<2xf32>
func.func @dynamic_rows(%x: tensor<?x8xf32>, %c: f32) -> tensor<?x2x4xf32> {
  %n = top.dim %x, 0 : tensor<?x8xf32>
  %z = top.fill %c (%n) : f32 -> tensor<?x8xf32>
  %r = top.reshape %z (%n) : tensor<?x8xf32> -> tensor<?x2x4xf32>
  %s = top.fill %c : f32 -> tensor<2xf32>
  func.return %r : tensor<?x2x4xf32>
}

// CHECK-LABEL: func.func @positions
// CHECK:         ^{{.*}}(%{{.*}}: i64):
// CHECK-NEXT:      %[[I:.*]] = top.index 0 : index
// CHECK-NEXT:      %[[V:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK-NEXT:      top.yield %[[V]] : i64
func.func @positions(%n: index) -> tensor<?xi64> {
  %zero = arith.constant 0 : i64
  %init = top.fill %zero(%n) : i64 -> tensor<?xi64>
  %iota = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%init : tensor<?xi64>) {
  ^bb0(%out: i64):
    %i = top.index 0 : index
    %v = arith.index_cast %i : index to i64
    top.yield %v : i64
  } -> tensor<?xi64>
  func.return %iota : tensor<?xi64>
}
