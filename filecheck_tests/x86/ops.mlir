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

// The pair multiply-adds on an xmm, a ymm and a zmm register.
// CHECK-LABEL: func.func @pair_multiply_adds
// CHECK-SAME: (%[[X:.*]]: vector<16xi8>, %[[Y:.*]]: vector<32xi8>, %[[Z:.*]]: vector<64xi8>, %[[ONES:.*]]: vector<16xi16>)
// CHECK-NEXT: %{{.*}} = x86vector.vpmaddubsw %[[X]], %[[X]] : vector<16xi8> -> vector<8xi16>
// CHECK-NEXT: %[[H:.*]] = x86vector.vpmaddubsw %[[Y]], %[[Y]] : vector<32xi8> -> vector<16xi16>
// CHECK-NEXT: %{{.*}} = x86vector.vpmaddubsw %[[Z]], %[[Z]] : vector<64xi8> -> vector<32xi16>
// CHECK-NEXT: %{{.*}} = x86vector.vpmaddwd %[[H]], %[[ONES]] : vector<16xi16> -> vector<8xi32>
func.func @pair_multiply_adds(%x: vector<16xi8>, %y: vector<32xi8>, %z: vector<64xi8>, %ones: vector<16xi16>) -> vector<8xi32> {
  %a = x86vector.vpmaddubsw %x, %x : vector<16xi8> -> vector<8xi16>
  %h = x86vector.vpmaddubsw %y, %y : vector<32xi8> -> vector<16xi16>
  %c = x86vector.vpmaddubsw %z, %z : vector<64xi8> -> vector<32xi16>
  %w = x86vector.vpmaddwd %h, %ones : vector<16xi16> -> vector<8xi32>
  func.return %w : vector<8xi32>
}
