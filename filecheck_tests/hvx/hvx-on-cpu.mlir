// An hvx op compiled for a device without HVX: one diagnostic naming the op, no traceback.
// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm 2>&1 | filecheck %s

// CHECK: error: not supported: 'hvx.vaddbsat' on device 'x86-64-avx512' (x86_64-unknown-linux-gnu): hvx ops need a Hexagon device with +hvx-length128b
// CHECK-NOT: Traceback
func.func @add(%a: vector<128xi8>, %b: vector<128xi8>) -> vector<128xi8> {
  %s = hvx.vaddbsat %a, %b : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
  func.return %s : vector<128xi8>
}
