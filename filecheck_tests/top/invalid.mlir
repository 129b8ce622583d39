// RUN: lamina-opt %s --split-input-file --verify-diagnostics

// top.generic

func.func @generic_no_outputs(%a: tensor<4xf32>) {
  // expected-error@+1 {{expected at least one output}}
  top.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) {
  ^bb0(%x: f32):
    top.yield
  }
  func.return
}

// -----

func.func @generic_map_count(%a: tensor<4xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected one indexing map per operand (2), got 1}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_map_dims(%a: tensor<4xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected indexing map of input #0 to have 1 dims (one per iterator) and no symbols, got (d0, d1) -> (d0)}}
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_map_rank(%a: tensor<4x2xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected indexing map of input #0 to have one result per dim of tensor<4x2xf32>, got (d0) -> (d0)}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4x2xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_output_map(%a: tensor<4xf32>, %o: tensor<5xf32>) {
  // expected-error@+1 {{expected indexing map of output #0 to be a projected permutation, got (d0) -> ((d0 + 1))}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0 + 1)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<5xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<5xf32>
  func.return
}

// -----

func.func @generic_extent_conflict(%a: tensor<4x8xf32>, %o: tensor<8x8xf32>) {
  // expected-error@+1 {{loop d0 has extent 4 from input #0 (tensor<4x8xf32>) but dim 0 of output #0 (tensor<8x8xf32>) is 8}}
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%o : tensor<8x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<8x8xf32>
  func.return
}

// -----

func.func @generic_loop_without_extent(%a: tensor<4x1xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{loop d1 has no extent: no indexing map result is d1 alone}}
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%a : tensor<4x1xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_broadcast_operand_disagrees(%a: tensor<4x8xf32>, %b: tensor<1x8xf32>, %o: tensor<4x8xf32>) {
  // expected-error@+1 {{loop d0 has extent 4 from input #0 (tensor<4x8xf32>) but dim 0 of input #1 (tensor<1x8xf32>) is 1}}
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x8xf32>, tensor<1x8xf32>) outs(%o : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    top.yield %x : f32
  } -> tensor<4x8xf32>
  func.return
}

// -----

func.func @generic_compound_index_out_of_bounds(%a: tensor<4x8xf32>, %b: tensor<6xf32>, %o: tensor<4x8xf32>) {
  // expected-error@+1 {{dim 0 of input #1 (tensor<6xf32>) is 6 but its index (d1 + 1) reaches [1, 8] over loop extents [4, 8]: it needs size 9}}
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1 + 1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x8xf32>, tensor<6xf32>) outs(%o : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    top.yield %y : f32
  } -> tensor<4x8xf32>
  func.return
}

// -----

func.func @generic_constant_index_out_of_bounds(%a: tensor<4x8xf32>, %b: tensor<4x2xf32>, %o: tensor<4x8xf32>) {
  // expected-error@+1 {{dim 1 of input #1 (tensor<4x2xf32>) is 2 but its index 2 reaches [2, 2] over loop extents [4, 8]: it needs size 3}}
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 2)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x8xf32>, tensor<4x2xf32>) outs(%o : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    top.yield %y : f32
  } -> tensor<4x8xf32>
  func.return
}

// -----

func.func @generic_body_args(%a: tensor<4xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected body arguments of types (f32, f32), the element types of inputs and outputs, got (f32, f16)}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f16):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_no_yield(%a: tensor<4xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected the body to end in top.yield}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    // expected-error@+1 {{Operation arith.addf terminates block in single-block region but is not a terminator}}
    %s = arith.addf %x, %y : f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_yield_types(%a: tensor<4xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected top.yield of the output element types (f32), got (f32, f32)}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x, %y : f32, f32
  } -> tensor<4xf32>
  func.return
}

// -----

func.func @generic_result_types(%a: tensor<4xf32>, %o: tensor<4xf32>) {
  // expected-error@+1 {{expected result types (tensor<4xf16>) to be the output types (tensor<4xf32>)}}
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf16>
  func.return
}

// -----

func.func @yield_outside_generic(%x: f32) {
  // expected-error@+1 {{'top.yield' expects parent op 'top.generic'}}
  top.yield %x : f32
}

// -----

// top.matmul

func.func @matmul_rank(%a: tensor<8xf32>, %b: tensor<8x16xf32>) {
  // expected-error@+1 {{expected lhs type tensor<8xf32> to have rank >= 2}}
  %0 = top.matmul %a, %b : (tensor<8xf32>, tensor<8x16xf32>) -> tensor<16xf32>
  func.return
}

// -----

func.func @matmul_contracting(%a: tensor<4x8xf32>, %b: tensor<9x16xf32>) {
  // expected-error@+1 {{expected the contracting dims of lhs type tensor<4x8xf32> (8) and rhs type tensor<9x16xf32> (9) to agree}}
  %0 = top.matmul %a, %b : (tensor<4x8xf32>, tensor<9x16xf32>) -> tensor<4x16xf32>
  func.return
}

// -----

func.func @matmul_transposed_contracting(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) {
  // expected-error@+1 {{expected the contracting dims of lhs type tensor<4x8xf32> (8) and rhs type tensor<8x16xf32> (16) to agree}}
  %0 = top.matmul %a, %b transpose_rhs : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  func.return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xf32>, %b: tensor<3x8x16xf32>) {
  // expected-error@+1 {{expected the batch dims of lhs type tensor<2x4x8xf32> and rhs type tensor<3x8x16xf32> to broadcast}}
  %0 = top.matmul %a, %b : (tensor<2x4x8xf32>, tensor<3x8x16xf32>) -> tensor<2x4x16xf32>
  func.return
}

// -----

func.func @matmul_element_types(%a: tensor<4x8xf32>, %b: tensor<8x16xf16>) {
  // expected-error@+1 {{expected rhs type tensor<8x16xf16> to have the element type of lhs type tensor<4x8xf32>}}
  %0 = top.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf16>) -> tensor<4x16xf32>
  func.return
}

// -----

func.func @matmul_result_shape(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) {
  // expected-error@+1 {{expected result type tensor<4x8xf32> to have shape [4, 16]}}
  %0 = top.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  func.return
}

// -----

func.func @matmul_narrow_result(%a: tensor<4x8xi32>, %b: tensor<8x16xi32>) {
  // expected-error@+1 {{expected result type tensor<4x16xi8> to have the element type of lhs type tensor<4x8xi32> or a wider one}}
  %0 = top.matmul %a, %b : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi8>
  func.return
}

// -----

// top.conv2d

func.func @conv_strides_length(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected 2 values in strides, got [1, 1, 1]}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_zero_stride(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected strides to be positive, got [0, 1]}}
  %0 = top.conv2d nchw_fchw %x, %w strides [0, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_zero_groups(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected groups to be positive, got [0]}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 0 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_negative_pad(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected pad_low to be non-negative, got [-1, 0]}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [-1, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_input_rank(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected input type tensor<3x8x8xf32> to have rank 4}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_nchwc_filter_rank(%x: tensor<1x1x8x8x4xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error@+1 {{expected filter type tensor<4x4x3x3xf32> to have rank 6}}
  %0 = top.conv2d nchwc %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x1x8x8x4xf32>, tensor<4x4x3x3xf32>) -> tensor<1x1x6x6x4xf32>
  func.return
}

// -----

func.func @conv_nchwc_groups(%x: tensor<1x1x8x8x4xf32>, %w: tensor<1x1x3x3x4x4xf32>) {
  // expected-error@+1 {{expected groups = 1 with layout nchwc, got 2}}
  %0 = top.conv2d nchwc %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 2 : (tensor<1x1x8x8x4xf32>, tensor<1x1x3x3x4x4xf32>) -> tensor<1x1x6x6x4xf32>
  func.return
}

// -----

func.func @conv_nchwc_blocks(%x: tensor<1x1x8x8x4xf32>, %w: tensor<1x1x3x3x8x4xf32>) {
  // expected-error@+1 {{expected filter type tensor<1x1x3x3x8x4xf32> to have the input channel blocks of input type tensor<1x1x8x8x4xf32>}}
  %0 = top.conv2d nchwc %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x1x8x8x4xf32>, tensor<1x1x3x3x8x4xf32>) -> tensor<1x1x6x6x4xf32>
  func.return
}

// -----

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error@+1 {{expected input type tensor<1x3x8x8xf32> to have 1 x 2 channels (groups x filter type tensor<4x2x3x3xf32> channels)}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_filters_per_group(%x: tensor<1x8x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error@+1 {{expected filter type tensor<6x2x3x3xf32> to have a filter count divisible by groups (4)}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 4 : (tensor<1x8x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_result_shape(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected result type tensor<1x4x8x8xf32> to have shape [1, 4, 3, 3]}}
  %0 = top.conv2d nchw_fchw %x, %w strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  func.return
}

// -----

func.func @conv_filter_element(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf16>) {
  // expected-error@+1 {{expected filter type tensor<4x3x3x3xf16> to have the element type of input type tensor<1x3x8x8xf32>}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf16>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_narrow_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{expected result type tensor<1x4x6x6xf16> to have the element type of input type tensor<1x3x8x8xf32> or a wider one}}
  %0 = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf16>
  func.return
}

// -----

func.func @conv_bias_shape(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{expected bias type tensor<3xf32> to have shape [4]}}
  %0 = top.conv2d nchw_fchw %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_bias_element(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf16>) {
  // expected-error@+1 {{expected bias type tensor<4xf16> to have the element type of result type tensor<1x4x6x6xf32>}}
  %0 = top.conv2d nchw_fchw %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf16>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

// top.pool

func.func @pool_lengths(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected 2 values in pad_high, got [0]}}
  %0 = top.pool max nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  func.return
}

// -----

func.func @pool_zero_kernel(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected kernel to be positive, got [0, 2]}}
  %0 = top.pool max nchw %x kernel [0, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  func.return
}

// -----

func.func @pool_negative_pad(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected pad_high to be non-negative, got [0, -1]}}
  %0 = top.pool max nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, -1] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  func.return
}

// -----

func.func @pool_count_include_pad_with_max(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected count_include_pad only with avg pooling}}
  %0 = top.pool max nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] count_include_pad : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  func.return
}

// -----

func.func @pool_rank(%x: tensor<4x8x8xf32>) {
  // expected-error@+1 {{expected input type tensor<4x8x8xf32> to have rank 4}}
  %0 = top.pool max nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
  func.return
}

// -----

func.func @pool_channels(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected result type tensor<1x8x4x4xf32> to keep dim 1 of input type tensor<1x4x8x8xf32>}}
  %0 = top.pool max nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x4x8x8xf32> -> tensor<1x8x4x4xf32>
  func.return
}

// -----

func.func @pool_spatial(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected dim 2 of result type tensor<1x4x5x4xf32> to be 3 or 4 (ceil mode)}}
  %0 = top.pool max nchw %x kernel [3, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x5x4xf32>
  func.return
}

// -----

func.func @pool_element(%x: tensor<1x4x8x8xf32>) {
  // expected-error@+1 {{expected result type tensor<1x4x4x4xf16> to have the element type of input type tensor<1x4x8x8xf32>}}
  %0 = top.pool avg nchw %x kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf16>
  func.return
}

// -----

// top.reduce

func.func @reduce_axes(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected axes [1, 0] to be sorted, distinct dims of input type tensor<4x8xf32>}}
  %0 = top.reduce sum %x axes [1, 0] : tensor<4x8xf32> -> tensor<f32>
  func.return
}

// -----

func.func @reduce_axis_range(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected axes [2] to be sorted, distinct dims of input type tensor<4x8xf32>}}
  %0 = top.reduce sum %x axes [2] : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return
}

// -----

func.func @reduce_keepdims_shape(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<4xf32> to have shape [4, 1]}}
  %0 = top.reduce max %x axes [1] keepdims : tensor<4x8xf32> -> tensor<4xf32>
  func.return
}

// -----

func.func @reduce_element(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<4xf16> to have the element type of input type tensor<4x8xf32>}}
  %0 = top.reduce mean %x axes [1] : tensor<4x8xf32> -> tensor<4xf16>
  func.return
}

// -----

// top.transpose

func.func @transpose_permutation(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected permutation [0, 0] to permute the dims of input type tensor<4x8xf32>}}
  %0 = top.transpose %x permutation [0, 0] : tensor<4x8xf32> -> tensor<4x4xf32>
  func.return
}

// -----

func.func @transpose_result(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<4x8xf32> to have shape [8, 4]}}
  %0 = top.transpose %x permutation [1, 0] : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return
}

// -----

func.func @transpose_element(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<8x4xi32> to have the element type of input type tensor<4x8xf32>}}
  %0 = top.transpose %x permutation [1, 0] : tensor<4x8xf32> -> tensor<8x4xi32>
  func.return
}

// -----

// top.pad

func.func @pad_lengths(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected 2 values in low, got [1]}}
  %0 = top.pad constant %x low [1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x10xf32>
  func.return
}

// -----

func.func @pad_negative(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected high to be non-negative, got [-1, 0]}}
  %0 = top.pad constant %x low [0, 0] high [-1, 0] : (tensor<4x8xf32>) -> tensor<3x8xf32>
  func.return
}

// -----

func.func @pad_value_with_reflect(%x: tensor<4x8xf32>, %c: f32) {
  // expected-error@+1 {{expected no value with pad mode reflect}}
  %0 = top.pad reflect %x value %c low [1, 1] high [1, 1] : (tensor<4x8xf32>, f32) -> tensor<6x10xf32>
  func.return
}

// -----

func.func @pad_value_type(%x: tensor<4x8xf32>, %c: f16) {
  // expected-error@+1 {{expected value type f16 to be the element type of input type tensor<4x8xf32>}}
  %0 = top.pad constant %x value %c low [1, 1] high [1, 1] : (tensor<4x8xf32>, f16) -> tensor<6x10xf32>
  func.return
}

// -----

func.func @pad_reflect_too_wide(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected dim 0 of input type tensor<4x8xf32> to have at least 5 elements for reflect pads 4, 0}}
  %0 = top.pad reflect %x low [4, 0] high [0, 0] : (tensor<4x8xf32>) -> tensor<8x8xf32>
  func.return
}

// -----

func.func @pad_edge_of_empty(%x: tensor<0x8xf32>) {
  // expected-error@+1 {{expected dim 0 of input type tensor<0x8xf32> to have at least 1 elements for edge pads 1, 1}}
  %0 = top.pad edge %x low [1, 0] high [1, 0] : (tensor<0x8xf32>) -> tensor<2x8xf32>
  func.return
}

// -----

func.func @pad_result(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<6x8xf32> to have shape [6, 10]}}
  %0 = top.pad constant %x low [1, 1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x8xf32>
  func.return
}

// -----

func.func @pad_element(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<6x10xf16> to have the element type of input type tensor<4x8xf32>}}
  %0 = top.pad edge %x low [1, 1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x10xf16>
  func.return
}

// -----

// top.gather

func.func @gather_axis(%d: tensor<100x16xf32>, %i: tensor<3xi64>) {
  // expected-error@+1 {{expected axis 2 to be a dim of data type tensor<100x16xf32>}}
  %0 = top.gather %d[%i] axis 2 : (tensor<100x16xf32>, tensor<3xi64>) -> tensor<100x16x3xf32>
  func.return
}

// -----

func.func @gather_float_indices(%d: tensor<100x16xf32>, %i: tensor<3xf32>) {
  // expected-error@+1 {{expected indices type tensor<3xf32> to have integer elements}}
  %0 = top.gather %d[%i] axis 0 : (tensor<100x16xf32>, tensor<3xf32>) -> tensor<3x16xf32>
  func.return
}

// -----

func.func @gather_result(%d: tensor<100x16xf32>, %i: tensor<3xi64>) {
  // expected-error@+1 {{expected result type tensor<3x100xf32> to have shape [100, 3]}}
  %0 = top.gather %d[%i] axis 1 : (tensor<100x16xf32>, tensor<3xi64>) -> tensor<3x100xf32>
  func.return
}

// -----

func.func @gather_element(%d: tensor<100x16xf32>, %i: tensor<3xi64>) {
  // expected-error@+1 {{expected result type tensor<3x16xi64> to have the element type of data type tensor<100x16xf32>}}
  %0 = top.gather %d[%i] axis 0 : (tensor<100x16xf32>, tensor<3xi64>) -> tensor<3x16xi64>
  func.return
}

// -----

// top.broadcast

func.func @broadcast_incompatible(%x: tensor<4x3xf32>) {
  // expected-error@+1 {{expected input type tensor<4x3xf32> to broadcast to result type tensor<4x8xf32>}}
  %0 = top.broadcast %x : tensor<4x3xf32> -> tensor<4x8xf32>
  func.return
}

// -----

func.func @broadcast_rank(%x: tensor<2x4x1xf32>) {
  // expected-error@+1 {{expected input type tensor<2x4x1xf32> to broadcast to result type tensor<4x8xf32>}}
  %0 = top.broadcast %x : tensor<2x4x1xf32> -> tensor<4x8xf32>
  func.return
}

// -----

func.func @broadcast_element(%x: tensor<4x1xf32>) {
  // expected-error@+1 {{expected result type tensor<4x8xf64> to have the element type of input type tensor<4x1xf32>}}
  %0 = top.broadcast %x : tensor<4x1xf32> -> tensor<4x8xf64>
  func.return
}

// -----

// top.fill

func.func @fill_type(%c: f16) {
  // expected-error@+1 {{expected value type f16 to be the element type of result type tensor<4x8xf32>}}
  %0 = top.fill %c : f16 -> tensor<4x8xf32>
  func.return
}

// -----

// top.reshape

func.func @reshape_elements(%x: tensor<4x8xf32>) {
  // expected-error@+1 {{expected result type tensor<4x4xf32> to have as many elements as input type tensor<4x8xf32>}}
  %0 = top.reshape %x : tensor<4x8xf32> -> tensor<4x4xf32>
  func.return
}

// -----

// top.concat

func.func @concat_sizes(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error@+1 {{expected dim 1 of result type tensor<2x8xf32> to be 7, the sum of the inputs' sizes}}
  %0 = top.concat %a, %b axis 1 : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  func.return
}

// -----

func.func @concat_other_dims(%a: tensor<2x3xf32>, %b: tensor<5x4xf32>) {
  // expected-error@+1 {{expected input #1 type tensor<5x4xf32> to have shape [2, ?]}}
  %0 = top.concat %a, %b axis 1 : (tensor<2x3xf32>, tensor<5x4xf32>) -> tensor<2x7xf32>
  func.return
}

// -----

// top.slice

func.func @slice_out_of_bounds(%x: tensor<3x7xf32>) {
  // expected-error@+1 {{expected dim 1 of result type tensor<3x4xf32> to read inside input type tensor<3x7xf32> (indices 1 .. 7)}}
  %0 = top.slice %x offsets [0, 1] strides [1, 2] : tensor<3x7xf32> -> tensor<3x4xf32>
  func.return
}

// -----

func.func @slice_zero_stride(%x: tensor<3x7xf32>) {
  // expected-error@+1 {{expected strides to be non-zero, got [1, 0]}}
  %0 = top.slice %x offsets [0, 1] strides [1, 0] : tensor<3x7xf32> -> tensor<3x4xf32>
  func.return
}
