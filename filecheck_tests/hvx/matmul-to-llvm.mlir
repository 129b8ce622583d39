// The HVX int8 matmul kernel (lowering/hvx_kernels.py: matmul(2, 8, 32)) in LLVM IR for the
// Hexagon device: each hvx op is one HVX intrinsic, registers bitcast to <32 x i32>.
// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="hexagon-v66-hvx128"}' -t llvm | filecheck %s

// CHECK: target triple = "hexagon-unknown-linux-musl"
// CHECK-LABEL: define void @matmul(
// CHECK: %[[ZERO:.*]] = call <32 x i32> @llvm.hexagon.V6.lvsplatw.128B(i32 0)
// CHECK: %[[ACC:.*]] = phi <32 x i32> [ %[[ZERO]],
// CHECK: %[[A:.*]] = load i32, ptr
// CHECK: %[[SPLAT:.*]] = call <32 x i32> @llvm.hexagon.V6.lvsplatw.128B(i32 %[[A]])
// CHECK: %[[B:.*]] = load <128 x i8>, ptr
// CHECK: %[[BW:.*]] = bitcast <128 x i8> %[[B]] to <32 x i32>
// CHECK: call <32 x i32> @llvm.hexagon.V6.vrmpybusv.acc.128B(<32 x i32> %[[ACC]], <32 x i32> %{{.*}}, <32 x i32> %[[BW]])
// CHECK: store <32 x i32> %[[ACC]], ptr
// CHECK: declare <32 x i32> @llvm.hexagon.V6.vrmpybusv.acc.128B(<32 x i32>, <32 x i32>, <32 x i32>)

builtin.module {
  func.func @matmul(%0: memref<2x2xi32>, %1: memref<2x128xi8>, %2: memref<2x32xi32>) {
    %3 = arith.constant 0 : index
    %4 = arith.constant 32 : index
    %5 = arith.constant 0 : i32
    %6 = arith.constant 2 : index
    %7 = arith.constant 1 : index
    %8 = arith.constant 4 : index
    loop.for %9 = %3 to %4 step %4 parallel {
      %10 = hvx.lvsplatw %5 : (i32) -> vector<32xi32>
      loop.for %11 = %3 to %6 step %7 parallel {
        %12 = loop.for %13 = %3 to %6 step %7 iter_args(%14 = %10) -> (vector<32xi32>) {
          %15 = loop.load %0[%11, %13] : memref<2x2xi32>
          %16 = hvx.lvsplatw %15 : (i32) -> vector<32xi32>
          %17 = hvx.vcast %16 : vector<32xi32> to vector<128xi8>
          %18 = arith.muli %9, %8 : index
          %19 = loop.vload %1[%13, %18] : memref<2x128xi8>, vector<128xi8>
          %20 = hvx.vrmpybusv.acc %14, %17, %19 : (vector<32xi32>, vector<128xi8>, vector<128xi8>) -> vector<32xi32>
          loop.yield %20 : vector<32xi32>
        }
        loop.vstore %12, %2[%11, %9] : memref<2x32xi32>, vector<32xi32>
      }
    }
    func.return
  }
}
