// RUN: not lamina-opt %s -p convert-loop-to-llvm -t llvm 2>&1 | filecheck %s

// Codegen keeps bf16 / float8 / float4 as their bits: arithmetic or conversions on them must
// have been expanded by loop-expand-float-formats, else a clear error (not broken LLVM IR).
func.func @f(%x: f32) -> f8E4M3FN {
  %n = arith.truncf %x : f32 to f8E4M3FN
  func.return %n : f8E4M3FN
}

// CHECK: error: not supported: arith.truncf on bf16 / float8 / float4 values (run loop-expand-float-formats first)
