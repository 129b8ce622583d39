// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// loop.if -> a conditional branch to two blocks that meet again; loop.while -> a test
// block that branches to the body or out, the body branching back to the test.

func.func @main(%w: memref<0xi8>, %arena: memref<64xi8>, %c: memref<i1>, %n: memref<i64>, %y: memref<f32>)
    attributes {lamina.abi = "kernel-v1", lamina.num_outputs = 1 : i64} {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %step = arith.constant 1 : i64
  %start = arith.constant 0 : i64
  %i = loop.carve %arena[0] : memref<64xi8> -> memref<i64>
  %cv = loop.load %c[] : memref<i1>
  loop.if %cv {
    loop.store %one, %y[] : memref<f32>
    loop.end
  } else {
    loop.store %zero, %y[] : memref<f32>
    loop.end
  }
  loop.store %start, %i[] : memref<i64>
  loop.while {
    %iv = loop.load %i[] : memref<i64>
    %nv = loop.load %n[] : memref<i64>
    %go = arith.cmpi slt, %iv, %nv : i64
    loop.condition %go
  } do {
    %acc = loop.load %y[] : memref<f32>
    %twice = arith.addf %acc, %acc : f32
    loop.store %twice, %y[] : memref<f32>
    %iv = loop.load %i[] : memref<i64>
    %next = arith.addi %iv, %step : i64
    loop.store %next, %i[] : memref<i64>
    loop.end
  }
  func.return
}

// CHECK-LABEL: define void @main(
// CHECK:         %cv = load i1, ptr %c
// CHECK-NEXT:    br i1 %cv, label %if.then, label %if.else
// CHECK:       if.then:
// CHECK-NEXT:    store float 1.000000e+00, ptr %y
// CHECK-NEXT:    br label %if.end
// CHECK:       if.else:
// CHECK-NEXT:    store float 0.000000e+00, ptr %y
// CHECK-NEXT:    br label %if.end
// CHECK:       if.end:
// CHECK-NEXT:    store i64 0, ptr %arena
// CHECK-NEXT:    br label %while.test
// CHECK:       while.test:
// CHECK:         %go = icmp slt i64 %iv, %nv
// CHECK-NEXT:    br i1 %go, label %while.body, label %while.end
// CHECK:       while.body:
// CHECK:         %twice = fadd float %acc, %acc
// CHECK:         br label %while.test
// CHECK:       while.end:
// CHECK-NEXT:    ret void
