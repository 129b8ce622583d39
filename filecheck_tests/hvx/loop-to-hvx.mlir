// RUN: lamina-opt %s --split-input-file -p 'loop-to-hvx{device="hexagon-v66-hvx128"}' | filecheck %s
// RUN: not lamina-opt %s --split-input-file -p 'loop-to-hvx{device="cortex-a76"}' 2>&1 | filecheck %s --check-prefix=ARM

// ARM: error: not supported: loop-to-hvx for device 'cortex-a76' (aarch64-unknown-linux-gnu): it needs 128-byte HVX (+hvx-length128b)

// A signed int8 dot product over 300 contiguous elements: 256 on vrmpy (two steps of 128,
// one vector<32xi32> accumulator, one horizontal add), the last 44 in the original loop.
// CHECK-LABEL: func.func @vrmpy_loop
// CHECK-SAME: (%[[X:.*]]: memref<3x300xi8>, %[[Y:.*]]: memref<300xi8>, %[[ROW:.*]]: index, %[[INIT:.*]]: i32)
// CHECK: %[[ZERO:.*]] = arith.constant dense<0> : vector<32xi32>
// CHECK: %[[SPLIT:.*]] = arith.constant 256 : index
// CHECK: %[[STEP:.*]] = arith.constant 128 : index
// CHECK: %[[V:.*]] = loop.for %[[K:.*]] = %{{.*}} to %[[SPLIT]] step %[[STEP]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<32xi32>) {
// CHECK-NEXT: %[[VX:.*]] = loop.vload %[[X]][%[[ROW]], %[[K]]] : memref<3x300xi8>, vector<128xi8>
// CHECK-NEXT: %[[VY:.*]] = loop.vload %[[Y]][%[[K]]] : memref<300xi8>, vector<128xi8>
// CHECK-NEXT: %[[D:.*]] = hvx.vrmpybv.acc %[[ACC]], %[[VX]], %[[VY]] : (vector<32xi32>, vector<128xi8>, vector<128xi8>) -> vector<32xi32>
// CHECK-NEXT: loop.yield %[[D]] : vector<32xi32>
// CHECK: %[[PART:.*]] = vector.reduction <add>, %[[V]], %[[INIT]] : vector<32xi32> into i32
// CHECK: loop.for %{{.*}} = %[[SPLIT]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[PART]]) -> (i32) {
// CHECK: arith.extsi
func.func @vrmpy_loop(%x: memref<3x300xi8>, %y: memref<300xi8>, %row: index, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c300 = arith.constant 300 : index
  %s = loop.for %k = %c0 to %c300 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%row, %k] : memref<3x300xi8>
    %b = loop.load %y[%k] : memref<300xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extsi %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %p, %acc : i32
    loop.yield %n : i32
  }
  func.return %s : i32
}

// -----

// Unsigned bytes (no accumulating u8 x u8 vrmpy) and loops shorter than 128 stay scalar.
// CHECK-LABEL: func.func @unsigned_and_short
// CHECK-NOT: hvx.
// CHECK: func.return
func.func @unsigned_and_short(%x: memref<256xi8>, %y: memref<256xi8>, %init: i32) -> (i32, i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
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
  %s = loop.for %k = %c0 to %c100 step %c1 iter_args(%acc = %init) -> (i32) {
    %a = loop.load %x[%k] : memref<256xi8>
    %b = loop.load %y[%k] : memref<256xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extsi %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  func.return %u, %s : i32, i32
}
