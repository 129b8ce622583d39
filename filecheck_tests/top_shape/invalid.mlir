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
