// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @select
// CHECK:         loop.if %{{.*}} {
// CHECK-NEXT:      loop.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK-NEXT:      loop.end
// CHECK-NEXT:    } else {
// CHECK-NEXT:      loop.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK-NEXT:      loop.end
// CHECK-NEXT:    }
func.func @select(%c: i1, %a: f32, %b: f32, %y: memref<f32>) {
  loop.if %c {
    loop.store %a, %y[] : memref<f32>
    loop.end
  } else {
    loop.store %b, %y[] : memref<f32>
    loop.end
  }
  func.return
}

// CHECK-LABEL: func.func @count
// CHECK:         loop.while {
// CHECK-NEXT:      %[[I:.*]] = loop.load %{{.*}}[] : memref<i64>
// CHECK-NEXT:      %[[GO:.*]] = arith.cmpi slt, %[[I]], %{{.*}} : i64
// CHECK-NEXT:      loop.condition %[[GO]]
// CHECK-NEXT:    } do {
// CHECK:           loop.store %{{.*}}, %{{.*}}[] : memref<i64>
// CHECK-NEXT:      loop.end
// CHECK-NEXT:    }
func.func @count(%n: i64, %counter: memref<i64>) {
  loop.while {
    %i = loop.load %counter[] : memref<i64>
    %go = arith.cmpi slt, %i, %n : i64
    loop.condition %go
  } do {
    %i = loop.load %counter[] : memref<i64>
    %one = arith.constant 1 : i64
    %next = arith.addi %i, %one : i64
    loop.store %next, %counter[] : memref<i64>
    loop.end
  }
  func.return
}
