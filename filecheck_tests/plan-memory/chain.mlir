// RUN: lamina-opt %s --split-input-file -p plan-memory | filecheck %s

// Three buffers in a chain: the largest (b) is placed first; a and c never live
// together, so c reuses a's bytes; the arena argument takes the planned size (the
// liveness lower bound here); allocs and deallocs are gone.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %[[ARENA:.*]]: memref<768xi8>, %[[X:.*]]: memref<64xf32>, %{{.*}}: memref<64xf32>)
// CHECK-SAME: lamina.arena_size = 768 : i64, lamina.arena_lower_bound = 768 : i64
// CHECK: %{{.*}} = loop.carve %[[ARENA]][512] : memref<768xi8> -> memref<64xf32>
// CHECK: %{{.*}} = loop.carve %[[ARENA]][0] : memref<768xi8> -> memref<128xf32>
// CHECK: %{{.*}} = loop.carve %[[ARENA]][512] : memref<768xi8> -> memref<32xf32>
// CHECK-NOT: loop.alloc
// CHECK-NOT: loop.dealloc
// CHECK: func.return
func.func @chain(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<64xf32>, %y: memref<64xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %a = loop.alloc() : memref<64xf32>
  %v = loop.load %x[%c0] : memref<64xf32>
  loop.store %v, %a[%c0] : memref<64xf32>
  %b = loop.alloc() : memref<128xf32>
  %va = loop.load %a[%c0] : memref<64xf32>
  loop.store %va, %b[%c1] : memref<128xf32>
  loop.dealloc %a : memref<64xf32>
  %c = loop.alloc() : memref<32xf32>
  %vb = loop.load %b[%c1] : memref<128xf32>
  loop.store %vb, %c[%c0] : memref<32xf32>
  loop.dealloc %b : memref<128xf32>
  %vc = loop.load %c[%c0] : memref<32xf32>
  loop.store %vc, %y[%c0] : memref<64xf32>
  loop.dealloc %c : memref<32xf32>
  func.return
}

// -----

// A buffer outside the global space gets its own loop.arena.
// CHECK-LABEL: func.func @local
// CHECK: %[[L:.*]] = loop.arena align 64 : memref<256xi8, #loop.space<local>>
// CHECK: loop.carve %[[L]][0] : memref<256xi8, #loop.space<local>> -> memref<64xf32, #loop.space<local>>
func.func @local(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<64xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %t = loop.alloc() : memref<64xf32, #loop.space<local>>
  %v = loop.load %x[%c0] : memref<64xf32>
  loop.store %v, %t[%c0] : memref<64xf32, #loop.space<local>>
  loop.dealloc %t : memref<64xf32, #loop.space<local>>
  func.return
}
