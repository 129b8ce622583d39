// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @vpdpbusd
// CHECK-SAME: (%[[ACC:.*]]: vector<16xi32>, %[[X:.*]]: vector<64xi8>, %[[Y:.*]]: vector<64xi8>, %[[Q:.*]]: vector<4xi32>, %[[P:.*]]: vector<16xi8>)
// CHECK-NEXT: %{{.*}} = x86vector.vpdpbusd %[[ACC]], %[[X]], %[[Y]] : vector<16xi32>, vector<64xi8>
// CHECK-NEXT: %{{.*}} = x86vector.vpdpbusd %[[Q]], %[[P]], %[[P]] : vector<4xi32>, vector<16xi8>
func.func @vpdpbusd(%acc: vector<16xi32>, %x: vector<64xi8>, %y: vector<64xi8>, %q: vector<4xi32>, %p: vector<16xi8>) -> (vector<16xi32>, vector<4xi32>) {
  %z = x86vector.vpdpbusd %acc, %x, %y : vector<16xi32>, vector<64xi8>
  %s = x86vector.vpdpbusd %q, %p, %p : vector<4xi32>, vector<16xi8>
  func.return %z, %s : vector<16xi32>, vector<4xi32>
}
