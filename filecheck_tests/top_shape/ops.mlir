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
