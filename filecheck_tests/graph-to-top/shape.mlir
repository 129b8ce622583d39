// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt | filecheck %s

// reshape with a constant shape (0 and -1): the static result type is the new shape;
// the shape constant, now unused, is erased
// CHECK-LABEL: func.func @reshape
// CHECK-NEXT: %[[R:.*]] = top.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<2x12xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @reshape(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %s = graph.constant dense<[0, -1]> : tensor<2xi64>
  %y = graph.reshape %x, %s : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
  func.return %y : tensor<2x12xf32>
}

// CHECK-LABEL: func.func @flatten_unsqueeze_squeeze
// CHECK: top.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<2x12xf32>
// CHECK: top.reshape %{{.*}} : tensor<2x12xf32> -> tensor<2x1x12xf32>
// CHECK: top.reshape %{{.*}} : tensor<2x1x12xf32> -> tensor<2x12xf32>
func.func @flatten_unsqueeze_squeeze(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %f = graph.flatten %x : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %axes = graph.constant dense<[1]> : tensor<1xi64>
  %u = graph.unsqueeze %f, %axes : (tensor<2x12xf32>, tensor<1xi64>) -> tensor<2x1x12xf32>
  %s = graph.squeeze %u, %axes : (tensor<2x1x12xf32>, tensor<1xi64>) -> tensor<2x12xf32>
  func.return %s : tensor<2x12xf32>
}

// identity and inference dropout are their input
// CHECK-LABEL: func.func @identity_dropout
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: func.return %[[X]]
func.func @identity_dropout(%x: tensor<4xf32>) -> tensor<4xf32> {
  %n = graph.none : none
  %i = graph.identity %x : (tensor<4xf32>) -> tensor<4xf32>
  %d, %mask = graph.dropout %i, %n, %n : (tensor<4xf32>, none, none) -> (tensor<4xf32>, none)
  func.return %d : tensor<4xf32>
}

// CHECK-LABEL: func.func @concat_negative_axis
// CHECK: top.concat %{{.*}}, %{{.*}} axis 1 : (tensor<1x2x3xf32>, tensor<1x4x3xf32>) -> tensor<1x6x3xf32>
func.func @concat_negative_axis(%a: tensor<1x2x3xf32>, %b: tensor<1x4x3xf32>) -> tensor<1x6x3xf32> {
  %c = graph.concat %a, %b {axis = -2 : i64} : (tensor<1x2x3xf32>, tensor<1x4x3xf32>) -> tensor<1x6x3xf32>
  func.return %c : tensor<1x6x3xf32>
}

// transpose without perm reverses the dims
// CHECK-LABEL: func.func @transpose_default
// CHECK: top.transpose %{{.*}} permutation [2, 1, 0] : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
func.func @transpose_default(%x: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  %t = graph.transpose %x : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  func.return %t : tensor<4x3x2xf32>
}

// slice x[1:, ::2] with constant starts / ends / steps
// CHECK-LABEL: func.func @slice
// CHECK: top.slice %{{.*}} offsets [1, 0] strides [1, 2] : tensor<3x6xf32> -> tensor<2x3xf32>
func.func @slice(%x: tensor<3x6xf32>) -> tensor<2x3xf32> {
  %starts = graph.constant dense<[1, 0]> : tensor<2xi64>
  %ends = graph.constant dense<[3, 6]> : tensor<2xi64>
  %axes = graph.constant dense<[0, 1]> : tensor<2xi64>
  %steps = graph.constant dense<[1, 2]> : tensor<2xi64>
  %y = graph.slice %x, %starts, %ends, %axes, %steps : (tensor<3x6xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @pad_constant_value
// CHECK: %[[V:.*]] = arith.constant 1.500000e+00 : f32
// CHECK: top.pad constant %{{.*}} value %[[V]] low [0, 1] high [0, 2] : (tensor<2x3xf32>, f32) -> tensor<2x6xf32>
func.func @pad_constant_value(%x: tensor<2x3xf32>) -> tensor<2x6xf32> {
  %pads = graph.constant dense<[0, 1, 0, 2]> : tensor<4xi64>
  %v = graph.constant dense<1.5> : tensor<f32>
  %n = graph.none : none
  %y = graph.pad %x, %pads, %v, %n : (tensor<2x3xf32>, tensor<4xi64>, tensor<f32>, none) -> tensor<2x6xf32>
  func.return %y : tensor<2x6xf32>
}

// CHECK-LABEL: func.func @gather
// CHECK: top.gather %{{.*}}[%{{.*}}] axis 1 : (tensor<3x5xf32>, tensor<2xi64>) -> tensor<3x2xf32>
func.func @gather(%x: tensor<3x5xf32>, %i: tensor<2xi64>) -> tensor<3x2xf32> {
  %y = graph.gather %x, %i {axis = -1 : i64} : (tensor<3x5xf32>, tensor<2xi64>) -> tensor<3x2xf32>
  func.return %y : tensor<3x2xf32>
}

// shape of a static tensor folds to a constant
// CHECK-LABEL: func.func @shape
// CHECK-NEXT: %[[S:.*]] = graph.constant dense<[2, 3]> : tensor<2xi64>
// CHECK-NEXT: func.return %[[S]]
func.func @shape(%x: tensor<2x3xf32>) -> tensor<2xi64> {
  %s = graph.shape %x : (tensor<2x3xf32>) -> tensor<2xi64>
  func.return %s : tensor<2xi64>
}

// CHECK-LABEL: func.func @expand
// CHECK: top.broadcast %{{.*}} : tensor<3x1xf32> -> tensor<2x3x4xf32>
func.func @expand(%x: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %s = graph.constant dense<[2, 3, 4]> : tensor<3xi64>
  %y = graph.expand %x, %s : (tensor<3x1xf32>, tensor<3xi64>) -> tensor<2x3x4xf32>
  func.return %y : tensor<2x3x4xf32>
}

// split into [1, 3] along axis 1: one slice per output
// CHECK-LABEL: func.func @split
// CHECK: top.slice %{{.*}} offsets [0, 0] strides [1, 1] : tensor<2x4xf32> -> tensor<2x1xf32>
// CHECK: top.slice %{{.*}} offsets [0, 1] strides [1, 1] : tensor<2x4xf32> -> tensor<2x3xf32>
func.func @split(%x: tensor<2x4xf32>) -> (tensor<2x1xf32>, tensor<2x3xf32>) {
  %s = graph.constant dense<[1, 3]> : tensor<2xi64>
  %a, %b = graph.split %x, %s {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2xi64>) -> (tensor<2x1xf32>, tensor<2x3xf32>)
  func.return %a, %b : tensor<2x1xf32>, tensor<2x3xf32>
}
