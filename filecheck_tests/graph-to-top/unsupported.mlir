// RUN: lamina-opt %s -p convert-graph-to-top --split-input-file --verify-diagnostics

func.func @dynamic(%x: tensor<?x4x2x2xf32>) -> tensor<?x4x2x2xf32> {
  // expected-error@+1 {{not supported: 'graph.lrn': dynamic dims (tensor<?x4x2x2xf32>) in an op that is lowered at static shapes only}}
  %y = graph.lrn %x {size = 3 : i64} : (tensor<?x4x2x2xf32>) -> tensor<?x4x2x2xf32>
  func.return %y : tensor<?x4x2x2xf32>
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

// -----

// Several unsupported ops: one error at the first, listing each (a pattern's error too).
func.func @three_unsupported(%x: tensor<6x6xf32>, %v: tensor<1x1x3x6x6xf32>) -> (tensor<f32>, tensor<1x1x1x1x1xf32>, tensor<6x6xf32>) {
  // expected-error@+1 {{not supported: 3 nodes:}}
  %d = graph.det %x : (tensor<6x6xf32>) -> tensor<f32>
  %n = graph.none : none
  %c = graph.conv %v, %v, %n : (tensor<1x1x3x6x6xf32>, tensor<1x1x3x6x6xf32>, none) -> tensor<1x1x1x1x1xf32>
  %r = graph.relu %x : (tensor<6x6xf32>) -> tensor<6x6xf32>
  %e = graph.det %r : (tensor<6x6xf32>) -> tensor<f32>
  func.return %d, %c, %r : tensor<f32>, tensor<1x1x1x1x1xf32>, tensor<6x6xf32>
}

// -----

func.func @if_branches_of_different_shapes(%c: tensor<i1>, %x: tensor<4xf32>, %z: tensor<2xf32>) -> tensor<*xf32> {
  // expected-error@+1 {{not supported: 'graph.if': the then branch yields (tensor<4xf32>), not the result types (tensor<*xf32>): branches of different shapes}}
  %y = graph.if %c then_branch {
    graph.yield %x : tensor<4xf32>
  } else_branch {
    graph.yield %z : tensor<2xf32>
  } : (tensor<i1>) -> tensor<*xf32>
  func.return %y : tensor<*xf32>
}

// -----

func.func @loop_scan_output_of_run_time_length(%m: tensor<i64>, %init: tensor<3xf32>) -> tensor<?x3xf32> {
  %none = graph.none : none
  // expected-error@+1 {{not supported: 'graph.loop': scan outputs of a Loop without a constant trip count, or whose condition may stop it early, have a run-time length}}
  %r, %rows = graph.loop %m, %none, %init body {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
    graph.yield %ci, %acc, %acc : tensor<i1>, tensor<3xf32>, tensor<3xf32>
  } : (tensor<i64>, none, tensor<3xf32>) -> (tensor<3xf32>, tensor<?x3xf32>)
  func.return %rows : tensor<?x3xf32>
}
