// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s
// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop,plan-memory | lamina-opt | filecheck %s --check-prefix=PLAN

// top.if -> loop.if on the loaded condition: the then branch computes straight into the
// output buffer, the else branch copies the value it yields there
// CHECK-LABEL: func.func @choose
// CHECK-SAME:    %[[C:[a-z0-9]+]]: memref<i1>, %[[X:[a-z0-9]+]]: memref<4xf32>, %[[OUT:[a-z0-9]+]]: memref<4xf32>
// CHECK:         %[[CV:.*]] = loop.load %[[C]][] : memref<i1>
// CHECK-NEXT:    loop.if %[[CV]] {
// CHECK:           loop.for
// CHECK:             arith.maximumf
// CHECK-NEXT:        loop.store %{{.*}}, %[[OUT]][%{{.*}}] : memref<4xf32>
// CHECK:           loop.end
// CHECK-NEXT:    } else {
// CHECK-NEXT:      loop.for
// CHECK-NEXT:        %[[V:.*]] = loop.load %[[X]][%{{.*}}] : memref<4xf32>
// CHECK-NEXT:        loop.store %[[V]], %[[OUT]][%{{.*}}] : memref<4xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      loop.end
// CHECK-NEXT:    }
// PLAN-LABEL: func.func @choose
// PLAN-NOT:    loop.alloc
func.func @choose(%c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %y = top.if %c : tensor<i1> -> (tensor<4xf32>) {
    %z = arith.constant 0.0 : f32
    %init = top.fill %z : f32 -> tensor<4xf32>
    %t = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%init : tensor<4xf32>) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.maximumf %a, %z : f32
      top.yield %r : f32
    } -> tensor<4xf32>
    top.region_yield %t : tensor<4xf32>
  } else {
    top.region_yield %x : tensor<4xf32>
  }
  func.return %y : tensor<4xf32>
}

// -----

// top.loop -> loop.while: carried values live in the result buffer (%out0), the counter
// and the running flag in buffers of their own; at the end of each iteration the scan
// element goes to row i, the new carried value is copied back, and i += 1
// CHECK-LABEL: func.func @accumulate
// CHECK-SAME:    %[[M:[a-z0-9]+]]: memref<i64>, %[[C:[a-z0-9]+]]: memref<i1>, %[[INIT:[a-z0-9]+]]: memref<3xf32>, %[[X:[a-z0-9]+]]: memref<3xf32>, %[[SUM:[a-z0-9]+]]: memref<3xf32>, %[[ROWS:[a-z0-9]+]]: memref<4x3xf32>
// CHECK:         %[[I:.*]] = loop.alloc() : memref<i64>
// CHECK-NEXT:    %[[FLAG:.*]] = loop.alloc() : memref<i1>
// CHECK-NEXT:    loop.for
// CHECK-NEXT:      loop.load %[[INIT]]
// CHECK-NEXT:      loop.store %{{.*}}, %[[SUM]]
// CHECK:         loop.store %{{.*}}, %[[I]][] : memref<i64>
// CHECK-NEXT:    %[[CV:.*]] = loop.load %[[C]][] : memref<i1>
// CHECK-NEXT:    loop.store %[[CV]], %[[FLAG]][] : memref<i1>
// CHECK-NEXT:    loop.while {
// CHECK-NEXT:      %[[MV:.*]] = loop.load %[[M]][] : memref<i64>
// CHECK-NEXT:      %[[IV:.*]] = loop.load %[[I]][] : memref<i64>
// CHECK-NEXT:      %[[LT:.*]] = arith.cmpi slt, %[[IV]], %[[MV]] : i64
// CHECK-NEXT:      %[[RV:.*]] = loop.load %[[FLAG]][] : memref<i1>
// CHECK-NEXT:      %[[GO:.*]] = arith.andi %[[LT]], %[[RV]] : i1
// CHECK-NEXT:      loop.condition %[[GO]]
// CHECK-NEXT:    } do {
// CHECK:           %[[NEXT:.*]] = loop.alloc() : memref<3xf32>
// CHECK:             loop.load %[[SUM]]
// CHECK:             arith.addf
// CHECK-NEXT:        loop.store %{{.*}}, %[[NEXT]]
// CHECK:           %[[ROW:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:             loop.store %{{.*}}, %[[ROWS]][%[[ROW]], %{{.*}}] : memref<4x3xf32>
// CHECK:             loop.load %[[NEXT]]
// CHECK-NEXT:        loop.store %{{.*}}, %[[SUM]]
// CHECK:           arith.addi
// CHECK-NEXT:      loop.store %{{.*}}, %[[I]][] : memref<i64>
// CHECK-NEXT:      loop.end
// CHECK-NEXT:    }
// PLAN-LABEL: func.func @accumulate
// PLAN-NOT:    loop.alloc
// PLAN:        loop.while
// PLAN:        loop.carve %arena
func.func @accumulate(%m: tensor<i64>, %c: tensor<i1>, %init: tensor<3xf32>, %x: tensor<3xf32>) -> (tensor<3xf32>, tensor<4x3xf32>) {
  %sum, %rows = top.loop %m, %c iter_args(%init) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>, tensor<4x3xf32>) {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
    %z = arith.constant 0.0 : f32
    %init2 = top.fill %z : f32 -> tensor<3xf32>
    %next = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%acc, %x : tensor<3xf32>, tensor<3xf32>) outs(%init2 : tensor<3xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.addf %a, %b : f32
      top.yield %r : f32
    } -> tensor<3xf32>
    top.region_yield %ci, %next, %acc : tensor<i1>, tensor<3xf32>, tensor<3xf32>
  }
  func.return %sum, %rows : tensor<3xf32>, tensor<4x3xf32>
}
