// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// arg_max(x, axis 1): one generic reducing d1 into (best value, its index); positions come
// from an iota constant; the best value starts as x[:, 0]
// CHECK-LABEL: func.func @arg_max
// CHECK: %[[FIRST:.*]] = top.slice %{{.*}} offsets [0, 0] strides [1, 1] : tensor<3x5xf32> -> tensor<3x1xf32>
// CHECK: %[[BEST:.*]] = top.reshape %[[FIRST]] : tensor<3x1xf32> -> tensor<3xf32>
// CHECK: %[[INDEX:.*]] = top.fill %{{.*}} : i64 -> tensor<3xi64>
// CHECK: %[[IOTA:.*]] = graph.constant dense<[0, 1, 2, 3, 4]> : tensor<5xi64>
// CHECK: %{{.*}}, %[[R:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%{{.*}}, %[[IOTA]] : tensor<3x5xf32>, tensor<5xi64>) outs(%[[BEST]], %[[INDEX]] : tensor<3xf32>, tensor<3xi64>)
// CHECK: %[[GT:.*]] = arith.cmpf ogt
// CHECK: arith.select %[[GT]]
// CHECK: func.return %[[R]] : tensor<3xi64>
func.func @arg_max(%x: tensor<3x5xf32>) -> tensor<3xi64> {
  %r = graph.arg_max %x {axis = 1 : i64, keepdims = 0 : i64} : (tensor<3x5xf32>) -> tensor<3xi64>
  func.return %r : tensor<3xi64>
}

// trilu(x) upper: keep x[i, j] where j - i >= 0
// CHECK-LABEL: func.func @trilu
// CHECK: %[[ROWS:.*]] = graph.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
// CHECK: %[[COLS:.*]] = graph.constant dense<[0, 1, 2, 3, 4]> : tensor<5xi64>
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %[[ROWS]], %[[COLS]] : tensor<4x5xf32>, tensor<4xi64>, tensor<5xi64>)
// CHECK: ^{{.*}}(%[[X:.*]]: f32, %[[I:.*]]: i64, %[[J:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[D:.*]] = arith.subi %[[J]], %[[I]] : i64
// CHECK: %[[KEEP:.*]] = arith.cmpi sge, %[[D]], %{{.*}} : i64
// CHECK: arith.select %[[KEEP]], %[[X]], %{{.*}} : f32
func.func @trilu(%x: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %n = graph.none : none
  %r = graph.trilu %x, %n {upper = 1 : i64} : (tensor<4x5xf32>, none) -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}

// unsigned elements: arith is signless, so the body bitcasts in and out and divides unsigned
// CHECK-LABEL: func.func @div_uint8
// CHECK: %[[Z:.*]] = arith.constant 0 : i8
// CHECK: %[[ZU:.*]] = arith.bitcast %[[Z]] : i8 to ui8
// CHECK: top.fill %[[ZU]] : ui8 -> tensor<4xui8>
// CHECK: ^{{.*}}(%[[A:.*]]: ui8, %[[B:.*]]: ui8, %{{.*}}: ui8):
// CHECK-NEXT: %[[SA:.*]] = arith.bitcast %[[A]] : ui8 to i8
// CHECK-NEXT: %[[SB:.*]] = arith.bitcast %[[B]] : ui8 to i8
// CHECK-NEXT: %[[Q:.*]] = arith.divui %[[SA]], %[[SB]] : i8
// CHECK-NEXT: %[[QU:.*]] = arith.bitcast %[[Q]] : i8 to ui8
// CHECK-NEXT: top.yield %[[QU]] : ui8
func.func @div_uint8(%a: tensor<4xui8>, %b: tensor<4xui8>) -> tensor<4xui8> {
  %r = graph.div %a, %b : tensor<4xui8>
  func.return %r : tensor<4xui8>
}

// nll_loss(x, t), reduction sum: a generic reducing the class dim keeps -x[n, t[n]], then a
// top.reduce sum
// CHECK-LABEL: func.func @nll_loss
// CHECK: %[[IOTA:.*]] = graph.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
// CHECK: %[[LOSS:.*]], %{{.*}} = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%{{.*}}, %{{.*}}, %[[IOTA]] : tensor<3x4xf32>, tensor<3xi64>, tensor<4xi64>)
// CHECK: ^{{.*}}(%[[X:.*]]: f32, %[[T:.*]]: i64, %[[C:.*]]: i64, %{{.*}}: f32, %{{.*}}: f32):
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[C]], %[[T]] : i64
// CHECK: arith.negf
// CHECK: %[[S:.*]] = top.reduce sum %[[LOSS]] axes [0] : tensor<3xf32> -> tensor<f32>
// CHECK: func.return %[[S]] : tensor<f32>
func.func @nll_loss(%x: tensor<3x4xf32>, %t: tensor<3xi64>) -> tensor<f32> {
  %n = graph.none : none
  %r = graph.negative_log_likelihood_loss %x, %t, %n {reduction = "sum"} : (tensor<3x4xf32>, tensor<3xi64>, none) -> tensor<f32>
  func.return %r : tensor<f32>
}

// mod(a, b) on integers, fmod 0: the remainder takes the divisor's sign
// CHECK-LABEL: func.func @mod_int
// CHECK: %[[REM:.*]] = arith.remsi %[[A:.*]], %[[B:.*]] : i32
// CHECK: %[[FIX:.*]] = arith.addi %[[REM]], %[[B]] : i32
// CHECK: arith.select %{{.*}}, %[[FIX]], %[[REM]] : i32
func.func @mod_int(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %r = graph.mod %a, %b : tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// reduce_mean whose result import left dynamic: refined from the constant axes first
// CHECK-LABEL: func.func @refined_reduce
// CHECK: top.reduce mean %{{.*}} axes [1] keepdims : tensor<2x3xf32> -> tensor<2x1xf32>
func.func @refined_reduce(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %axes = graph.constant dense<[1]> : tensor<1xi64>
  %m = graph.reduce_mean %x, %axes : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<?x?xf32>
  %r = graph.identity %m : (tensor<?x?xf32>) -> tensor<2x1xf32>
  func.return %r : tensor<2x1xf32>
}
