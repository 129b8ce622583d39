"""Rules -> one xDSL `RewritePattern` per rule set.

Each rule compiles to Python closures (not to the pdl dialect; docs/rewrite-language.md
has the measurement): a matcher that walks from the root op up its operands, the guards,
and a builder. `RuleSetPattern` dispatches on the op name, so a rule costs nothing on ops
it cannot match, and tries rules by falling benefit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import NoneType, TensorType, UnrankedTensorType
from xdsl.ir import Attribute, Operation, OpResult, SSAValue, TypeAttribute
from xdsl.irdl import IRDLOperation, VarResultDef
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern
from xdsl.utils.exceptions import VerifyException

from lamina.errors import LaminaError, RewriteRuleError
from lamina.parser.rewrites import Build, Expr, OpPattern, Pos, Rule, Splat, ValueRef, VarRef
from lamina.parser.rewrites_expr import (
    Compiled,
    Env,
    attr_to_python,
    compile_expr,
    compile_type_pattern,
    equal,
    make_constant,
    python_to_attr,
)


@cache
def _context() -> Context:
    from lamina.context import make_context

    return make_context()


def _op_class(name: str, pos: Pos) -> type[Operation]:
    op_class = _context().get_optional_op(name)
    if op_class is None:
        raise RewriteRuleError(f"unknown op '{name}'", str(pos))
    return op_class


def _check_attr(op_class: type[Operation], name: str, pos: Pos) -> None:
    if not issubclass(op_class, IRDLOperation):
        return
    definition = op_class.get_irdl_definition()
    if name not in definition.properties and name not in definition.attributes:
        raise RewriteRuleError(f"'{op_class.name}' has no attribute '{name}'", str(pos))


def _attr_value(op: Operation, name: str) -> object:
    attr = op.properties.get(name)
    if attr is None:
        attr = op.attributes.get(name)
    if attr is not None:  # not `or`: an IntegerAttr of 0 is falsy
        return attr_to_python(attr)
    return getattr(type(op), "onnx_defaults", {}).get(name)


# ---- the match ----


@dataclass
class _OpMatcher:
    """One op pattern: checks an op and binds its results, operands and attributes."""

    names: frozenset[str]
    results: list[tuple[str, Callable[[Attribute], bool] | None]]
    operands: list[tuple[str, str | None, Callable[[Attribute], bool] | None]]
    attrs: list[tuple[str, str | None, object]]
    one_use: bool
    producers: dict[str, tuple[_OpMatcher, int]] = field(default_factory=dict)

    def match(self, op: Operation, env: Env, matched: list[Operation]) -> bool:
        if op.name not in self.names or len(op.results) < len(self.results):
            return False
        if self.one_use and sum(r.uses.get_length() for r in op.results) != 1:
            return False
        matched.append(op)
        for (name, check), result in zip(self.results, op.results, strict=False):
            if check is not None and not check(result.type):
                return False
            env[name] = result
        operands = op.operands
        fixed = [o for o in self.operands if o[0] in ("bind", "any")]
        if len(operands) < len(fixed) or (len(operands) > len(fixed) == len(self.operands)):
            return False
        for i, (kind, name, check) in enumerate(self.operands):
            if kind in ("rest", "any_rest"):
                if name is not None:
                    env[name] = list(operands[i:])
                break
            operand = operands[i]
            if check is not None and not check(operand.type):
                return False
            if name is None:
                continue
            if name in env:
                if env[name] is not operand:
                    return False
                continue
            env[name] = operand
            producer = self.producers.get(name)
            if producer is not None:
                matcher, index = producer
                if not (isinstance(operand, OpResult) and operand.index == index):
                    return False
                if not matcher.match(operand.op, env, matched):
                    return False
        for attr, var, literal in self.attrs:
            actual = _attr_value(op, attr)
            if var is None:
                if not equal(actual, literal):
                    return False
            elif var in env:
                if not equal(actual, env[var]):
                    return False
            else:
                env[var] = actual
        return True


def _compile_match(rule: Rule) -> tuple[_OpMatcher, OpPattern, set[str]]:
    """The root's matcher (producers linked in), the root pattern, and the bound names."""
    defined: dict[str, tuple[OpPattern, int]] = {}
    for pattern in rule.patterns:
        for index, result in enumerate(pattern.results):
            if result.name in defined:
                raise RewriteRuleError(f"{result.name} is defined twice", str(result.pos))
            defined[result.name] = (pattern, index)
    consumed = {o.name for p in rule.patterns for o in p.operands if o.name in defined}
    roots = [p for p in rule.patterns if not {r.name for r in p.results} & consumed]
    if len(roots) != 1:
        raise RewriteRuleError(
            "a match needs exactly one root op (an op whose results no other op of the match "
            f"uses); found {len(roots)}",
            str(rule.pos),
        )
    matchers = {id(p): _op_matcher(p) for p in rule.patterns}
    scope: set[str] = set(defined)
    for pattern in rule.patterns:
        for operand in pattern.operands:
            if operand.name is None:
                continue
            scope.add(operand.name)
            if operand.name in defined:
                producer, index = defined[operand.name]
                matchers[id(pattern)].producers[operand.name] = (matchers[id(producer)], index)
        for attr in pattern.attrs:
            if isinstance(attr.value, VarRef):
                scope.add(attr.value.name)
    reached = _reachable(matchers[id(roots[0])])
    for pattern in rule.patterns:
        if id(matchers[id(pattern)]) not in reached:
            raise RewriteRuleError("op pattern is not connected to the root", str(pattern.pos))
    return matchers[id(roots[0])], roots[0], scope


def _reachable(root: _OpMatcher) -> set[int]:
    seen, todo = {id(root)}, [root]
    while todo:
        for matcher, _ in todo.pop().producers.values():
            if id(matcher) not in seen:
                seen.add(id(matcher))
                todo.append(matcher)
    return seen


def _op_matcher(p: OpPattern) -> _OpMatcher:
    classes = [_op_class(name, p.pos) for name in p.op_names]
    for attr in p.attrs:
        for op_class in classes:
            _check_attr(op_class, attr.name, attr.pos)
    for i, operand in enumerate(p.operands):
        if operand.kind in ("rest", "any_rest") and i != len(p.operands) - 1:
            raise RewriteRuleError("'...' must be the last operand", str(operand.pos))

    def check(t: Any) -> Callable[[Attribute], bool] | None:
        return None if t is None else compile_type_pattern(t.text, t.pos)

    return _OpMatcher(
        frozenset(p.op_names),
        [(r.name, check(r.type)) for r in p.results],
        [(o.kind, o.name, check(o.type)) for o in p.operands],
        [
            (a.name, a.value.name, None)
            if isinstance(a.value, VarRef)
            else (a.name, None, a.value.value)
            for a in p.attrs
        ],
        p.one_use,
    )


# ---- the rewrite ----

Step = Callable[[Env, list[Operation], Operation], None]


def _compile_build(b: Build, names: tuple[str, ...], scope: set[str], matched: set[str]) -> Step:
    op_class = _op_class(b.op_name, b.pos)
    operands: list[tuple[bool, Compiled]] = []
    for operand in b.operands:
        if isinstance(operand, Splat):
            operands.append((True, compile_expr(ValueRef(operand.pos, operand.name), scope)))
        else:
            operands.append((False, compile_expr(operand, scope)))
    attrs: list[tuple[str | None, Compiled, Pos]] = []
    for attr in b.attrs:
        if attr.source is not None:
            if attr.source not in matched:
                raise RewriteRuleError(
                    f"{attr.source} is not a result of a matched op", str(attr.pos)
                )
            attrs.append((None, compile_expr(ValueRef(attr.pos, attr.source), scope), attr.pos))
        else:
            assert attr.name is not None and attr.expr is not None
            _check_attr(op_class, attr.name, attr.pos)
            attrs.append((attr.name, compile_expr(attr.expr, scope), attr.pos))
    n_results = len(names)
    if issubclass(op_class, IRDLOperation):
        defs = op_class.get_irdl_definition().results
        if not any(isinstance(d, VarResultDef) for _, d in defs):
            if len(names) > len(defs):
                raise RewriteRuleError(f"'{b.op_name}' has {len(defs)} results", str(b.pos))
            n_results = len(defs)
    types: list[Compiled] = [_compile_result_type(t, scope) for t in b.types]
    for name in names[len(types) :]:
        if name not in matched:
            raise RewriteRuleError(
                f"cannot tell the type of {name}: write `: type(%v)` after the op", str(b.pos)
            )
        types.append(compile_expr(ValueRef(b.pos, name), scope))
        types[-1] = (lambda value: lambda env: value(env).type)(types[-1])

    def step(env: Env, built: list[Operation], root: Operation) -> None:
        flat: list[SSAValue] = []
        for splat, operand in operands:
            values = operand(env)
            for v in values if splat else [values]:
                flat.append(_as_value(v, built, root))
        props: dict[str, Attribute] = {}
        for name, fn, pos in attrs:
            v = fn(env)
            if name is None:
                owner = v.owner
                props.update(owner.properties)
            elif v is None:
                props.pop(name, None)
            else:
                props[name] = python_to_attr(op_class, name, v, pos)
        result_types = [_result_type(t(env), b.op_name) for t in types]
        result_types += [NoneType()] * (n_results - len(result_types))
        op = op_class.create(
            operands=flat, result_types=result_types, properties=props, location=root.location
        )
        built.append(op)
        for name, result in zip(names, op.results, strict=False):
            env[name] = result

    return step


def _compile_result_type(t: Expr, scope: set[str]) -> Compiled:
    """A `: expr` after a built op; naming a value there (`: %y`) is refused where it is
    written, since a value is not its type."""
    if isinstance(t, ValueRef):
        raise RewriteRuleError(
            f"a result type must be a type, not the value {t.name}: write `type({t.name})`",
            str(t.pos),
        )
    return compile_expr(t, scope)


def _result_type(v: object, op_name: str) -> Attribute:
    """What a `: expr` evaluated to, as a result type of `op_name` (`none` -> the none type)."""
    if v is None:
        return NoneType()
    if not isinstance(v, TypeAttribute):
        raise LaminaError(f"a result type of '{op_name}' must be a type, got {v!r}")
    return v


def _as_value(v: object, built: list[Operation], root: Operation) -> SSAValue:
    """An operand of a built op: a value, `none` (-> graph.none) or an array (-> constant)."""
    if isinstance(v, SSAValue):
        return v
    if v is None:
        from lamina.dialects.graph import NoneOp

        op: Operation = NoneOp()
    elif isinstance(v, list) and any(isinstance(x, SSAValue) for x in v):  # pyright: ignore[reportUnknownVariableType]
        raise LaminaError("a list of values is not an operand; write %xs... to pass them all")
    else:
        op = make_constant(v, _location_name(root))
    built.append(op)
    return op.results[0]


def _location_name(op: Operation) -> str:
    text = str(op.location)
    return text[5:-2] if text.startswith('loc("') else "folded"


@dataclass
class CompiledRule:
    rule: Rule
    root: _OpMatcher
    root_results: list[str]
    steps: list[tuple[Callable[[Env], Any] | Step, str | None, Pos, bool]]

    def apply(self, op: Operation, rewriter: PatternRewriter) -> bool:
        env: Env = {}
        matched: list[Operation] = []
        if not self.root.match(op, env, matched):
            return False
        if any(r.first_use is not None for r in op.results[len(self.root_results) :]):
            return False
        built: list[Operation] = []
        # built ops carry the location of the root's first matched producer (the conv of
        # relu(conv)), so diagnostics about a fused op name the node doing its work
        located = matched[1] if len(matched) > 1 else op
        for fn, name, pos, is_rewrite in self.steps:
            try:
                if is_rewrite:
                    fn(env, built, located)  # pyright: ignore[reportCallIssue]
                    continue
                v = fn(env)  # pyright: ignore[reportCallIssue]
            except LaminaError as err:
                message = f"rule '{self.rule.name}' at {pos}: {err.message}"
                raise RewriteRuleError(message, op=err.op or op) from None
            except Exception as err:
                raise RewriteRuleError(f"rule '{self.rule.name}' at {pos}: {err}") from None
            if name is not None:
                env[name] = v
            elif not v:
                return False
        new_values = [env[name] for name in self.root_results]
        if not self._types_fit(op, new_values, built):
            return False
        rewriter.replace(op, built, [*new_values, *[None] * (len(op.results) - len(new_values))])
        for producer in matched[1:]:
            if producer.parent is not None and all(r.first_use is None for r in producer.results):
                rewriter.erase(producer)
        return True

    def _types_fit(self, root: Operation, new: list[SSAValue], built: list[Operation]) -> bool:
        """Verifies the built ops; a replacement may refine a type only where graph ops use it."""
        rule = f"rule '{self.rule.name}' at {self.rule.pos}"
        for op in built:
            try:
                op.verify()
            except VerifyException as err:
                raise RewriteRuleError(f"{rule} built invalid IR: {err}") from None
        for old, value in zip(root.results, new, strict=False):
            if old.type == value.type:
                continue
            if not _compatible(old.type, value.type):
                raise RewriteRuleError(
                    f"{rule} built ill-typed IR: it replaces a value of type {old.type} with "
                    f"one of type {value.type}"
                )
            if any(not use.operation.name.startswith("graph.") for use in old.uses):
                return False
        return True


def _compatible(old: Attribute, new: Attribute) -> bool:
    if isinstance(old, UnrankedTensorType) and isinstance(new, TensorType):
        return old.element_type == new.element_type
    if not (isinstance(old, TensorType) and isinstance(new, TensorType)):
        return old == new
    if old.element_type != new.element_type:
        return False
    a, b = old.get_shape(), new.get_shape()
    return len(a) == len(b) and all(x == y or x < 0 or y < 0 for x, y in zip(a, b, strict=False))


def compile_rule(rule: Rule) -> CompiledRule:
    root, root_pattern, scope = _compile_match(rule)
    matched = {r.name for p in rule.patterns for r in p.results}
    steps: list[tuple[Any, str | None, Pos, bool]] = []
    for guard in rule.guards:
        steps.append((compile_expr(guard.expr, scope), guard.name, guard.pos, False))
        if guard.name is not None:
            scope.add(guard.name)
    root_results = [r.name for r in root_pattern.results]
    redefined: set[str] = set()
    for s in rule.statements:
        for name in s.names:
            if name in redefined or (name in scope and name not in root_results):
                raise RewriteRuleError(
                    f"{name} is already bound; the rewrite may only define new names and the "
                    "results of the root op",
                    str(s.pos),
                )
            redefined.add(name)
        steps.append((_compile_statement(s.rhs, s.names, scope, matched, s.pos), None, s.pos, True))
        scope.update(s.names)
    for name in root_results:
        if name not in redefined:
            raise RewriteRuleError(f"the rewrite does not define {name}", str(rule.pos))
    return CompiledRule(rule, root, root_results, steps)


def _compile_statement(
    rhs: Build | Expr, names: tuple[str, ...], scope: set[str], matched: set[str], pos: Pos
) -> Step:
    if isinstance(rhs, Build):
        return _compile_build(rhs, names, scope, matched)
    if len(names) != 1:
        raise RewriteRuleError("an expression defines exactly one value", str(pos))
    fn, (name,) = compile_expr(rhs, scope), names

    def step(env: Env, built: list[Operation], root: Operation) -> None:
        env[name] = _as_value(fn(env), built, root)

    return step


class RuleSetPattern(RewritePattern):
    """All rules of a set: tries the rules whose root is the op's name, by falling benefit;
    erases graph ops whose results are all unused (what folding leaves behind). More than
    `max_rewrites` rewrites means the rules loop (one rewrites what another, or itself,
    produces): a `RewriteRuleError` names the rule that fired most."""

    def __init__(self, rules: list[CompiledRule], max_rewrites: int = 1_000_000) -> None:
        self.max_rewrites = max_rewrites
        self.rewrites = 0
        self.by_root: dict[str, list[CompiledRule]] = {}
        for rule in sorted(rules, key=lambda r: -r.rule.benefit):
            for name in rule.root.names:
                self.by_root.setdefault(name, []).append(rule)
        self.error: RewriteRuleError | None = None
        self.applied: dict[str, int] = {}

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if (
            op.results
            and op.name.startswith("graph.")
            and all(r.first_use is None for r in op.results)
        ):
            rewriter.erase(op)
            return
        for rule in self.by_root.get(op.name, ()):
            try:
                applied = rule.apply(op, rewriter)
            except RewriteRuleError as err:
                self.error = err
                raise
            if applied:
                name = rule.rule.name
                self.applied[name] = self.applied.get(name, 0) + 1
                self.rewrites += 1
                if self.rewrites > self.max_rewrites:
                    self.error = self._no_fixed_point()
                    raise self.error
                return

    def _no_fixed_point(self) -> RewriteRuleError:
        name, count = max(self.applied.items(), key=lambda item: item[1])
        rule = next(r.rule for rules in self.by_root.values() for r in rules if r.rule.name == name)
        return RewriteRuleError(
            f"the rules reach no fixed point: {self.rewrites} rewrites, rule '{name}' fired "
            f"{count} times (does it rewrite its own result?)",
            str(rule.pos),
        )
