// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @axis_out_of_range(%x: tensor<?x8xf32>) -> index {
  // expected-error @+1 {{axis 2 is out of range for tensor<?x8xf32> (rank 2)}}
  %n = top.dim %x, 2 : tensor<?x8xf32>
  func.return %n : index
}

// -----

func.func @fill_without_size(%c: f32) -> tensor<?x8xf32> {
  // expected-error @+1 {{expected 1 dynamic size operands for result type tensor<?x8xf32>, got 0}}
  %z = top.fill %c : f32 -> tensor<?x8xf32>
  func.return %z : tensor<?x8xf32>
}

// -----

func.func @reshape_extra_size(%x: tensor<4x8xf32>, %n: index) -> tensor<32xf32> {
  // expected-error @+1 {{expected 0 dynamic size operands for result type tensor<32xf32>, got 1}}
  %r = top.reshape %x (%n) : tensor<4x8xf32> -> tensor<32xf32>
  func.return %r : tensor<32xf32>
}

// -----

func.func @index_outside_generic() -> index {
  // expected-error @+1 {{top.index must be in the body of a top.generic}}
  %i = top.index 0 : index
  func.return %i : index
}

// -----

func.func @index_of_no_loop(%init: tensor<4xi64>) -> tensor<4xi64> {
  %iota = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%init : tensor<4xi64>) {
  ^bb0(%out: i64):
    // expected-error @+1 {{top.index 1 names no loop of its top.generic (1 loops)}}
    %i = top.index 1 : index
    %v = arith.index_cast %i : index to i64
    top.yield %v : i64
  } -> tensor<4xi64>
  func.return %iota : tensor<4xi64>
}
