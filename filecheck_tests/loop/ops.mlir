// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @arena_and_carve
func.func @arena_and_carve() {
  // CHECK: %[[ARENA:.*]] = loop.arena align 64 : memref<1048576xi8, #loop.space<vtcm>>
  %arena = loop.arena align 64 : memref<1048576xi8, #loop.space<vtcm>>
  // CHECK: loop.carve %[[ARENA]][4096] : memref<1048576xi8, #loop.space<vtcm>> -> memref<64x64xf32, #loop.space<vtcm>>
  %w = loop.carve %arena[4096] : memref<1048576xi8, #loop.space<vtcm>> -> memref<64x64xf32, #loop.space<vtcm>>
  // CHECK: loop.carve %[[ARENA]][0] align 64 : memref<1048576xi8, #loop.space<vtcm>> -> memref<32xvector<32xf32>, #loop.space<vtcm>>
  %t = loop.carve %arena[0] align 64 : memref<1048576xi8, #loop.space<vtcm>> -> memref<32xvector<32xf32>, #loop.space<vtcm>>
  func.return
}

// A caller-provided arena (a function argument) in the default, global, memory space.
// CHECK-LABEL: func.func @carve_from_argument
// CHECK-SAME: (%[[WS:.*]]: memref<8192xi8>)
func.func @carve_from_argument(%ws: memref<8192xi8>) {
  // CHECK: loop.carve %[[WS]][256] : memref<8192xi8> -> memref<16xi32, #loop.space<global>>
  %b = loop.carve %ws[256] : memref<8192xi8> -> memref<16xi32, #loop.space<global>>
  // CHECK: %[[S:.*]] = loop.arena align 16 : memref<512xi8, #loop.space<stack>>
  %s = loop.arena align 16 : memref<512xi8, #loop.space<stack>>
  // CHECK: loop.carve %[[S]][8] : memref<512xi8, #loop.space<stack>> -> memref<f64, #loop.space<stack>>
  %d = loop.carve %s[8] : memref<512xi8, #loop.space<stack>> -> memref<f64, #loop.space<stack>>
  func.return
}

// CHECK-LABEL: func.func @alloc_dealloc
// CHECK-SAME: (%[[N:.*]]: index)
func.func @alloc_dealloc(%n: index) {
  // CHECK: %[[B:.*]] = loop.alloc() : memref<64x64xf32, #loop.space<local>>
  %b = loop.alloc() : memref<64x64xf32, #loop.space<local>>
  // CHECK: %[[D:.*]] = loop.alloc(%[[N]]) align 64 : memref<?x64xf32>
  %d = loop.alloc(%n) align 64 : memref<?x64xf32>
  // CHECK: loop.dealloc %[[B]] : memref<64x64xf32, #loop.space<local>>
  loop.dealloc %b : memref<64x64xf32, #loop.space<local>>
  // CHECK: loop.dealloc %[[D]] : memref<?x64xf32>
  loop.dealloc %d : memref<?x64xf32>
  func.return
}

// CHECK-LABEL: func.func @parallel_vector_loop
// CHECK-SAME: (%[[X:.*]]: memref<64xf32>, %[[Y:.*]]: memref<64xf32, #loop.space<stack>>)
func.func @parallel_vector_loop(%x: memref<64xf32>, %y: memref<64xf32, #loop.space<stack>>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  // CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 8 {
  loop.for %i = %c0 to %c64 step %c8 parallel vector 8 {
    // CHECK-NEXT: %[[V:.*]] = loop.vload %[[X]][%[[I]]] : memref<64xf32>, vector<8xf32>
    %v = loop.vload %x[%i] : memref<64xf32>, vector<8xf32>
    // CHECK-NEXT: %[[E:.*]] = math.exp %[[V]] : vector<8xf32>
    %e = math.exp %v : vector<8xf32>
    // CHECK-NEXT: loop.vstore %[[E]], %[[Y]][%[[I]]] : memref<64xf32, #loop.space<stack>>, vector<8xf32>
    loop.vstore %e, %y[%i] : memref<64xf32, #loop.space<stack>>, vector<8xf32>
  // CHECK-NEXT: }
  }
  func.return
}

// CHECK-LABEL: func.func @reduction
// CHECK-SAME: (%[[A:.*]]: memref<64xf32>, %[[OUT:.*]]: memref<f32>)
func.func @reduction(%a: memref<64xf32>, %out: memref<f32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  // CHECK: %[[ZERO:.*]] = arith.constant {{.*}} : f32
  %zero = arith.constant 0.0 : f32
  // CHECK: %[[SUM:.*]] = loop.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} unroll 4 iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
  %sum = loop.for %k = %c0 to %c64 step %c1 unroll 4 iter_args(%acc = %zero) -> (f32) {
    // CHECK-NEXT: %[[E:.*]] = loop.load %[[A]][%[[K]]] : memref<64xf32>
    %e = loop.load %a[%k] : memref<64xf32>
    // CHECK-NEXT: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[E]] : f32
    %next = arith.addf %acc, %e : f32
    // CHECK-NEXT: loop.yield %[[NEXT]] : f32
    loop.yield %next : f32
  }
  // CHECK: loop.store %[[SUM]], %[[OUT]][] : memref<f32>
  loop.store %sum, %out[] : memref<f32>
  func.return %sum : f32
}

// CHECK-LABEL: func.func @tiled_nest
func.func @tiled_nest(%a: memref<64x64xf32, #loop.space<vtcm>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  // CHECK: loop.for %[[I:.*]] = {{.*}} parallel {
  loop.for %i = %c0 to %c64 step %c1 parallel {
    // CHECK: loop.for %[[J:.*]] = {{.*}} unroll 2 vector 32 {
    loop.for %j = %c0 to %c64 step %c32 unroll 2 vector 32 {
      // CHECK: loop.vload %{{.*}}[%[[I]], %[[J]]] : memref<64x64xf32, #loop.space<vtcm>>, vector<32xf32>
      %v = loop.vload %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>, vector<32xf32>
      %w = arith.addf %v, %v : vector<32xf32>
      loop.vstore %w, %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>, vector<32xf32>
    }
  // CHECK: } {tile = "outer"}
  } {tile = "outer"}
  func.return
}

// The int8 GEMM's step: four u8 x s8 products added to each i32 lane.
// CHECK-LABEL: func.func @byte_dot
// CHECK-SAME: (%[[ACC:.*]]: vector<16xi32>, %[[U:.*]]: vector<64xi8>, %[[S:.*]]: vector<64xi8>, %[[Q:.*]]: vector<4xi32>, %[[P:.*]]: vector<16xi8>)
// CHECK-NEXT: %{{.*}} = loop.byte_dot %[[ACC]], %[[U]], %[[S]] : vector<16xi32>, vector<64xi8>
// CHECK-NEXT: %{{.*}} = loop.byte_dot %[[Q]], %[[P]], %[[P]] : vector<4xi32>, vector<16xi8>
func.func @byte_dot(%acc: vector<16xi32>, %u: vector<64xi8>, %s: vector<64xi8>, %q: vector<4xi32>, %p: vector<16xi8>) -> (vector<16xi32>, vector<4xi32>) {
  %d = loop.byte_dot %acc, %u, %s : vector<16xi32>, vector<64xi8>
  %e = loop.byte_dot %q, %p, %p : vector<4xi32>, vector<16xi8>
  func.return %d, %e : vector<16xi32>, vector<4xi32>
}

// A slice of a buffer at a byte offset (what a concat's producers write into).
// CHECK-LABEL: func.func @view
// CHECK-SAME: (%[[Y:.*]]: memref<1x8x4x4xf32>)
func.func @view(%y: memref<1x8x4x4xf32>) {
  // CHECK: loop.view %[[Y]][192] : memref<1x8x4x4xf32> -> memref<1x5x4x4xf32>
  %s = loop.view %y[192] : memref<1x8x4x4xf32> -> memref<1x5x4x4xf32>
  func.return
}
