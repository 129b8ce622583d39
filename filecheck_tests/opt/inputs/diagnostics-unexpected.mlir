// An error with no annotation: --verify-diagnostics must fail.

func.func @wrong_return(%a: i32) -> i64 {
  func.return %a : i32
}
