// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// Each pair multiply-add is the LLVM intrinsic of its register width.
// CHECK-LABEL: define void @pair_multiply_adds
// CHECK: %[[B16:.*]] = call <8 x i16> @llvm.x86.ssse3.pmadd.ub.sw.128(<16 x i8> %{{.*}}, <16 x i8> %{{.*}})
// CHECK: call <4 x i32> @llvm.x86.sse2.pmadd.wd(<8 x i16> %[[B16]], <8 x i16> %[[B16]])
// CHECK: %[[B32:.*]] = call <16 x i16> @llvm.x86.avx2.pmadd.ub.sw(<32 x i8> %{{.*}}, <32 x i8> %{{.*}})
// CHECK: call <8 x i32> @llvm.x86.avx2.pmadd.wd(<16 x i16> %[[B32]], <16 x i16> %[[B32]])
// CHECK: %[[B64:.*]] = call <32 x i16> @llvm.x86.avx512.pmaddubs.w.512(<64 x i8> %{{.*}}, <64 x i8> %{{.*}})
// CHECK: call <16 x i32> @llvm.x86.avx512.pmaddw.d.512(<32 x i16> %[[B64]], <32 x i16> %[[B64]])
func.func @pair_multiply_adds(%w: memref<64xi8>, %arena: memref<64xi8>, %x: memref<64xi8>, %y: memref<28xi32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c12 = arith.constant 12 : index
  %x16 = loop.vload %x[%c0] : memref<64xi8>, vector<16xi8>
  %h8 = x86vector.vpmaddubsw %x16, %x16 : vector<16xi8> -> vector<8xi16>
  %s4 = x86vector.vpmaddwd %h8, %h8 : vector<8xi16> -> vector<4xi32>
  loop.vstore %s4, %y[%c0] : memref<28xi32>, vector<4xi32>
  %x32 = loop.vload %x[%c0] : memref<64xi8>, vector<32xi8>
  %h16 = x86vector.vpmaddubsw %x32, %x32 : vector<32xi8> -> vector<16xi16>
  %s8 = x86vector.vpmaddwd %h16, %h16 : vector<16xi16> -> vector<8xi32>
  loop.vstore %s8, %y[%c4] : memref<28xi32>, vector<8xi32>
  %x64 = loop.vload %x[%c0] : memref<64xi8>, vector<64xi8>
  %h32 = x86vector.vpmaddubsw %x64, %x64 : vector<64xi8> -> vector<32xi16>
  %s16 = x86vector.vpmaddwd %h32, %h32 : vector<32xi16> -> vector<16xi32>
  loop.vstore %s16, %y[%c12] : memref<28xi32>, vector<16xi32>
  func.return
}
