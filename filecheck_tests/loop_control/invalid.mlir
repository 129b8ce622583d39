// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @if_on_i32(%c: i32) {
  // expected-error @+1 {{'loop.if' op operand 'cond' at position 0 does not verify}}
  "loop.if"(%c) ({
    loop.end
  }, {
    loop.end
  }) : (i32) -> ()
  func.return
}

// -----

func.func @while_without_condition(%c: i1) {
  // expected-error @+1 {{expected the loop.while condition region to end in loop.condition}}
  "loop.while"() ({
    loop.end
  }, {
    loop.end
  }) : () -> ()
  func.return
}

// -----

func.func @end_outside(%c: i1) {
  // expected-error @+1 {{'loop.end' expects parent op to be one of 'loop.if', 'loop.while'}}
  loop.end
}
