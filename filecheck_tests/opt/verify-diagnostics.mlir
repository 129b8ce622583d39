// lamina-opt --verify-diagnostics fails when an expected diagnostic never fires or an
// unexpected one does, naming the line, and passes when they pair up.

// RUN: lamina-opt %S/inputs/diagnostics-matched.mlir --split-input-file --verify-diagnostics
// RUN: not lamina-opt %S/inputs/diagnostics-missing.mlir --verify-diagnostics 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not lamina-opt %S/inputs/diagnostics-unexpected.mlir --verify-diagnostics 2>&1 | filecheck %s --check-prefix=UNEXPECTED

// MISSING: diagnostics-missing.mlir:3: error: expected error "this never fires" at line 4 was not produced
// UNEXPECTED: diagnostics-unexpected.mlir:4:3: error: unexpected error: 'func.return' op Expected arguments to have the same types as the function output types
