// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @if_on_float(%c: tensor<f32>, %a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expected the condition type tensor<f32> to be one boolean (tensor<i1>)}}
  %y = top.if %c : tensor<f32> -> (tensor<4xf32>) {
    top.region_yield %a : tensor<4xf32>
  } else {
    top.region_yield %a : tensor<4xf32>
  }
  func.return %y : tensor<4xf32>
}

// -----

func.func @branches_differ(%c: tensor<i1>, %a: tensor<4xf32>, %b: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{the else region yields (tensor<2xf32>), but the results are (tensor<4xf32>)}}
  %y = top.if %c : tensor<i1> -> (tensor<4xf32>) {
    top.region_yield %a : tensor<4xf32>
  } else {
    top.region_yield %b : tensor<2xf32>
  }
  func.return %y : tensor<4xf32>
}

// -----

func.func @loop_body_arguments(%m: tensor<i64>, %c: tensor<i1>, %init: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{expected the body arguments (tensor<i64>, tensor<3xf32>) to be (tensor<i64>, tensor<i1>) then the iter_args (tensor<3xf32>)}}
  %r = top.loop %m, %c iter_args(%init) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>) {
  ^bb0(%i: tensor<i64>, %acc: tensor<3xf32>):
    top.region_yield %c, %acc : tensor<i1>, tensor<3xf32>
  }
  func.return %r : tensor<3xf32>
}

// -----

func.func @loop_stacks_wrong_shape(%m: tensor<i64>, %c: tensor<i1>, %init: tensor<3xf32>) -> tensor<5x2xf32> {
  // expected-error @+1 {{expected the scan output type tensor<5x2xf32> to stack elements of type tensor<3xf32> along dim 0}}
  %r, %s = top.loop %m, %c iter_args(%init) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>, tensor<5x2xf32>) {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
    top.region_yield %ci, %acc, %acc : tensor<i1>, tensor<3xf32>, tensor<3xf32>
  }
  func.return %s : tensor<5x2xf32>
}

// -----

func.func @trip_count_i32(%m: tensor<i32>, %c: tensor<i1>, %init: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{expected the trip count type tensor<i32> to be one i64 (tensor<i64>)}}
  %r = top.loop %m, %c iter_args(%init) : (tensor<i32>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>) {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
    top.region_yield %ci, %acc : tensor<i1>, tensor<3xf32>
  }
  func.return %r : tensor<3xf32>
}
