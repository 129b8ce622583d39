// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx512-vnni"}' | filecheck %s
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx512"}' | filecheck %s --check-prefix=NOVNNI
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx512-vnni"},convert-loop-to-llvm{device="x86-64-avx512-vnni"}' -t llvm | filecheck %s --check-prefix=LLVM
// RUN: not lamina-opt %s --split-input-file -p 'loop-to-x86{device="cortex-a76"}' 2>&1 | filecheck %s --check-prefix=ARM

// ARM: error: not supported: loop-to-x86 for device 'cortex-a76' (aarch64-unknown-linux-gnu)
// NOVNNI-NOT: x86vector.
// LLVM: call <16 x i32> @llvm.x86.avx512.vpdpbusd.512(<16 x i32> %{{.*}}, <64 x i8> %{{.*}}, <64 x i8> %{{.*}})

// A signed int8 dot product over 150 contiguous elements: 128 on vpdpbusd (two steps of 64:
// the left bytes read unsigned through a xor with 0x80, the 128 * sum of the right bytes
// that this adds taken off again; one vector<16xi32> accumulator, one horizontal add), the
// last 22 in the original loop.
// CHECK-LABEL: func.func @vpdpbusd_loop
// CHECK-SAME: (%[[X:.*]]: memref<3x150xi8>, %[[Y:.*]]: memref<150xi8>, %[[ROW:.*]]: index, %[[INIT:.*]]: i32)
// CHECK: %[[SPLIT:.*]] = arith.constant 128 : index
// CHECK: %[[STEP:.*]] = arith.constant 64 : index
// CHECK: %[[V:.*]] = loop.for %[[K:.*]] = %{{.*}} to %[[SPLIT]] step %[[STEP]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xi32>) {
// CHECK-NEXT: %[[VX:.*]] = loop.vload %[[X]][%[[ROW]], %[[K]]] : memref<3x150xi8>, vector<64xi8>
// CHECK-NEXT: %[[VY:.*]] = loop.vload %[[Y]][%[[K]]] : memref<150xi8>, vector<64xi8>
// CHECK-NEXT: %[[BIAS:.*]] = arith.constant dense<-128> : vector<64xi8>
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant dense<0> : vector<16xi32>
// CHECK-NEXT: %[[U:.*]] = arith.xori %[[VX]], %[[BIAS]] : vector<64xi8>
// CHECK-NEXT: %[[P:.*]] = x86vector.vpdpbusd %[[ACC]], %[[U]], %[[VY]] : vector<16xi32>, vector<64xi8>
// CHECK-NEXT: %[[E:.*]] = x86vector.vpdpbusd %[[ZERO]], %[[BIAS]], %[[VY]] : vector<16xi32>, vector<64xi8>
// CHECK-NEXT: %[[D:.*]] = arith.subi %[[P]], %[[E]] : vector<16xi32>
// CHECK-NEXT: loop.yield %[[D]] : vector<16xi32>
// CHECK: %[[PART:.*]] = vector.reduction <add>, %[[V]], %[[INIT]] : vector<16xi32> into i32
// CHECK: loop.for %{{.*}} = %[[SPLIT]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[PART]]) -> (i32) {
// CHECK: arith.extsi
func.func @vpdpbusd_loop(%x: memref<3x150xi8>, %y: memref<150xi8>, %row: index, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c150 = arith.constant 150 : index
  %s = loop.for %k = %c0 to %c150 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%row, %k] : memref<3x150xi8>
    %b = loop.load %y[%k] : memref<150xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extsi %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %p, %acc : i32
    loop.yield %n : i32
  }
  func.return %s : i32
}

// -----

// Unsigned bytes and loops shorter than 64 stay scalar.
// CHECK-LABEL: func.func @unsigned_and_short
// CHECK-NOT: x86vector.
// CHECK: func.return
func.func @unsigned_and_short(%x: memref<256xi8>, %y: memref<256xi8>, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c50 = arith.constant 50 : index
  %c256 = arith.constant 256 : index
  %u = loop.for %k = %c0 to %c256 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%k] : memref<256xi8>
    %b = loop.load %y[%k] : memref<256xi8>
    %ea = arith.extui %a : i8 to i32
    %eb = arith.extui %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  %s = loop.for %k = %c0 to %c50 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%k] : memref<256xi8>
    %b = loop.load %y[%k] : memref<256xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extsi %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  %both = arith.addi %u, %s : i32
  func.return %both : i32
}
