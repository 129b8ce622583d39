// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-fold-constants}' | filecheck %s

// if(true) {relu x} else {neg x}  ->  relu x
// CHECK-LABEL: func.func @taken_then
// CHECK-NOT:     graph.if
// CHECK:         %[[R:.*]] = graph.relu %x
// CHECK-NEXT:    func.return %[[R]]
func.func @taken_then(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = graph.constant dense<true> : tensor<i1>
  %y = graph.if %c then_branch {
    %t = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else_branch {
    %e = graph.neg %x : (tensor<4xf32>) -> tensor<4xf32>
    graph.yield %e : tensor<4xf32>
  } : (tensor<i1>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// a shape test folds to false, then the else branch is inlined
// CHECK-LABEL: func.func @shape_test
// CHECK-NOT:     graph.if
// CHECK:         %[[N:.*]] = graph.neg %x
// CHECK-NEXT:    func.return %[[N]]
func.func @shape_test(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = graph.shape %x : (tensor<4xf32>) -> tensor<1xi64>
  %k = graph.constant dense<8> : tensor<1xi64>
  %eq = graph.equal %s, %k : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi1>
  %y = graph.if %eq then_branch {
    %t = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else_branch {
    %e = graph.neg %x : (tensor<4xf32>) -> tensor<4xf32>
    graph.yield %e : tensor<4xf32>
  } : (tensor<1xi1>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// a run-time condition stays
// CHECK-LABEL: func.func @run_time
// CHECK:         graph.if %c
func.func @run_time(%c: tensor<i1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %y = graph.if %c then_branch {
    %t = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else_branch {
    graph.yield %x : tensor<4xf32>
  } : (tensor<i1>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}
