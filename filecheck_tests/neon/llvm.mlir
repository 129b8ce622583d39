// RUN: lamina-opt %s --split-input-file -p 'loop-to-neon,convert-loop-to-llvm{device="cortex-a76"}' -t llvm | filecheck %s
// RUN: lamina-opt %s --split-input-file -p 'loop-to-neon,convert-loop-to-llvm{device="cortex-a76" opt_level=3}' -t llvm | filecheck %s --check-prefix=O3

// The lane FMA: a lane splat feeding llvm.fma (what clang emits for vfmaq_laneq_f32).
// CHECK-LABEL: define void @fmla
// CHECK: %[[AV:.*]] = load <4 x float>, ptr %{{.*}}, align 4
// CHECK: %[[SPLAT:.*]] = shufflevector <4 x float> %[[AV]], <4 x float> undef, <4 x i32> <i32 2, i32 2, i32 2, i32 2>
// CHECK: call <4 x float> @llvm.fma.v4f32(<4 x float> %{{.*}}, <4 x float> %[[SPLAT]], <4 x float> %{{.*}})
// O3-LABEL: define void @fmla
// O3: shufflevector <{{[0-9]+}} x float> %{{.*}}, <{{[0-9]+}} x float> poison, <4 x i32> <i32 2, i32 2, i32 2, i32 2>
// O3: @llvm.fma.v4f32
func.func @fmla(%w: memref<64xi8>, %arena: memref<64xi8>, %a: memref<8xf32>, %b: memref<4xf32>, %c: memref<4xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %x = loop.load %a[%c4] : memref<8xf32>
  %y = loop.load %a[%c0] : memref<8xf32>
  %z = loop.load %a[%c4] : memref<8xf32>
  %t = arith.constant 6 : index
  %x6 = loop.load %a[%t] : memref<8xf32>
  %s = vector.broadcast %x6 : f32 to vector<4xf32>
  %bv = loop.vload %b[%c0] : memref<4xf32>, vector<4xf32>
  %acc = loop.vload %c[%c0] : memref<4xf32>, vector<4xf32>
  %r = vector.fma %s, %bv, %acc : vector<4xf32>
  loop.vstore %r, %c[%c0] : memref<4xf32>, vector<4xf32>
  func.return
}

// -----

// The dot-product loop: llvm.aarch64.neon.sdot on the 16-wide steps.
// CHECK-LABEL: define void @dot
// CHECK: call <4 x i32> @llvm.aarch64.neon.sdot.v4i32.v16i8(<4 x i32> %{{.*}}, <16 x i8> %{{.*}}, <16 x i8> %{{.*}})
// CHECK: call i32 @llvm.vector.reduce.add.v4i32
// O3-LABEL: define void @dot
// O3: @llvm.aarch64.neon.sdot.v4i32.v16i8
func.func @dot(%w: memref<64xi8>, %arena: memref<64xi8>, %x: memref<64xi8>, %y: memref<64xi8>, %out: memref<1xi32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0 : i32
  %s = loop.for %k = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (i32) {
    %a = loop.load %x[%k] : memref<64xi8>
    %b = loop.load %y[%k] : memref<64xi8>
    %ea = arith.extsi %a : i8 to i32
    %eb = arith.extsi %b : i8 to i32
    %p = arith.muli %ea, %eb : i32
    %n = arith.addi %acc, %p : i32
    loop.yield %n : i32
  }
  loop.store %s, %out[%c0] : memref<1xi32>
  func.return
}
