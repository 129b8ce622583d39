// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// vload/vstore, vector and math ops: intrinsics where LLVM has one, libm calls otherwise;
// f32 exp and erf are inline arithmetic (codegen/llvm_math.py), f64 ones are not.

func.func @vec(%x: memref<4x64xf32>, %y: memref<4x64xf32>, %s: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %v = loop.vload %x[%c0, %c16] : memref<4x64xf32>, vector<16xf32>
  %b = vector.broadcast %s : f32 to vector<16xf32>
  %f = vector.fma %v, %b, %v : vector<16xf32>
  %e = math.exp %f : vector<16xf32>
  %t = math.tanh %e : vector<16xf32>
  loop.vstore %t, %y[%c0, %c16] : memref<4x64xf32>, vector<16xf32>
  %r = vector.reduction <add>, %t : vector<16xf32> into f32
  %er = math.erf %r : f32
  %q = math.rsqrt %er : f32
  func.return %q : f32
}

func.func @wide(%x: f64) -> f64 {
  %e = math.exp %x : f64
  %r = math.erf %e : f64
  func.return %r : f64
}

// CHECK-LABEL: define float @vec(ptr %x, ptr %y, float %s)
// CHECK:         %[[P:.*]] = getelementptr inbounds float, ptr %x, i64 16
// CHECK-NEXT:    %v = load <16 x float>, ptr %[[P]], align 4
// CHECK-NEXT:    %[[ONE:.*]] = insertelement <16 x float> undef, float %s, i32 0
// CHECK-NEXT:    %b = shufflevector <16 x float> %[[ONE]], <16 x float> undef, <16 x i32> zeroinitializer
// CHECK-NEXT:    %f = call <16 x float> @llvm.fma.v16f32(<16 x float> %v, <16 x float> %b, <16 x float> %v)
// CHECK-NOT:     @llvm.exp
// CHECK:         %[[TOO_LOW:.*]] = fcmp olt <16 x float> %f, splat (float -1.040000e+02)
// CHECK:         fadd contract <16 x float> %{{.*}}, splat (float 0x4168000000000000)
// CHECK:         shl <16 x i32> %{{.*}}, splat (i32 23)
// CHECK:         %[[NAN:.*]] = fcmp uno <16 x float> %f, %f
// CHECK-NEXT:    %e = select <16 x i1> %[[NAN]], <16 x float> %f, <16 x float> %{{.*}}
// CHECK-NEXT:    %t = call <16 x float> @llvm.tanh.v16f32(<16 x float> %e)
// CHECK:         store <16 x float> %t, ptr %{{.*}}, align 4
// CHECK-NEXT:    %r = call reassoc float @llvm.vector.reduce.fadd.v16f32(float -0.000000e+00, <16 x float> %t)
// CHECK-NOT:     @erff
// CHECK:         fcmp ogt float %{{.*}}, 4.000000e+00
// CHECK:         %[[RATIO:.*]] = fdiv float
// CHECK-NEXT:    %[[BELOW:.*]] = fcmp olt float %[[RATIO]], -1.000000e+00
// CHECK-NEXT:    %[[RAISED:.*]] = select i1 %[[BELOW]], float -1.000000e+00, float %[[RATIO]]
// CHECK-NEXT:    %[[ABOVE:.*]] = fcmp ogt float %[[RAISED]], 1.000000e+00
// CHECK-NEXT:    %[[ERF:.*]] = select i1 %[[ABOVE]], float 1.000000e+00, float %[[RAISED]]
// CHECK-NEXT:    %[[NAN_R:.*]] = fcmp uno float %r, %r
// CHECK-NEXT:    %er = select i1 %[[NAN_R]], float %r, float %[[ERF]]
// CHECK-NEXT:    %[[ROOT:.*]] = call float @llvm.sqrt.f32(float %er)
// CHECK-NEXT:    %q = fdiv float 1.000000e+00, %[[ROOT]]
// CHECK-NEXT:    ret float %q

// CHECK-LABEL: define double @wide(double %x)
// CHECK:         %e = call double @llvm.exp.f64(double %x)
// CHECK-NEXT:    %r = call double @erf(double %e)
// CHECK-NOT:   declare float @erff
// CHECK:       declare double @erf(double)
