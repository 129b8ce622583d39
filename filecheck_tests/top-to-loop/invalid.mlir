// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p convert-top-to-loop

func.func @graph_op_left(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{not supported: 'graph.relu' on tensors has no lowering to loops}}
  %b = graph.relu %a : (tensor<4xf32>) -> tensor<4xf32>
  func.return %b : tensor<4xf32>
}

// -----

// A dynamic result whose dims bufferization cannot derive from its producer's operands.
func.func @dynamic(%a: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error@+1 {{not supported: the dynamic dims of a 'top.pad' result (tensor<?xf32>)}}
  %t = top.pad constant %a low [1] high [1] : (tensor<?xf32>) -> tensor<?xf32>
  %u = top.transpose %t permutation [0] : tensor<?xf32> -> tensor<?xf32>
  func.return %u : tensor<?xf32>
}
