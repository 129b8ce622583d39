// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// Threads (the device has 2 cores) for an outer parallel loop of 3 iterations whose body is
// one parallel loop of 64: the pool's chunks divide the inner loop (32 + 32 iterations,
// not 2 + 1), and each chunk runs all 3 outer iterations over its part of the inner one.

func.func @main(%w: memref<64xi8>, %arena: memref<64xi8>, %x: memref<3x64x512xf32>,
                %y: memref<3x64x512xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  loop.for %i = %c0 to %c3 step %c1 parallel {
    loop.for %j = %c0 to %c64 step %c1 parallel {
      loop.for %k = %c0 to %c512 step %c1 {
        %v = loop.load %x[%i, %j, %k] : memref<3x64x512xf32>
        %d = arith.addf %v, %v : f32
        loop.store %d, %y[%i, %j, %k] : memref<3x64x512xf32>
      }
    }
  }
  func.return
}

// CHECK:      define void @main(
// CHECK:        call void @lamina.parallel_for(ptr @main.par0, i64 64, ptr %captures, i32 2)
// CHECK:      define internal void @main.par0.impl(i64 %.1, i64 %.2,
// CHECK:        %[[BEGIN:.+]] = add i64 0, %{{.+}}
// CHECK:        %[[END:.+]] = select i1 %{{.+}}, i64 %{{.+}}, i64 64
// CHECK:      i.header:
// CHECK-NEXT:   %i = phi i64 [ 0, %start ], [ %i.next, %j.exit ]
// CHECK-NEXT:   %i.cond = icmp slt i64 %i, 3
// CHECK:      j.header:
// CHECK-NEXT:   %j = phi i64 [ %[[BEGIN]], %i.body ], [ %j.next, %k.exit ]
// CHECK-NEXT:   %j.cond = icmp slt i64 %j, %[[END]]
