// RUN: lamina-opt %s -p plan-memory | filecheck %s

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

