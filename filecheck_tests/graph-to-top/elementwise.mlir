// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt | filecheck %s

// add(a, b) with numpy broadcasting -> one parallel generic; the stretched size-1 dim reads 0
// CHECK-LABEL: func.func @add_broadcast
// CHECK-SAME: (%[[A:.*]]: tensor<2x3x4xf32>, %[[B:.*]]: tensor<3x1xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = top.fill %[[ZERO]] : f32 -> tensor<2x3x4xf32>
// CHECK: %[[R:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<2x3x4xf32>, tensor<3x1xf32>) outs(%[[INIT]] : tensor<2x3x4xf32>) {
// CHECK-NEXT: ^{{.*}}(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK-NEXT:   top.yield %[[S]] : f32
// CHECK-NEXT: } -> tensor<2x3x4xf32>
// CHECK: func.return %[[R]]
// CHECK-NOT: graph.
func.func @add_broadcast(%a: tensor<2x3x4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %r = graph.add %a, %b : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  func.return %r : tensor<2x3x4xf32>
}

// relu(x) = max(x, 0)
// CHECK-LABEL: func.func @relu
// CHECK: top.generic
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: arith.maximumf %{{.*}}, %[[Z]] : f32
func.func @relu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// sum(a, b, c) folds left: (a + b) + c
// CHECK-LABEL: func.func @sum_variadic
// CHECK: top.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: ^{{.*}}(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[AB:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK-NEXT: %[[ABC:.*]] = arith.addf %[[AB]], %[[C]] : f32
// CHECK-NEXT: top.yield %[[ABC]] : f32
func.func @sum_variadic(%a: tensor<4xf32>, %b: tensor<4xf32>, %c: tensor<4xf32>) -> tensor<4xf32> {
  %r = graph.sum %a, %b, %c : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// clip(x, min, max) with 0-D bounds: they are generic inputs read through empty maps
// CHECK-LABEL: func.func @clip
// CHECK: top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>]
// CHECK: arith.maximumf
// CHECK-NEXT: arith.minimumf
func.func @clip(%x: tensor<4xf32>, %lo: tensor<f32>, %hi: tensor<f32>) -> tensor<4xf32> {
  %r = graph.clip %x, %lo, %hi : (tensor<4xf32>, tensor<f32>, tensor<f32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// where(less(a, b), a, b): an i1 generic, then a select
// CHECK-LABEL: func.func @where_less
// CHECK: %[[C:.*]] = top.generic
// CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: top.yield %{{.*}} : i1
// CHECK-NEXT: } -> tensor<4xi1>
// CHECK: top.generic {{.*}} ins(%[[C]], %{{.*}}, %{{.*}} : tensor<4xi1>, tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.select
func.func @where_less(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %c = graph.less %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %r = graph.where %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// cast f32 -> i64 truncates toward zero
// CHECK-LABEL: func.func @cast
// CHECK: arith.fptosi %{{.*}} : f32 to i64
// CHECK: } -> tensor<4xi64>
func.func @cast(%x: tensor<4xf32>) -> tensor<4xi64> {
  %r = graph.cast %x {to = 7 : i64} : (tensor<4xf32>) -> tensor<4xi64>
  func.return %r : tensor<4xi64>
}

// sigmoid(x) = 1 / (1 + exp(-x))
// CHECK-LABEL: func.func @sigmoid
// CHECK: arith.negf
// CHECK-NEXT: math.exp
// CHECK-NEXT: arith.addf
// CHECK-NEXT: arith.divf
func.func @sigmoid(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = graph.sigmoid %x : (tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}
