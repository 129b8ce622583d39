// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm 2>&1 | filecheck %s --check-prefix=X86
// RUN: not lamina-opt %s -p 'loop-to-neon{device="host"}' 2>&1 | filecheck %s --check-prefix=HOST

// neon ops name their op, line and device when the device cannot run them; loop-to-neon
// refuses a non-AArch64 device.
func.func @k(%c: vector<4xf32>, %a: vector<4xf32>) -> vector<4xf32> {
  // X86: unsupported.mlir:8:3: error: not supported: 'neon.fmla_lane' on device 'x86-64-avx512' (x86_64-unknown-linux-gnu): neon ops need an AArch64 device
  %r = neon.fmla_lane %c, %c, %a[1] : vector<4xf32>, vector<4xf32>
  func.return %r : vector<4xf32>
}

// HOST: error: not supported: loop-to-neon for device 'host' ({{.*}}): it needs an AArch64 device
