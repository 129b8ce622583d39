"""The reader of rewrite rules (`*.rw`): text -> rule ASTs with source positions.

The grammar is `rewrite_grammar.lark` (LALR, so a syntax error names the first token that
cannot continue a rule). `parser.rewrites_compile` turns the ASTs into xDSL patterns and
checks names against the loaded dialects; docs/rewrite-language.md describes the language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.exceptions import UnexpectedToken

from lamina.errors import RewriteRuleError

GRAMMAR = Path(__file__).with_name("rewrite_grammar.lark")


@dataclass(frozen=True)
class Pos:
    """A place in a rule file, printed as `file:line:col`."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Node:
    """A node of a rule's AST: `pos` is the position of its first token."""

    pos: Pos


# ---- expressions ----


@dataclass(frozen=True)
class Expr(Node):
    """An expression of a guard, a `let` or a built op's operand, attribute or type."""


@dataclass(frozen=True)
class Lit(Expr):
    value: object


@dataclass(frozen=True)
class ValueRef(Expr):
    """`%name`: an SSA value (or, after `%xs...` in a match, a list of values)."""

    name: str


@dataclass(frozen=True)
class VarRef(Expr):
    """`$name`: an attribute bound in the match or a `let` variable."""

    name: str


@dataclass(frozen=True)
class Call(Expr):
    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class ListExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Op(Expr):
    """A unary (`-`, `+`, `not`) or binary operator; `and`/`or` short-circuit."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Index(Expr):
    base: Expr
    index: Expr


@dataclass(frozen=True)
class Slice(Expr):
    base: Expr
    lower: Expr | None
    upper: Expr | None


@dataclass(frozen=True)
class Cond(Expr):
    then: Expr
    cond: Expr
    otherwise: Expr


# ---- the match ----


@dataclass(frozen=True)
class TypePattern(Node):
    """`f32` (element type) or `tensor<?x3x*xf32>` (`?` any dim, `*` any number of dims)."""

    text: str


@dataclass(frozen=True)
class OperandPattern(Node):
    kind: str  # "bind" | "any" | "rest" | "any_rest"
    name: str | None
    type: TypePattern | None


@dataclass(frozen=True)
class ResultPattern(Node):
    name: str
    type: TypePattern | None


@dataclass(frozen=True)
class AttrPattern(Node):
    name: str
    value: Lit | VarRef


@dataclass(frozen=True)
class OpPattern(Node):
    results: tuple[ResultPattern, ...]
    op_names: tuple[str, ...]
    operands: tuple[OperandPattern, ...]
    attrs: tuple[AttrPattern, ...]
    one_use: bool


@dataclass(frozen=True)
class Guard(Node):
    """`where expr` (must be true) or `let $name = expr` (binds a variable)."""

    name: str | None
    expr: Expr


# ---- the rewrite ----


@dataclass(frozen=True)
class Splat(Node):
    """`%xs...` as a build operand: all values of a list binding."""

    name: str


@dataclass(frozen=True)
class BuildAttr(Node):
    """`attrs of %v` (copy all properties of %v's op) or `name = expr`."""

    name: str | None
    source: str | None
    expr: Expr | None


@dataclass(frozen=True)
class Build(Node):
    op_name: str
    operands: tuple[Expr | Splat, ...]
    attrs: tuple[BuildAttr, ...]
    types: tuple[Expr, ...]


@dataclass(frozen=True)
class Statement(Node):
    names: tuple[str, ...]
    rhs: Build | Expr


@dataclass(frozen=True)
class Rule(Node):
    name: str
    benefit: int
    patterns: tuple[OpPattern, ...]
    guards: tuple[Guard, ...]
    statements: tuple[Statement, ...]


@dataclass
class RuleFile:
    path: str
    rules: list[Rule] = field(default_factory=list[Rule])
    includes: list[tuple[str, Pos]] = field(default_factory=list[tuple[str, Pos]])


@cache
def _lark() -> Lark:
    """The rule language's LALR parser. Building its tables costs ~70 ms of every process
    that compiles a model; lark keeps them in a file of the temporary directory named by the
    hash of the grammar, its options and lark's version (~8 ms to load), and rebuilds them
    when that file is missing, stale or unwritable."""
    return Lark(GRAMMAR.read_text(), parser="lalr", propagate_positions=True, cache=True)


def parse_rules(text: str, file: str = "<rules>") -> RuleFile:
    """Parses the text of one `.rw` file (includes are not followed)."""
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as err:
        raise RewriteRuleError(_syntax_message(err), f"{file}:{err.line}:{err.column}") from None
    return _Reader(file).file(tree)


def load_rules(path: str | Path, _seen: frozenset[Path] = frozenset()) -> list[Rule]:
    """Reads a `.rw` file and, first, the files it includes (relative to it)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise RewriteRuleError(f"cannot read rule file: {err.strerror}", str(path)) from None
    parsed = parse_rules(text, str(path))
    rules: list[Rule] = []
    for include, pos in parsed.includes:
        target = (path.parent / include).resolve()
        if target in _seen:
            raise RewriteRuleError(f"'{include}' includes itself", str(pos))
        rules += load_rules(target, _seen | {path.resolve()})
    return rules + parsed.rules


def _syntax_message(err: UnexpectedInput) -> str:
    if isinstance(err, UnexpectedEOF):
        return "unexpected end of file"
    if isinstance(err, UnexpectedCharacters):
        return f"unexpected character '{err.char}'"
    assert isinstance(err, UnexpectedToken)
    expected = sorted(_describe_terminal(name) for name in err.expected)
    found = "end of file" if err.token.type == "$END" else f"'{err.token}'"
    return f"unexpected {found}; expected {', '.join(expected)}"


def _describe_terminal(name: str) -> str:
    readable = {
        "VALUE": "a %value",
        "ATTR_VAR": "a $variable",
        "OP_NAME": "an op name",
        "NAME": "a name",
        "INT": "an integer",
        "FLOAT": "a number",
        "STRING": "a string",
        "TYPE_PATTERN": "a type",
        "COMPARE": "a comparison",
        "ADD_OP": "'+' or '-'",
        "MUL_OP": "'*', '/' or '%'",
    }
    if name in readable:
        return readable[name]
    try:
        return f"'{_lark().get_terminal(name).pattern.value}'"
    except KeyError:
        return name


class _Reader:
    """Lark tree -> AST; every node keeps the position of its first token."""

    def __init__(self, file: str) -> None:
        self.path = file

    def pos(self, node: Tree[Token] | Token) -> Pos:
        if isinstance(node, Token):
            return Pos(self.path, node.line or 0, node.column or 0)
        return Pos(self.path, node.meta.line, node.meta.column)

    def file(self, tree: Tree[Token]) -> RuleFile:
        out = RuleFile(self.path)
        for item in tree.children:
            assert isinstance(item, Tree)
            if item.data == "include":
                token = item.children[0]
                assert isinstance(token, Token)
                out.includes.append((token[1:-1], self.pos(item)))
            else:
                out.rules.append(self.rule(item))
        return out

    def rule(self, tree: Tree[Token]) -> Rule:
        name, benefit, *rest = tree.children
        assert isinstance(name, Token)
        patterns: list[OpPattern] = []
        guards: list[Guard] = []
        statements: list[Statement] = []
        for child in rest:
            assert isinstance(child, Tree)
            if child.data == "op_pattern":
                patterns.append(self.op_pattern(child))
            elif child.data == "statement":
                statements.append(self.statement(child))
            elif child.data == "let":
                var, expr = child.children
                assert isinstance(var, Token)
                guards.append(Guard(self.pos(child), str(var), self.expr(expr)))
            else:
                guards.append(Guard(self.pos(child), None, self.expr(child.children[0])))
        weight = 1
        if isinstance(benefit, Tree):
            weight = int(str(benefit.children[0]))
        return Rule(
            self.pos(name), str(name), weight, tuple(patterns), tuple(guards), tuple(statements)
        )

    def type_pattern(self, node: Tree[Token] | Token | None) -> TypePattern | None:
        if node is None:
            return None
        assert isinstance(node, Tree)
        token = node.children[0]
        assert isinstance(token, Token)
        return TypePattern(self.pos(token), str(token))

    def op_pattern(self, tree: Tree[Token]) -> OpPattern:
        results: list[ResultPattern] = []
        names: tuple[str, ...] = ()
        operands: list[OperandPattern] = []
        attrs: list[AttrPattern] = []
        one_use = False
        for child in tree.children:
            if child is None:
                continue
            if isinstance(child, Token):
                one_use = True
            elif child.data == "result_pattern":
                token, pattern = child.children
                assert isinstance(token, Token)
                results.append(
                    ResultPattern(self.pos(token), str(token), self.type_pattern(pattern))
                )
            elif child.data == "op_names":
                names = tuple(str(t) for t in child.children)
            elif child.data == "operand_patterns":
                operands = [self.operand_pattern(c) for c in child.children]
            else:
                attrs = [self.attr_pattern(c) for c in child.children]
        return OpPattern(
            self.pos(tree), tuple(results), names, tuple(operands), tuple(attrs), one_use
        )

    def operand_pattern(self, node: Tree[Token] | Token) -> OperandPattern:
        assert isinstance(node, Tree)
        kind = node.data.removesuffix("_operand").removesuffix("_operands")
        name = node.children[0] if node.children else None
        pattern = self.type_pattern(node.children[1]) if len(node.children) > 1 else None
        return OperandPattern(
            self.pos(node), str(kind), None if name is None else str(name), pattern
        )

    def attr_pattern(self, node: Tree[Token] | Token) -> AttrPattern:
        assert isinstance(node, Tree)
        name, value = node.children
        assert isinstance(name, Token)
        if isinstance(value, Token):
            return AttrPattern(self.pos(name), str(name), VarRef(self.pos(value), str(value)))
        return AttrPattern(self.pos(name), str(name), Lit(self.pos(value), self.literal(value)))

    def literal(self, node: Tree[Token] | Token) -> object:
        assert isinstance(node, Tree)
        kind, parts = node.data, node.children
        if kind == "list":
            return [self.literal(c) for c in parts if c is not None]
        sign = -1 if parts and isinstance(parts[0], Token) and parts[0] == "-" else 1
        text = str(parts[-1]) if parts else ""
        values: dict[str, object] = {
            "int": lambda: sign * int(text),
            "float": lambda: sign * float(text),
            "inf": lambda: sign * float("inf"),
            "string": lambda: text[1:-1],
            "true": lambda: True,
            "false": lambda: False,
        }
        maker = values[str(kind)]
        assert callable(maker)
        return maker()

    def statement(self, tree: Tree[Token]) -> Statement:
        *names, rhs = tree.children
        assert isinstance(rhs, Tree | Token)
        value = self.build(rhs) if isinstance(rhs, Tree) and rhs.data == "build" else self.expr(rhs)
        return Statement(self.pos(tree), tuple(str(n) for n in names), value)

    def build(self, tree: Tree[Token]) -> Build:
        op_name, operands, attrs, *types = tree.children
        assert isinstance(op_name, Token)
        built_operands: list[Expr | Splat] = []
        if isinstance(operands, Tree):
            for child in operands.children:
                if isinstance(child, Tree) and child.data == "splat":
                    built_operands.append(Splat(self.pos(child), str(child.children[0])))
                else:
                    built_operands.append(self.expr(child))
        built_attrs: list[BuildAttr] = []
        if isinstance(attrs, Tree):
            for child in attrs.children:
                assert isinstance(child, Tree)
                first = str(child.children[0])
                if child.data == "attrs_of":
                    built_attrs.append(BuildAttr(self.pos(child), None, first, None))
                else:
                    expr = self.expr(child.children[1])
                    built_attrs.append(BuildAttr(self.pos(child), first, None, expr))
        type_exprs = tuple(self.expr(t) for t in types if t is not None)
        return Build(
            self.pos(op_name), str(op_name), tuple(built_operands), tuple(built_attrs), type_exprs
        )

    def expr(self, node: Tree[Token] | Token | None) -> Expr:
        assert node is not None
        if isinstance(node, Token):  # a bare token only appears inside a rule of its own
            raise AssertionError(f"unexpected token {node!r}")
        pos, kind, parts = self.pos(node), str(node.data), node.children
        if kind in ("int", "float", "string", "true", "false", "inf", "none"):
            return Lit(pos, None if kind == "none" else self.literal(node))
        if kind == "value":
            return ValueRef(pos, str(parts[0]))
        if kind == "attr_var":
            return VarRef(pos, str(parts[0]))
        if kind == "call":
            return Call(pos, str(parts[0]), tuple(self.expr(p) for p in parts[1:] if p is not None))
        if kind == "list":
            return ListExpr(pos, tuple(self.expr(p) for p in parts if p is not None))
        if kind in ("or_expr", "and_expr"):
            return Op(pos, kind.removesuffix("_expr"), tuple(self.expr(p) for p in parts))
        if kind == "not_":
            return Op(pos, "not", (self.expr(parts[0]),))
        if kind == "sign":
            return Op(pos, str(parts[0]), (self.expr(parts[1]),))
        if kind == "index":
            return Index(pos, self.expr(parts[0]), self.expr(parts[1]))
        if kind == "slice":
            lower, upper = (None if p is None else self.expr(p) for p in parts[1:])
            return Slice(pos, self.expr(parts[0]), lower, upper)
        if kind == "conditional":
            return Cond(pos, self.expr(parts[0]), self.expr(parts[1]), self.expr(parts[2]))
        # comparison, sum and product: left-associative chains `a op b op c`
        result = self.expr(parts[0])
        for i in range(1, len(parts), 2):
            operator = " ".join(str(parts[i]).split())
            result = Op(pos, operator, (result, self.expr(parts[i + 1])))
        return result
