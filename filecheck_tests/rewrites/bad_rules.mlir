// Rule files with errors: each is reported as `file.rw:line:col: error: ...`, before any IR
// is rewritten; a rule that builds ill-typed IR is reported with its name.

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/syntax_error.rw"}' 2>&1 | filecheck %s --check-prefix=SYNTAX
// SYNTAX: syntax_error.rw:3:27: error: unexpected '%b'; expected ')', ',', '...', ':'

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/unknown_op.rw"}' 2>&1 | filecheck %s --check-prefix=OP
// OP: unknown_op.rw:2:9: error: unknown op 'graph.addd'

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/unknown_attr.rw"}' 2>&1 | filecheck %s --check-prefix=ATTR
// ATTR: unknown_attr.rw:2:38: error: 'graph.conv' has no attribute 'padding'

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/unknown_binding.rw"}' 2>&1 | filecheck %s --check-prefix=BINDING
// BINDING: unknown_binding.rw:3:14: error: unknown binding %z

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/unknown_function.rw"}' 2>&1 | filecheck %s --check-prefix=FUNCTION
// FUNCTION: unknown_function.rw:3:9: error: unknown function 'is_contant'

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/result_type_value.rw"}' 2>&1 | filecheck %s --check-prefix=RESULT-TYPE
// RESULT-TYPE: result_type_value.rw:3:36: error: a result type must be a type, not the value %y: write `type(%y)`

// RUN: not lamina-opt %s -p 'apply-rules{set=graph-nonexistent}' 2>&1 | filecheck %s --check-prefix=SET
// SET: error: unknown rule set 'graph-nonexistent'; known sets: graph-default,

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/ill_typed.rw"}' 2>&1 | filecheck %s --check-prefix=TYPED
// TYPED: error: rule 'drop_add_zero' at {{.*}}ill_typed.rw:2:6 built ill-typed IR: it replaces a value of type tensor<2x3xf32> with one of type tensor<3xf32>

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/wrong_shape.rw"}' 2>&1 | filecheck %s --check-prefix=SHAPE
// SHAPE: error: rule 'relu_to_transpose' at {{.*}}wrong_shape.rw:2:6 built invalid IR: result 0 : tensor<2x3xf32> should have shape 3x2

// RUN: not lamina-opt %s -p 'apply-rules{file="%S/inputs/wrong_operands.rw"}' 2>&1 | filecheck %s --check-prefix=VERIFY
// VERIFY: error: rule 'relu_with_two_operands' at {{.*}}wrong_operands.rw:2:6 built invalid IR:

func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

func.func @broadcasting_add(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %zero = graph.constant dense<0.0> : tensor<2x3xf32>
  %y = graph.add %x, %zero : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}
