// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// A 2-D loop nest with hints, carves and an iter_args reduction, in the kernel ABI.

func.func @main(%w: memref<4096xi8>, %arena: memref<1024xi8>, %x: memref<8x32xf32>,
                %y: memref<8xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  %b = loop.carve %w[1024] : memref<4096xi8> -> memref<32xf32>
  loop.for %i = %c0 to %c8 step %c1 parallel {
    %s = loop.for %j = %c0 to %c32 step %c1 unroll 4 vector 16 iter_args(%acc = %zero) -> (f32) {
      %v = loop.load %x[%i, %j] : memref<8x32xf32>
      %k = loop.load %b[%j] : memref<32xf32>
      %p = arith.mulf %v, %k fastmath<contract> : f32
      %n = arith.addf %acc, %p fastmath<reassoc,contract> : f32
      loop.yield %n : f32
    }
    loop.store %s, %y[%i] : memref<8xf32>
  }
  func.return
}

// CHECK:      target triple = "x86_64-unknown-linux-gnu"
// CHECK-LABEL: define void @main(ptr noalias nofree align 64 %w, ptr noalias nofree align 64 %arena, ptr noalias nofree %x, ptr noalias nofree %y)
// CHECK:        %b = getelementptr inbounds i8, ptr %w, i64 1024
// CHECK:      i.header:
// CHECK-NEXT:   %i = phi i64 [ 0, %start ], [ %i.next, %j.exit ]
// CHECK-NEXT:   %i.cond = icmp slt i64 %i, 8
// CHECK:      j.header:
// CHECK-NEXT:   %j = phi i64 [ 0, %i.body ], [ %j.next, %j.body ]
// CHECK-NEXT:   %acc = phi float [ 0.000000e+00, %i.body ], [ %[[N:.*]], %j.body ]
// CHECK:      j.body:
// CHECK-NEXT:   %[[ROW:.*]] = mul nsw i64 %i, 32
// CHECK-NEXT:   %[[LIN:.*]] = add nsw i64 %[[ROW]], %j
// CHECK-NEXT:   %[[XP:.*]] = getelementptr inbounds float, ptr %x, i64 %[[LIN]]
// CHECK-NEXT:   %v = load float, ptr %[[XP]], align 4, !llvm.access.group ![[GROUP:[0-9]+]]
// CHECK-NEXT:   %[[BP:.*]] = getelementptr inbounds float, ptr %b, i64 %j
// CHECK-NEXT:   %k = load float, ptr %[[BP]], align 4, !llvm.access.group ![[GROUP]]
// CHECK-NEXT:   %p = fmul contract float %v, %k
// CHECK-NEXT:   %[[N]] = fadd reassoc contract float %acc, %p
// CHECK-NEXT:   %j.next = add nsw i64 %j, 1
// CHECK-NEXT:   br label %j.header, !llvm.loop ![[JLOOP:[0-9]+]]
// CHECK:      j.exit:
// CHECK:        store float %acc, ptr %{{.*}}, align 4, !llvm.access.group ![[GROUP]]
// CHECK:        br label %i.header, !llvm.loop ![[ILOOP:[0-9]+]]
// CHECK:        ret void

// CHECK-DAG:  ![[GROUP]] = distinct !{}
// CHECK-DAG:  ![[JLOOP]] = distinct !{![[JLOOP]], ![[UNROLL:[0-9]+]], ![[WIDTH:[0-9]+]], ![[ENABLE:[0-9]+]]}
// CHECK-DAG:  ![[UNROLL]] = !{!"llvm.loop.unroll.count", i32 4}
// CHECK-DAG:  ![[WIDTH]] = !{!"llvm.loop.vectorize.width", i32 16}
// CHECK-DAG:  ![[ENABLE]] = !{!"llvm.loop.vectorize.enable", i1 true}
// CHECK-DAG:  ![[ILOOP]] = distinct !{![[ILOOP]], ![[PAR:[0-9]+]]}
// CHECK-DAG:  ![[PAR]] = !{!"llvm.loop.parallel_accesses", ![[GROUP]]}
