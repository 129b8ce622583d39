// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @to_itself(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{part.transfer from "cpu" to itself moves nothing}}
  %0 = part.transfer %x from "cpu" to "cpu" : tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

func.func @wrong_unit(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = part.transfer %x from "cpu" to "gpu" : tensor<4xf32>
  // expected-error@+1 {{part.segment on "dsp": input 0 was transferred to "gpu"}}
  %1 = part.segment "dsp" (%0) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    part.yield %a : tensor<4xf32>
  }
  func.return %1 : tensor<4xf32>
}

// -----

func.func @yield_mismatch(%x: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{part.segment "cpu": part.yield of (tensor<4xf32>) does not match the results (tensor<2xf32>)}}
  %0 = part.segment "cpu" (%x) : (tensor<4xf32>) -> tensor<2xf32> {
  ^bb0(%a: tensor<4xf32>):
    part.yield %a : tensor<4xf32>
  }
  func.return %0 : tensor<2xf32>
}

// -----

func.func @args_mismatch(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{part.segment "cpu": block arguments (tensor<2xf32>) must match the inputs (tensor<4xf32>)}}
  %0 = part.segment "cpu" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<2xf32>):
    %c = graph.constant dense<1.0> : tensor<4xf32>
    part.yield %c : tensor<4xf32>
  }
  func.return %0 : tensor<4xf32>
}

// -----

func.func @not_isolated(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{Operation using value defined out of its IsolatedFromAbove parent}}
  %0 = part.segment "cpu" () : () -> tensor<4xf32> {
    part.yield %x : tensor<4xf32>
  }
  func.return %0 : tensor<4xf32>
}

// -----

func.func @yield_outside(%x: tensor<4xf32>) {
  // expected-error@+1 {{'part.yield' op 'part.yield' expects parent op 'part.segment'}}
  part.yield %x : tensor<4xf32>
}
