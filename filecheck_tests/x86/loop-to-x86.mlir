// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx512-vnni"}' | filecheck %s --check-prefixes=CHECK,COMMON
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx2"}' | filecheck %s --check-prefixes=AVX2,COMMON
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx512"}' | filecheck %s --check-prefixes=ZMM,COMMON
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="%S/inputs/x86-64-v2.toml"}' | filecheck %s --check-prefix=NOAVX2
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx512-vnni"},convert-loop-to-llvm{device="x86-64-avx512-vnni"}' -t llvm | filecheck %s --check-prefix=LLVM
// RUN: lamina-opt %s --split-input-file -p 'loop-to-x86{device="x86-64-avx2"},convert-loop-to-llvm{device="x86-64-avx2"}' -t llvm | filecheck %s --check-prefix=LLVM-AVX2
// RUN: not lamina-opt %s --split-input-file -p 'loop-to-x86{device="cortex-a76"}' 2>&1 | filecheck %s --check-prefix=ARM

// ARM: error: not supported: loop-to-x86 for device 'cortex-a76' (aarch64-unknown-linux-gnu)
// NOAVX2-NOT: x86vector.
// NOAVX2: func.func @unsigned_and_short
// NOAVX2-NOT: x86vector.
// LLVM: call <16 x i32> @llvm.x86.avx512.vpdpbusd.512(<16 x i32> %{{.*}}, <64 x i8> %{{.*}}, <64 x i8> %{{.*}})
// LLVM-AVX2: %[[PAIRS:.*]] = call <16 x i16> @llvm.x86.avx2.pmadd.ub.sw(<32 x i8> %{{.*}}, <32 x i8> %{{.*}})
// LLVM-AVX2: call <8 x i32> @llvm.x86.avx2.pmadd.wd(<16 x i16> %[[PAIRS]], <16 x i16> splat (i16 1))

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

// Without VNNI, on AVX2 32 bytes a step (four on vpmaddubsw + vpmaddwd, the last 22 in the
// original loop); the left bytes split at the sign bit, a = (a & 0x7f) - (a & 0x80), so
// that no i16 pair sum of vpmaddubsw saturates; vpmaddwd by ones widens the pairs to i32.
// AVX2: %[[SPLIT:.*]] = arith.constant 128 : index
// AVX2: %[[STEP:.*]] = arith.constant 32 : index
// AVX2: %[[V:.*]] = loop.for %[[K:.*]] = %{{.*}} to %[[SPLIT]] step %[[STEP]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<8xi32>) {
// AVX2-NEXT: %[[VX:.*]] = loop.vload %{{.*}}[%{{.*}}, %[[K]]] : memref<3x150xi8>, vector<32xi8>
// AVX2-NEXT: %[[VY:.*]] = loop.vload %{{.*}}[%[[K]]] : memref<150xi8>, vector<32xi8>
// AVX2-NEXT: %[[LOW_BITS:.*]] = arith.constant dense<127> : vector<32xi8>
// AVX2-NEXT: %[[SIGN_BIT:.*]] = arith.constant dense<-128> : vector<32xi8>
// AVX2-NEXT: %[[ONES:.*]] = arith.constant dense<1> : vector<16xi16>
// AVX2-NEXT: %[[LOW:.*]] = arith.andi %[[VX]], %[[LOW_BITS]] : vector<32xi8>
// AVX2-NEXT: %[[SIGN:.*]] = arith.andi %[[VX]], %[[SIGN_BIT]] : vector<32xi8>
// AVX2-NEXT: %[[LP:.*]] = x86vector.vpmaddubsw %[[LOW]], %[[VY]] : vector<32xi8> -> vector<16xi16>
// AVX2-NEXT: %[[SP:.*]] = x86vector.vpmaddubsw %[[SIGN]], %[[VY]] : vector<32xi8> -> vector<16xi16>
// AVX2-NEXT: %[[LS:.*]] = x86vector.vpmaddwd %[[LP]], %[[ONES]] : vector<16xi16> -> vector<8xi32>
// AVX2-NEXT: %[[SS:.*]] = x86vector.vpmaddwd %[[SP]], %[[ONES]] : vector<16xi16> -> vector<8xi32>
// AVX2-NEXT: %[[ADDED:.*]] = arith.addi %[[ACC]], %[[LS]] : vector<8xi32>
// AVX2-NEXT: %[[D:.*]] = arith.subi %[[ADDED]], %[[SS]] : vector<8xi32>
// AVX2-NEXT: loop.yield %[[D]] : vector<8xi32>
// AVX2: %[[PART:.*]] = vector.reduction <add>, %[[V]], %{{.*}} : vector<8xi32> into i32
// AVX2: loop.for %{{.*}} = %[[SPLIT]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[PART]]) -> (i32) {

// With AVX-512BW (and no VNNI) the same sequence runs on zmm registers, 64 bytes a step.
// ZMM: %[[V:.*]] = loop.for %{{.*}} -> (vector<16xi32>) {
// ZMM: x86vector.vpmaddubsw %{{.*}}, %{{.*}} : vector<64xi8> -> vector<32xi16>
// ZMM: x86vector.vpmaddwd %{{.*}}, %{{.*}} : vector<32xi16> -> vector<16xi32>
// ZMM: vector.reduction <add>, %[[V]], %{{.*}} : vector<16xi32> into i32
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

// Unsigned bytes and loops shorter than a step (64 bytes; 32 on AVX2) stay scalar.
// COMMON-LABEL: func.func @unsigned_and_short
// COMMON-NOT: x86vector.
// COMMON: func.return
func.func @unsigned_and_short(%x: memref<256xi8>, %y: memref<256xi8>, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c30 = arith.constant 30 : index
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
  %s = loop.for %k = %c0 to %c30 step %c1 iter_args(%acc = %init) -> (i32) {
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
