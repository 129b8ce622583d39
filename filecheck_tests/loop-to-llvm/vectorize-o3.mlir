// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512" opt_level=3}' -t llvm | filecheck %s

// At O3 with the AVX-512 device, a scalar parallel loop vectorizes 16 lanes wide.

func.func @main(%w: memref<64xi8>, %arena: memref<64xi8>, %x: memref<1024xf32>,
                %y: memref<1024xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  loop.for %i = %c0 to %c1024 step %c1 parallel vector 16 {
    %v = loop.load %x[%i] : memref<1024xf32>
    %r = arith.maxnumf %v, %zero : f32
    loop.store %r, %y[%i] : memref<1024xf32>
  }
  func.return
}

// CHECK-LABEL: define void @main(
// CHECK:         load <16 x float>
// CHECK:         @llvm.maxnum.v16f32
// CHECK:         store <16 x float>

// A float sum whose combining op may reassociate (fastmath<reassoc>, as convert-top-to-loop
// gives reductions) vectorizes too: vector partial sums, added up after the loop.
func.func @row_sum(%w: memref<64xi8>, %arena: memref<64xi8>, %x: memref<1024xf32>,
                   %y: memref<1xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  %zero = arith.constant 0.0 : f32
  %s = loop.for %i = %c0 to %c1024 step %c1 iter_args(%acc = %zero) -> (f32) {
    %v = loop.load %x[%i] : memref<1024xf32>
    %n = arith.addf %acc, %v fastmath<reassoc> : f32
    loop.yield %n : f32
  }
  loop.store %s, %y[%c0] : memref<1xf32>
  func.return
}

// CHECK-LABEL: define void @row_sum(
// CHECK:         fadd reassoc <16 x float>
// CHECK:         @llvm.vector.reduce.fadd.v16f32
