// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p convert-top-to-loop

func.func @graph_op_left(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{not supported: 'graph.relu' on tensors has no lowering to loops}}
  %b = graph.relu %a : (tensor<4xf32>) -> tensor<4xf32>
  func.return %b : tensor<4xf32>
}

// -----

// expected-error@+1 {{not supported: 'func.func' on tensor<?xf32>: only tensors of static shape bufferize}}
func.func @dynamic(%a: tensor<?xf32>) -> tensor<?xf32> {
  %t = top.transpose %a permutation [0] : tensor<?xf32> -> tensor<?xf32>
  func.return %t : tensor<?xf32>
}
