"""Running `ocl`-level modules on an OpenCL device through pyopencl.

    fn = OpenCLFunction(module)       # a module after convert-loop-to-ocl
    (y,) = fn(x)                       # uploads x, runs every launch in order, reads y

Buffers are created once per function: the weights blob is uploaded once, the arena and
every input and output buffer are allocated once; a call only copies inputs in and outputs
out. Kernels are rendered to OpenCL C once; identical kernel sources (same code, other
offsets) are one kernel, and programs are cached per context by the hash of their source,
so compiling a second model with the same kernels builds nothing. Launches go to one
in-order queue: `(root buffer, byte offset)` bindings become `(cl.Buffer, ulong)`
argument pairs.

No OpenCL platform (or no device) is a `DeviceError` that says how to get one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp, StringAttr
from xdsl.ir import Attribute, BlockArgument
from xdsl.utils.hints import isa

from lamina.codegen.opencl import OpenCLRenderer
from lamina.dialects.isa import ocl
from lamina.dialects.loop import buffer_bytes
from lamina.dialects.weights import WEIGHTS, numpy_dtype
from lamina.errors import DeviceError, LaminaError
from lamina.lowering.loop_to_ocl import kernel_functions
from lamina.runtime.jit import check_array
from lamina.targets import Device, load_device

NO_PLATFORM = "no OpenCL platform found: install pocl-opencl-icd"

_PROGRAMS: dict[tuple[int, str], Any] = {}
"""Built programs by (id of the context, sha256 of the source)."""


def opencl_context() -> tuple[Any, Any]:
    """(context, queue) on the first device of the first OpenCL platform that has one."""
    try:
        import pyopencl as cl
    except ImportError:
        raise DeviceError(f"{NO_PLATFORM} (and the pyopencl package)") from None
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        platforms = []
    devices = [d for p in platforms for d in p.get_devices()]
    if not devices:
        raise DeviceError(NO_PLATFORM)
    context = cl.Context([devices[0]])
    return context, cl.CommandQueue(context)


_CONTEXT: list[tuple[Any, Any]] = []


def shared_context() -> tuple[Any, Any]:
    """One (context, queue) per process, made on first use."""
    if not _CONTEXT:
        _CONTEXT.append(opencl_context())
    return _CONTEXT[0]


def build_program(context: Any, source: str) -> Any:
    """The built program of `source`, built once per context."""
    import pyopencl as cl

    key = (id(context), hashlib.sha256(source.encode()).hexdigest())
    if key not in _PROGRAMS:
        try:
            _PROGRAMS[key] = cl.Program(context, source).build(options=["-cl-fast-relaxed-math"])
        except cl.RuntimeError as e:
            raise LaminaError(f"the OpenCL compiler rejected a kernel: {e}") from None
    return _PROGRAMS[key]


@dataclass
class _Launch:
    kernel: Any
    global_size: tuple[int, ...]
    local_size: tuple[int, ...] | None
    args: list[Any]


class OpenCLFunction:
    """A kernel-ABI function after `convert-loop-to-ocl`, ready to call on numpy inputs."""

    def __init__(self, module: ModuleOp, device: Device | None = None) -> None:
        import pyopencl as cl

        self.context, self.queue = shared_context()
        functions = list(kernel_functions(module))
        if len(functions) != 1:
            raise LaminaError(f"expected one kernel-ABI function, found {len(functions)}")
        function = functions[0]
        self.name = function.sym_name.data
        args = list(function.body.block.args)
        attr = function.attributes.get("lamina.num_outputs")
        num_outputs = attr.value.data if isinstance(attr, IntegerAttr) else 1
        self.input_args = args[2 : len(args) - num_outputs]
        self.output_args = args[len(args) - num_outputs :]
        flags = cl.mem_flags
        self.buffers = {arg: cl.Buffer(self.context, flags.READ_WRITE, _size(arg)) for arg in args}
        self._upload_weights(function, args[0])
        kernels = _render(module, OpenCLRenderer(device or load_device("opencl")))
        self.source = "\n".join(dict.fromkeys(kernels.values()))
        """The OpenCL C program of every kernel (each distinct kernel once)."""
        program = build_program(self.context, self.source)
        unique = {_canonical(src) for src in kernels.values()}
        by_source = {name: cl.Kernel(program, name) for name in unique}
        built = {name: by_source[_canonical(src)] for name, src in kernels.items()}
        self.launches = [
            self._launch(op, built)
            for op in function.body.block.ops
            if isinstance(op, ocl.LaunchOp)
        ]

    def _upload_weights(self, function: func.FuncOp, arg: BlockArgument) -> None:
        import pyopencl as cl

        key = function.attributes.get("lamina.weights")
        size = cast(MemRefType[Attribute], arg.type).get_shape()[0]
        blob = WEIGHTS.kernel_blob(key.data if isinstance(key, StringAttr) else None, size)
        if blob.size:
            cl.enqueue_copy(self.queue, self.buffers[arg], np.ascontiguousarray(blob))

    def _launch(self, op: ocl.LaunchOp, built: dict[str, Any]) -> _Launch:
        kernel = built[op.kernel.string_value()]
        args: list[Any] = []
        for buffer, offset in zip(op.buffers, op.byte_offsets, strict=True):
            assert isinstance(buffer, BlockArgument)
            args += [self.buffers[buffer], np.uint64(offset)]
        return _Launch(kernel, op.global_sizes, op.local_sizes, args)

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        import pyopencl as cl

        if len(inputs) != len(self.input_args):
            raise LaminaError(
                f"@{self.name} takes {len(self.input_args)} inputs, got {len(inputs)}"
            )
        for index, (value, arg) in enumerate(zip(inputs, self.input_args, strict=True)):
            assert isa(arg.type, MemRefType[Attribute])
            array = check_array(value, arg.type, f"input {index} of @{self.name}", in_place=False)
            cl.enqueue_copy(self.queue, self.buffers[arg], array)
        for launch in self.launches:
            launch.kernel.set_args(*launch.args)
            cl.enqueue_nd_range_kernel(
                self.queue, launch.kernel, launch.global_size, launch.local_size
            )
        outputs: list[np.ndarray] = []
        for arg in self.output_args:
            buffer_type = arg.type
            assert isa(buffer_type, MemRefType[Attribute])
            out = np.empty(buffer_type.get_shape(), numpy_dtype(buffer_type.element_type))
            cl.enqueue_copy(self.queue, out, self.buffers[arg])
            outputs.append(out)
        self.queue.finish()
        return outputs


def _render(module: ModuleOp, renderer: OpenCLRenderer) -> dict[str, str]:
    """Kernel name -> its source under a name derived from the source, so that identical
    kernels share one name (and one compiled kernel)."""
    sources: dict[str, str] = {}
    for kernel in (op for op in module.ops if isinstance(op, ocl.KernelOp)):
        text = renderer.render_kernel(kernel, name="KERNEL_NAME")
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        sources[kernel.sym_name.data] = text.replace("KERNEL_NAME", f"k_{digest}")
    return sources


def _canonical(source: str) -> str:
    start = source.index(" void ") + len(" void ")
    return source[start : source.index("(", start)]


def _size(arg: BlockArgument) -> int:
    buffer_type = arg.type
    if not isa(buffer_type, MemRefType[Attribute]):
        raise LaminaError(f"kernel-ABI functions take only memrefs, got {buffer_type}")
    return max(1, buffer_bytes(buffer_type) or 0)


def opencl_available() -> bool:
    """Whether an OpenCL device can be opened here."""
    try:
        shared_context()
    except DeviceError:
        return False
    return True
