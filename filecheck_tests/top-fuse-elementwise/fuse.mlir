// RUN: lamina-opt %s -p top-fuse-elementwise --split-input-file | filecheck %s
// RUN: lamina-opt %s -p top-fuse-elementwise --split-input-file | lamina-opt --split-input-file | filecheck %s
// RUN: lamina-opt %s -p top-fuse-elementwise --split-input-file --print-op-generic | lamina-opt --split-input-file | filecheck %s

// relu(a + b): the add's body is inlined before the relu's, the add's fill goes
// CHECK-LABEL: func.func @add_relu
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[INIT:.*]] = top.fill %{{.*}} : f32 -> tensor<4x8xf32>
// CHECK-NOT: top.fill
// CHECK: %[[R:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<8xf32>) outs(%[[INIT]] : tensor<4x8xf32>) {
// CHECK-NEXT: ^{{.*}}(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK-NEXT:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[M:.*]] = arith.maximumf %[[S]], %[[Z]] : f32
// CHECK-NEXT:   top.yield %[[M]] : f32
// CHECK-NEXT: } -> tensor<4x8xf32>
// CHECK-NOT: top.generic
// CHECK: func.return %[[R]]
func.func @add_relu(%a: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %f0 = top.fill %zero : f32 -> tensor<4x8xf32>
  %s = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<4x8xf32>, tensor<8xf32>) outs(%f0 : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %t = arith.addf %x, %y : f32
    top.yield %t : f32
  } -> tensor<4x8xf32>
  %f1 = top.fill %zero : f32 -> tensor<4x8xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x8xf32>) outs(%f1 : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c0 = arith.constant 0.000000e+00 : f32
    %m = arith.maximumf %x, %c0 : f32
    top.yield %m : f32
  } -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

// A chain of three with a residual input read by both ends: one generic, %x read once
// CHECK-LABEL: func.func @chain_of_three
// CHECK: top.generic {{.*}} ins(%[[X:.*]], %[[Y:.*]] : tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT: ^{{.*}}(%[[EX:.*]]: f32, %[[EY:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[E:.*]] = math.exp %[[EX]] : f32
// CHECK-NEXT:   %[[M:.*]] = arith.mulf %[[E]], %[[EY]] : f32
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[M]], %[[EX]] : f32
// CHECK-NEXT:   top.yield %[[S]] : f32
// CHECK-NOT: top.generic
func.func @chain_of_three(%x: tensor<16xf32>, %y: tensor<16xf32>) -> tensor<16xf32> {
  %c = arith.constant 0.000000e+00 : f32
  %init = top.fill %c : f32 -> tensor<16xf32>
  %e = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<16xf32>) outs(%init : tensor<16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    top.yield %r : f32
  } -> tensor<16xf32>
  %m = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%e, %y : tensor<16xf32>, tensor<16xf32>) outs(%init : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    top.yield %r : f32
  } -> tensor<16xf32>
  %s = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%m, %x : tensor<16xf32>, tensor<16xf32>) outs(%init : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    top.yield %r : f32
  } -> tensor<16xf32>
  func.return %s : tensor<16xf32>
}

// -----

// A producer writing its result transposed: the consumer's loops reach the producer's
// input through the inverted output map, (d0, d1) -> (d1, d0) composed twice = identity
// CHECK-LABEL: func.func @transposed_producer
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : tensor<2x3xf32>)
// CHECK: arith.negf
// CHECK-NEXT: math.exp
// CHECK-NOT: top.generic
func.func @transposed_producer(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = arith.constant 0.000000e+00 : f32
  %f0 = top.fill %c : f32 -> tensor<3x2xf32>
  %t = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1, d0)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x3xf32>) outs(%f0 : tensor<3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    top.yield %n : f32
  } -> tensor<3x2xf32>
  %f1 = top.fill %c : f32 -> tensor<2x3xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%t : tensor<3x2xf32>) outs(%f1 : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    top.yield %e : f32
  } -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

// Not fused: the producer result has a second user, a broadcasting read would recompute
// the producer, a reduction consumer is not elementwise, a named op is left alone
// CHECK-LABEL: func.func @not_fused
// CHECK: %[[E:.*]] = top.generic
// CHECK: math.exp
// CHECK: top.generic {{.*}} ins(%[[E]], %[[E]] : tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[P:.*]] = top.generic
// CHECK: math.exp
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>]{{.*}} ins(%[[P]] : tensor<4xf32>)
// CHECK: %[[Q:.*]] = top.generic
// CHECK: math.exp
// CHECK: top.generic {{.*}} iterator_types = ["reduction"]} ins(%[[Q]] : tensor<4xf32>)
// CHECK: %[[M:.*]] = top.matmul
// CHECK: top.generic {{.*}} ins(%[[M]] : tensor<4x4xf32>)
func.func @not_fused(%x: tensor<4xf32>, %w: tensor<4x4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>, tensor<f32>, tensor<4x4xf32>) {
  %c = arith.constant 0.000000e+00 : f32
  %f = top.fill %c : f32 -> tensor<4xf32>
  %e = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    top.yield %r : f32
  } -> tensor<4xf32>
  %sq = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%e, %e : tensor<4xf32>, tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    top.yield %r : f32
  } -> tensor<4xf32>
  %p = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    top.yield %r : f32
  } -> tensor<4xf32>
  %f2 = top.fill %c : f32 -> tensor<3x4xf32>
  %b = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<4xf32>) outs(%f2 : tensor<3x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    top.yield %r : f32
  } -> tensor<3x4xf32>
  %q = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    top.yield %r : f32
  } -> tensor<4xf32>
  %f0 = top.fill %c : f32 -> tensor<f32>
  %s = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]} ins(%q : tensor<4xf32>) outs(%f0 : tensor<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    top.yield %r : f32
  } -> tensor<f32>
  %m = top.matmul %w, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %f3 = top.fill %c : f32 -> tensor<4x4xf32>
  %relu = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<4x4xf32>) outs(%f3 : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %c : f32
    top.yield %r : f32
  } -> tensor<4x4xf32>
  func.return %e, %sq, %b, %s, %relu : tensor<4xf32>, tensor<4xf32>, tensor<3x4xf32>, tensor<f32>, tensor<4x4xf32>
}

// -----

// A constant fill read as an input becomes the constant inside the body
// CHECK-LABEL: func.func @fill_input
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%[[X]] : tensor<4xf32>)
// CHECK-NEXT: ^{{.*}}(%[[A:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT:   arith.mulf %[[A]], %[[TWO]] : f32
// CHECK-NOT: top.fill %{{.*}} -> tensor<4xf32>
func.func @fill_input(%x: tensor<4xf32>) -> tensor<4xf32> {
  %two = arith.constant 2.000000e+00 : f32
  %t = top.fill %two : f32 -> tensor<4xf32>
  %zero = arith.constant 0.000000e+00 : f32
  %init = top.fill %zero : f32 -> tensor<4xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%x, %t : tensor<4xf32>, tensor<4xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    top.yield %m : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

// A fill that alone gives the reduction loop its extent stays an input (dropping it would
// leave d1 without an extent)
// CHECK-LABEL: func.func @fill_sizing_a_reduction
// CHECK: %[[F:.*]] = top.fill %{{.*}} : f32 -> tensor<4x8xf32>
// CHECK: top.generic {{.*}} ins(%[[F]], %{{.*}} : tensor<4x8xf32>, tensor<4x1xf32>)
func.func @fill_sizing_a_reduction(%a: tensor<4x1xf32>) -> tensor<4xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %ones = top.fill %one : f32 -> tensor<4x8xf32>
  %zero = arith.constant 0.000000e+00 : f32
  %init = top.fill %zero : f32 -> tensor<4xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%ones, %a : tensor<4x8xf32>, tensor<4x1xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    top.yield %s : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}
