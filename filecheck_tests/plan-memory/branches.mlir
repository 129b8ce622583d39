// RUN: lamina-opt %s -p plan-memory | filecheck %s

// A buffer in each branch of a loop.if: only one branch runs, so both take the same
// offset; the buffer %t live across the if gets bytes of its own.
// CHECK-LABEL: func.func @branches
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %[[ARENA:.*]]: memref<512xi8>, %{{.*}}: memref<i1>, %{{.*}}: memref<64xf32>)
// CHECK-SAME: lamina.arena_size = 512 : i64, lamina.arena_lower_bound = 512 : i64
// CHECK:      %[[T:.*]] = loop.carve %[[ARENA]][0] : memref<512xi8> -> memref<64xf32>
// CHECK:      loop.if
// CHECK-NEXT:   %{{.*}} = loop.carve %[[ARENA]][256] : memref<512xi8> -> memref<64xf32>
// CHECK:      } else {
// CHECK-NEXT:   %{{.*}} = loop.carve %[[ARENA]][256] : memref<512xi8> -> memref<64xf32>
// CHECK-NOT:  loop.alloc
func.func @branches(%weights: memref<0xi8>, %arena: memref<0xi8>, %c: memref<i1>, %y: memref<64xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %t = loop.alloc() : memref<64xf32>
  loop.store %one, %t[%c0] : memref<64xf32>
  %cv = loop.load %c[] : memref<i1>
  loop.if %cv {
    %a = loop.alloc() : memref<64xf32>
    %v = loop.load %t[%c0] : memref<64xf32>
    loop.store %v, %a[%c0] : memref<64xf32>
    %w = loop.load %a[%c0] : memref<64xf32>
    loop.store %w, %y[%c0] : memref<64xf32>
    loop.end
  } else {
    %b = loop.alloc() : memref<64xf32>
    loop.store %one, %b[%c0] : memref<64xf32>
    %w = loop.load %b[%c0] : memref<64xf32>
    loop.store %w, %y[%c0] : memref<64xf32>
    loop.end
  }
  loop.dealloc %t : memref<64xf32>
  func.return
}
