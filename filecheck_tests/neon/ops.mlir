// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @fmla_lane
// CHECK-SAME: (%[[C:.*]]: vector<4xf32>, %[[B:.*]]: vector<4xf32>, %[[A:.*]]: vector<4xf32>, %[[H:.*]]: vector<2xf32>)
// CHECK-NEXT: %[[R:.*]] = neon.fmla_lane %[[C]], %[[B]], %[[A]][3] : vector<4xf32>, vector<4xf32>
// CHECK-NEXT: %{{.*}} = neon.fmla_lane %[[R]], %[[B]], %[[H]][1] : vector<4xf32>, vector<2xf32>
func.func @fmla_lane(%c: vector<4xf32>, %b: vector<4xf32>, %a: vector<4xf32>, %h: vector<2xf32>) -> vector<4xf32> {
  %r = neon.fmla_lane %c, %b, %a[3] : vector<4xf32>, vector<4xf32>
  %s = neon.fmla_lane %r, %b, %h[1] : vector<4xf32>, vector<2xf32>
  func.return %s : vector<4xf32>
}

// CHECK-LABEL: func.func @fmla_lane_f64
// CHECK: neon.fmla_lane %{{.*}}, %{{.*}}, %{{.*}}[0] : vector<2xf64>, vector<2xf64>
func.func @fmla_lane_f64(%c: vector<2xf64>, %b: vector<2xf64>) -> vector<2xf64> {
  %r = neon.fmla_lane %c, %b, %b[0] : vector<2xf64>, vector<2xf64>
  func.return %r : vector<2xf64>
}

// CHECK-LABEL: func.func @dot
// CHECK-SAME: (%[[ACC:.*]]: vector<4xi32>, %[[X:.*]]: vector<16xi8>, %[[Y:.*]]: vector<16xi8>, %[[D:.*]]: vector<2xi32>, %[[P:.*]]: vector<8xi8>)
// CHECK-NEXT: %{{.*}} = neon.sdot %[[ACC]], %[[X]], %[[Y]] : vector<4xi32>, vector<16xi8>
// CHECK-NEXT: %{{.*}} = neon.udot %[[ACC]], %[[X]], %[[Y]] : vector<4xi32>, vector<16xi8>
// CHECK-NEXT: %{{.*}} = neon.sdot %[[D]], %[[P]], %[[P]] : vector<2xi32>, vector<8xi8>
func.func @dot(%acc: vector<4xi32>, %x: vector<16xi8>, %y: vector<16xi8>, %d: vector<2xi32>, %p: vector<8xi8>) -> (vector<4xi32>, vector<4xi32>, vector<2xi32>) {
  %s = neon.sdot %acc, %x, %y : vector<4xi32>, vector<16xi8>
  %u = neon.udot %acc, %x, %y : vector<4xi32>, vector<16xi8>
  %h = neon.sdot %d, %p, %p : vector<2xi32>, vector<8xi8>
  func.return %s, %u, %h : vector<4xi32>, vector<4xi32>, vector<2xi32>
}
