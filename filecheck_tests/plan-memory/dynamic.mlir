// RUN: lamina-opt %s -p plan-memory | filecheck %s

// A dynamic buffer is not planned: its loop.alloc and loop.dealloc stay (codegen makes
// them a heap allocation and a free); the static buffer next to it is carved as usual.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: %[[ARENA:[^:]*]]: memref<64xi8>
// CHECK-SAME: lamina.arena_size = 64 : i64
// CHECK:      %[[N:.*]] = loop.dim %{{.*}}, 0 : memref<?x16xf32>
// CHECK-NEXT: %{{.*}} = loop.alloc(%[[N]]) align 64 : memref<?x16xf32>
// CHECK-NEXT: %{{.*}} = loop.carve %[[ARENA]][0] : memref<64xi8> -> memref<16xf32>
// CHECK:      loop.dealloc %{{.*}} : memref<?x16xf32>
// CHECK-NOT:  loop.dealloc
// CHECK:      func.return
func.func @dynamic(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<?x16xf32>, %y: memref<?x16xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %n = loop.dim %x, 0 : memref<?x16xf32>
  %t = loop.alloc(%n) align 64 : memref<?x16xf32>
  %s = loop.alloc() : memref<16xf32>
  %v = loop.load %x[%c0, %c0] : memref<?x16xf32>
  loop.store %v, %s[%c0] : memref<16xf32>
  loop.store %v, %t[%c0, %c0] : memref<?x16xf32>
  %w = loop.load %t[%c0, %c0] : memref<?x16xf32>
  loop.store %w, %y[%c0, %c0] : memref<?x16xf32>
  loop.dealloc %s : memref<16xf32>
  loop.dealloc %t : memref<?x16xf32>
  func.return
}
