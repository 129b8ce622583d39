// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// The per-nest cost model (codegen/llvm_parallel_cost.py) on a 2-core device with the
// default thread costs (4 us handoff, 4 ops per ns): 16 x 64 elements (3 ops each, ~0.8 us)
// stay serial; 256 x 1024 (~200 us) are split over the pool; a loop of run-time trips goes
// to the pool only from 167 trips of its 64-element body (48 ns alone, 24 ns on two
// threads: 4000 / 24 rounded up), else runs with 1 thread.

func.func @small(%x: memref<16x64xf32>, %y: memref<16x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  loop.for %i = %c0 to %c16 step %c1 parallel {
    loop.for %j = %c0 to %c64 step %c1 {
      %v = loop.load %x[%i, %j] : memref<16x64xf32>
      %d = arith.addf %v, %v : f32
      loop.store %d, %y[%i, %j] : memref<16x64xf32>
    }
  }
  func.return
}

// CHECK-LABEL: define void @small(
// CHECK-NOT:     lamina.parallel_for
// CHECK:         ret void

func.func @large(%x: memref<256x1024xf32>, %y: memref<256x1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %c1024 = arith.constant 1024 : index
  loop.for %i = %c0 to %c256 step %c1 parallel {
    loop.for %j = %c0 to %c1024 step %c1 {
      %v = loop.load %x[%i, %j] : memref<256x1024xf32>
      %d = arith.addf %v, %v : f32
      loop.store %d, %y[%i, %j] : memref<256x1024xf32>
    }
  }
  func.return
}

// CHECK-LABEL: define void @large(
// CHECK:         call void @lamina.parallel_for(ptr @large.par0, i64 256, ptr %captures, i32 2)

func.func @bounded(%x: memref<4096x64xf32>, %y: memref<4096x64xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  loop.for %i = %c0 to %n step %c1 parallel {
    loop.for %j = %c0 to %c64 step %c1 {
      %v = loop.load %x[%i, %j] : memref<4096x64xf32>
      %d = arith.addf %v, %v : f32
      loop.store %d, %y[%i, %j] : memref<4096x64xf32>
    }
  }
  func.return
}

// CHECK-LABEL: define void @bounded(
// CHECK:         %[[TRIPS:.+]] = udiv i64
// CHECK:         %[[ENOUGH:.+]] = icmp uge i64 %[[TRIPS]], 167
// CHECK:         %[[THREADS:.+]] = select i1 %[[ENOUGH]], i32 2, i32 1
// CHECK:         call void @lamina.parallel_for(ptr @bounded.par0, i64 %[[TRIPS]], ptr %captures, i32 %[[THREADS]])
