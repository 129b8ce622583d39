// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @add
// CHECK-NEXT:    %[[S:.*]] = arith.addi %{{.*}}, %{{.*}} : i32
// CHECK-NEXT:    func.return %[[S]] : i32
func.func @add(%a: i32) -> i32 {
  %s = arith.addi %a, %a : i32
  func.return %s : i32
}
