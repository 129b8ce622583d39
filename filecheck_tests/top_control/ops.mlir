// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @choose
// CHECK:         %[[Y:.*]] = top.if %{{.*}} : tensor<i1> -> (tensor<4xf32>) {
// CHECK-NEXT:      top.region_yield %{{.*}} : tensor<4xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:      top.region_yield %{{.*}} : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK:         func.return %[[Y]]
func.func @choose(%c: tensor<i1>, %a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %y = top.if %c : tensor<i1> -> (tensor<4xf32>) {
    top.region_yield %a : tensor<4xf32>
  } else {
    top.region_yield %b : tensor<4xf32>
  }
  func.return %y : tensor<4xf32>
}

// CHECK-LABEL: func.func @accumulate
// CHECK:         %{{.*}}, %{{.*}} = top.loop %{{.*}}, %{{.*}} iter_args(%{{.*}}) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>, tensor<5x3xf32>) {
// CHECK-NEXT:    ^{{.*}}(%{{.*}}: tensor<i64>, %{{.*}}: tensor<i1>, %[[ACC:.*]]: tensor<3xf32>):
// CHECK-NEXT:      top.region_yield %{{.*}}, %[[ACC]], %[[ACC]] : tensor<i1>, tensor<3xf32>, tensor<3xf32>
// CHECK-NEXT:    }
func.func @accumulate(%m: tensor<i64>, %c: tensor<i1>, %init: tensor<3xf32>) -> tensor<5x3xf32> {
  %sum, %rows = top.loop %m, %c iter_args(%init) : (tensor<i64>, tensor<i1>, tensor<3xf32>) -> (tensor<3xf32>, tensor<5x3xf32>) {
  ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
    top.region_yield %ci, %acc, %acc : tensor<i1>, tensor<3xf32>, tensor<3xf32>
  }
  func.return %rows : tensor<5x3xf32>
}
