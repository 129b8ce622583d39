// RUN: lamina-opt %s -p convert-graph-to-top --split-input-file --verify-diagnostics

// An op whose lowering takes static shapes only says so, naming the types.
func.func @pool(%x: tensor<1x3x?x?xf32>) -> tensor<1x3x1x1xf32> {
  // expected-error@+1 {{not supported: 'graph.global_max_pool': dynamic dims (tensor<1x3x?x?xf32>) in an op that is lowered at static shapes only; give the inputs static shapes (input_shapes= / --input-shape)}}
  %y = graph.global_max_pool %x : (tensor<1x3x?x?xf32>) -> tensor<1x3x1x1xf32>
  func.return %y : tensor<1x3x1x1xf32>
}

// -----

// A Resize of a dynamic tensor by a fractional scale: its sizes would be floor(h * 1.5).
func.func @resize(%x: tensor<1x3x?x?xf32>) -> tensor<1x3x?x?xf32> {
  %none = graph.none : none
  %scales = graph.constant dense<[1.0, 1.0, 1.5, 1.5]> : tensor<4xf32>
  // expected-error@+1 {{a Resize of a dynamic tensor by scales [1.0, 1.0, 1.5, 1.5] (integers only)}}
  %y = graph.resize %x, %none, %scales, %none : (tensor<1x3x?x?xf32>, none, tensor<4xf32>, none) -> tensor<1x3x?x?xf32>
  func.return %y : tensor<1x3x?x?xf32>
}
