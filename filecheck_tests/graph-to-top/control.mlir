// RUN: lamina-opt %s --split-input-file -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s --split-input-file -p convert-graph-to-top | lamina-opt | filecheck %s

// If on a run-time condition: top.if with the lowered branches; the result type the
// branches agree on replaces the imported unranked one
// CHECK-LABEL: func.func @if_on_input
// CHECK:         %[[Y:.*]] = top.if %c : tensor<i1> -> (tensor<4xf32>) {
// CHECK:           %[[T:.*]] = top.generic
// CHECK:           top.region_yield %[[T]] : tensor<4xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:      top.region_yield %x : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK:         func.return %[[Y]] : tensor<4xf32>
func.func @if_on_input(%c: tensor<i1>, %x: tensor<4xf32>) -> tensor<*xf32> {
  %y = graph.if %c then_branch {
    %t = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    graph.yield %t : tensor<4xf32>
  } else_branch {
    graph.yield %x : tensor<4xf32>
  } : (tensor<i1>) -> tensor<*xf32>
  func.return %y : tensor<*xf32>
}

// -----

// Loop without a condition: the trip count stays, the condition is a constant true;
// the body's argument types come from the operands
// CHECK-LABEL: func.func @loop_sum
// CHECK:         %[[TRUE:.*]] = graph.constant dense<true> : tensor<i1>
// CHECK:         %[[R:.*]] = top.loop %m, %[[TRUE]] iter_args(%init) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> tensor<3xf32> {
// CHECK-NEXT:    ^{{.*}}(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
// CHECK:           top.region_yield %ci, %{{.*}} : tensor<i1>, tensor<3xf32>
func.func @loop_sum(%m: tensor<i64>, %init: tensor<3xf32>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %none = graph.none : none
  %r = graph.loop %m, %none, %init body {
  ^bb0(%i: tensor<*xi64>, %ci: tensor<*xi1>, %acc: tensor<*xf32>):
    %next = graph.add %acc, %x : (tensor<*xf32>, tensor<3xf32>) -> tensor<*xf32>
    graph.yield %ci, %next : tensor<*xi1>, tensor<*xf32>
  } : (tensor<i64>, none, tensor<3xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}

// -----

// Scan along axis 1 backwards: the input is transposed and reversed (a gather of
// constant indices), each iteration gathers row %i, the stacked outputs go back
// CHECK-LABEL: func.func @scan_reverse
// CHECK:         %[[T:.*]] = top.transpose %xs permutation [1, 0] : tensor<3x5xf32> -> tensor<5x3xf32>
// CHECK:         %[[REV:.*]] = top.gather %[[T]][%{{.*}}] axis 0 : (tensor<5x3xf32>, tensor<5xi64>) -> tensor<5x3xf32>
// CHECK:         %[[S:.*]], %[[OUT:.*]] = top.loop %{{.*}}, %{{.*}} iter_args(%init) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>, tensor<5x3xf32>) {
// CHECK-NEXT:    ^{{.*}}(%[[I:.*]]: tensor<i64>, %[[C:.*]]: tensor<i1>, %{{.*}}: tensor<3xf32>):
// CHECK-NEXT:      %{{.*}} = top.gather %[[REV]][%[[I]]] axis 0 : (tensor<5x3xf32>, tensor<i64>) -> tensor<3xf32>
// CHECK:           top.region_yield %[[C]], %{{.*}}, %{{.*}} : tensor<i1>, tensor<3xf32>, tensor<3xf32>
// CHECK:         top.transpose %[[OUT]] permutation [1, 0] : tensor<5x3xf32> -> tensor<3x5xf32>
func.func @scan_reverse(%init: tensor<3xf32>, %xs: tensor<3x5xf32>) -> (tensor<3xf32>, tensor<3x5xf32>) {
  %s, %o = graph.scan %init, %xs body {
  ^bb0(%s_in: tensor<3xf32>, %row: tensor<3xf32>):
    %s_out = graph.add %s_in, %row : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    graph.yield %s_out, %s_out : tensor<3xf32>, tensor<3xf32>
  } {num_scan_inputs = 1 : i64, scan_input_axes = array<i64: 1>, scan_input_directions = array<i64: 1>, scan_output_axes = array<i64: 1>} : (tensor<3xf32>, tensor<3x5xf32>) -> (tensor<3xf32>, tensor<3x5xf32>)
  func.return %s, %o : tensor<3xf32>, tensor<3x5xf32>
}

