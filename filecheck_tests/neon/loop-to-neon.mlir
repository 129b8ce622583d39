// RUN: lamina-opt %s --split-input-file -p 'loop-to-neon{device="cortex-a76"}' | filecheck %s

// An fp32 GEMM micro-kernel (A packed [K][4], B rows of 8, C 4x8 in eight vector<4xf32>
// accumulators): the four scalar loads of a packed A row become one vload and each
// broadcast FMA an fmla by lane.
// CHECK-LABEL: func.func @fmla_kernel
// CHECK-SAME: (%{{.*}}: memref<64xi8>, %{{.*}}: memref<64xi8>, %[[A:.*]]: memref<16x4xf32>, %[[B:.*]]: memref<16x8xf32>, %{{.*}}: memref<4x8xf32>)
// CHECK: loop.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[C00:.*]] = %{{.*}}, %[[C01:.*]] = %{{.*}}, %[[C10:.*]] = %{{.*}}, %[[C11:.*]] = %{{.*}}, %[[C20:.*]] = %{{.*}}, %[[C21:.*]] = %{{.*}}, %[[C30:.*]] = %{{.*}}, %[[C31:.*]] = %{{.*}})
// CHECK: %[[AV:.*]] = loop.vload %[[A]][%[[K]], %{{.*}}] : memref<16x4xf32>, vector<4xf32>
// CHECK-NOT: loop.load
// CHECK-NOT: vector.broadcast
// CHECK: %[[B0:.*]] = loop.vload %[[B]][%[[K]], %{{.*}}] : memref<16x8xf32>, vector<4xf32>
// CHECK-NEXT: %[[B1:.*]] = loop.vload %[[B]][%[[K]], %{{.*}}] : memref<16x8xf32>, vector<4xf32>
// CHECK-NEXT: %[[N00:.*]] = neon.fmla_lane %[[C00]], %[[B0]], %[[AV]][0] : vector<4xf32>, vector<4xf32>
// CHECK-NEXT: %[[N01:.*]] = neon.fmla_lane %[[C01]], %[[B1]], %[[AV]][0] : vector<4xf32>, vector<4xf32>
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[C10]], %[[B0]], %[[AV]][1]
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[C11]], %[[B1]], %[[AV]][1]
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[C20]], %[[B0]], %[[AV]][2]
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[C21]], %[[B1]], %[[AV]][2]
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[C30]], %[[B0]], %[[AV]][3]
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[C31]], %[[B1]], %[[AV]][3]
// CHECK-NEXT: loop.yield
// CHECK-NOT: vector.fma
func.func @fmla_kernel(%w: memref<64xi8>, %arena: memref<64xi8>, %a: memref<16x4xf32>, %b: memref<16x8xf32>, %c: memref<4x8xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant dense<0.000000e+00> : vector<4xf32>
  %r:8 = loop.for %k = %c0 to %c16 step %c1 iter_args(%c00 = %z, %c01 = %z, %c10 = %z, %c11 = %z, %c20 = %z, %c21 = %z, %c30 = %z, %c31 = %z) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
    %a0 = loop.load %a[%k, %c0] : memref<16x4xf32>
    %a1 = loop.load %a[%k, %c1] : memref<16x4xf32>
    %a2 = loop.load %a[%k, %c2] : memref<16x4xf32>
    %a3 = loop.load %a[%k, %c3] : memref<16x4xf32>
    %b0 = loop.vload %b[%k, %c0] : memref<16x8xf32>, vector<4xf32>
    %b1 = loop.vload %b[%k, %c4] : memref<16x8xf32>, vector<4xf32>
    %s0 = vector.broadcast %a0 : f32 to vector<4xf32>
    %s1 = vector.broadcast %a1 : f32 to vector<4xf32>
    %s2 = vector.broadcast %a2 : f32 to vector<4xf32>
    %s3 = vector.broadcast %a3 : f32 to vector<4xf32>
    %n00 = vector.fma %s0, %b0, %c00 : vector<4xf32>
    %n01 = vector.fma %s0, %b1, %c01 : vector<4xf32>
    %n10 = vector.fma %s1, %b0, %c10 : vector<4xf32>
    %n11 = vector.fma %b1, %s1, %c11 : vector<4xf32>
    %n20 = vector.fma %s2, %b0, %c20 : vector<4xf32>
    %n21 = vector.fma %s2, %b1, %c21 : vector<4xf32>
    %n30 = vector.fma %s3, %b0, %c30 : vector<4xf32>
    %n31 = vector.fma %s3, %b1, %c31 : vector<4xf32>
    loop.yield %n00, %n01, %n10, %n11, %n20, %n21, %n30, %n31 : vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>
  }
  loop.vstore %r#0, %c[%c0, %c0] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#1, %c[%c0, %c4] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#2, %c[%c1, %c0] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#3, %c[%c1, %c4] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#4, %c[%c2, %c0] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#5, %c[%c2, %c4] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#6, %c[%c3, %c0] : memref<4x8xf32>, vector<4xf32>
  loop.vstore %r#7, %c[%c3, %c4] : memref<4x8xf32>, vector<4xf32>
  func.return
}

// -----

// A lone lane (offset 2 of a 3-wide row) may not be widened: a 4- or 2-lane load would read
// past the row; a store between the loads of a complete group keeps them scalar too.
// CHECK-LABEL: func.func @not_rewritten
// CHECK-NOT: neon.
// CHECK-NOT: loop.vload
// CHECK: vector.fma
// CHECK: vector.fma
func.func @not_rewritten(%a: memref<8x3xf32>, %p: memref<4xf32>, %b: vector<4xf32>, %c: vector<4xf32>) -> (vector<4xf32>, vector<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %x = loop.load %a[%c0, %c2] : memref<8x3xf32>
  %s = vector.broadcast %x : f32 to vector<4xf32>
  %r = vector.fma %s, %b, %c : vector<4xf32>
  %p0 = loop.load %p[%c0] : memref<4xf32>
  %p1 = loop.load %p[%c1] : memref<4xf32>
  loop.store %x, %p[%c3] : memref<4xf32>
  %p2 = loop.load %p[%c2] : memref<4xf32>
  %p3 = loop.load %p[%c3] : memref<4xf32>
  %t = vector.broadcast %p3 : f32 to vector<4xf32>
  %q = vector.fma %t, %b, %c : vector<4xf32>
  func.return %r, %q : vector<4xf32>, vector<4xf32>
}

// -----

// Rows 4 and 5 of a 6-row packed panel: a D register (2 lanes) as the lane source.
// CHECK-LABEL: func.func @panel_tail
// CHECK: %[[D:.*]] = loop.vload %{{.*}}[%{{.*}}, %{{.*}}] : memref<9x6xf32>, vector<2xf32>
// CHECK: neon.fmla_lane %{{.*}}, %{{.*}}, %[[D]][0] : vector<4xf32>, vector<2xf32>
// CHECK: neon.fmla_lane %{{.*}}, %{{.*}}, %[[D]][1] : vector<4xf32>, vector<2xf32>
func.func @panel_tail(%a: memref<9x6xf32>, %k: index, %b: vector<4xf32>, %c: vector<4xf32>) -> (vector<4xf32>, vector<4xf32>) {
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %x = loop.load %a[%k, %c4] : memref<9x6xf32>
  %y = loop.load %a[%k, %c5] : memref<9x6xf32>
  %sx = vector.broadcast %x : f32 to vector<4xf32>
  %sy = vector.broadcast %y : f32 to vector<4xf32>
  %r = vector.fma %sx, %b, %c : vector<4xf32>
  %q = vector.fma %sy, %b, %c : vector<4xf32>
  func.return %r, %q : vector<4xf32>, vector<4xf32>
}

// -----

// An int8 dot product over 40 contiguous elements: 32 on sdot (two steps of 16, one
// vector<4xi32> accumulator, one horizontal add), the last 8 in the original scalar loop.
// CHECK-LABEL: func.func @sdot_loop
// CHECK-SAME: (%[[X:.*]]: memref<3x40xi8>, %[[Y:.*]]: memref<40xi8>, %[[ROW:.*]]: index, %[[INIT:.*]]: i32)
// CHECK: %[[ZERO:.*]] = arith.constant dense<0> : vector<4xi32>
// CHECK: %[[SPLIT:.*]] = arith.constant 32 : index
// CHECK: %[[SIXTEEN:.*]] = arith.constant 16 : index
// CHECK: %[[V:.*]] = loop.for %[[K:.*]] = %{{.*}} to %[[SPLIT]] step %[[SIXTEEN]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<4xi32>) {
// CHECK-NEXT: %[[VX:.*]] = loop.vload %[[X]][%[[ROW]], %[[K]]] : memref<3x40xi8>, vector<16xi8>
// CHECK-NEXT: %[[VY:.*]] = loop.vload %[[Y]][%[[K]]] : memref<40xi8>, vector<16xi8>
// CHECK-NEXT: %[[D:.*]] = neon.sdot %[[ACC]], %[[VX]], %[[VY]] : vector<4xi32>, vector<16xi8>
// CHECK-NEXT: loop.yield %[[D]] : vector<4xi32>
// CHECK: %[[PART:.*]] = vector.reduction <add>, %[[V]], %[[INIT]] : vector<4xi32> into i32
// CHECK: loop.for %{{.*}} = %[[SPLIT]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[PART]]) -> (i32) {
// CHECK: arith.extsi
func.func @sdot_loop(%x: memref<3x40xi8>, %y: memref<40xi8>, %row: index, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %s = loop.for %k = %c0 to %c40 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%row, %k] : memref<3x40xi8>
    %b = loop.load %y[%k] : memref<40xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extsi %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %p, %acc : i32
    loop.yield %n : i32
  }
  func.return %s : i32
}

// -----

// Unsigned (extui) operands and a multiple of 16 elements: udot, no scalar tail.
// CHECK-LABEL: func.func @udot_loop
// CHECK: neon.udot
// CHECK: %[[R:.*]] = vector.reduction <add>
// CHECK-NOT: loop.for
// CHECK: func.return %[[R]] : i32
func.func @udot_loop(%x: memref<32xi8>, %y: memref<32xi8>, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %s = loop.for %k = %c0 to %c32 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%k] : memref<32xi8>
    %b = loop.load %y[%k] : memref<32xi8>
    %ea = arith.extui %a : i8 to i32
    %eb = arith.extui %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  func.return %s : i32
}

// -----

// Mixed signedness (no usdot on cortex-a76) and short loops stay scalar.
// CHECK-LABEL: func.func @mixed_and_short
// CHECK-NOT: neon.
func.func @mixed_and_short(%x: memref<32xi8>, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %s = loop.for %k = %c0 to %c32 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%k] : memref<32xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extui %a : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  %t = loop.for %k = %c0 to %c8 step %c1 iter_args(%acc = %s) -> (i32) {
    %a = loop.load %x[%k] : memref<32xi8>
    %ea = arith.extsi %a : i8 to i32
    %p = arith.muli %ea, %ea : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  func.return %t : i32
}
