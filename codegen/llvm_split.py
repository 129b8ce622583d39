"""Where the nests codegen/llvm_outline.py outlines go. `split_llvm(module, device)` emits
the whole module with every nest in a module of its own named by the hash of its text
(`SplitModule`); of nests equal but for some i64 constants (their slots,
codegen/llvm_slots.py), the first keeps its constants and the others share one function
that takes the constants they differ in as trailing arguments;
`emit_llvm(module, device, nests=InlineNests())` keeps them in the one module as internal
`noinline` functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import llvmlite.ir as ir
from llvmlite.ir.instructions import CallInstr
from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_slots import I64, Slot, close_slots, filled, open_slots
from lamina.codegen.llvm_target import target_machine
from lamina.targets import Device

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

NEST_PREFIX = "lamina.nest"
"""Symbol prefix of outlined nests in split modules: `lamina.nest.<16 hex digits>`."""


@dataclass
class InlineNests:
    """Nests as internal `noinline` functions of the emitted module: `<fn>.nest<k>`; with
    `reuse`, a nest met again (codegen/llvm_nest_key.py) calls the function emitted for it
    first (an AOT bundle's LLVM module: ResNet-50 holds 37 nest functions, not 62)."""

    reuse: bool = False
    emitted: dict[Hashable, ir.Function] = field(default_factory=dict[Hashable, ir.Function])

    def begin(self, e: FunctionEmitter, signature: ir.FunctionType) -> ir.Function:
        count = sum(1 for g in e.module.globals if g.startswith(f"{e.fn.name}.nest"))
        fn = ir.Function(e.module, signature, f"{e.fn.name}.nest{count}")
        fn.linkage = "internal"
        return fn

    def repeat(self, e: FunctionEmitter, key: Hashable, args: list[ir.Value]) -> bool:
        fn = self.emitted.get(key) if self.reuse else None
        if fn is not None:
            e.builder.call(fn, args)
        return fn is not None

    def call(
        self, e: FunctionEmitter, nest: FunctionEmitter, args: list[ir.Value], key: Hashable | None
    ) -> None:
        e.builder.call(nest.fn, args)
        if key is not None:
            self.emitted[key] = nest.fn


@dataclass
class _Family:
    """Nests whose text is the same once their i64 operand constants are slots
    (`open_slots`): the first one's constants and function `name` (compiled as soon as it
    was emitted), and for the nests whose constants differ from the first's: the first such
    nest's function `fn` (its slots as placeholder arguments), each one's constants and the
    calls of `main` that want that function."""

    first: tuple[int, ...]
    name: str
    signature: ir.FunctionType
    fn: ir.Function | None = None
    slots: list[Slot] = field(default_factory=list[Slot])
    members: list[tuple[int, ...]] = field(default_factory=list[tuple[int, ...]])
    calls: list[tuple[ir.Module, CallInstr, int]] = field(
        default_factory=list[tuple[ir.Module, CallInstr, int]]
    )


@dataclass
class SplitNests:
    """Nests in modules of their own, merged by family (see `SplitModule`); `on_nest` is
    told the text of each distinct nest function as it is made: a family's first nest's
    as soon as it is emitted, the shared function of its other nests at `close`."""

    triple: str
    data_layout: str
    on_nest: Callable[[str], None] | None = None
    families: dict[str, _Family] = field(default_factory=dict[str, _Family])
    texts: dict[str, str] = field(default_factory=dict[str, str])
    calls: int = 0
    emitted: dict[Hashable, tuple[_Family, tuple[int, ...]]] = field(
        default_factory=dict[Hashable, tuple[_Family, tuple[int, ...]]]
    )
    """The family and constants of each nest emitted, by its key (codegen/llvm_nest_key.py)."""

    def repeat(self, e: FunctionEmitter, key: Hashable, args: list[ir.Value]) -> bool:
        found = self.emitted.get(key)
        if found is None:
            return False
        family, values = found
        self._call(e, family, values, args)
        return True

    def begin(self, e: FunctionEmitter, signature: ir.FunctionType) -> ir.Function:
        module = ir.Module(name="nest")
        module.triple = self.triple
        module.data_layout = self.data_layout
        return ir.Function(module, signature, NEST_PREFIX)

    def call(
        self, e: FunctionEmitter, nest: FunctionEmitter, args: list[ir.Value], key: Hashable | None
    ) -> None:
        fn = nest.fn
        slots, values = open_slots(fn, nest.pinned)
        text = str(fn.module)
        family = self.families.get(text)
        if family is None:
            name = self._add(filled(text, slots, values))
            family = self.families[text] = _Family(values, name, fn.function_type)
        if values != family.first and family.fn is None:
            family.fn, family.slots = fn, slots
        self._call(e, family, values, args)
        if key is not None:
            self.emitted[key] = (family, values)

    def _call(
        self, e: FunctionEmitter, family: _Family, values: tuple[int, ...], args: list[ir.Value]
    ) -> None:
        """Call the nest of `family` with constants `values`: its first nest's function, or
        the shared one `close` makes (`family.fn` standing in until then)."""
        self.calls += 1
        if values == family.first:
            e.builder.call(_declared(e.module, family.name, family.signature), args)
            return
        assert family.fn is not None  # set by `call` for the family's first other nest
        family.calls.append((e.module, e.builder.call(family.fn, args), len(family.members)))
        family.members.append(values)

    def close(self) -> None:
        """Give the nests of each family that differ from its first one their function
        (the constants they differ in as trailing arguments, the others back in place)."""
        for family in self.families.values():
            if family.fn is None:
                continue
            varying = close_slots(family.fn, family.slots, family.members)
            name = self._add(str(family.fn.module))
            for module, call, member in family.calls:
                callee = _declared(module, name, family.fn.function_type)
                extra = [ir.Constant(I64, family.members[member][k]) for k in varying]
                call.operands = [callee, *call.args, *extra]
                call._clear_string_cache()  # pyright: ignore[reportPrivateUsage]

    def _add(self, text: str) -> str:
        """The symbol of a nest module's text (told to `on_nest` the first time)."""
        name = f"{NEST_PREFIX}.{hashlib.sha256(text.encode()).hexdigest()[:16]}"
        if name not in self.texts:
            # the placeholder also prefixes the nest's own internal helpers (`.par0`)
            self.texts[name] = text.replace(f'"{NEST_PREFIX}', f'"{name}')
            if self.on_nest is not None:
                self.on_nest(self.texts[name])
        return name


def _declared(module: ir.Module, name: str, signature: ir.FunctionType) -> ir.Function:
    existing = module.globals.get(name)
    return existing if isinstance(existing, ir.Function) else ir.Function(module, signature, name)


@dataclass
class SplitModule:
    """A module as LLVM IR texts: `main` (everything but the nests, which it declares and
    calls) and one module per distinct nest function, keyed by its symbol. `calls` counts
    the nest calls, so `calls - len(nests)` nests reused an earlier one's function;
    `sink` is what made them."""

    main: str
    nests: dict[str, str]
    calls: int
    sink: SplitNests = field(repr=False)

    def __str__(self) -> str:
        return "\n".join([self.main, *self.nests.values()])


def split_llvm(
    module: ModuleOp,
    device: Device,
    on_nest: Callable[[str], None] | None = None,
    sink_type: type[SplitNests] = SplitNests,
) -> SplitModule:
    """`module` emitted with every top-level nest of its kernel-ABI functions in a module of
    its own (the data layout of the device's target machine set in each); `on_nest` is told
    each distinct nest's text as soon as it is made (in the order of `nests`); `sink_type`
    may wrap the nest calls (benchmarks/nest_times.py times each one)."""
    layout = str(target_machine(device).target_data)
    sink = sink_type(device.triple, layout, on_nest)
    main = emit_llvm(module, device, nests=sink)
    main.data_layout = layout
    sink.close()
    return SplitModule(str(main), sink.texts, sink.calls, sink)
