// RUN: lamina-opt %s -p 'loop-to-x86{device="x86-64-avx512-vnni"}' | filecheck %s --check-prefix=VNNI
// RUN: lamina-opt %s -p 'loop-to-x86{device="x86-64-avx2"}' | filecheck %s --check-prefix=AVX2
// RUN: lamina-opt %s -p 'loop-to-x86{device="x86-64-avx512"}' | filecheck %s --check-prefix=ZMM
// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx2"}' -t llvm | filecheck %s --check-prefix=LLVM

// loop.byte_dot (u8 x s8, the int8 GEMM's step) on x86: vpdpbusd itself with VNNI.
// VNNI-LABEL: func.func @byte_dots
// VNNI: %{{.*}} = x86vector.vpdpbusd %[[ACC:.*]], %[[U:.*]], %[[S:.*]] : vector<8xi32>, vector<32xi8>
// VNNI: %{{.*}} = x86vector.vpdpbusd %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi32>, vector<64xi8>
// VNNI-NOT: loop.byte_dot

// On AVX2 the unsigned bytes split at the top bit, both parts' pair sums (each within an
// i16) widened by vpmaddwd by ones and added; a zmm-wide one stays for LLVM's generic
// lowering, which AVX-512BW takes on vpmaddubsw too.
// AVX2-LABEL: func.func @byte_dots
// AVX2: %[[LOW_BITS:.*]] = arith.constant dense<127> : vector<32xi8>
// AVX2-NEXT: %[[SIGN_BIT:.*]] = arith.constant dense<-128> : vector<32xi8>
// AVX2-NEXT: %[[ONES:.*]] = arith.constant dense<1> : vector<16xi16>
// AVX2-NEXT: %[[LOW:.*]] = arith.andi %[[U:.*]], %[[LOW_BITS]] : vector<32xi8>
// AVX2-NEXT: %[[HIGH:.*]] = arith.andi %[[U]], %[[SIGN_BIT]] : vector<32xi8>
// AVX2-NEXT: %[[LP:.*]] = x86vector.vpmaddubsw %[[LOW]], %[[S:.*]] : vector<32xi8> -> vector<16xi16>
// AVX2-NEXT: %[[HP:.*]] = x86vector.vpmaddubsw %[[HIGH]], %[[S]] : vector<32xi8> -> vector<16xi16>
// AVX2-NEXT: %[[LS:.*]] = x86vector.vpmaddwd %[[LP]], %[[ONES]] : vector<16xi16> -> vector<8xi32>
// AVX2-NEXT: %[[HS:.*]] = x86vector.vpmaddwd %[[HP]], %[[ONES]] : vector<16xi16> -> vector<8xi32>
// AVX2-NEXT: %[[ADDED:.*]] = arith.addi %{{.*}}, %[[LS]] : vector<8xi32>
// AVX2-NEXT: %{{.*}} = arith.addi %[[ADDED]], %[[HS]] : vector<8xi32>
// AVX2: loop.byte_dot %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi32>, vector<64xi8>
// ZMM-LABEL: func.func @byte_dots
// ZMM: x86vector.vpmaddubsw %{{.*}}, %{{.*}} : vector<32xi8> -> vector<16xi16>
// ZMM: x86vector.vpmaddubsw %{{.*}}, %{{.*}} : vector<64xi8> -> vector<32xi16>
// ZMM-NOT: loop.byte_dot

// Without the pass: the bytes widened (lhs unsigned, rhs signed), multiplied, the four
// products of each lane gathered by shuffles and added.
// LLVM-LABEL: define void @byte_dots
// LLVM: %[[ZU:.*]] = zext <32 x i8> %{{.*}} to <32 x i32>
// LLVM: %[[SS:.*]] = sext <32 x i8> %{{.*}} to <32 x i32>
// LLVM: %[[P:.*]] = mul <32 x i32> %[[ZU]], %[[SS]]
// LLVM: shufflevector <32 x i32> %[[P]], <32 x i32> %[[P]], <8 x i32> <i32 0, i32 4, i32 8, i32 12, i32 16, i32 20, i32 24, i32 28>
// LLVM: shufflevector <32 x i32> %[[P]], <32 x i32> %[[P]], <8 x i32> <i32 3, i32 7, i32 11, i32 15, i32 19, i32 23, i32 27, i32 31>
func.func @byte_dots(%w: memref<64xi8>, %arena: memref<64xi8>, %u: memref<64xi8>, %s: memref<64xi8>, %out: memref<24xi32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %zero8 = arith.constant dense<0> : vector<8xi32>
  %zero16 = arith.constant dense<0> : vector<16xi32>
  %u32 = loop.vload %u[%c0] : memref<64xi8>, vector<32xi8>
  %s32 = loop.vload %s[%c0] : memref<64xi8>, vector<32xi8>
  %d8 = loop.byte_dot %zero8, %u32, %s32 : vector<8xi32>, vector<32xi8>
  loop.vstore %d8, %out[%c0] : memref<24xi32>, vector<8xi32>
  %u64 = loop.vload %u[%c0] : memref<64xi8>, vector<64xi8>
  %s64 = loop.vload %s[%c0] : memref<64xi8>, vector<64xi8>
  %d16 = loop.byte_dot %zero16, %u64, %s64 : vector<16xi32>, vector<64xi8>
  loop.vstore %d16, %out[%c8] : memref<24xi32>, vector<16xi32>
  func.return
}
