// RUN: lamina-opt %s -p convert-graph-to-top --split-input-file --verify-diagnostics

func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error@+1 {{not supported: 'graph.relu': dynamic shape tensor<?x4xf32>}}
  %y = graph.relu %x : (tensor<?x4xf32>) -> tensor<?x4xf32>
  func.return %y : tensor<?x4xf32>
}

// -----

func.func @no_lowering(%x: tensor<3x3xf32>) -> tensor<f32> {
  // expected-error@+1 {{not supported: 'graph.det': no lowering to the top dialect}}
  %y = graph.det %x : (tensor<3x3xf32>) -> tensor<f32>
  func.return %y : tensor<f32>
}

// -----

func.func @arg_max_bad_result(%x: tensor<4xf32>) -> tensor<4xi64> {
  // expected-error@+1 {{not supported: 'graph.arg_max': result type tensor<4xi64>, expected shape (1,)}}
  %y = graph.arg_max %x : (tensor<4xf32>) -> tensor<4xi64>
  func.return %y : tensor<4xi64>
}

// -----

func.func @training_batch_norm(%x: tensor<1x2x3x3xf32>, %p: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  // expected-error@+1 {{not supported: 'graph.batch_normalization': training_mode = 1}}
  %y, %m, %v = graph.batch_normalization %x, %p, %p, %p, %p {training_mode = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>)
  func.return %y : tensor<1x2x3x3xf32>
}

// -----

func.func @computed_pads(%x: tensor<2x3xf32>, %pads: tensor<4xi64>) -> tensor<2x6xf32> {
  %n = graph.none : none
  // expected-error@+1 {{not supported: 'graph.pad': pads must be a constant}}
  %y = graph.pad %x, %pads, %n, %n : (tensor<2x3xf32>, tensor<4xi64>, none, none) -> tensor<2x6xf32>
  func.return %y : tensor<2x6xf32>
}

// -----

// Several unsupported ops: one error at the first, listing each (a pattern's error too).
func.func @three_unsupported(%x: tensor<3x3xf32>, %v: tensor<1x1x3x3x3xf32>) -> (tensor<f32>, tensor<1x1x1x1x1xf32>, tensor<3x3xf32>) {
  // expected-error@+1 {{not supported: 3 nodes:}}
  %d = graph.det %x : (tensor<3x3xf32>) -> tensor<f32>
  %n = graph.none : none
  %c = graph.conv %v, %v, %n : (tensor<1x1x3x3x3xf32>, tensor<1x1x3x3x3xf32>, none) -> tensor<1x1x1x1x1xf32>
  %r = graph.relu %x : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %e = graph.det %r : (tensor<3x3xf32>) -> tensor<f32>
  func.return %d, %c, %r : tensor<f32>, tensor<1x1x1x1x1xf32>, tensor<3x3xf32>
}
