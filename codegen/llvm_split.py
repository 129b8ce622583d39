"""Where the nests codegen/llvm_outline.py outlines go. `split_llvm(module, device)` emits the whole module this way with every nest in a module of
its own named by the hash of its text (`SplitModule`); `emit_llvm(module, device,
nests=InlineNests())` keeps them in the one module as internal `noinline` functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import llvmlite.ir as ir
from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_target import target_machine
from lamina.targets import Device

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

NEST_PREFIX = "lamina.nest"
"""Symbol prefix of outlined nests in split modules: `lamina.nest.<16 hex digits>`."""


class InlineNests:
    """Nests as internal `noinline` functions of the emitted module: `<fn>.nest<k>`."""

    def begin(self, e: FunctionEmitter, signature: ir.FunctionType) -> ir.Function:
        count = sum(1 for g in e.module.globals if g.startswith(f"{e.fn.name}.nest"))
        fn = ir.Function(e.module, signature, f"{e.fn.name}.nest{count}")
        fn.linkage = "internal"
        return fn

    def finish(self, e: FunctionEmitter, fn: ir.Function) -> ir.Function:
        return fn


@dataclass
class SplitNests:
    """Nests in modules of their own, deduplicated by text (see `SplitModule`)."""

    triple: str
    data_layout: str
    on_nest: Callable[[str], None] | None = None
    """Told the text of each distinct nest as it is emitted."""
    texts: dict[str, str] = field(default_factory=dict[str, str])
    calls: int = 0

    def begin(self, e: FunctionEmitter, signature: ir.FunctionType) -> ir.Function:
        module = ir.Module(name="nest")
        module.triple = self.triple
        module.data_layout = self.data_layout
        return ir.Function(module, signature, NEST_PREFIX)

    def finish(self, e: FunctionEmitter, fn: ir.Function) -> ir.Function:
        text = str(fn.module)
        name = f"{NEST_PREFIX}.{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        if name not in self.texts:
            # the placeholder also prefixes the nest's own internal helpers (`.par0`)
            self.texts[name] = text.replace(f'"{NEST_PREFIX}', f'"{name}')
            if self.on_nest is not None:
                self.on_nest(self.texts[name])
        self.calls += 1
        existing = e.module.globals.get(name)
        if isinstance(existing, ir.Function):
            return existing
        return ir.Function(e.module, fn.function_type, name)


@dataclass
class SplitModule:
    """A module as LLVM IR texts: `main` (everything but the nests, which it declares and
    calls) and one module per distinct nest, keyed by its symbol. `calls` counts the nest
    calls, so `calls - len(nests)` nests were identical to an earlier one."""

    main: str
    nests: dict[str, str]
    calls: int

    def __str__(self) -> str:
        return "\n".join([self.main, *self.nests.values()])


def split_llvm(
    module: ModuleOp, device: Device, on_nest: Callable[[str], None] | None = None
) -> SplitModule:
    """`module` emitted with every top-level nest of its kernel-ABI functions in a module of
    its own (the data layout of the device's target machine set in each); `on_nest` is told
    each distinct nest's text as soon as it is emitted (in the order of `nests`)."""
    layout = str(target_machine(device).target_data)
    sink = SplitNests(device.triple, layout, on_nest)
    main = emit_llvm(module, device, nests=sink)
    main.data_layout = layout
    return SplitModule(str(main), sink.texts, sink.calls)
