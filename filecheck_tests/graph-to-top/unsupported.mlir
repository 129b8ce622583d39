// RUN: lamina-opt %s -p convert-graph-to-top --split-input-file --verify-diagnostics

func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error@+1 {{not supported: 'graph.relu': dynamic shape tensor<?x4xf32>}}
  %y = graph.relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  func.return %y : tensor<?x4xf32>
}

// -----

func.func @no_lowering(%x: tensor<3x3xf32>) -> tensor<3x3xf32> {
  // expected-error@+1 {{not supported: 'graph.bernoulli': no lowering to the top dialect}}
  %y = graph.bernoulli %x : (tensor<3x3xf32>) -> tensor<3x3xf32>
  func.return %y : tensor<3x3xf32>
}

// -----

func.func @arg_max_bad_result(%x: tensor<4xf32>) -> tensor<4xi64> {
  // expected-error@+1 {{not supported: 'graph.arg_max': result type tensor<4xi64>, expected shape (1,)}}
  %y = graph.arg_max %x : (tensor<4xf32>) -> tensor<4xi64>
  func.return %y : tensor<4xi64>
}

// -----

func.func @large_det(%x: tensor<5x5xf32>) -> tensor<f32> {
  // expected-error@+1 {{not supported: 'graph.det': Det of [5, 5] (square matrices up to 4 x 4)}}
  %y = graph.det %x : (tensor<5x5xf32>) -> tensor<f32>
  func.return %y : tensor<f32>
}

// -----

func.func @computed_compress_condition(%x: tensor<3xf32>, %c: tensor<3xi1>) -> tensor<?xf32> {
  // expected-error@+1 {{not supported: 'graph.compress': condition (the result shape depends on it) must be a constant}}
  %y = graph.compress %x, %c : (tensor<3xf32>, tensor<3xi1>) -> tensor<?xf32>
  func.return %y : tensor<?xf32>
}

// -----

func.func @computed_pads(%x: tensor<2x3xf32>, %pads: tensor<4xi64>) -> tensor<2x6xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.pad': pads must be a constant}}
  %y = graph.pad %x, %pads, %n, %n : (tensor<2x3xf32>, tensor<4xi64>, none, none) -> tensor<2x6xf32>
  func.return %y : tensor<2x6xf32>
}
