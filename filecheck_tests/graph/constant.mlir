// graph.constant: small values print inline as dense<...>; weights are dense_resource blobs
// whose bytes print only with --print-weights.
// RUN: lamina-opt %s | filecheck %s --check-prefixes=CHECK,ELIDED
// RUN: lamina-opt %s | lamina-opt --print-weights | filecheck %s --check-prefixes=CHECK,ELIDED
// RUN: lamina-opt %s --print-weights | lamina-opt --print-weights | filecheck %s --check-prefixes=CHECK,WEIGHTS
// RUN: lamina-opt %s --print-weights --print-op-generic | lamina-opt --print-weights | filecheck %s --check-prefixes=CHECK,WEIGHTS

// CHECK-LABEL: func.func @dense
func.func @dense() -> (tensor<2xf32>, tensor<2x2xi64>, tensor<3xi1>, tensor<f16>, tensor<4xf32>) {
  // CHECK: %{{.*}} = graph.constant dense<[1.000000e+00, 2.500000e+00]> : tensor<2xf32>
  %a = graph.constant dense<[1.0, 2.5]> : tensor<2xf32>
  // CHECK: %{{.*}} = graph.constant dense<{{\[\[}}1, 2], [3, -4]]> : tensor<2x2xi64>
  %b = graph.constant dense<[[1, 2], [3, -4]]> : tensor<2x2xi64>
  // CHECK: %{{.*}} = graph.constant dense<[true, false, true]> : tensor<3xi1>
  %c = graph.constant dense<[true, false, true]> : tensor<3xi1>
  // CHECK: %{{.*}} = graph.constant dense<5.000000e-01> : tensor<f16>
  %d = graph.constant dense<0.5> : tensor<f16>
  // CHECK: %{{.*}} = graph.constant dense<0.000000e+00> : tensor<4xf32>
  %e = graph.constant dense<0.0> : tensor<4xf32>
  func.return %a, %b, %c, %d, %e : tensor<2xf32>, tensor<2x2xi64>, tensor<3xi1>, tensor<f16>, tensor<4xf32>
}

// CHECK-LABEL: func.func @weights
func.func @weights() -> (tensor<2x2xf32>, none) {
  // CHECK: %{{.*}} = graph.constant dense_resource<conv1.weight> : tensor<2x2xf32>
  %w = graph.constant dense_resource<conv1.weight> : tensor<2x2xf32>
  // CHECK: %{{.*}} = graph.none : none
  %n = graph.none : none
  func.return %w, %n : tensor<2x2xf32>, none
}

// ELIDED-NOT: dialect_resources
// WEIGHTS:      dialect_resources: {
// WEIGHTS-NEXT:   builtin: {
// WEIGHTS-NEXT:     conv1.weight: "0x040000000000803f000000400000404000008040"
{-#
  dialect_resources: {
    builtin: {
      conv1.weight: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
