// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// Elementwise with a broadcast bias: one parallel loop per iterator, loads through the
// maps, the body cloned, the store into the output; the init (ignored by the body) is
// never read, so the fill that made it is dropped.
// CHECK-LABEL: func.func @bias_relu
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[X:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<8xf32>, %[[OUT:.*]]: memref<4x8xf32>)
// CHECK-NOT: top.fill
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 8 {
// CHECK-NEXT: %[[XV:.*]] = loop.load %[[X]][%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NEXT: %[[BV:.*]] = loop.load %[[B]][%[[J]]] : memref<8xf32>
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[XV]], %[[BV]] : f32
// CHECK-NEXT: %[[R:.*]] = arith.maximumf %[[S]], %{{.*}} : f32
// CHECK-NEXT: loop.store %[[R]], %[[OUT]][%[[I]], %[[J]]] : memref<4x8xf32>
func.func @bias_relu(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %init = top.fill %zero : f32 -> tensor<4x8xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x, %b : tensor<4x8xf32>, tensor<8xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %p, %q : f32
    %m = arith.maximumf %s, %zero : f32
    top.yield %m : f32
  } -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// A row sum: the fill writes the output buffer (its only reader is the generic), then
// the reduction accumulates into it; the reduction loop is not parallel.
// CHECK-LABEL: func.func @row_sum
// CHECK-SAME: %[[X:[^:]*]]: memref<4x8xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK: loop.for %[[F:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 4 {
// CHECK-NEXT: loop.store %{{.*}}, %[[OUT]][%[[F]]] : memref<4xf32>
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: %[[XV:.*]] = loop.load %[[X]][%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NEXT: %[[ACC:.*]] = loop.load %[[OUT]][%[[I]]] : memref<4xf32>
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[XV]] : f32
// CHECK-NEXT: loop.store %[[S]], %[[OUT]][%[[I]]] : memref<4xf32>
func.func @row_sum(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %init = top.fill %zero : f32 -> tensor<4xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%p: f32, %o: f32):
    %s = arith.addf %o, %p : f32
    top.yield %s : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// An intermediate gets a loop.alloc before its producer and a loop.dealloc after its last
// reader; an elementwise op whose input dies there writes in place into that input's buffer.
// CHECK-LABEL: func.func @intermediate
// CHECK: %[[T:.*]] = loop.alloc() : memref<8x4xf32>
// CHECK: loop.store %{{.*}}, %[[T]][%{{.*}}, %{{.*}}] : memref<8x4xf32>
// CHECK: %[[V:.*]] = loop.load %[[T]][%{{.*}}, %{{.*}}] : memref<8x4xf32>
// CHECK-NEXT: %[[E:.*]] = math.exp %[[V]] : f32
// CHECK-NEXT: loop.store %[[E]], %[[T]][%{{.*}}, %{{.*}}] : memref<8x4xf32>
// CHECK: loop.load %[[T]]
// CHECK: loop.dealloc %[[T]] : memref<8x4xf32>
// CHECK-NEXT: func.return
func.func @intermediate(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %t = top.transpose %x permutation [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  %e = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%t : tensor<8x4xf32>) outs(%t : tensor<8x4xf32>) {
  ^bb0(%p: f32, %o: f32):
    %s = math.exp %p : f32
    top.yield %s : f32
  } -> tensor<8x4xf32>
  %u = top.transpose %e permutation [1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
  func.return %u : tensor<4x8xf32>
}
