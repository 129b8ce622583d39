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
"""

from __future__ import annotations

import re
from typing import Any, get_origin

import xdsl.irdl
from xdsl.ir import TypeAttribute
from xdsl.irdl import AttrConstraint
from xdsl.parser.attribute_parser import AttrParser
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
