// The annotation below never fires: --verify-diagnostics must fail.
func.func @fine(%a: i32) -> i32 {
  // expected-error@+1 {{this never fires}}
  func.return %a : i32
}
