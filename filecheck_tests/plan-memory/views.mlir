// RUN: lamina-opt %s --split-input-file -p plan-memory | filecheck %s

// A view lives as long as its source: %y is read last through %s, so %t (allocated after
// the view) may not take %y's bytes; the view becomes a carve at 0 + 256, a view of a
// weight a carve of the weights at 64 + 16.
// CHECK-LABEL: func.func @view_live_range
// CHECK-SAME: (%[[W:.*]]: memref<128xi8>, %[[ARENA:.*]]: memref<768xi8>, %{{.*}}: memref<64xf32>)
// CHECK: %{{.*}} = loop.carve %[[W]][80] : memref<128xi8> -> memref<4xf32>
// CHECK: %{{.*}} = loop.carve %[[ARENA]][0] : memref<768xi8> -> memref<128xf32>
// CHECK: %[[S:.*]] = loop.carve %[[ARENA]][256] : memref<768xi8> -> memref<64xf32>
// CHECK: %[[T:.*]] = loop.carve %[[ARENA]][512] : memref<768xi8> -> memref<64xf32>
// CHECK-NOT: loop.view
// CHECK: loop.load %[[S]]
func.func @view_live_range(%weights: memref<128xi8>, %arena: memref<0xi8>, %out: memref<64xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %w = loop.carve %weights[64] : memref<128xi8> -> memref<16xf32>
  %ws = loop.view %w[16] : memref<16xf32> -> memref<4xf32>
  %y = loop.alloc() : memref<128xf32>
  %s = loop.view %y[256] : memref<128xf32> -> memref<64xf32>
  %v = loop.load %ws[%c0] : memref<4xf32>
  loop.store %v, %s[%c0] : memref<64xf32>
  %t = loop.alloc() : memref<64xf32>
  loop.store %v, %t[%c0] : memref<64xf32>
  %vt = loop.load %t[%c0] : memref<64xf32>
  loop.dealloc %t : memref<64xf32>
  %vs = loop.load %s[%c0] : memref<64xf32>
  %sum = arith.addf %vs, %vt : f32
  loop.store %sum, %out[%c0] : memref<64xf32>
  loop.dealloc %y : memref<128xf32>
  func.return
}


// -----

// A slice is live from its view on: %t dies before the view %s1 of %y's upper half, so
// %t may share those bytes (%s0's half is live while %t is, so not those); the arena is
// 512 bytes, not 768.
// CHECK-LABEL: func.func @slices_live_from_their_views
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %[[ARENA:.*]]: memref<512xi8>, %{{.*}}: memref<128xf32>)
// CHECK-SAME: lamina.arena_size = 512 : i64, lamina.arena_lower_bound = 512 : i64
// CHECK: %[[T:.*]] = loop.carve %[[ARENA]][256] : memref<512xi8> -> memref<64xf32>
// CHECK: %{{.*}} = loop.carve %[[ARENA]][0] : memref<512xi8> -> memref<128xf32>
// CHECK: %{{.*}} = loop.carve %[[ARENA]][0] : memref<512xi8> -> memref<64xf32>
// CHECK: %{{.*}} = loop.carve %[[ARENA]][256] : memref<512xi8> -> memref<64xf32>
func.func @slices_live_from_their_views(%weights: memref<0xi8>, %arena: memref<0xi8>, %out: memref<128xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %t = loop.alloc() : memref<64xf32>
  %v = loop.load %out[%c0] : memref<128xf32>
  loop.store %v, %t[%c0] : memref<64xf32>
  %y = loop.alloc() : memref<128xf32>
  %s0 = loop.view %y[0] : memref<128xf32> -> memref<64xf32>
  %vt = loop.load %t[%c0] : memref<64xf32>
  loop.store %vt, %s0[%c0] : memref<64xf32>
  loop.dealloc %t : memref<64xf32>
  %s1 = loop.view %y[256] : memref<128xf32> -> memref<64xf32>
  loop.store %v, %s1[%c0] : memref<64xf32>
  %vy = loop.load %y[%c0] : memref<128xf32>
  loop.store %vy, %out[%c0] : memref<128xf32>
  loop.dealloc %y : memref<128xf32>
  func.return
}

// -----

// A use of the whole buffer before a view makes all of it live from there: %y is stored
// to directly while %t lives, so %t takes bytes of its own.
// CHECK-LABEL: func.func @whole_buffer_used_before_its_view
// CHECK-SAME: lamina.arena_size = 768 : i64, lamina.arena_lower_bound = 768 : i64
func.func @whole_buffer_used_before_its_view(%weights: memref<0xi8>, %arena: memref<0xi8>, %out: memref<128xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %t = loop.alloc() : memref<64xf32>
  %v = loop.load %out[%c0] : memref<128xf32>
  loop.store %v, %t[%c0] : memref<64xf32>
  %y = loop.alloc() : memref<128xf32>
  loop.store %v, %y[%c64] : memref<128xf32>
  %vt = loop.load %t[%c0] : memref<64xf32>
  loop.dealloc %t : memref<64xf32>
  %s1 = loop.view %y[256] : memref<128xf32> -> memref<64xf32>
  loop.store %vt, %s1[%c0] : memref<64xf32>
  %vy = loop.load %y[%c0] : memref<128xf32>
  loop.store %vy, %out[%c0] : memref<128xf32>
  loop.dealloc %y : memref<128xf32>
  func.return
}
