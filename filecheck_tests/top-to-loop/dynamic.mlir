// RUN: lamina-opt %s -p convert-top-to-loop | filecheck %s
// RUN: lamina-opt %s -p convert-top-to-loop,plan-memory | lamina-opt | filecheck %s --check-prefix=PLAN

// Dynamic dims: buffers keep their `?` (the kernel ABI passes the extents of dynamic
// arguments); top.dim becomes loop.dim of the buffer; the intermediate is allocated with
// its run-time size (the fill's size operand) and stays a loop.alloc after planning (the
// heap); loop bounds of a dynamic dim are loop.dims; the matmul takes the plain nest.
// CHECK-LABEL: func.func @rows
// CHECK-SAME:    %[[X:[a-z0-9]+]]: memref<?x8xf32>, %[[W:[a-z0-9]+]]: memref<8x4xf32>, %[[OUT:[a-z0-9]+]]: memref<?x4xf32>
// CHECK:         %[[N:.*]] = loop.dim %[[X]], 0 : memref<?x8xf32>
// CHECK-NEXT:    %[[RELU:.*]] = loop.alloc(%[[N]]) : memref<?x8xf32>
// CHECK:         %[[ROWS:.*]] = loop.dim %[[RELU]], 0 : memref<?x8xf32>
// CHECK:         loop.for %[[I:.*]] = %{{.*}} to %[[ROWS]] step %{{.*}} parallel {
// CHECK-NEXT:      loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 8 {
// CHECK-NEXT:        loop.load %[[X]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK:             loop.store %{{.*}}, %[[RELU]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK:         %[[M:.*]] = loop.dim %[[OUT]], 0 : memref<?x4xf32>
// CHECK:         loop.for %{{.*}} = %{{.*}} to %[[M]] step
// CHECK:         loop.dealloc %[[RELU]] : memref<?x8xf32>
// PLAN-LABEL: func.func @rows
// PLAN:         %[[N:.*]] = loop.dim %{{.*}}, 0 : memref<?x8xf32>
// PLAN-NEXT:    %[[RELU:.*]] = loop.alloc(%[[N]]) : memref<?x8xf32>
// PLAN:         loop.dealloc %[[RELU]] : memref<?x8xf32>
func.func @rows(%x: tensor<?x8xf32>, %w: tensor<8x4xf32>) -> tensor<?x4xf32> {
  %c = arith.constant 0.0 : f32
  %n = top.dim %x, 0 : tensor<?x8xf32>
  %init = top.fill %c(%n) : f32 -> tensor<?x8xf32>
  %relu = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x8xf32>) outs(%init : tensor<?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %c : f32
    top.yield %r : f32
  } -> tensor<?x8xf32>
  %y = top.matmul %relu, %w : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
  func.return %y : tensor<?x4xf32>
}
