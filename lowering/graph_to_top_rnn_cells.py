"""One time step of LSTM, GRU and RNN (ONNX semantics) as fused `top.generic`s over the
state [D, 1, B, H] (D directions batched, loop dims (d, 0, b, j)). Gate-bearing operands
have the gates as dim 1 ([D, gates, B, H]: the step's projection, H·Rᵀ; B is [D, 2·gates, H],
P [D, 3, H]), so every operand dim a loop reads alone has the loop's extent.

Gate pre-activations are proj[s] + Hₛ₋₁·Rᵀ (+ Wb + Rb) (+ peepholes), clipped to
[-clip, clip] when `clip` is set, then activated. Activations follow onnxruntime's reading
of activation_alpha / activation_beta: consumed in order, one alpha (beta) per activation
that takes one; defaults LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1.0, otherwise 0.

With a step mask (sequence_lens), a batch whose sequence has ended keeps its state and
outputs 0. Gate orders in W, R, B: LSTM i o f c (P: i o f), GRU z r h, RNN one gate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects.builtin import i64
from xdsl.ir import Block, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from lamina.dialects import top
from lamina.lowering.graph_to_top_common import Body, Emitter, elt_of, identity_map, tensor_type
from lamina.lowering.graph_to_top_index import iota

ActivationFn = Callable[[Body, SSAValue, float, float], SSAValue]


def _sigmoid(b: Body, x: SSAValue, alpha: float, beta: float) -> SSAValue:
    return b.div(b.like(1, x), b.add(b.like(1, x), b.exp(b.neg(x))))


def _affine(b: Body, x: SSAValue, alpha: float, beta: float) -> SSAValue:
    return b.add(b.mul(b.like(alpha, x), x), b.like(beta, x))


def _where_negative(b: Body, x: SSAValue, negative: SSAValue) -> SSAValue:
    return b.select(b.cmp("olt", x, b.like(0, x)), negative, x)


_ACTIVATIONS: dict[str, tuple[int, int, float, float, ActivationFn]] = {
    # name: (alphas taken, betas taken, default alpha, default beta, formula)
    "relu": (0, 0, 0, 0, lambda b, x, a, c: b.max(x, b.like(0, x))),
    "tanh": (0, 0, 0, 0, lambda b, x, a, c: b.tanh(x)),
    "sigmoid": (0, 0, 0, 0, _sigmoid),
    "affine": (1, 1, 0, 0, _affine),  # alpha x + beta
    "leakyrelu": (1, 0, 0.01, 0, lambda b, x, a, c: _where_negative(b, x, b.mul(b.like(a, x), x))),
    "thresholdedrelu": (  # x > alpha ? x : 0
        1, 0, 0, 0, lambda b, x, a, c: b.select(b.cmp("ogt", x, b.like(a, x)), x, b.like(0, x))
    ),
    "scaledtanh": (1, 1, 0, 0, lambda b, x, a, c: b.mul(b.like(a, x), b.tanh(b.mul(b.like(c, x), x)))),
    "hardsigmoid": (  # clamp(alpha x + beta, 0, 1)
        1, 1, 0.2, 0.5, lambda b, x, a, c: b.max(b.like(0, x), b.min(b.like(1, x), _affine(b, x, a, c)))
    ),
    "elu": (1, 0, 1.0, 0, lambda b, x, a, c: _where_negative(  # x < 0 ? alpha (exp(x) - 1) : x
        b, x, b.mul(b.like(a, x), b.sub(b.exp(x), b.like(1, x))))),
    "softsign": (0, 0, 0, 0, lambda b, x, a, c: b.div(x, b.add(b.like(1, x), b.abs(x)))),
    "softplus": (0, 0, 0, 0, lambda b, x, a, c: b.log(b.add(b.exp(x), b.like(1, x)))),
}  # fmt: skip


@dataclass(frozen=True)
class Activation:
    name: str
    """Lower-case ONNX activation name, a key of `_ACTIVATIONS`."""
    alpha: float
    beta: float

    def __call__(self, b: Body, x: SSAValue) -> SSAValue:
        return _ACTIVATIONS[self.name][4](b, x, self.alpha, self.beta)


def parse_activations(
    names: Sequence[str], alphas: Sequence[float], betas: Sequence[float]
) -> list[Activation] | str:
    """The activations with their alpha / beta (see the module doc), or the unknown name."""
    parsed: list[Activation] = []
    alpha_iter, beta_iter = iter(alphas), iter(betas)
    for name in names:
        entry = _ACTIVATIONS.get(name.lower())
        if entry is None:
            return name
        takes_alpha, takes_beta, alpha, beta, _ = entry
        alpha = next(alpha_iter, alpha) if takes_alpha else alpha
        beta = next(beta_iter, beta) if takes_beta else beta
        parsed.append(Activation(name.lower(), float(alpha), float(beta)))
    return parsed


@dataclass(frozen=True)
class Cell:
    """What every step of one recurrent op shares."""

    kind: str
    """"lstm", "gru" or "rnn"."""
    hidden: int
    directions: int
    activations: tuple[tuple[Activation, ...], ...]
    """Per direction: LSTM (f, g, h), GRU (f, g), RNN (f,)."""
    clip: float | None
    bias: SSAValue | None
    """B as [D, 2·gates, H] (Wb then Rb), read by each step's generic directly."""
    peepholes: SSAValue | None = None
    """P as [D, 3, H]."""
    input_forget: bool = False
    linear_before_reset: bool = False

    @property
    def gates(self) -> int:
        return {"lstm": 4, "gru": 3, "rnn": 1}[self.kind]


_DIMS = tuple(AffineDimExpr(d) for d in range(4))  # (d, z, b, j) over [D, 1, B, H]
_D, _Z, _B, _J = _DIMS


def _at(k: int) -> AffineConstantExpr:
    return AffineConstantExpr(k)


@dataclass
class StepGeneric:
    """Builds one step's fused generic: operands read through maps over (d, z, b, j)."""

    e: Emitter
    cell: Cell
    h: SSAValue
    """The state Hₛ₋₁, operand 0: the loop bounds come from the first operand reading a dim
    as it is, so the state's shape sets them."""
    values: list[SSAValue] = field(default_factory=list[SSAValue])
    maps: list[AffineMap] = field(default_factory=list[AffineMap])

    def __post_init__(self) -> None:
        self.state(self.h)

    def read(self, value: SSAValue, *exprs: AffineExpr) -> int:
        """Adds `value` read at `exprs`; returns its block argument's position."""
        self.values.append(value)
        self.maps.append(AffineMap(4, 0, exprs))
        return len(self.values) - 1

    def state(self, value: SSAValue) -> int:
        return self.read(value, *_DIMS)

    def gate(self, value: SSAValue, k: int) -> int:
        """Gate `k` of a [D, gates, B, H] operand."""
        return self.read(value, _D, _at(k), _B, _J)

    def bias(self, k: int) -> tuple[int, int] | None:
        """(Wb, Rb) of gate `k`, None without a bias."""
        if self.cell.bias is None:
            return None
        wb = self.read(self.cell.bias, _D, _at(k), _J)
        return wb, self.read(self.cell.bias, _D, _at(self.cell.gates + k), _J)

    def build(
        self, count: int, body: Callable[[Body, Sequence[SSAValue]], Sequence[SSAValue]]
    ) -> list[SSAValue]:
        """`count` state-shaped results of `body(builder, block arguments)`."""
        state = tensor_type(self.h)
        element = state.get_element_type()
        block = Block(arg_types=[elt_of(v) for v in self.values] + [element] * count)
        block.add_op(top.YieldOp(*body(Body(block), block.args)))
        generic = top.GenericOp(
            self.values,
            [self.e.fill(state) for _ in range(count)],
            Region(block),
            [*self.maps, *[identity_map(4)] * count],
            [top.IteratorType.PARALLEL] * 4,
        )
        self.e.emit(generic)
        return list(generic.res)


class Activate:
    """Applies a cell's activation `index`, selecting by direction where they differ."""

    def __init__(self, g: StepGeneric, direction: int | None) -> None:
        self.cell = g.cell
        self.direction = direction
        self.args: Sequence[SSAValue] = ()

    def __call__(self, b: Body, index: int, x: SSAValue, clipped: bool = True) -> SSAValue:
        """Activation `index` of `x`, a gate's pre-activation clipped first unless not
        `clipped` (LSTM's h(Cₛ): onnxruntime clips gates only)."""
        cell = self.cell
        if cell.clip is not None and clipped:
            x = b.max(b.like(-cell.clip, x), b.min(b.like(cell.clip, x), x))
        per_direction = [acts[index] for acts in cell.activations]
        forward = per_direction[0](b, x)
        if self.direction is None or per_direction[0] == per_direction[-1]:
            return forward
        d = self.args[self.direction]
        return b.select(b.cmp("oeq", d, b.like(0, d)), forward, per_direction[-1](b, x))


def activate_for(g: StepGeneric) -> Activate:
    """An `Activate` for `g`, reading the direction index when directions differ."""
    acts = g.cell.activations
    differ = len(acts) == 2 and acts[0] != acts[1]
    return Activate(g, g.read(iota(g.e, g.cell.directions, i64), _D) if differ else None)


def mask_of(g: StepGeneric, mask: SSAValue | None) -> int | None:
    """The step mask [1, B] (1 while a sequence runs, 0 after) as an operand, if any."""
    return None if mask is None else g.read(mask, _Z, _B)


def finish(
    b: Body, args: Sequence[SSAValue], valid: int | None, new: Sequence[SSAValue],
    old: Sequence[SSAValue],
) -> list[SSAValue]:  # fmt: skip
    """The new states (kept where the mask says the sequence ended), then with a mask the
    step output (0 there; without a mask it is the new h, not computed twice)."""
    if valid is None:
        return list(new)
    running = b.cmp("ogt", args[valid], b.like(0.5, args[valid]))
    kept = [b.select(running, n, o) for n, o in zip(new, old, strict=True)]
    return [*kept, b.select(running, new[0], b.like(0, new[0]))]


def with_output(results: list[SSAValue], states: int) -> list[SSAValue]:
    """A step's `states` new states then its output: the masked output `finish` made, or
    without a mask the new h."""
    return results if len(results) > states else [*results, results[0]]


def sum_of(b: Body, args: Sequence[SSAValue], *positions: int | None) -> SSAValue:
    values = [args[p] for p in positions if p is not None]
    total = values[0]
    for value in values[1:]:
        total = b.add(total, value)
    return total


def _pair(bias: tuple[int, int] | None) -> tuple[int | None, int | None]:
    return (None, None) if bias is None else bias


def rnn_step(
    e: Emitter, cell: Cell, proj: SSAValue, hr: SSAValue, h: SSAValue, mask: SSAValue | None
) -> list[SSAValue]:
    """Hₛ = f(proj + H·Rᵀ + Wb + Rb): [new h, step output]."""
    g = StepGeneric(e, cell, h)
    x, r, old = g.gate(proj, 0), g.gate(hr, 0), 0
    wb, rb = _pair(g.bias(0))
    act, valid = activate_for(g), mask_of(g, mask)

    def body(b: Body, args: Sequence[SSAValue]) -> list[SSAValue]:
        act.args = args
        new = act(b, 0, sum_of(b, args, x, r, wb, rb))
        return finish(b, args, valid, [new], [args[old]])

    return with_output(g.build(1 + (valid is not None), body), 1)


def lstm_step(
    e: Emitter, cell: Cell, proj: SSAValue, hr: SSAValue, h: SSAValue, c: SSAValue,
    mask: SSAValue | None,
) -> list[SSAValue]:  # fmt: skip
    """i, o, f, c gates; Cₛ = f·Cₛ₋₁ + i·g(c), Hₛ = o·h(Cₛ): [new h, new c, step output]."""
    g = StepGeneric(e, cell, h)
    xs = [g.gate(proj, k) for k in range(4)]
    rs = [g.gate(hr, k) for k in range(4)]
    biases = [_pair(g.bias(k)) for k in range(4)]
    h_old, c_old = 0, g.state(c)
    p = cell.peepholes
    peep = [g.read(p, _D, _at(k), _J) for k in range(3)] if p is not None else None
    act, valid = activate_for(g), mask_of(g, mask)

    def body(b: Body, args: Sequence[SSAValue]) -> list[SSAValue]:
        act.args = args
        c_prev = args[c_old]

        def pre(k: int, state: SSAValue) -> SSAValue:
            total = sum_of(b, args, xs[k], rs[k], *biases[k])
            return total if peep is None or k == 3 else b.add(total, b.mul(args[peep[k]], state))

        i = act(b, 0, pre(0, c_prev))
        f = b.sub(b.like(1, i), i) if cell.input_forget else act(b, 0, pre(2, c_prev))
        c_new = b.add(b.mul(f, c_prev), b.mul(i, act(b, 1, pre(3, c_prev))))
        o = act(b, 0, pre(1, c_new))
        h_new = b.mul(o, act(b, 2, c_new, clipped=False))
        return finish(b, args, valid, [h_new, c_new], [args[h_old], c_prev])

    return with_output(g.build(2 + (valid is not None), body), 2)


def gru_reset(e: Emitter, cell: Cell, proj: SSAValue, hr: SSAValue, h: SSAValue) -> SSAValue:
    """rₛ ⊙ Hₛ₋₁ (linear_before_reset = 0), the left operand of the h gate's matmul."""
    g = StepGeneric(e, cell, h)
    x, r, old = g.gate(proj, 1), g.gate(hr, 1), 0
    wb, rb = _pair(g.bias(1))
    act = activate_for(g)

    def body(b: Body, args: Sequence[SSAValue]) -> list[SSAValue]:
        act.args = args
        return [b.mul(act(b, 0, sum_of(b, args, x, r, wb, rb)), args[old])]

    return g.build(1, body)[0]


def gru_step(
    e: Emitter, cell: Cell, proj: SSAValue, hr: SSAValue, hh: SSAValue | None, h: SSAValue,
    mask: SSAValue | None,
) -> list[SSAValue]:  # fmt: skip
    """z, r, h gates; Hₛ = (1 - z)·h + z·Hₛ₋₁: [new h, step output]. `hr` holds H·Rᵀ of the z
    and r gates (and h with linear_before_reset); `hh` is (r ⊙ H)·Rₕᵀ without it."""
    g = StepGeneric(e, cell, h)
    xz, xh, rz, old = g.gate(proj, 0), g.gate(proj, 2), g.gate(hr, 0), 0
    (wz, rbz), (wh, rbh) = _pair(g.bias(0)), _pair(g.bias(2))
    lbr = hh is None
    rr, xr = (g.gate(hr, 1), g.gate(proj, 1)) if lbr else (None, None)
    wr, rbr = _pair(g.bias(1)) if lbr else (None, None)
    rh = g.gate(hr, 2) if hh is None else g.state(hh)
    act, valid = activate_for(g), mask_of(g, mask)

    def body(b: Body, args: Sequence[SSAValue]) -> list[SSAValue]:
        act.args = args
        z = act(b, 0, sum_of(b, args, xz, rz, wz, rbz))
        if lbr:
            r = act(b, 0, sum_of(b, args, xr, rr, wr, rbr))
            h_pre = b.add(sum_of(b, args, xh, wh), b.mul(r, sum_of(b, args, rh, rbh)))
        else:
            h_pre = sum_of(b, args, xh, rh, wh, rbh)
        candidate = act(b, 1, h_pre)
        h_prev = args[old]
        h_new = b.add(b.mul(b.sub(b.like(1, z), z), candidate), b.mul(z, h_prev))
        return finish(b, args, valid, [h_new], [h_prev])

    return with_output(g.build(1 + (valid is not None), body), 1)
