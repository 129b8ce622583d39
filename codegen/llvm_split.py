"""Where the nests codegen/llvm_outline.py outlines go. `split_llvm(module, device)` emits
the whole module with every nest in a module of its own named by the hash of its text
(`SplitModule`), nests equal but for some i64 constants (their slots, codegen/llvm_slots.py)
merged into one function that takes the constants they differ in as trailing arguments;
`emit_llvm(module, device, nests=InlineNests())` keeps them in the one module as internal
`noinline` functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import llvmlite.ir as ir
from llvmlite.ir.instructions import CallInstr
from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_slots import I64, Slot, close_slots, open_slots
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

    def call(self, e: FunctionEmitter, nest: FunctionEmitter, args: list[ir.Value]) -> None:
        e.builder.call(nest.fn, args)


@dataclass
class _Family:
    """Nests whose text is the same once their i64 operand constants are slots
    (`open_slots`): the first one's function (its slots as placeholder arguments), each
    nest's constants and the calls of `main` that want its function."""

    fn: ir.Function
    slots: list[Slot]
    members: list[tuple[int, ...]] = field(default_factory=list[tuple[int, ...]])
    calls: list[tuple[ir.Module, CallInstr, int]] = field(
        default_factory=list[tuple[ir.Module, CallInstr, int]]
    )


@dataclass
class SplitNests:
    """Nests in modules of their own, merged by family (see `SplitModule`): nests equal
    but for some i64 constants are one function taking those constants as arguments."""

    triple: str
    data_layout: str
    families: dict[str, _Family] = field(default_factory=dict[str, _Family])
    texts: dict[str, str] = field(default_factory=dict[str, str])
    calls: int = 0

    def begin(self, e: FunctionEmitter, signature: ir.FunctionType) -> ir.Function:
        module = ir.Module(name="nest")
        module.triple = self.triple
        module.data_layout = self.data_layout
        return ir.Function(module, signature, NEST_PREFIX)

    def call(self, e: FunctionEmitter, nest: FunctionEmitter, args: list[ir.Value]) -> None:
        fn = nest.fn
        slots, values = open_slots(fn, nest.pinned)
        family = self.families.setdefault(str(fn.module), _Family(fn, slots))
        family.calls.append((e.module, e.builder.call(fn, args), len(family.members)))
        family.members.append(values)
        self.calls += 1

    def close(self) -> None:
        """Give each family its function (the constants its nests differ in as trailing
        arguments, the others back in place), its text in `texts` and its calls."""
        for family in self.families.values():
            varying = close_slots(family.fn, family.slots, family.members)
            text = str(family.fn.module)
            name = f"{NEST_PREFIX}.{hashlib.sha256(text.encode()).hexdigest()[:16]}"
            # the placeholder also prefixes the nest's own internal helpers (`.par0`)
            self.texts.setdefault(name, text.replace(f'"{NEST_PREFIX}', f'"{name}'))
            for module, call, member in family.calls:
                existing = module.globals.get(name)
                callee = (
                    existing
                    if isinstance(existing, ir.Function)
                    else ir.Function(module, family.fn.function_type, name)
                )
                extra = [ir.Constant(I64, family.members[member][k]) for k in varying]
                call.operands = [callee, *call.args, *extra]
                call._clear_string_cache()  # pyright: ignore[reportPrivateUsage]


@dataclass
class SplitModule:
    """A module as LLVM IR texts: `main` (everything but the nests, which it declares and
    calls) and one module per distinct nest function, keyed by its symbol. `calls` counts
    the nest calls, so `calls - len(nests)` nests reused an earlier one's function."""

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
    each distinct nest's text once the module is emitted (in the order of `nests`)."""
    layout = str(target_machine(device).target_data)
    sink = SplitNests(device.triple, layout)
    main = emit_llvm(module, device, nests=sink)
    main.data_layout = layout
    sink.close()
    if on_nest is not None:
        for text in sink.texts.values():
            on_nest(text)
    return SplitModule(str(main), sink.texts, sink.calls)
