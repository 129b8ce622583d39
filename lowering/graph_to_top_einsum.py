"""Einsum -> top ops.

A two-input contraction whose letters are each in the output or in both inputs
(`bij,bjk->bik`, `ij,kj->ik`, `i,i`) is a batched `top.matmul` between transposes and
reshapes (the micro-kernel path):

    einsum("bik,bkj->bij", a, b) -> top.matmul a [b, i, k], b [b, k, j] : [b, i, j]

Any other equation is one `top.generic`: a loop per distinct letter (the output's letters
parallel, in output order, the contracted ones reductions after them); each input is read
through the map of its letters, so a repeated letter reads a diagonal and a transposed
term a transpose; the body multiplies the inputs and adds to the output.

`...` stands for the same broadcast dims in every term (numpy rules, right-aligned): a
size-1 dim of an input that another input stretches reads index 0. Without `->` the output
is every letter used once, in alphabetical order, after the `...` dims.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import reduce
from math import prod
from typing import cast

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of

_ELLIPSIS = "."
"""One letter standing for the `...` of a term after `_expand` (the dims get names
`0`, `1`, ... from the right, digits never being equation letters)."""


def _terms(equation: str, ranks: Sequence[int], e: Emitter) -> tuple[list[list[str]], list[str]]:
    """The inputs' and the output's dims as lists of names, `...` expanded to digit names
    numbered from the right (so broadcast dims align on the right)."""
    equation = equation.replace(" ", "")
    inputs_text, arrow, output_text = equation.partition("->")
    texts = inputs_text.split(",")
    if len(texts) != len(ranks) or not re.fullmatch(r"[A-Za-z,.>\-]*", equation):
        raise e.fail(f"einsum equation '{equation}' for {len(ranks)} inputs")
    terms = [_expand(text, rank, e) for text, rank in zip(texts, ranks, strict=True)]
    width = max((sum(d.isdigit() for d in t) for t in terms), default=0)
    if arrow:
        output = _expand(output_text, width, e, ellipsis_rank=width)
    else:
        letters = [d for t in terms for d in t if not d.isdigit()]
        once = sorted(d for d in set(letters) if letters.count(d) == 1)
        output = [str(i) for i in reversed(range(width))] + once
    return terms, output


def _expand(text: str, rank: int, e: Emitter, ellipsis_rank: int | None = None) -> list[str]:
    """`text`'s dim names for an operand of `rank` (or an output with `ellipsis_rank`
    broadcast dims)."""
    if text.count("...") > 1 or text.replace("...", "").count(".") > 0:
        raise e.fail(f"einsum term '{text}'")
    letters = list(text.replace("...", _ELLIPSIS))
    named = len(letters) - letters.count(_ELLIPSIS)
    hidden = (rank - named) if ellipsis_rank is None else ellipsis_rank
    if hidden < 0 or (hidden and _ELLIPSIS not in letters and ellipsis_rank is None):
        raise e.fail(f"einsum term '{text}' for a tensor of rank {rank}")
    if _ELLIPSIS not in letters:
        return letters
    at = letters.index(_ELLIPSIS)
    return letters[:at] + [str(i) for i in reversed(range(hidden))] + letters[at + 1 :]


def _sizes(terms: list[list[str]], shapes: Sequence[tuple[int, ...]], e: Emitter) -> dict[str, int]:
    """Each dim name's extent; broadcast (digit) dims take the largest, others must agree."""
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes, strict=True):
        for name, size in zip(term, shape, strict=True):
            known = sizes.get(name, size)
            if name.isdigit() and 1 in (known, size):
                sizes[name] = max(known, size)
            elif known != size:
                raise e.fail(f"einsum dim '{name}' has sizes {known} and {size}")
            else:
                sizes[name] = size
    return sizes


class EinsumLowering(GraphLowering):
    """einsum(equation, x...) -> a sum-of-products `top.generic` (module doc)."""

    source = (graph.EinsumOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        inputs = list(op.operands)
        shapes = [e.static(v) for v in inputs]
        result = e.static_result()
        equation = str(e.attrs()["equation"])
        terms, output = _terms(equation, [len(s) for s in shapes], e)
        sizes = _sizes(terms, shapes, e)
        if len(set(output)) != len(output) or any(d not in sizes for d in output):
            raise e.fail(f"einsum output '{equation}'")
        contracted = [d for d in dict.fromkeys(n for t in terms for n in t) if d not in output]
        loops = {name: i for i, name in enumerate([*output, *contracted])}
        if tuple(sizes[d] for d in output) != result.get_shape():
            raise e.fail(f"einsum '{equation}' result type {result}")
        if (product := _as_matmul(e, inputs, terms, output, sizes, result)) is not None:
            return [product]
        maps = [
            _term_map(term, shape, loops, sizes) for term, shape in zip(terms, shapes, strict=True)
        ]
        out_map = AffineMap(len(loops), 0, tuple(AffineDimExpr(loops[d]) for d in output))
        element = result.get_element_type()
        block = Block(arg_types=[*(elt_of(v) for v in inputs), element])
        b = Body(block)
        *values, acc = block.args
        product = reduce(b.mul, cast(list[SSAValue], values))
        block.add_op(top.YieldOp(b.add(acc, product)))
        iterators = [top.IteratorType.PARALLEL] * len(output)
        iterators += [top.IteratorType.REDUCTION] * len(contracted)
        init = e.fill(TensorType(element, result.get_shape()))
        return [e.emit(top.GenericOp(inputs, [init], Region(block), [*maps, out_map], iterators))]


def _term_map(
    term: list[str], shape: tuple[int, ...], loops: dict[str, int], sizes: dict[str, int]
) -> AffineMap:
    """Reads an input through the loops of its dim names; a stretched size-1 dim reads 0."""
    exprs: list[AffineExpr] = [
        AffineConstantExpr(0) if size == 1 and sizes[name] != 1 else AffineDimExpr(loops[name])
        for name, size in zip(term, shape, strict=True)
    ]
    return AffineMap(len(loops), 0, tuple(exprs))


def _as_matmul(
    e: Emitter,
    inputs: list[SSAValue],
    terms: list[list[str]],
    output: list[str],
    sizes: dict[str, int],
    result: TensorType[Attribute],
) -> SSAValue | None:
    """A two-input contraction as transposes + one batched `top.matmul` + a transpose:
    a [B, M, K] x b [B, K, N] with B the shared output dims, K the contracted ones. None
    when the terms do not fit (a diagonal, a broadcast dim, a dim summed in one input)."""
    if len(inputs) != 2 or any(len(set(t)) != len(t) for t in terms):
        return None
    a, b = terms
    if not all(d in output or d in a and d in b for d in (*a, *b)):
        return None
    if any(sizes[d] != n for t, v in zip(terms, inputs, strict=True)
           for d, n in zip(t, e.static(v), strict=True)):  # fmt: skip
        return None  # a stretched broadcast dim
    batch = [d for d in output if d in a and d in b]
    rows, columns = [d for d in output if d in a and d not in b], [d for d in output if d not in a]
    inner = [d for d in a if d not in output]
    lhs = _grouped(e, inputs[0], a, [batch, rows, inner], sizes)
    rhs = _grouped(e, inputs[1], b, [batch, inner, columns], sizes)
    element = result.get_element_type()
    flat = TensorType(element, (_prod(batch, sizes), _prod(rows, sizes), _prod(columns, sizes)))
    product = e.emit(top.MatmulOp(lhs, rhs, flat))
    order = [*batch, *rows, *columns]
    product = e.reshape(product, [sizes[d] for d in order])
    if order == output:
        return product
    return e.emit(top.TransposeOp(product, [order.index(d) for d in output], result))


def _prod(names: list[str], sizes: dict[str, int]) -> int:
    return prod(sizes[d] for d in names)


def _grouped(
    e: Emitter, value: SSAValue, term: list[str], groups: list[list[str]], sizes: dict[str, int]
) -> SSAValue:
    """`value` (dims named by `term`) transposed to the order of `groups` and each group
    flattened into one dim."""
    order = [d for group in groups for d in group]
    if order != term:
        shape = TensorType(elt_of(value), [sizes[d] for d in order])
        value = e.emit(top.TransposeOp(value, [term.index(d) for d in order], shape))
    return e.reshape(value, [_prod(group, sizes) for group in groups])


EINSUM_LOWERINGS: tuple[type[GraphLowering], ...] = (EinsumLowering,)
