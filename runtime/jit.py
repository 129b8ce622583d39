"""The host JIT: run loop-level functions on numpy arrays in this process.

    fn = JitFunction(module, weights)           # a function in the lamina kernel ABI
    (y,) = fn(x)                                # checks x, allocates y, calls main()

`JitFunction` compiles the module with LLVM's O2 pipeline (`DEFAULT_OPT_LEVEL`) for the
`host` device: each distinct loop nest of its own, in worker processes through the object
cache (codegen/llvm_split.py, codegen/object_cache.py), the objects loaded into one MCJIT engine;
running outer parallel loops on `thread_count()` threads (targets/threads.py: `threads=`,
$LAMINA_NUM_THREADS or the device's cores) of one process-wide pool
(`process_parallel_runtime`),
keeps the weights blob and the arena alive in 64-byte aligned buffers, and calls through
ctypes: `main(weights, arena, *inputs, *outputs)` (docs/pipeline.md). A wrong number of
inputs, a wrong shape or dtype is a `LaminaError`, never a crash.

`JitModule(module).function(name)` calls any function of the module with arrays (passed
as bare pointers, written in place) and scalars, for tests of kernels outside the ABI.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, StringAttr, i8
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.codegen.compile_stats import CompileStats
from lamina.codegen.llvm import KERNEL_ABI, llvm_type
from lamina.codegen.llvm_pool import (
    AFTER_FORK_NAME,
    RUNTIME_NAME,
    process_pool,
    process_runtime,
)
from lamina.codegen.llvm_split import SplitNests, split_llvm
from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL, optimize, target_machine
from lamina.codegen.object_cache import ObjectBuilder
from lamina.dialects.weights import ALIGNMENT, WEIGHTS, aligned_empty, numpy_dtype
from lamina.errors import DeviceError, LaminaError
from lamina.runtime.jit_dynamic import SHAPES_SUFFIX, DynamicSignature, has_dynamic_dims
from lamina.targets import load_device
from lamina.targets.threads import thread_count


def aligned_copy(array: np.ndarray, align: int = ALIGNMENT) -> np.ndarray:
    out = aligned_empty(array.shape, array.dtype, align)
    out[...] = array
    return out


_PROCESS_RUNTIME: list[Any] = []
_PROCESS_RUNTIME_LOCK = threading.Lock()


def process_parallel_runtime() -> int:
    """The address of this process's `lamina.parallel_for`, the thread pool of every
    module the JIT loads (emitted within `process_pool()`, they only declare it;
    codegen/llvm_pool.py): compiled on first use and never freed, so its parked
    workers never outlive their code; reset in a forked child."""
    with _PROCESS_RUNTIME_LOCK:
        if not _PROCESS_RUNTIME:
            host = load_device("host")
            engine = llvm.create_mcjit_compiler(
                optimize(process_runtime(host.triple), host), target_machine(host, fresh=True)
            )
            engine.finalize_object()
            address = engine.get_function_address(RUNTIME_NAME)
            llvm.add_symbol(RUNTIME_NAME, address)
            after_fork = ctypes.CFUNCTYPE(None)(engine.get_function_address(AFTER_FORK_NAME))
            os.register_at_fork(after_in_child=after_fork)
            _PROCESS_RUNTIME[:] = [engine, address, after_fork]
        return int(_PROCESS_RUNTIME[1])


class JitModule:
    """A loop-level module compiled for this machine; keeps the machine code alive.
    `nest_sink` is what `split_llvm` hands the nests to (a subclass may wrap their calls:
    benchmarks/nest_times.py times them); `after_emit` is called once every nest is
    emitted, while the workers compile them (compiler.py verifies the module there)."""

    def __init__(
        self,
        module: ModuleOp,
        *,
        device: str = "host",
        opt_level: int = DEFAULT_OPT_LEVEL,
        threads: int | None = None,
        jobs: int | None = None,
        nest_sink: type[SplitNests] = SplitNests,
        after_emit: Callable[[], None] | None = None,
    ) -> None:
        target = replace(load_device(device), cores=thread_count(device, threads))
        if target.triple.split("-")[0] != llvm.get_process_triple().split("-")[0]:
            raise DeviceError(f"cannot JIT for device '{device}' ({target.triple}) on this host")
        self.module = module
        self.device = target
        self.opt_level = opt_level
        process_parallel_runtime()
        self.stats = CompileStats()
        """The stages `llvm-emit` (split_llvm; each distinct nest is handed to the worker
        processes as soon as it is made, so most compile while the rest is emitted),
        `llvm-objects` (the
        wait for the nests' objects, and the workers' CPU time) and `llvm-load` (`main`
        optimised, every object loaded into MCJIT)."""
        with ObjectBuilder(target, opt_level, jobs=jobs) as builder:
            with self.stats.stage("llvm-emit"), process_pool():
                self.llvm_module = split_llvm(
                    module, target, on_nest=builder.add, sink_type=nest_sink
                )
            if after_emit is not None:
                after_emit()
            with self.stats.stage("llvm-objects"):
                objects = builder.objects()
        with self.stats.stage("llvm-load"):
            self.engine = llvm.create_mcjit_compiler(
                optimize(self.llvm_module.main, target, opt_level),
                target_machine(target, fresh=True),
            )
            for data in objects:
                self.engine.add_object_file(llvm.ObjectFileRef.from_data(data))
            self.engine.finalize_object()
            self.engine.run_static_constructors()
        self.functions = {op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)}

    def address(self, name: str) -> int:
        return self.engine.get_function_address(name)

    def assembly(self) -> str:
        """The optimised assembly of `main`'s module, then of each nest's."""
        tm = target_machine(self.device)
        texts = [self.llvm_module.main, *self.llvm_module.nests.values()]
        return "\n".join(
            str(tm.emit_assembly(optimize(t, self.device, self.opt_level))) for t in texts
        )

    def function(self, name: str) -> Callable[..., Any]:
        """A Python callable for `@name`: arrays go in as pointers, scalars by value."""
        op = self._func(name)
        inputs = list(op.function_type.inputs)
        outputs = list(op.function_type.outputs)
        if has_dynamic_dims([t for t in inputs if isa(t, MemRefType[Attribute])]):
            raise LaminaError(f"@{name} takes memrefs of dynamic shape: call it as a JitFunction")
        argtypes = [_ctype(t) for t in inputs]
        restype = _ctype(outputs[0]) if outputs else None
        raw = ctypes.CFUNCTYPE(restype, *argtypes)(self.address(name))

        def call(*args: Any) -> Any:
            if len(args) != len(inputs):
                raise LaminaError(f"@{name} takes {len(inputs)} arguments, got {len(args)}")
            converted = [
                check_array(a, t, f"argument {i} of @{name}", in_place=True).ctypes.data
                if isa(t, MemRefType[Attribute])
                else a
                for i, (a, t) in enumerate(zip(args, inputs, strict=True))
            ]
            return raw(*converted)

        call.keep_alive = (self, raw)  # type: ignore[attr-defined]
        return call

    def _func(self, name: str) -> func.FuncOp:
        if name not in self.functions:
            raise LaminaError(f"no function @{name} (have {', '.join(self.functions)})")
        return self.functions[name]


class JitFunction:
    """A function in the lamina kernel ABI, ready to call on numpy inputs.

    `weights` is the weights blob (uint8, the size of the first argument); when None it is
    read from the module's `dense_resource` named by the function's `lamina.weights`
    attribute (zeros if it has none). It is copied to a 64-byte boundary unless it is
    read-only and already there (a blob of the weights store: never copied). The arena
    (the size of the second argument) is allocated once. Which trailing arguments are outputs: `num_outputs`, else the
    function's `lamina.num_outputs` attribute, else 1. A function with dynamic dims (`?`)
    checks each call's input shapes and sizes its outputs with its `<name>_shapes`
    function (runtime/jit_dynamic.py); `input_names` name the inputs in its errors.
    """

    def __init__(
        self,
        module: ModuleOp | JitModule,
        weights: np.ndarray | None = None,
        *,
        function: str | None = None,
        num_outputs: int | None = None,
        device: str = "host",
        opt_level: int = DEFAULT_OPT_LEVEL,
        threads: int | None = None,
        input_names: Sequence[str] | None = None,
    ) -> None:
        self.jit = (
            module
            if isinstance(module, JitModule)
            else JitModule(module, device=device, opt_level=opt_level, threads=threads)
        )
        op = self._kernel(function)
        self.name = op.sym_name.data
        types = [_memref(t, self.name) for t in op.function_type.inputs]
        if len(types) < 2 or any(t.element_type != i8 or t.get_num_dims() != 1 for t in types[:2]):
            raise LaminaError(
                f"@{self.name} does not start with the weights and arena buffers (memref<Nxi8>)"
            )
        if num_outputs is None:
            attr = op.attributes.get("lamina.num_outputs")
            num_outputs = int(getattr(attr, "value", None).data) if attr is not None else 1  # type: ignore[union-attr]
        if not 0 < num_outputs <= len(types) - 2:
            raise LaminaError(f"@{self.name} cannot have {num_outputs} outputs")
        self.input_types = types[2 : len(types) - num_outputs]
        self.output_types = types[len(types) - num_outputs :]
        self._layouts = [
            [(tuple(t.get_shape()), numpy_dtype(t.element_type)) for t in ts]
            for ts in (self.input_types, self.output_types)
        ]
        """(shape, dtype) of each input and output: what a call checks and allocates."""
        self.weights = self._weights(op, weights, types[0].get_shape()[0])
        self.arena_size = types[1].get_shape()[0]
        self.arena = aligned_empty((self.arena_size,), np.uint8)
        self._buffers = (self.weights.ctypes.data, self.arena.ctypes.data)
        """The addresses of the weights and the arena, every call's first two arguments."""
        self.dynamic = self._dynamic_signature(op, input_names)
        argtypes = self.dynamic.argument_types() if self.dynamic else [ctypes.c_void_p] * len(types)
        self._raw = ctypes.CFUNCTYPE(None, *argtypes)(self.jit.address(self.name))

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        if len(inputs) != len(self.input_types):
            raise LaminaError(
                f"@{self.name} takes {len(self.input_types)} inputs, got {len(inputs)}"
            )
        if self.dynamic is not None:
            return self._call_dynamic(self.dynamic, inputs)
        input_layouts, output_layouts = self._layouts
        checked = [
            x
            if isinstance(x, np.ndarray) and (x.shape, x.dtype) == layout and x.flags.c_contiguous
            else check_array(x, t, f"input {i} of @{self.name}", in_place=False)
            for i, (x, t, layout) in enumerate(
                zip(inputs, self.input_types, input_layouts, strict=True)
            )
        ]
        outputs = [aligned_empty(shape, dtype) for shape, dtype in output_layouts]
        self._raw(*self._buffers, *[a.ctypes.data for a in (*checked, *outputs)])
        return outputs

    def _dynamic_signature(
        self, op: func.FuncOp, input_names: Sequence[str] | None
    ) -> DynamicSignature | None:
        if not has_dynamic_dims([*self.input_types, *self.output_types]):
            return None
        if input_names is None:
            args = op.body.block.args[2 : 2 + len(self.input_types)]
            input_names = [a.name_hint or f"in{k}" for k, a in enumerate(args)]
        shapes = self.jit.functions.get(self.name + SHAPES_SUFFIX)
        return DynamicSignature.of(
            self.name,
            (self.input_types, self.output_types),
            list(input_names),
            (shapes, self.jit.address(shapes.sym_name.data)) if shapes is not None else None,
        )

    def _call_dynamic(
        self, signature: DynamicSignature, inputs: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Check the inputs' dtypes, rank and static dims, size the outputs with the shape
        function, pass each array with its `?` extents."""
        checked = [
            check_array(x, t, f"input {i} of @{self.name}", in_place=False, shape=_shape_of(x))
            for i, (x, t) in enumerate(zip(inputs, self.input_types, strict=True))
        ]
        shapes = signature.output_shapes(signature.input_extents(checked))
        outputs = [
            aligned_empty(shape, numpy_dtype(t.element_type))
            for shape, t in zip(shapes, self.output_types, strict=True)
        ]
        arguments = signature.arguments([*checked, *outputs])
        self._raw(*self._buffers, *arguments)
        return outputs

    def _kernel(self, name: str | None) -> func.FuncOp:
        if name is not None:
            return self.jit._func(name)  # noqa: SLF001
        kernels = [
            op
            for op in self.jit.functions.values()
            if op.attributes.get("lamina.abi") == StringAttr(KERNEL_ABI)
        ]
        if len(kernels) != 1:
            raise LaminaError(
                f'the module has {len(kernels)} functions with lamina.abi = "{KERNEL_ABI}": name one'
            )
        return kernels[0]

    def _weights(self, op: func.FuncOp, weights: np.ndarray | None, size: int) -> np.ndarray:
        if weights is None:
            key = op.attributes.get("lamina.weights")
            weights = WEIGHTS.kernel_blob(key.data if isinstance(key, StringAttr) else None, size)
        if weights.dtype != np.uint8 or weights.ndim != 1 or weights.size != size:
            raise LaminaError(
                f"@{self.name} needs a weights blob of {size} bytes (uint8, 1-D), got "
                f"{weights.dtype} of shape {weights.shape}"
            )
        if weights.flags.writeable or weights.ctypes.data % ALIGNMENT:
            return aligned_copy(weights)
        return weights  # read-only and aligned, as the weights store's blobs are: not copied


def _memref(t: Attribute, name: str) -> MemRefType[Attribute]:
    if not isa(t, MemRefType[Attribute]):
        raise LaminaError(f"@{name} takes {t}: kernel-ABI functions take only memrefs")
    return t


def _shape_of(value: Any) -> tuple[int, ...] | None:
    return value.shape if isinstance(value, np.ndarray) else None


def check_array(
    value: Any,
    t: MemRefType[Attribute],
    what: str,
    *,
    in_place: bool,
    shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """`value` as a C-contiguous array of the memref's dtype and shape (or `shape`, for a
    memref with dynamic dims; copied if needed and allowed), or a `LaminaError` naming
    `what` and the mismatch."""
    dtype = numpy_dtype(t.element_type)
    shape = tuple(t.get_shape()) if shape is None else shape
    if not isinstance(value, np.ndarray):
        raise LaminaError(f"{what}: expected a numpy array, got {type(value).__name__}")
    if value.dtype != dtype or value.shape != shape:
        raise LaminaError(
            f"{what}: expected {dtype} of shape {shape}, got {value.dtype} of shape {value.shape}"
        )
    if value.flags.c_contiguous:
        return value
    if in_place:
        raise LaminaError(f"{what}: written in place, so it must be C-contiguous")
    return np.ascontiguousarray(value)


def _ctype(t: Attribute) -> Any:
    if isa(t, MemRefType[Attribute]):
        return ctypes.c_void_p
    lt = llvm_type(t)
    text = str(lt)
    table = {
        "float": ctypes.c_float,
        "double": ctypes.c_double,
        "i1": ctypes.c_bool,
        "i8": ctypes.c_int8,
        "i16": ctypes.c_int16,
        "i32": ctypes.c_int32,
        "i64": ctypes.c_int64,
    }
    if text not in table:
        raise LaminaError(f"cannot pass {t} through ctypes")
    return table[text]
