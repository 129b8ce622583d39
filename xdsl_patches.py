"""Fixes to xDSL 0.74 that lamina needs before it parses any text; imported by context.py.

- String literals lex in linear time: xDSL's pattern `"(?:[^"\\]+|\\...)*"` nests two
  repeats, so an unclosed string backtracks over every split of the rest of its line
  (a fuzzed `iterator_types = ["par` never finished). One character per repeat matches the
  same strings without that backtracking.
"""

from __future__ import annotations

import re

from xdsl.utils.mlir_lexer import MLIRLexer

MLIRLexer._unescaped_characters_regex = re.compile(  # pyright: ignore[reportPrivateUsage]
    r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"'
)
