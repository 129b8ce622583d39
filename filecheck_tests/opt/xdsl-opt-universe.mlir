// Plain xdsl-opt from the same environment knows lamina's dialects and passes through
// the `xdsl.universe` entry point.
// RUN: xdsl-opt %s | filecheck %s
// RUN: xdsl-opt %s -p convert-graph-to-top | filecheck %s --check-prefix=TOP

// CHECK-LABEL: func.func @relu
// CHECK: graph.relu %{{.*}} : tensor<2xf32>
// TOP-LABEL: func.func @relu
// TOP: top.generic
func.func @relu(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = graph.relu %x : tensor<2xf32>
  func.return %y : tensor<2xf32>
}
