// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @topk_axis(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{expected axis 2 to be a dim of input type tensor<3x4xf32>}}
  %v, %i = top.topk %x axis 2 : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
  func.return
}

// -----

func.func @topk_too_many(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{expected values type tensor<3x5xf32> to keep at most 4 elements along axis 1}}
  %v, %i = top.topk %x axis 1 : tensor<3x4xf32> -> tensor<3x5xf32>, tensor<3x5xi64>
  func.return
}

// -----

func.func @topk_index_shape(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{expected indices type tensor<3x3xi64> to have shape [3, 2]}}
  %v, %i = top.topk %x axis 1 : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x3xi64>
  func.return
}

// -----

func.func @topk_index_type(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{expected indices type tensor<3x2xi32> to have elements i64}}
  %v, %i = top.topk %x axis 1 : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi32>
  func.return
}

// -----

func.func @gather_nd_tuple_too_long(%d: tensor<2x3xf32>, %i: tensor<5x3xi64>) {
  // expected-error@+1 {{expected the last dim of indices type tensor<5x3xi64> to be a static size from 1 to the rank of data type tensor<2x3xf32>}}
  %g = top.gather_nd %d[%i] : (tensor<2x3xf32>, tensor<5x3xi64>) -> tensor<5xf32>
  func.return
}

// -----

func.func @gather_nd_result(%d: tensor<2x3x4xf32>, %i: tensor<5x2xi64>) {
  // expected-error@+1 {{expected result type tensor<5x3xf32> to have shape [5, 4]}}
  %g = top.gather_nd %d[%i] : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x3xf32>
  func.return
}

// -----

func.func @gather_nd_float_indices(%d: tensor<2x3xf32>, %i: tensor<5x1xf32>) {
  // expected-error@+1 {{expected indices type tensor<5x1xf32> to have integer elements}}
  %g = top.gather_nd %d[%i] : (tensor<2x3xf32>, tensor<5x1xf32>) -> tensor<5x3xf32>
  func.return
}

// -----

func.func @scatter_nd_updates(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) {
  // expected-error@+1 {{expected updates type tensor<2x4xf32> to have shape [2, 3]}}
  %s = top.scatter_nd add %d[%i], %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @scatter_nd_update_type(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf16>) {
  // expected-error@+1 {{expected updates type tensor<2x3xf16> to have elements f32}}
  %s = top.scatter_nd assign %d[%i], %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf16>) -> tensor<4x3xf32>
  func.return
}
