"""How fast lamina parses and prints large modules (issue: 20,000 ops in under 5 s).

Builds a `graph` module of N ops (a chain of graph.add / graph.relu on small tensors),
then times parsing it through lamina-opt's parser and printing it back, and checks the
printed text parses to the same text. Usage: python benchmarks/parse_print.py [N]
"""

from __future__ import annotations

import sys
import time
from io import StringIO

from xdsl.printer import Printer

from lamina.context import make_context
from lamina.tools.opt import LocatingParser


def chain_module(n_ops: int) -> str:
    """Text of a func with `n_ops` graph ops alternating add and relu."""
    t = "tensor<1x16xf32>"
    lines = [f"func.func @chain(%x: {t}) -> {t} {{"]
    previous = "%x"
    for i in range(n_ops - 1):
        if i % 2 == 0:
            lines.append(f"  %v{i} = graph.add {previous}, %x : {t}")
        else:
            lines.append(f"  %v{i} = graph.relu {previous} : {t}")
        previous = f"%v{i}"
    lines.append(f"  func.return {previous} : {t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    n_ops = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    text = chain_module(n_ops)
    ctx = make_context()

    start = time.perf_counter()
    module = LocatingParser(ctx, text, "chain.mlir").parse_module()
    parsed = time.perf_counter()
    out = StringIO()
    Printer(stream=out).print_op(module)
    printed = time.perf_counter()

    again = StringIO()
    Printer(stream=again).print_op(LocatingParser(ctx, out.getvalue(), "again").parse_module())
    assert again.getvalue() == out.getvalue(), "print -> parse -> print is not stable"

    total = printed - start
    print(f"ops: {n_ops}")
    print(f"parse: {parsed - start:.2f} s ({n_ops / (parsed - start):,.0f} ops/s)")
    print(f"print: {printed - parsed:.2f} s ({n_ops / (printed - parsed):,.0f} ops/s)")
    print(f"parse + print: {total:.2f} s (target < 5 s: {'met' if total < 5 else 'MISSED'})")


if __name__ == "__main__":
    main()
