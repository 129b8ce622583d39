// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @two_units
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[T:.*]] = part.transfer %[[X]] from "cpu" to "gpu" : tensor<4xf32>
// CHECK-NEXT: %{{.*}}, %[[S1:.*]] = part.segment "gpu"(%[[T]]) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT: ^{{.*}}(%[[A:.*]]: tensor<4xf32>):
// CHECK-NEXT:   %[[R:.*]] = graph.relu %[[A]] : tensor<4xf32>
// CHECK-NEXT:   %[[E:.*]] = graph.exp %[[A]] : tensor<4xf32>
// CHECK-NEXT:   part.yield %[[R]], %[[E]] : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[B:.*]] = part.transfer %[[S1]] from "gpu" to "cpu" : tensor<4xf32>
// CHECK-NEXT: func.return %[[B]] : tensor<4xf32>
func.func @two_units(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = part.transfer %x from "cpu" to "gpu" : tensor<4xf32>
  %1:2 = part.segment "gpu" (%0) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>):
    %r = graph.relu %a : tensor<4xf32>
    %e = graph.exp %a : tensor<4xf32>
    part.yield %r, %e : tensor<4xf32>, tensor<4xf32>
  }
  %2 = part.transfer %1#1 from "gpu" to "cpu" : tensor<4xf32>
  func.return %2 : tensor<4xf32>
}

// A segment without inputs (its weights are inside it).
// CHECK-LABEL: func.func @no_inputs
// CHECK: part.segment "dsp"() : () -> tensor<2xf32> {
// CHECK-NEXT: %[[C:.*]] = graph.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-NEXT: part.yield %[[C]] : tensor<2xf32>
func.func @no_inputs() -> tensor<2xf32> {
  %0 = part.segment "dsp" () : () -> tensor<2xf32> {
    %c = graph.constant dense<1.0> : tensor<2xf32>
    part.yield %c : tensor<2xf32>
  }
  %1 = part.transfer %0 from "dsp" to "cpu" : tensor<2xf32>
  func.return %1 : tensor<2xf32>
}
