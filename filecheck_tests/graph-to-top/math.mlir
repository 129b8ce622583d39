// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// atan(x) from ops every back end has: |x|, two range reductions chosen by select, Cephes'
// polynomial in z = r^2, the sign of x put back
// CHECK-LABEL: func.func @atan
// CHECK: top.generic
// CHECK: ^{{.*}}(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[T:.*]] = math.absf %[[X]] : f32
// CHECK: %[[BIG:.*]] = arith.cmpf ogt, %[[T]], %{{.*}} : f32
// CHECK: %[[MID:.*]] = arith.cmpf ogt, %[[T]], %{{.*}} : f32
// CHECK: %[[R1:.*]] = arith.select %[[MID]], %{{.*}}, %[[T]] : f32
// CHECK: %[[R:.*]] = arith.select %[[BIG]], %{{.*}}, %[[R1]] : f32
// CHECK: %[[Z:.*]] = arith.mulf %[[R]], %[[R]] : f32
// CHECK: %[[NEG:.*]] = arith.cmpf olt, %[[X]], %{{.*}} : f32
// CHECK: arith.select %[[NEG]]
// CHECK-NOT: math.atan
// CHECK-NOT: graph.
func.func @atan(%x: tensor<8xf32>) -> tensor<8xf32> {
  %r = graph.atan %x : (tensor<8xf32>) -> tensor<8xf32>
  func.return %r : tensor<8xf32>
}

// bitwise_not(x) on ui8: the body works on signless i8 and xors with all ones
// CHECK-LABEL: func.func @bitwise_not
// CHECK: ^{{.*}}(%[[X:.*]]: ui8, %{{.*}}: ui8):
// CHECK: %[[S:.*]] = arith.bitcast %[[X]] : ui8 to i8
// CHECK: %[[ONES:.*]] = arith.constant -1 : i8
// CHECK: %[[N:.*]] = arith.xori %[[S]], %[[ONES]] : i8
// CHECK: %[[U:.*]] = arith.bitcast %[[N]] : i8 to ui8
// CHECK: top.yield %[[U]] : ui8
func.func @bitwise_not(%x: tensor<5xui8>) -> tensor<5xui8> {
  %r = graph.bitwise_not %x : (tensor<5xui8>) -> tensor<5xui8>
  func.return %r : tensor<5xui8>
}

// is_nan(x): the unordered compare of x with itself
// CHECK-LABEL: func.func @is_nan
// CHECK: ^{{.*}}(%[[X:.*]]: f32, %{{.*}}: i1):
// CHECK: %[[N:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// CHECK: top.yield %[[N]] : i1
func.func @is_nan(%x: tensor<5xf32>) -> tensor<5xi1> {
  %r = graph.is_nan %x : (tensor<5xf32>) -> tensor<5xi1>
  func.return %r : tensor<5xi1>
}
