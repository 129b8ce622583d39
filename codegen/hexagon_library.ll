; The C-ABI library every freestanding Hexagon program links (codegen/hexagon_program.py
; adds lamina_read_exact and lamina_write_all): no libc, so only what the generated code and
; the drivers call.

declare i32 @lamina_syscall(i32, i32, i32, i32, i32, i32)

; No threads: pthread_create fails (EAGAIN), so codegen's parallel_for runs every chunk inline.
define i32 @pthread_create(ptr %thread, ptr %attr, ptr %start, ptr %arg) {
  ret i32 11
}
define i32 @pthread_join(i64 %thread, ptr %result) {
  ret i32 0
}

; expf(x) = 2^n * e^r, n = round(x / ln 2), |r| <= ln(2)/2, degree-7 Taylor polynomial
; (relative error < 1e-7); x is clamped to [-87, 88] so 2^n stays a normal float.
define float @expf(float %x) {
  %lo = fcmp olt float %x, -87.0
  %x1 = select i1 %lo, float -87.0, float %x
  %hi = fcmp ogt float %x1, 88.0
  %xc = select i1 %hi, float 88.0, float %x1
  %t = fmul float %xc, 0x3FF7154760000000
  %neg = fcmp olt float %t, 0.0
  %half = select i1 %neg, float -0.5, float 0.5
  %tr = fadd float %t, %half
  %n = fptosi float %tr to i32
  %nf = sitofp i32 %n to float
  %r0 = fmul float %nf, 0x3FE62E4000000000
  %r1 = fsub float %xc, %r0
  %r2 = fmul float %nf, 0x3EB7F7D1C0000000
  %r = fsub float %r1, %r2
  %p7 = fmul float %r, 0x3F2A01A020000000
  %p6 = fadd float %p7, 0x3F56C16C20000000
  %q6 = fmul float %p6, %r
  %p5 = fadd float %q6, 0x3F81111120000000
  %q5 = fmul float %p5, %r
  %p4 = fadd float %q5, 0x3FA5555560000000
  %q4 = fmul float %p4, %r
  %p3 = fadd float %q4, 0x3FC5555560000000
  %q3 = fmul float %p3, %r
  %p2 = fadd float %q3, 0.5
  %q2 = fmul float %p2, %r
  %p1 = fadd float %q2, 1.0
  %q1 = fmul float %p1, %r
  %p0 = fadd float %q1, 1.0
  %e = add i32 %n, 127
  %bits = shl i32 %e, 23
  %scale = bitcast i32 %bits to float
  %y = fmul float %p0, %scale
  ret float %y
}

; roundevenf(x): ties to even (QuantizeLinear), by the default rounding of |x| + 2^23 - 2^23
; with x's sign; |x| >= 2^23 (already whole), infinities and NaN are x itself.
define float @roundevenf(float %x) {
  %a = call float @llvm.fabs.f32(float %x)
  %whole = fcmp uge float %a, 8388608.0
  %t = fadd float %a, 8388608.0
  %r = fsub float %t, 8388608.0
  %s = call float @llvm.copysign.f32(float %r, float %x)
  %y = select i1 %whole, float %x, float %s
  ret float %y
}
declare float @llvm.fabs.f32(float)
declare float @llvm.copysign.f32(float, float)

define void @lamina_exit(i32 %code) noreturn {
  %ignored = call i32 @lamina_syscall(i32 93, i32 %code, i32 0, i32 0, i32 0, i32 0)
  unreachable
}
