// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @saturating_arith
func.func @saturating_arith(%a: vector<128xi8>, %b: vector<128xi8>, %h: vector<64xi16>, %w: vector<32xi32>) -> vector<32xi32> {
  // CHECK: %[[S:.*]] = hvx.vaddbsat %{{.*}}, %{{.*}} : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
  %s = hvx.vaddbsat %a, %b : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
  // CHECK: hvx.vsubhsat %{{.*}}, %{{.*}} : (vector<64xi16>, vector<64xi16>) -> vector<64xi16>
  %d = hvx.vsubhsat %h, %h : (vector<64xi16>, vector<64xi16>) -> vector<64xi16>
  // CHECK: hvx.vmaxb %[[S]], %{{.*}} : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
  %m = hvx.vmaxb %s, %b : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
  // CHECK: hvx.vaddwsat
  %x = hvx.vaddwsat %w, %w : (vector<32xi32>, vector<32xi32>) -> vector<32xi32>
  func.return %x : vector<32xi32>
}

// CHECK-LABEL: func.func @widening_and_narrowing
func.func @widening_and_narrowing(%a: vector<128xi8>, %h: vector<64xi16>, %w: vector<32xi32>, %r: i32) -> vector<128xi8> {
  // CHECK: %[[P:.*]] = hvx.vmpybv %{{.*}}, %{{.*}} : (vector<128xi8>, vector<128xi8>) -> vector<128xi16>
  %p = hvx.vmpybv %a, %a : (vector<128xi8>, vector<128xi8>) -> vector<128xi16>
  // CHECK: hvx.vcast %[[P]] : vector<128xi16> to vector<64xi32>
  %pw = hvx.vcast %p : vector<128xi16> to vector<64xi32>
  // CHECK: hvx.hi %{{.*}} : (vector<64xi32>) -> vector<32xi32>
  %hi = hvx.hi %pw : (vector<64xi32>) -> vector<32xi32>
  %lo = hvx.lo %pw : (vector<64xi32>) -> vector<32xi32>
  // CHECK: hvx.vmpyhv %{{.*}}, %{{.*}} : (vector<64xi16>, vector<64xi16>) -> vector<64xi32>
  %q = hvx.vmpyhv %h, %h : (vector<64xi16>, vector<64xi16>) -> vector<64xi32>
  // CHECK: hvx.vasrwhsat %{{.*}}, %{{.*}}, %{{.*}} : (vector<32xi32>, vector<32xi32>, i32) -> vector<64xi16>
  %n = hvx.vasrwhsat %hi, %lo, %r : (vector<32xi32>, vector<32xi32>, i32) -> vector<64xi16>
  // CHECK: hvx.vpackhb.sat %{{.*}}, %{{.*}} : (vector<64xi16>, vector<64xi16>) -> vector<128xi8>
  %b = hvx.vpackhb.sat %n, %n : (vector<64xi16>, vector<64xi16>) -> vector<128xi8>
  // CHECK: hvx.vasrhubsat
  %u = hvx.vasrhubsat %n, %n, %r : (vector<64xi16>, vector<64xi16>, i32) -> vector<128xi8>
  // CHECK: hvx.vshuffvdd %{{.*}}, %{{.*}}, %{{.*}} : (vector<32xi32>, vector<32xi32>, i32) -> vector<64xi32>
  %sh = hvx.vshuffvdd %w, %w, %r : (vector<32xi32>, vector<32xi32>, i32) -> vector<64xi32>
  // CHECK: hvx.vlutvvb %{{.*}}, %{{.*}}, %{{.*}} : (vector<128xi8>, vector<128xi8>, i32) -> vector<128xi8>
  %l = hvx.vlutvvb %u, %b, %r : (vector<128xi8>, vector<128xi8>, i32) -> vector<128xi8>
  func.return %l : vector<128xi8>
}

// CHECK-LABEL: func.func @dot_products_and_predicates
func.func @dot_products_and_predicates(%acc: vector<32xi32>, %x: vector<128xi8>, %y: vector<128xi8>, %r: i32) -> vector<32xi32> {
  // CHECK: hvx.vrmpybusv.acc %{{.*}}, %{{.*}}, %{{.*}} : (vector<32xi32>, vector<128xi8>, vector<128xi8>) -> vector<32xi32>
  %a1 = hvx.vrmpybusv.acc %acc, %x, %y : (vector<32xi32>, vector<128xi8>, vector<128xi8>) -> vector<32xi32>
  // CHECK: hvx.vrmpyubv
  %a2 = hvx.vrmpyubv %x, %y : (vector<128xi8>, vector<128xi8>) -> vector<32xi32>
  // CHECK: hvx.vmpyiwb %{{.*}}, %{{.*}} : (vector<32xi32>, i32) -> vector<32xi32>
  %a3 = hvx.vmpyiwb %a2, %r : (vector<32xi32>, i32) -> vector<32xi32>
  // CHECK: %[[Q:.*]] = hvx.vgtw %{{.*}}, %{{.*}} : (vector<32xi32>, vector<32xi32>) -> vector<128xi1>
  %q = hvx.vgtw %a1, %a3 : (vector<32xi32>, vector<32xi32>) -> vector<128xi1>
  // CHECK: hvx.vmux %[[Q]], %{{.*}}, %{{.*}} : (vector<128xi1>, vector<32xi32>, vector<32xi32>) -> vector<32xi32>
  %m = hvx.vmux %q, %a1, %a3 : (vector<128xi1>, vector<32xi32>, vector<32xi32>) -> vector<32xi32>
  // CHECK: hvx.lvsplatw %{{.*}} : (i32) -> vector<32xi32>
  %s = hvx.lvsplatw %r : (i32) -> vector<32xi32>
  // CHECK: hvx.vmpyowh.rnd.sacc
  %h = hvx.vmpyowh.rnd.sacc %m, %s, %s : (vector<32xi32>, vector<32xi32>, vector<32xi32>) -> vector<32xi32>
  func.return %h : vector<32xi32>
}
