"""The Hexagon half of AOT bundles (codegen/aot.py): a model compiled for a Hexagon DSP
device with a freestanding runtime, linked and run without Python or libc.

`write_bundle(model, "hexagon-v66-hvx128", "out/")` writes the common files (`model.h`,
`weights.bin`, `bundle.json`: the kernel ABI of docs/pipeline.md) and, from here:

| file | what |
|---|---|
| `model.o` | the entry point, a Hexagon ELF object (the device's CPU and HVX features, `reloc=static`, no small-data section) |
| `start.o` | `_start`, the `lamina_syscall` trap, memcpy/memset: runtime/hexagon_start.s through `llvm-mc` |
| `library.o` | expf, pthread stubs (parallel loops run inline), exact reads/writes: runtime/hexagon.py |
| `driver.o` | `lamina_program_main`: the driver below, LLVM IR compiled by llvmlite |
| `Makefile` | `ld.lld -static -e _start -o run start.o library.o driver.o model.o` |

The driver is LLVM IR (there is no Hexagon C compiler here): a model-independent part
(`DRIVER_IR`) and this model's tables (`model_ir`). It takes the C driver's command line,

    qemu-hexagon ./run [-w weights.bin] -i in0.bin ... [-o DIR] [-n REPEAT]

reads the weights and every input (all are required: there is no random generator) from
files through the Linux system calls qemu-hexagon's linux-user mode implements (openat,
_llseek, read, write, close, clock_gettime, exit), calls the model REPEAT times (at most
`MAX_REPEAT`), writes `DIR/out<k>.bin` and prints `latency: median <x> ms, ...`: wall-clock
time (CLOCK_MONOTONIC; under qemu, which counts no cycles, not a device figure). A file
of the wrong size is an error naming the tensor (exit 1); a bad command line prints the
usage (exit 2). Buffers are 128-byte aligned static arrays (the `.bss` of the program), so
the program needs no allocator.

`write_bundle` links the objects once in a scratch directory, so a model needing a
routine the freestanding runtime lacks fails at compile time ("not supported: calls to
<symbol> ..."), leaving no bundle.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_split import InlineNests
from lamina.runtime.hexagon import LINK, link, object_code, require_tools, runtime_objects
from lamina.targets import Device

if TYPE_CHECKING:
    from lamina.codegen.aot import Bundle

MAX_REPEAT = 1000
"""The most runs the driver times (its table of latencies is static)."""

_STRINGS = {
    "weights_bin": "weights.bin",
    "dot": ".",
    "weights_what": "the weights blob",
    "error": "run: error: ",
    "cannot_open": "cannot open ",
    "cannot_write": "cannot write ",
    "has": " has ",
    "bytes_but": " bytes, but ",
    "takes": " takes ",
    "newline": "\n",
    "point": ".",
    "too_many": "too many inputs (-i) for the model",
    "takes_files": "the model takes input files (-i): ",
    "got": ", got ",
    "empty": "",
    "usage": "usage: run [-w weights.bin] -i in0.bin ... [-o DIR] [-n REPEAT]\n",
    "wrote": "wrote ",
    "median": "latency: median ",
    "min": " ms, min ",
    "over": " ms over ",
    "runs": " run(s)\n",
}

DRIVER_IR = r"""
; { inputs, input buffers, input sizes, input descriptions, input paths (filled here),
;   outputs, output buffers, output sizes, output file names, weights, weights size, call }
%lamina.model = type { i32, ptr, ptr, ptr, ptr, i32, ptr, ptr, ptr, ptr, i32, ptr }

declare i32 @lamina_syscall(i32, i32, i32, i32, i32, i32)
declare void @lamina_read_exact(i32, ptr, i32)
declare void @lamina_write_all(i32, ptr, i32)
declare void @lamina_exit(i32) noreturn

@lamina.line = internal global [4608 x i8] zeroinitializer
@lamina.line_used = internal global i32 0
@lamina.path = internal global [4352 x i8] zeroinitializer
@lamina.times = internal global [@MAX_REPEAT@ x i32] zeroinitializer

; Copy the C string %s to %dst + %at, stopping at %cap; the new end.
define internal i32 @lamina.append(ptr %dst, i32 %at, ptr %s, i32 %cap) {
entry:
  br label %loop
loop:
  %i = phi i32 [ %at, %entry ], [ %i1, %copy ]
  %j = phi i32 [ 0, %entry ], [ %j1, %copy ]
  %from = getelementptr i8, ptr %s, i32 %j
  %c = load i8, ptr %from
  %end = icmp eq i8 %c, 0
  %full = icmp sge i32 %i, %cap
  %stop = or i1 %end, %full
  br i1 %stop, label %done, label %copy
copy:
  %to = getelementptr i8, ptr %dst, i32 %i
  store i8 %c, ptr %to
  %i1 = add i32 %i, 1
  %j1 = add i32 %j, 1
  br label %loop
done:
  ret i32 %i
}

; Append the C string %s to the output line (cut at its capacity).
define internal void @lamina.put(ptr %s) {
  %used = load i32, ptr @lamina.line_used
  %end = call i32 @lamina.append(ptr @lamina.line, i32 %used, ptr %s, i32 4608)
  store i32 %end, ptr @lamina.line_used
  ret void
}

; Append %v in decimal, zero-padded to at least %digits digits.
define internal void @lamina.put_uint(i32 %v, i32 %digits) {
entry:
  %buf = alloca [12 x i8]
  %last = getelementptr [12 x i8], ptr %buf, i32 0, i32 11
  store i8 0, ptr %last
  br label %loop
loop:
  %pos = phi i32 [ 11, %entry ], [ %pos1, %loop ]
  %x = phi i32 [ %v, %entry ], [ %q, %loop ]
  %q = udiv i32 %x, 10
  %r = urem i32 %x, 10
  %pos1 = sub i32 %pos, 1
  %r8 = trunc i32 %r to i8
  %ch = add i8 %r8, 48
  %at = getelementptr [12 x i8], ptr %buf, i32 0, i32 %pos1
  store i8 %ch, ptr %at
  %made = sub i32 11, %pos1
  %short = icmp slt i32 %made, %digits
  %left = icmp ne i32 %q, 0
  %more = or i1 %short, %left
  br i1 %more, label %loop, label %done
done:
  call void @lamina.put(ptr %at)
  ret void
}

; Append %us microseconds as milliseconds with three decimals.
define internal void @lamina.put_ms(i32 %us) {
  %ms = udiv i32 %us, 1000
  %frac = urem i32 %us, 1000
  call void @lamina.put_uint(i32 %ms, i32 1)
  call void @lamina.put(ptr @lamina.s.point)
  call void @lamina.put_uint(i32 %frac, i32 3)
  ret void
}

define internal void @lamina.flush(i32 %fd) {
  %used = load i32, ptr @lamina.line_used
  call void @lamina_write_all(i32 %fd, ptr @lamina.line, i32 %used)
  store i32 0, ptr @lamina.line_used
  ret void
}

; "run: error: <a><b>" on stderr, exit(1).
define internal void @lamina.fail(ptr %a, ptr %b) noreturn {
  call void @lamina.put(ptr @lamina.s.error)
  call void @lamina.put(ptr %a)
  call void @lamina.put(ptr %b)
  call void @lamina.put(ptr @lamina.s.newline)
  call void @lamina.flush(i32 2)
  call void @lamina_exit(i32 1)
  unreachable
}

define internal void @lamina.usage() noreturn {
  call void @lamina.put(ptr @lamina.s.usage)
  call void @lamina.flush(i32 2)
  call void @lamina_exit(i32 2)
  unreachable
}

; The letter of a flag "-x", else 0.
define internal i32 @lamina.flag(ptr %s) {
entry:
  %c0 = load i8, ptr %s
  %dash = icmp eq i8 %c0, 45
  br i1 %dash, label %second, label %no
second:
  %p1 = getelementptr i8, ptr %s, i32 1
  %c1 = load i8, ptr %p1
  %letter = icmp ne i8 %c1, 0
  br i1 %letter, label %third, label %no
third:
  %p2 = getelementptr i8, ptr %s, i32 2
  %c2 = load i8, ptr %p2
  %alone = icmp eq i8 %c2, 0
  %code = zext i8 %c1 to i32
  %result = select i1 %alone, i32 %code, i32 0
  ret i32 %result
no:
  ret i32 0
}

; A decimal number (saturated at @MAX_REPEAT@), or -1 for an empty or non-digit string.
define internal i32 @lamina.parse_uint(ptr %s) {
entry:
  %c0 = load i8, ptr %s
  %empty = icmp eq i8 %c0, 0
  br i1 %empty, label %bad, label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i1, %digit ]
  %v = phi i32 [ 0, %entry ], [ %v2, %digit ]
  %at = getelementptr i8, ptr %s, i32 %i
  %c = load i8, ptr %at
  %end = icmp eq i8 %c, 0
  br i1 %end, label %done, label %check
check:
  %d8 = sub i8 %c, 48
  %isdigit = icmp ult i8 %d8, 10
  br i1 %isdigit, label %digit, label %bad
digit:
  %d = zext i8 %d8 to i32
  %v10 = mul i32 %v, 10
  %v1 = add i32 %v10, %d
  %big = icmp ugt i32 %v1, @MAX_REPEAT@
  %v2 = select i1 %big, i32 @MAX_REPEAT@, i32 %v1
  %i1 = add i32 %i, 1
  br label %loop
done:
  ret i32 %v
bad:
  ret i32 -1
}

; The offset _llseek(%fd, 0, %whence) moves to (-1: an error, or past 2 GiB).
define internal i32 @lamina.seek(i32 %fd, i32 %whence) {
  %result = alloca i64
  store i64 -1, ptr %result
  %addr = ptrtoint ptr %result to i32
  %error = call i32 @lamina_syscall(i32 62, i32 %fd, i32 0, i32 0, i32 %addr, i32 %whence)
  %offset = load i64, ptr %result
  %small = icmp ult i64 %offset, 2147483648
  %fine = icmp eq i32 %error, 0
  %ok = and i1 %fine, %small
  %low = trunc i64 %offset to i32
  %value = select i1 %ok, i32 %low, i32 -1
  ret i32 %value
}

; Read the file %path, which must hold exactly %size bytes (%what: the tensor it feeds).
define internal void @lamina.read_file(ptr %path, ptr %buf, i32 %size, ptr %what) {
entry:
  %name = ptrtoint ptr %path to i32
  %fd = call i32 @lamina_syscall(i32 56, i32 -100, i32 %name, i32 0, i32 0, i32 0)
  %closed = icmp slt i32 %fd, 0
  br i1 %closed, label %nofile, label %opened
nofile:
  call void @lamina.fail(ptr @lamina.s.cannot_open, ptr %path)
  unreachable
opened:
  %end = call i32 @lamina.seek(i32 %fd, i32 2)
  %fits = icmp eq i32 %end, %size
  br i1 %fits, label %read, label %wrong
wrong:
  call void @lamina.put(ptr @lamina.s.error)
  call void @lamina.put(ptr %path)
  call void @lamina.put(ptr @lamina.s.has)
  call void @lamina.put_uint(i32 %end, i32 1)
  call void @lamina.put(ptr @lamina.s.bytes_but)
  call void @lamina.put(ptr %what)
  call void @lamina.put(ptr @lamina.s.takes)
  call void @lamina.put_uint(i32 %size, i32 1)
  call void @lamina.put(ptr @lamina.s.newline)
  call void @lamina.flush(i32 2)
  call void @lamina_exit(i32 1)
  unreachable
read:
  %start = call i32 @lamina.seek(i32 %fd, i32 0)
  call void @lamina_read_exact(i32 %fd, ptr %buf, i32 %size)
  %ignored = call i32 @lamina_syscall(i32 57, i32 %fd, i32 0, i32 0, i32 0, i32 0)
  ret void
}

; Create (or truncate) %path with mode 0644 and write %size bytes of %buf into it.
define internal void @lamina.write_file(ptr %path, ptr %buf, i32 %size) {
entry:
  %name = ptrtoint ptr %path to i32
  %fd = call i32 @lamina_syscall(i32 56, i32 -100, i32 %name, i32 577, i32 420, i32 0)
  %closed = icmp slt i32 %fd, 0
  br i1 %closed, label %nofile, label %opened
nofile:
  call void @lamina.fail(ptr @lamina.s.cannot_write, ptr %path)
  unreachable
opened:
  call void @lamina_write_all(i32 %fd, ptr %buf, i32 %size)
  %ignored = call i32 @lamina_syscall(i32 57, i32 %fd, i32 0, i32 0, i32 0, i32 0)
  ret void
}

; @lamina.path = %dir followed by %file, NUL-terminated (cut to the buffer's size).
define internal void @lamina.join(ptr %dir, ptr %file) {
  %n = call i32 @lamina.append(ptr @lamina.path, i32 0, ptr %dir, i32 4351)
  %m = call i32 @lamina.append(ptr @lamina.path, i32 %n, ptr %file, i32 4351)
  %end = getelementptr i8, ptr @lamina.path, i32 %m
  store i8 0, ptr %end
  ret void
}

; Microseconds of CLOCK_MONOTONIC from %t0 to %t1 ({seconds, nanoseconds}, 32 bits each).
define internal i32 @lamina.elapsed_us(ptr %t0, ptr %t1) {
  %s0 = load i32, ptr %t0
  %s1 = load i32, ptr %t1
  %n0p = getelementptr i32, ptr %t0, i32 1
  %n1p = getelementptr i32, ptr %t1, i32 1
  %n0 = load i32, ptr %n0p
  %n1 = load i32, ptr %n1p
  %ds = sub i32 %s1, %s0
  %dn = sub i32 %n1, %n0
  %us_s = mul i32 %ds, 1000000
  %us_n = sdiv i32 %dn, 1000
  %us = add i32 %us_s, %us_n
  ret i32 %us
}

define internal void @lamina.now(ptr %t) {
  %addr = ptrtoint ptr %t to i32
  %ignored = call i32 @lamina_syscall(i32 113, i32 1, i32 %addr, i32 0, i32 0, i32 0)
  ret void
}

; Sort %n latencies of @lamina.times in place (insertion sort: %n is small).
define internal void @lamina.sort(i32 %n) {
entry:
  br label %outer
outer:
  %i = phi i32 [ 1, %entry ], [ %i1, %placed ]
  %more = icmp slt i32 %i, %n
  br i1 %more, label %take, label %done
take:
  %pi = getelementptr i32, ptr @lamina.times, i32 %i
  %key = load i32, ptr %pi
  br label %inner
inner:
  %j = phi i32 [ %i, %take ], [ %jm, %shift ]
  %at_start = icmp eq i32 %j, 0
  br i1 %at_start, label %place, label %compare
compare:
  %jm = sub i32 %j, 1
  %pp = getelementptr i32, ptr @lamina.times, i32 %jm
  %prev = load i32, ptr %pp
  %greater = icmp sgt i32 %prev, %key
  br i1 %greater, label %shift, label %place
shift:
  %pj = getelementptr i32, ptr @lamina.times, i32 %j
  store i32 %prev, ptr %pj
  br label %inner
place:
  %pk = getelementptr i32, ptr @lamina.times, i32 %j
  store i32 %key, ptr %pk
  br label %placed
placed:
  %i1 = add i32 %i, 1
  br label %outer
done:
  ret void
}

define internal i32 @lamina.main(i32 %argc, ptr %argv, ptr %m) {
entry:
  %wpath = alloca ptr
  %dir = alloca ptr
  %repeat = alloca i32
  %given = alloca i32
  %a = alloca i32
  %t0 = alloca [2 x i32]
  %t1 = alloca [2 x i32]
  store ptr @lamina.s.weights_bin, ptr %wpath
  store ptr @lamina.s.dot, ptr %dir
  store i32 1, ptr %repeat
  store i32 0, ptr %given
  store i32 1, ptr %a
  %nin.p = getelementptr %lamina.model, ptr %m, i32 0, i32 0
  %nin = load i32, ptr %nin.p
  %paths.p = getelementptr %lamina.model, ptr %m, i32 0, i32 4
  %paths = load ptr, ptr %paths.p
  br label %args
args:
  %i = load i32, ptr %a
  %more = icmp slt i32 %i, %argc
  br i1 %more, label %arg, label %parsed
arg:
  %argp = getelementptr ptr, ptr %argv, i32 %i
  %word = load ptr, ptr %argp
  %flag = call i32 @lamina.flag(ptr %word)
  %vi = add i32 %i, 1
  %has_value = icmp slt i32 %vi, %argc
  br i1 %has_value, label %value, label %usage
value:
  %vp = getelementptr ptr, ptr %argv, i32 %vi
  %v = load ptr, ptr %vp
  %next = add i32 %i, 2
  store i32 %next, ptr %a
  switch i32 %flag, label %usage [ i32 119, label %flag_w
                                   i32 105, label %flag_i
                                   i32 111, label %flag_o
                                   i32 110, label %flag_n ]
flag_w:
  store ptr %v, ptr %wpath
  br label %args
flag_o:
  store ptr %v, ptr %dir
  br label %args
flag_n:
  %count = call i32 @lamina.parse_uint(ptr %v)
  %nonumber = icmp slt i32 %count, 0
  br i1 %nonumber, label %usage, label %set_repeat
set_repeat:
  %atleast1 = icmp slt i32 %count, 1
  %count1 = select i1 %atleast1, i32 1, i32 %count
  store i32 %count1, ptr %repeat
  br label %args
flag_i:
  %g = load i32, ptr %given
  %full = icmp sge i32 %g, %nin
  br i1 %full, label %too_many, label %add_input
add_input:
  %slot = getelementptr ptr, ptr %paths, i32 %g
  store ptr %v, ptr %slot
  %g1 = add i32 %g, 1
  store i32 %g1, ptr %given
  br label %args
too_many:
  call void @lamina.fail(ptr @lamina.s.too_many, ptr @lamina.s.empty)
  unreachable
usage:
  call void @lamina.usage()
  unreachable
parsed:
  %gn = load i32, ptr %given
  %complete = icmp eq i32 %gn, %nin
  br i1 %complete, label %load, label %missing
missing:
  call void @lamina.put(ptr @lamina.s.error)
  call void @lamina.put(ptr @lamina.s.takes_files)
  call void @lamina.put_uint(i32 %nin, i32 1)
  call void @lamina.put(ptr @lamina.s.got)
  call void @lamina.put_uint(i32 %gn, i32 1)
  call void @lamina.put(ptr @lamina.s.newline)
  call void @lamina.flush(i32 2)
  call void @lamina_exit(i32 1)
  unreachable
load:
  %wbuf.p = getelementptr %lamina.model, ptr %m, i32 0, i32 9
  %wbuf = load ptr, ptr %wbuf.p
  %wsize.p = getelementptr %lamina.model, ptr %m, i32 0, i32 10
  %wsize = load i32, ptr %wsize.p
  %wp = load ptr, ptr %wpath
  call void @lamina.read_file(ptr %wp, ptr %wbuf, i32 %wsize, ptr @lamina.s.weights_what)
  %in_bufs.p = getelementptr %lamina.model, ptr %m, i32 0, i32 1
  %in_bufs = load ptr, ptr %in_bufs.p
  %in_sizes.p = getelementptr %lamina.model, ptr %m, i32 0, i32 2
  %in_sizes = load ptr, ptr %in_sizes.p
  %in_whats.p = getelementptr %lamina.model, ptr %m, i32 0, i32 3
  %in_whats = load ptr, ptr %in_whats.p
  br label %inputs
inputs:
  %k = phi i32 [ 0, %load ], [ %k1, %input ]
  %more_in = icmp slt i32 %k, %nin
  br i1 %more_in, label %input, label %run
input:
  %pk = getelementptr ptr, ptr %paths, i32 %k
  %path_k = load ptr, ptr %pk
  %bk = getelementptr ptr, ptr %in_bufs, i32 %k
  %buf_k = load ptr, ptr %bk
  %sk = getelementptr i32, ptr %in_sizes, i32 %k
  %size_k = load i32, ptr %sk
  %whk = getelementptr ptr, ptr %in_whats, i32 %k
  %what_k = load ptr, ptr %whk
  call void @lamina.read_file(ptr %path_k, ptr %buf_k, i32 %size_k, ptr %what_k)
  %k1 = add i32 %k, 1
  br label %inputs
run:
  %n = load i32, ptr %repeat
  %call.p = getelementptr %lamina.model, ptr %m, i32 0, i32 11
  %call = load ptr, ptr %call.p
  br label %runs
runs:
  %r = phi i32 [ 0, %run ], [ %r1, %timed ]
  %more_runs = icmp slt i32 %r, %n
  br i1 %more_runs, label %timed, label %ran
timed:
  call void @lamina.now(ptr %t0)
  call void %call()
  call void @lamina.now(ptr %t1)
  %us = call i32 @lamina.elapsed_us(ptr %t0, ptr %t1)
  %tr = getelementptr i32, ptr @lamina.times, i32 %r
  store i32 %us, ptr %tr
  %r1 = add i32 %r, 1
  br label %runs
ran:
  call void @lamina.sort(i32 %n)
  %nout.p = getelementptr %lamina.model, ptr %m, i32 0, i32 5
  %nout = load i32, ptr %nout.p
  %out_bufs.p = getelementptr %lamina.model, ptr %m, i32 0, i32 6
  %out_bufs = load ptr, ptr %out_bufs.p
  %out_sizes.p = getelementptr %lamina.model, ptr %m, i32 0, i32 7
  %out_sizes = load ptr, ptr %out_sizes.p
  %out_files.p = getelementptr %lamina.model, ptr %m, i32 0, i32 8
  %out_files = load ptr, ptr %out_files.p
  %d = load ptr, ptr %dir
  br label %outputs
outputs:
  %o = phi i32 [ 0, %ran ], [ %o1, %output ]
  %more_out = icmp slt i32 %o, %nout
  br i1 %more_out, label %output, label %report
output:
  %fo = getelementptr ptr, ptr %out_files, i32 %o
  %file_o = load ptr, ptr %fo
  call void @lamina.join(ptr %d, ptr %file_o)
  %bo = getelementptr ptr, ptr %out_bufs, i32 %o
  %buf_o = load ptr, ptr %bo
  %so = getelementptr i32, ptr %out_sizes, i32 %o
  %size_o = load i32, ptr %so
  call void @lamina.write_file(ptr @lamina.path, ptr %buf_o, i32 %size_o)
  call void @lamina.put(ptr @lamina.s.wrote)
  call void @lamina.put(ptr @lamina.path)
  call void @lamina.put(ptr @lamina.s.newline)
  %o1 = add i32 %o, 1
  br label %outputs
report:
  %half = sdiv i32 %n, 2
  %pmid = getelementptr i32, ptr @lamina.times, i32 %half
  %median = load i32, ptr %pmid
  %fastest = load i32, ptr @lamina.times
  call void @lamina.put(ptr @lamina.s.median)
  call void @lamina.put_ms(i32 %median)
  call void @lamina.put(ptr @lamina.s.min)
  call void @lamina.put_ms(i32 %fastest)
  call void @lamina.put(ptr @lamina.s.over)
  call void @lamina.put_uint(i32 %n, i32 1)
  call void @lamina.put(ptr @lamina.s.runs)
  call void @lamina.flush(i32 1)
  ret i32 0
}
"""


def hexagon_files(
    module: ModuleOp, bundle: Bundle, device: Device, opt_level: int
) -> dict[str, bytes]:
    """The device-specific files of a Hexagon bundle of the lowered `module` (see the
    module docstring), after a trial link that catches missing runtime routines."""
    require_tools(["llvm-mc", LINK[0]])  # not the emulator: bundles are built anywhere
    files = runtime_objects(device)
    files["driver.o"] = object_code(driver_ir(bundle), device)
    files["model.o"] = object_code(
        emit_llvm(module, device, nests=InlineNests()), device, opt_level
    )
    with tempfile.TemporaryDirectory(prefix="lamina-hexagon-link-") as scratch:
        link(files, Path(scratch), "run")
    files["Makefile"] = makefile(bundle, list(files)).encode()
    return files


def driver_ir(bundle: Bundle) -> str:
    """LLVM IR of the bundle's driver: `DRIVER_IR` plus this model's buffers and tables."""
    constants = "\n".join(_string(f"lamina.s.{key}", text) for key, text in _STRINGS.items())
    return (
        DRIVER_IR.replace("@MAX_REPEAT@", str(MAX_REPEAT))
        + "\n"
        + constants
        + "\n"
        + model_ir(bundle)
    )


def model_ir(bundle: Bundle) -> str:
    """This model's static buffers, its `%lamina.model` table, the call of its entry point
    and `lamina_program_main`."""
    ins, outs = bundle.inputs, bundle.outputs
    buffers = {"weights": bundle.weights_bytes, "arena": bundle.arena_bytes}
    buffers |= {f"in{k}": s.nbytes for k, s in enumerate(ins)}
    buffers |= {f"out{k}": s.nbytes for k, s in enumerate(outs)}
    lines = [
        f"@lamina.{name} = internal global [{max(size, 1)} x i8] zeroinitializer, align 128"
        for name, size in buffers.items()
    ]
    lines += [
        _string(f"lamina.in.what{k}", f"input {k} '{s.name}' ({s.describe()})")
        for k, s in enumerate(ins)
    ]
    lines += [_string(f"lamina.out.file{k}", f"/out{k}.bin") for k in range(len(outs))]
    lines += [
        _array("lamina.in.bufs", "ptr", [f"@lamina.in{k}" for k in range(len(ins))]),
        _array("lamina.in.sizes", "i32", [str(s.nbytes) for s in ins]),
        _array("lamina.in.whats", "ptr", [f"@lamina.in.what{k}" for k in range(len(ins))]),
        _array("lamina.in.paths", "ptr", ["null"] * len(ins), constant=False),
        _array("lamina.out.bufs", "ptr", [f"@lamina.out{k}" for k in range(len(outs))]),
        _array("lamina.out.sizes", "i32", [str(s.nbytes) for s in outs]),
        _array("lamina.out.files", "ptr", [f"@lamina.out.file{k}" for k in range(len(outs))]),
    ]
    fields = [
        f"i32 {len(ins)}",
        *(f"ptr @lamina.in.{name}" for name in ("bufs", "sizes", "whats", "paths")),
        f"i32 {len(outs)}",
        *(f"ptr @lamina.out.{name}" for name in ("bufs", "sizes", "files")),
        "ptr @lamina.weights",
        f"i32 {bundle.weights_bytes}",
        "ptr @lamina.call",
    ]
    lines.append(f"@lamina.table = internal constant %lamina.model {{ {', '.join(fields)} }}")
    arguments = list(buffers)  # weights, arena, inputs, outputs: the kernel ABI's order
    lines += [
        f"declare void @{bundle.name}({', '.join('ptr' for _ in arguments)})",
        "define internal void @lamina.call() {",
        f"  call void @{bundle.name}({', '.join(f'ptr @lamina.{a}' for a in arguments)})",
        "  ret void",
        "}",
        "define i32 @lamina_program_main(i32 %argc, ptr %argv) {",
        "  %code = call i32 @lamina.main(i32 %argc, ptr %argv, ptr @lamina.table)",
        "  ret i32 %code",
        "}",
    ]
    return "\n".join(lines) + "\n"


def makefile(bundle: Bundle, objects: list[str]) -> str:
    """The bundle's Makefile: link the shipped objects (start.o first) into `run`."""
    return (
        f"# lamina AOT bundle: {bundle.name} for device {bundle.device} ({bundle.triple}).\n"
        "# A freestanding program (no libc): make && qemu-hexagon ./run -w weights.bin \\\n"
        "#   -i in0.bin ... [-o DIR] [-n REPEAT]\n"
        f"LD = {LINK[0]}\n"
        f"LDFLAGS = {' '.join(LINK[1:])}\n"
        f"OBJECTS = {' '.join(objects)}\n\n"
        "run: $(OBJECTS)\n"
        "\t$(LD) $(LDFLAGS) -o $@ $(OBJECTS)\n\n"
        "clean:\n\trm -f run\n\n.PHONY: clean\n"
    )


def _string(name: str, text: str) -> str:
    """A NUL-terminated LLVM string constant `@name` (any byte escaped as \\XX)."""
    data = text.encode() + b"\0"
    body = "".join(
        chr(b) if 32 <= b < 127 and b not in (ord('"'), ord("\\")) else f"\\{b:02X}" for b in data
    )
    return f'@{name} = private unnamed_addr constant [{len(data)} x i8] c"{body}"'


def _array(name: str, element: str, items: list[str], *, constant: bool = True) -> str:
    kind = "constant" if constant else "global"
    if not items or all(item == "null" for item in items):
        value = "zeroinitializer"
    else:
        value = "[" + ", ".join(f"{element} {item}" for item in items) + "]"
    return f"@{name} = internal {kind} [{len(items)} x {element}] {value}"
