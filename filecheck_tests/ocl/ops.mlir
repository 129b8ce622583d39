// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: ocl.kernel @scalar
// CHECK-SAME: (%{{.*}}: i32, %{{.*}}: f32)
ocl.kernel @scalar(%n: i32, %s: f32) {
  ocl.return
}

// CHECK-LABEL: ocl.kernel @ids
// CHECK-SAME: (%[[X:.*]]: memref<64x64xf32>, %[[C:.*]]: memref<64xf32, #ocl.space<constant>>)
ocl.kernel @ids(%x: memref<64x64xf32>, %c: memref<64xf32, #ocl.space<constant>>) {
  // CHECK-NEXT: %[[I:.*]] = ocl.global_id 0
  // CHECK-NEXT: %{{.*}} = ocl.local_id 1
  // CHECK-NEXT: %{{.*}} = ocl.group_id 2
  // CHECK-NEXT: %{{.*}} = ocl.global_size 0
  // CHECK-NEXT: %{{.*}} = ocl.local_size 1
  // CHECK-NEXT: %{{.*}} = ocl.num_groups 2
  %i = ocl.global_id 0
  %j = ocl.local_id 1
  %g = ocl.group_id 2
  %gs = ocl.global_size 0
  %ls = ocl.local_size 1
  %ng = ocl.num_groups 2
  // CHECK-NEXT: %[[V:.*]] = loop.load %[[C]][%[[I]]] : memref<64xf32, #ocl.space<constant>>
  // CHECK-NEXT: loop.store %[[V]], %[[X]][%[[I]], %[[I]]] : memref<64x64xf32>
  %v = loop.load %c[%i] : memref<64xf32, #ocl.space<constant>>
  loop.store %v, %x[%i, %i] : memref<64x64xf32>
  // CHECK-NEXT: ocl.return
  ocl.return
}

// CHECK-LABEL: ocl.kernel @tile
// CHECK-SAME: attributes {reqd_work_group_size = array<i64: 16, 16, 1>}
ocl.kernel @tile(%a: memref<32x32xf32>, %scratch: memref<4xvector<4xf32>, #loop.space<local>>) attributes {reqd_work_group_size = array<i64: 16, 16, 1>} {
  // CHECK-NEXT: %[[T:.*]] = ocl.local_alloc : memref<16x16xf32, #loop.space<local>>
  %t = ocl.local_alloc : memref<16x16xf32, #loop.space<local>>
  %i = ocl.local_id 0
  %j = ocl.local_id 1
  %v = loop.load %a[%i, %j] : memref<32x32xf32>
  loop.store %v, %t[%j, %i] : memref<16x16xf32, #loop.space<local>>
  // CHECK: ocl.barrier
  // CHECK-NEXT: ocl.barrier global
  ocl.barrier
  ocl.barrier global
  %w = loop.vload %a[%i, %j] : memref<32x32xf32>, vector<4xf32>
  loop.store %w, %scratch[%i] : memref<4xvector<4xf32>, #loop.space<local>>
  ocl.return
}

// The dot products are plain ops: they live in loop-level functions before
// convert-loop-to-ocl moves them into kernels.
// CHECK-LABEL: func.func @dot_products
// CHECK-SAME: (%[[ACC:.*]]: vector<4xi32>, %[[X:.*]]: vector<16xi8>, %[[Y:.*]]: vector<16xi8>)
// CHECK-NEXT: %[[S:.*]] = ocl.dot_char4 %[[ACC]], %[[X]], %[[Y]] : vector<4xi32>, vector<16xi8>
// CHECK-NEXT: %[[U:.*]] = ocl.dot_uchar4 %[[S]], %[[X]], %[[Y]] : vector<4xi32>, vector<16xi8>
// CHECK-NEXT: func.return %[[U]] : vector<4xi32>
func.func @dot_products(%acc: vector<4xi32>, %x: vector<16xi8>, %y: vector<16xi8>) -> vector<4xi32> {
  %s = ocl.dot_char4 %acc, %x, %y : vector<4xi32>, vector<16xi8>
  %u = ocl.dot_uchar4 %s, %x, %y : vector<4xi32>, vector<16xi8>
  func.return %u : vector<4xi32>
}

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[W:.*]]: memref<4096xi8>, %[[ARENA:.*]]: memref<32768xi8>)
func.func @main(%weights: memref<4096xi8>, %arena: memref<32768xi8>) {
  // CHECK-NEXT: ocl.launch @ids global [64] local [16] (%[[ARENA]][0], %[[W]][256]) : memref<32768xi8>, memref<4096xi8>
  ocl.launch @ids global [64] local [16] (%arena[0], %weights[256]) : memref<32768xi8>, memref<4096xi8>
  // CHECK-NEXT: ocl.launch @tile global [32, 32] (%[[ARENA]][16384]) : memref<32768xi8>
  ocl.launch @tile global [32, 32] (%arena[16384]) : memref<32768xi8>
  func.return
}
