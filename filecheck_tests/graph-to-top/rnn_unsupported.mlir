// RUN: lamina-opt %s -p convert-graph-to-top --split-input-file --verify-diagnostics

func.func @unknown_activation(%x: tensor<2x1x3xf32>, %w: tensor<1x2x3xf32>, %r: tensor<1x2x2xf32>) -> tensor<1x1x2xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.rnn': activation Gelu}}
  %y, %yh = graph.rnn %x, %w, %r, %n, %n, %n {hidden_size = 2 : i64, activations = ["Gelu"]} : (tensor<2x1x3xf32>, tensor<1x2x3xf32>, tensor<1x2x2xf32>, none, none, none) -> (none, tensor<1x1x2xf32>)
  func.return %yh : tensor<1x1x2xf32>
}

// -----

func.func @dynamic_sequence_length(%x: tensor<?x1x3xf32>, %w: tensor<1x2x3xf32>, %r: tensor<1x2x2xf32>) -> tensor<1x1x2xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.rnn': dynamic dims (tensor<?x1x3xf32>) in an op that is lowered at static shapes only}}
  %y, %yh = graph.rnn %x, %w, %r, %n, %n, %n {hidden_size = 2 : i64} : (tensor<?x1x3xf32>, tensor<1x2x3xf32>, tensor<1x2x2xf32>, none, none, none) -> (none, tensor<1x1x2xf32>)
  func.return %yh : tensor<1x1x2xf32>
}

// -----

func.func @direction_mismatch(%x: tensor<2x1x3xf32>, %w: tensor<1x2x3xf32>, %r: tensor<1x2x2xf32>) -> tensor<2x1x2xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.rnn': W tensor<1x2x3xf32> for direction bidirectional}}
  %y, %yh = graph.rnn %x, %w, %r, %n, %n, %n {hidden_size = 2 : i64, direction = "bidirectional"} : (tensor<2x1x3xf32>, tensor<1x2x3xf32>, tensor<1x2x2xf32>, none, none, none) -> (none, tensor<2x1x2xf32>)
  func.return %yh : tensor<2x1x2xf32>
}
