// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p 'graph-partition{soc=phone}'

// The phone has no unit for f64 tensors.
func.func @f64(%x: tensor<4xf64>) -> tensor<4xf64> {
  // expected-error@+1 {{not supported: relu (Relu) on f64 on any unit of SoC 'phone'}}
  %0 = graph.relu %x : tensor<4xf64> loc("relu")
  func.return %0 : tensor<4xf64>
}
