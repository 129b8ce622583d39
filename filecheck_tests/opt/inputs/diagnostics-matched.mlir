func.func @wrong_return(%a: i32) -> i64 {
  // expected-error@+1 {{Expected arguments to have the same types as the function output types}}
  func.return %a : i32
}

// -----

func.func @twice(%a: i32) -> i64 {
  func.return %a : i32 // expected-error {{expected [i64], got [i32]}}
}

// -----

// expected-error@+1 {{operand expected}}
%b = arith.addi %a, : i32
