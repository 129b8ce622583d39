"""Fixes to xDSL 0.74 that lamina needs before it parses any text; imported by context.py.

- String literals lex in linear time: xDSL's pattern `"(?:[^"\\]+|\\...)*"` nests two
  repeats, so an unclosed string backtracks over every split of the rest of its line
  (a fuzzed `iterator_types = ["par` never finished). One character per repeat matches the
  same strings without that backtracking.
- Integer types are at most `MAX_INTEGER_WIDTH` bits wide, MLIR's limit: xDSL accepts any
  width and then computes the type's bounds as Python integers (`i4294967297` took seconds
  per attribute before its "not supported" came out); a wider one is a parse error at the
  type.
- `isa(value, MemRefType[Attribute])` builds the constraint of its generic hint on every
  call (~40 us; a ResNet-50 compile makes some 40,000 such calls, in verifiers and codegen):
  the constraint of a hashable generic hint is built once. `isa` imports
  `irdl_to_attr_constraint` from `xdsl.irdl` when it runs, so replacing it there reaches it.
- `isa(value, C[Attribute])` still costs ~10 us (20 us for `MemRefType[Attribute]`) in the
  checks before the constraint and the constraint's walk over the parameters, and a
  DenseNet-121 compile makes some 30,000 such calls: against a class, or a parametrized
  attribute whose every argument is `Attribute`, `isa` is an `isinstance` of the class
  (0.1 us; the same verdict: an attribute's parameters are verified when it is built, and
  `Attribute` admits any), looked up once per hint; any other hint takes xDSL's `isa`. It
  replaces `xdsl.utils.hints.isa` and every loaded module's `isa` bound to it.
- Verifying an op costs ~30 us of generic IRDL checks, and a ResNet-50 loop nest holds some
  30,000 `arith` / `vector` / `loop` access ops of a few hundred distinct signatures:
  `verify_once_per_signature` makes the verifier of a class whose verdict depends on nothing
  but the op's signature (operand and result types, properties, attributes: no regions, no
  look at other ops) run once per signature; applied to loop.load / store / vload / vstore
  in dialects/loop_access.py and, by dialects/loop.py (the level where they come by the ten
  thousand), to xDSL's arith and math ops and `vector.fma` / `broadcast` / `shuffle`: a process
  that only reads or writes graph- or top-level IR does not import those dialects (~40 ms
  of every lamina-opt run). A failing op is not remembered, so each one still reports.
- Building an op through IRDL (`AddiOp(a, b)`) costs ~25 us, half of it in generic
  checks of variadic and optional operands, results, regions and successors: for an op
  that declares no option (segment sizes, same variadic sizes), nothing optional and no
  variadic region or successor, given one value per single definition and a list or tuple
  of values per variadic operand or result (`loop.load %b[%i, %j]`, `loop.for` with its
  iter_args: 14,000 of the 34,000 ops a DenseNet-121 compile builds) and a region or a
  list of blocks per region, the flattened values go straight to `Operation.__init__`;
  any other call takes xDSL's builder, with its errors.
- `IsolatedFromAbove` looks an operand's owner up among the blocks and ops it has met
  before it: xDSL climbs the parents of every operand's owner (`is_ancestor`) in ops nested
  ten deep; same verdict and message.
- `walk()` of an op, block or region (pre-order, forward: the default) keeps one stack of
  block iterators instead of a generator per op, block and region, each op passing up
  through every enclosing one (a DenseNet-121 loop-level module, ~30,000 ops ten deep, is
  walked by six passes: 55 ms a walk, 25 ms so); the same ops in the same order, as lazily
  (an op's regions are read when the walk goes on past it, so erasing the op just handed
  out is safe, as before). `reverse` or `region_first` walks are xDSL's.
- An op class with a declarative `assembly_format` parses the format when the class is
  defined (~1 ms an op, 55-150 ms of a 0.4 s lamina-opt run, which defines a hundred ops of
  `arith`, `math`, `func` and lamina's dialects and uses a few): the format is parsed when
  the op is first parsed or printed in its custom form, into the same `FormatProgram`; a
  bad format raises the same `PyRDLOpDefinitionError` then (tests/test_xdsl_patches.py
  parses every registered op's format).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from inspect import isclass
from itertools import chain
from typing import Any, ClassVar, TypeVar, cast, get_args, get_origin

import xdsl.irdl
import xdsl.irdl.operations as irdl_operations
import xdsl.utils.hints
from xdsl.ir import (
    Attribute,
    Block,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import AttrConstraint, IRDLOperation, OpDef, OptionalDef, VariadicDef
from xdsl.irdl.declarative_assembly_format import FormatProgram
from xdsl.parser.attribute_parser import AttrParser
from xdsl.traits import IsolatedFromAbove
from xdsl.utils.exceptions import ParseError, PyRDLOpDefinitionError, VerifyException
from xdsl.utils.mlir_lexer import MLIRLexer, MLIRTokenKind

MLIRLexer._unescaped_characters_regex = re.compile(  # pyright: ignore[reportPrivateUsage]
    r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"'
)

MAX_INTEGER_WIDTH = (1 << 24) - 1
"""MLIR's `IntegerType::kMaxWidth`."""
_INTEGER_TYPE = re.compile(r"[su]?i([0-9]+)$")
_parse_integer_or_float_type = AttrParser._parse_optional_integer_or_float_type  # pyright: ignore[reportPrivateUsage]


def _parse_bounded_integer_or_float_type(self: AttrParser) -> TypeAttribute | None:
    token = self._current_token  # pyright: ignore[reportPrivateUsage]
    match = _INTEGER_TYPE.match(token.text) if token.kind == MLIRTokenKind.BARE_IDENT else None
    if match and int(match.group(1)) > MAX_INTEGER_WIDTH:
        self.raise_error(f"integer bitwidth is limited to {MAX_INTEGER_WIDTH} bits", token.span)
    return _parse_integer_or_float_type(self)


AttrParser._parse_optional_integer_or_float_type = _parse_bounded_integer_or_float_type  # pyright: ignore[reportAttributeAccessIssue]


_irdl_to_attr_constraint = xdsl.irdl.irdl_to_attr_constraint
_GENERIC_CONSTRAINTS: dict[tuple[Any, bool], AttrConstraint] = {}


def _cached_irdl_to_attr_constraint(irdl: Any, *, allow_type_var: bool = False) -> AttrConstraint:
    """`irdl_to_attr_constraint`, built once per hashable generic hint (`C[A, ...]`)."""
    if get_origin(irdl) is None:
        return _irdl_to_attr_constraint(irdl, allow_type_var=allow_type_var)
    key = (irdl, allow_type_var)
    try:
        return _GENERIC_CONSTRAINTS[key]
    except KeyError:
        constraint = _irdl_to_attr_constraint(irdl, allow_type_var=allow_type_var)
        _GENERIC_CONSTRAINTS[key] = constraint
        return constraint
    except TypeError:  # an unhashable argument in the hint
        return _irdl_to_attr_constraint(irdl, allow_type_var=allow_type_var)


xdsl.irdl.irdl_to_attr_constraint = _cached_irdl_to_attr_constraint  # pyright: ignore[reportAttributeAccessIssue]


_xdsl_isa = xdsl.utils.hints.isa
_ISA_CLASSES: dict[Any, type | None] = {}
"""By hint: the class whose `isinstance` gives `isa`'s verdict, None where xDSL's decides."""


def _isa_class(hint: Any) -> type | None:
    """`hint` when it is a class (not `Any`), `C` for a parametrized attribute `C[Attribute,
    ...]`, else None."""
    origin = get_origin(hint)
    if origin is None:
        return hint if isclass(hint) and hint is not Any else None
    parametrized = isclass(origin) and issubclass(origin, ParametrizedAttribute)
    return origin if parametrized and all(a is Attribute for a in get_args(hint)) else None


def _isa(arg: Any, hint: Any) -> bool:
    """xDSL's `isa`, an `isinstance` where `_isa_class` finds the class."""
    try:
        cls = _ISA_CLASSES[hint]
    except KeyError:
        cls = _ISA_CLASSES[hint] = _isa_class(hint)
    except TypeError:  # an unhashable hint
        cls = None
    return isinstance(arg, cls) if cls is not None else _xdsl_isa(arg, hint)


xdsl.utils.hints.isa = _isa  # pyright: ignore[reportAttributeAccessIssue]
for _module in list(sys.modules.values()):
    if getattr(_module, "__dict__", {}).get("isa") is _xdsl_isa:
        _module.isa = _isa  # pyright: ignore[reportAttributeAccessIssue]


_OpT = TypeVar("_OpT", bound=type[Operation])
_VERIFIED_SIGNATURES: set[tuple[Any, ...]] = set()
_MAX_VERIFIED_SIGNATURES = 1 << 16
"""Past this many the set starts again (a long-running process verifies many modules)."""


def verify_once_per_signature(cls: _OpT) -> _OpT:
    """Make `cls.verify_` (IRDL constraints, traits, custom checks) run once per signature:
    only for classes whose ops have no regions or successors and whose verifier reads
    nothing but the signature."""
    verify = cast(Callable[[Operation], None], cls.verify_)

    def verify_once(op: Operation) -> None:
        try:
            signature = (
                cls,
                tuple(v.type for v in op.operands),
                tuple(r.type for r in op.results),
                tuple(op.properties.items()),
                tuple(op.attributes.items()),
            )
            known = signature in _VERIFIED_SIGNATURES
        except TypeError:  # an unhashable attribute: verified every time
            verify(op)
            return
        if not known:
            verify(op)
            if len(_VERIFIED_SIGNATURES) >= _MAX_VERIFIED_SIGNATURES:
                _VERIFIED_SIGNATURES.clear()
            _VERIFIED_SIGNATURES.add(signature)

    cls.verify_ = verify_once  # pyright: ignore[reportAttributeAccessIssue]
    return cls


def _verify_isolated_from_above(self: IsolatedFromAbove, op: Operation) -> None:
    """No op in `op`'s regions (nor in those of nested ops that are not isolated themselves,
    which check their own) uses a value defined outside `op` or by `op` itself. The blocks
    and ops met so far are remembered, so an operand defined before its use (SSA order) is
    inside at one lookup; any other takes xDSL's walk up its owner's parents."""
    seen: set[int] = set()
    regions: list[Region] = list(op.regions)
    while regions:
        for block in regions.pop().blocks:
            seen.add(id(block))
            for child in block.ops:
                for operand in child.operands:
                    owner = operand.owner
                    if id(owner) not in seen and (owner is op or not op.is_ancestor(owner)):
                        raise VerifyException(
                            "Operation using value defined out of its IsolatedFromAbove "
                            f"parent: {child}"
                        )
                seen.add(id(child))
                if child.regions and not child.has_trait(IsolatedFromAbove):
                    regions += child.regions


IsolatedFromAbove.verify = _verify_isolated_from_above  # pyright: ignore[reportAttributeAccessIssue]


_irdl_op_init = irdl_operations.irdl_op_init
_Variadic = tuple[tuple[bool, ...], tuple[bool, ...]]
_SHORT_DEFINITIONS: dict[int, _Variadic | None] = {}
"""By `id` of an op definition (they live as long as their classes): which of its operand
and result definitions are variadic, None when it declares an option, an optional
construct or a variadic region or successor (xDSL's builder then)."""


def _short_definition(op_def: OpDef) -> _Variadic | None:
    try:
        return _SHORT_DEFINITIONS[id(op_def)]
    except KeyError:
        pass
    constructs = (*op_def.operands, *op_def.results, *op_def.regions, *op_def.successors)
    fixed = (*op_def.regions, *op_def.successors)
    short = not (
        op_def.options
        or any(isinstance(d, OptionalDef) for _, d in constructs)
        or any(isinstance(d, VariadicDef) for _, d in fixed)
    )
    variadic = (
        tuple(isinstance(d, VariadicDef) for _, d in op_def.operands),
        tuple(isinstance(d, VariadicDef) for _, d in op_def.results),
    )
    _SHORT_DEFINITIONS[id(op_def)] = variadic if short else None
    return _SHORT_DEFINITIONS[id(op_def)]


def _flattened(values: Sequence[Any], variadic: tuple[bool, ...], kind: type) -> list[Any] | None:
    """One `kind` per single definition and a list or tuple of them per variadic one, in
    one list; None for anything else."""
    if len(values) != len(variadic):
        return None
    flat: list[Any] = []
    for value, many in zip(values, variadic, strict=True):
        if not many and isinstance(value, kind):
            flat.append(value)
        elif many and isinstance(value, list | tuple) and all(isinstance(v, kind) for v in value):
            flat += value
        else:
            return None
    return flat


def _is_region(value: Any) -> bool:
    """A region, or a non-empty list or tuple of blocks (the builder's region of them)."""
    if isinstance(value, Region):
        return True
    return (
        isinstance(value, list | tuple) and bool(value) and all(isinstance(b, Block) for b in value)
    )


def _plain_irdl_op_init(self: IRDLOperation, op_def: OpDef, **arguments: Any) -> None:
    """xDSL's `irdl_op_init`, short where `_short_definition` allows (the operation the
    generic builder would build from the same values)."""
    variadic = _short_definition(op_def)
    regions, successors = arguments["regions"], arguments["successors"]
    operands = results = None
    if variadic is not None:
        operands = _flattened(arguments["operands"], variadic[0], SSAValue)
        results = _flattened(arguments["result_types"], variadic[1], Attribute)
    if (
        operands is not None
        and results is not None
        and len(regions) == len(op_def.regions)
        and len(successors) == len(op_def.successors)
        and all(_is_region(region) for region in regions)
        and all(isinstance(successor, Block) for successor in successors)
    ):
        Operation.__init__(
            self,
            operands=operands,
            result_types=results,
            properties={k: v for k, v in arguments["properties"].items() if v is not None},
            attributes={k: v for k, v in arguments["attributes"].items() if v is not None},
            successors=successors,
            regions=[r if isinstance(r, Region) else Region(list(r)) for r in regions],
        )
    else:
        _irdl_op_init(self, op_def, **arguments)


irdl_operations.irdl_op_init = _plain_irdl_op_init  # pyright: ignore[reportAttributeAccessIssue]


_xdsl_walks = (Operation.walk, Block.walk, Region.walk)


def _walk(ops: Iterable[Operation]) -> Iterator[Operation]:
    """`ops` and the ops nested in each (pre-order), read as the walk reaches them."""
    stack = [iter(ops)]
    while stack:
        op = next(stack[-1], None)
        if op is None:
            stack.pop()
            continue
        yield op
        if op.regions:
            stack.append(chain.from_iterable(b.ops for r in op.regions for b in r.blocks))


def _operation_walk(
    self: Operation, *, reverse: bool = False, region_first: bool = False
) -> Iterator[Operation]:
    if reverse or region_first:
        return _xdsl_walks[0](self, reverse=reverse, region_first=region_first)
    return _walk((self,))


def _block_walk(
    self: Block, *, reverse: bool = False, region_first: bool = False
) -> Iterable[Operation]:
    if reverse or region_first:
        return _xdsl_walks[1](self, reverse=reverse, region_first=region_first)
    return _walk(self.ops)


def _region_walk(
    self: Region, *, reverse: bool = False, region_first: bool = False
) -> Iterator[Operation]:
    if reverse or region_first:
        return _xdsl_walks[2](self, reverse=reverse, region_first=region_first)
    return _walk(chain.from_iterable(block.ops for block in self.blocks))


Operation.walk = _operation_walk
Block.walk = _block_walk
Region.walk = _region_walk


_parse_format = FormatProgram.from_str


class FormatOnFirstUse:
    """An op's declarative assembly format, parsed into xDSL's `FormatProgram` the first
    time an op of its class is parsed or printed with it; `made` holds every one."""

    __slots__ = ("op_def", "program", "text")
    made: ClassVar[list[FormatOnFirstUse]] = []

    def __init__(self, text: str, op_def: OpDef) -> None:
        self.text, self.op_def = text, op_def
        self.program: FormatProgram | None = None
        FormatOnFirstUse.made.append(self)

    def parsed(self) -> FormatProgram:
        if self.program is None:
            try:
                self.program = _parse_format(self.text, self.op_def)
            except ParseError as e:
                raise PyRDLOpDefinitionError(
                    "Error during the parsing of the assembly format: ", e.args
                ) from e
        return self.program

    def parse(self, parser: Any, op_type: type[IRDLOperation]) -> IRDLOperation:
        return self.parsed().parse(parser, op_type)

    def print(self, printer: Any, op: IRDLOperation) -> None:
        self.parsed().print(printer, op)


FormatProgram.from_str = FormatOnFirstUse  # pyright: ignore[reportAttributeAccessIssue]
