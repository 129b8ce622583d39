// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-fold-constants}' | filecheck %s

// op(constants...) -> constant
// CHECK-LABEL: func.func @elementwise
// CHECK-NEXT:    %[[C:.*]] = graph.constant dense<[4.000000e+00, 9.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    func.return %[[C]]
func.func @elementwise() -> tensor<2xf32> {
  %a = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = graph.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %s = graph.add %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %m = graph.mul %s, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %r = graph.add %m, %s : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}

// The chain exporters emit to flatten: shape(x) -> gather -> unsqueeze -> concat -> reshape.
// shape(x) folds since x is static, the rest folds on constants, and the reshape to x's own
// type... is not a no-op here: it flattens.
// CHECK-LABEL: func.func @shape_chain
// CHECK-NEXT:    %[[S:.*]] = graph.constant dense<[2, 12]> : tensor<2xi64>
// CHECK-NEXT:    %[[R:.*]] = graph.reshape %x, %[[S]]
// CHECK-NEXT:    func.return %[[R]]
func.func @shape_chain(%x: tensor<2x3x4xf32>) -> tensor<2x12xf32> {
  %shape = graph.shape %x : (tensor<2x3x4xf32>) -> tensor<3xi64>
  %zero = graph.constant dense<0> : tensor<i64>
  %n = graph.gather %shape, %zero : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %axes = graph.constant dense<[0]> : tensor<1xi64>
  %n1 = graph.unsqueeze %n, %axes : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %rest = graph.constant dense<[12]> : tensor<1xi64>
  %target = graph.concat %n1, %rest {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %y = graph.reshape %x, %target : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x12xf32>
  func.return %y : tensor<2x12xf32>
}

// shape(x) with start/end and size(x) fold when x is static
// CHECK-LABEL: func.func @static_shape_and_size
// CHECK-DAG:     graph.constant dense<[3, 4]> : tensor<2xi64>
// CHECK-DAG:     graph.constant dense<24> : tensor<i64>
// CHECK-NOT:     graph.shape
// CHECK-NOT:     graph.size
func.func @static_shape_and_size(%x: tensor<2x3x4xf32>) -> (tensor<2xi64>, tensor<i64>) {
  %s = graph.shape %x {start = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2xi64>
  %n = graph.size %x : (tensor<2x3x4xf32>) -> tensor<i64>
  func.return %s, %n : tensor<2xi64>, tensor<i64>
}

// a dynamic shape does not fold
// CHECK-LABEL: func.func @dynamic_shape
// CHECK-NEXT:    graph.shape %x
func.func @dynamic_shape(%x: tensor<?x3xf32>) -> tensor<2xi64> {
  %s = graph.shape %x : (tensor<?x3xf32>) -> tensor<2xi64>
  func.return %s : tensor<2xi64>
}
