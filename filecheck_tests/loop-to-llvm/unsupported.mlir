// RUN: not lamina-opt %s -p convert-loop-to-llvm -t llvm 2>&1 | filecheck %s

func.func @f(%a: i32, %b: i32) -> i32 {
  %p = math.ipowi %a, %b : i32
  func.return %p : i32
}

// CHECK: error: not supported: 'math.ipowi' in LLVM codegen
