// The freestanding start of a lamina Hexagon program under qemu-hexagon (linux-user):
// no libc, Linux system calls through trap0(#1) with the number in r6, arguments in
// r0..r4, result in r0. codegen/hexagon_program.py assembles it with llvm-mc; programs
// under test (runtime/hexagon.py) and AOT bundles (codegen/aot_hexagon.py) link the object.

	.text
	.globl	_start
	.p2align 4
_start:
	r0 = memw(r29+#0)            // int lamina_program_main(int argc, char **argv):
	r1 = add(r29, #4)            // the kernel leaves argc at sp, argv right above it
	r29 = and(r29, #-128)        // HVX spills want a 128-byte aligned stack
	call lamina_program_main
	r6 = #93                     // exit(r0)
	trap0(#1)

// int lamina_syscall(int number, int a0, int a1, int a2, int a3, int a4)
	.globl	lamina_syscall
	.p2align 4
lamina_syscall:
	r6 = r0
	r0 = r1
	r1 = r2
	r2 = r3
	r3 = r4
	r4 = r5
	trap0(#1)
	jumpr r31

// void *memcpy(void *dst, const void *src, size_t n): bytewise; LLVM's aligned variant
// (a Hexagon runtime routine) is the same routine here.
	.globl	memcpy
	.globl	__hexagon_memcpy_likely_aligned_min32bytes_mult8bytes
	.p2align 4
memcpy:
__hexagon_memcpy_likely_aligned_min32bytes_mult8bytes:
	r3 = r0
	p0 = cmp.eq(r2, #0)
	if (p0) jumpr r31
.Lcopy:
	r4 = memub(r1++#1)
	memb(r3++#1) = r4
	r2 = add(r2, #-1)
	p0 = cmp.eq(r2, #0)
	if (!p0) jump .Lcopy
	jumpr r31

// void *memset(void *dst, int c, size_t n)
	.globl	memset
	.p2align 4
memset:
	r3 = r0
	p0 = cmp.eq(r2, #0)
	if (p0) jumpr r31
.Lset:
	memb(r3++#1) = r1
	r2 = add(r2, #-1)
	p0 = cmp.eq(r2, #0)
	if (!p0) jump .Lset
	jumpr r31
