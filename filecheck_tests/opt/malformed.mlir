// Malformed IR: one `file:line:col: error:` line, exit 1, no traceback, nothing on stdout.
// RUN: not lamina-opt %S/inputs/malformed-input.mlir > %t.out 2> %t.err
// RUN: filecheck %s < %t.err
// RUN: test ! -s %t.out
// RUN: not grep Traceback %t.err

// CHECK: malformed-input.mlir:3:24: error: operand expected
