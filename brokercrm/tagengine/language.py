"""The tag rule language: parse, type-check and compile a rule to an Ibis boolean expression.

A rule is a condition over the columns of the feature table (:data:`.features.FEATURES`) and
other tags. It is parsed by a hand-written recursive-descent parser (no ``eval``, no SQL text
built from the rule), checked against the features' types, and compiled to Ibis, so that it runs
on every engine the pipeline runs on. A rule with any error is refused whole, with the column of
the error, what was expected and what was found.

Grammar (keywords are case-insensitive)::

    rule       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | predicate
    predicate  := sum [ ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
                      | ["not"] "between" sum "and" sum
                      | ["not"] "in" "(" literal ("," literal)* ")"
                      | "is" ["not"] "null" ]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := number | 'text' | feature | function "(" [rule ("," rule)*] ")"
                | "tag" "(" 'code' ")" | "(" rule ")"

Examples::

    total_assets >= 100000 and total_assets < 500000
    cash_balance >= 0.5 * total_assets
    days_since(open_date) >= 365 and risk_level in ('C4', 'C5')
    tag('dormant_90d') and not (top_industry = '银行')

Numbers are exact decimals (``500000``, ``0.3``; at most 18 digits, 6 of them after the point;
``1e6`` is refused). Text is in single quotes (``'it''s'`` for a quote). Dates come from features
and are used through the functions below; there are no date literals, so a rule always means the
same thing relative to the evaluation day.

Functions: ``days_since(date)``, ``days_until(date)`` (calendar days between the date and the
evaluation day), ``months_since(date)`` (whole calendar months, end-of-month clamped, the same
count as ``datacenter.pipeline.months_cutoff``), ``abs(x)``, ``min(a, b)``, ``max(a, b)`` (a
missing value is ignored, as SQL ``least``/``greatest``), ``coalesce(a, b)``.

Arithmetic is exact. Neither DuckDB nor Spark divides decimals exactly, so ``/`` never reaches the
engine: every number is carried as a fraction ``numerator / denominator`` and a comparison is
cross-multiplied (``a / b >= c`` is ``a >= c × b`` when ``b > 0``, flipped when ``b < 0``, unknown
when ``b = 0``). Division by zero gives a missing value. A missing value makes a comparison
unknown, and a rule that is unknown for a customer does not tag them. A product with a literal
(``0.5 * total_assets``, the common case) is exact and cheap. A product of two amounts (``a * b``,
or what cross-multiplying ``a / b >= c / d`` gives) takes each at 6 decimal places (every amount
from the counters has at most 4) so that it stays exact below 10**26 on both engines; it is about
a hundred times slower on DuckDB (rounding a 38-digit decimal is), so prefer ``a >= 0.5 * b``.
"""

from __future__ import annotations

import calendar as _calendar
import difflib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from typing import Callable, Collection, Mapping

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

# --- types -----------------------------------------------------------------------------------------

NUMBER, TEXT, DATE, CONDITION = "number", "text", "date", "condition"
TYPES = (NUMBER, TEXT, DATE, CONDITION)

#: Limits on a number literal (so that every product fits 38 digits on both engines).
MAX_DIGITS = 18
MAX_PLACES = 6
#: Operands of a product of two non-literals (an amount × an amount), and an integer made decimal.
OPERAND = dt.Decimal(24, MAX_PLACES)
SUM_OPERAND = dt.Decimal(38, 10)

# --- error messages (tests assert them) ------------------------------------------------------------

ERR_EMPTY = "the rule is empty"
ERR_EXPECTED = "expected {expected}, found {found}"
ERR_UNEXPECTED_CHAR = "unexpected character {char!r}"
ERR_EXPONENT = "exponent notation ({text}) is not allowed: write the number in full, e.g. 1000000"
ERR_LEADING_POINT = "write a digit before the decimal point: 0{text}"
ERR_NUMBER_SUFFIX = "a number cannot be followed by {char!r}: write 500000, not 500k or 50万"
ERR_NUMBER_DIGITS = (
    f"{{text}} has too many digits: at most {MAX_DIGITS}, {MAX_PLACES} after the decimal point"
)
ERR_UNTERMINATED = "text started here is not closed with '"
ERR_DOUBLE_QUOTE = "text is written in single quotes: 'like this'"
ERR_DOUBLE_EQUALS = "compare with =, not =="
ERR_CHAINED = "comparisons cannot be chained: use 'between … and …' or 'and'"
ERR_IN_LITERALS = "the list after 'in' holds numbers or 'text' only"
ERR_UNKNOWN_FEATURE = "unknown feature {name!r}{hint}"
ERR_UNKNOWN_FUNCTION = "unknown function {name!r}{hint}; functions: {known}"
ERR_UNKNOWN_TAG = "unknown tag {code!r}{hint}"
ERR_TAG_ARGUMENT = "tag() takes one tag code in quotes: tag('dormant_90d')"
ERR_ARGUMENT_COUNT = "{name}() takes {expected}, {given} given"
ERR_ARGUMENT_TYPE = "{name}() needs {expected}: {arg} is {found}"
ERR_NOT_CONDITION = "expected a condition (true or false), found {found}: {text}"
ERR_COMPARE_TYPES = "cannot compare {left_type} ({left}) with {right_type} ({right})"
ERR_COMPARE_CONDITION = "a condition cannot be compared: use {text} alone, or with not"
ERR_ARITHMETIC_TYPE = "{op!r} needs numbers: {text} is {found}"
ERR_NULL_CONDITION = "a condition is never missing: {text} cannot be tested with 'is null'"
ERR_LIST_TYPE = "cannot look for {found} ({text}) in a list of {expected}"
ERR_COALESCE_TYPES = "coalesce() needs two values of the same type: {left} is {left_type}, {right} is {right_type}"

_TYPE_WORDS = {NUMBER: "a number", TEXT: "text", DATE: "a date", CONDITION: "a condition"}


class RuleError(ValueError):
    """A rule refused at compile time: where (0-based ``position`` in ``rule``) and why.

    ``kind`` is one of ``syntax``, ``unknown_feature``, ``unknown_function``, ``unknown_tag``,
    ``type``, ``arguments``. ``str()`` gives the message with its 1-based column.
    """

    def __init__(self, message: str, *, position: int, rule: str, kind: str = "syntax") -> None:
        self.message = message
        self.position = position
        self.rule = rule
        self.kind = kind
        super().__init__(f"{message} (column {position + 1})")

    @property
    def column(self) -> int:
        return self.position + 1

    def pointer(self) -> str:
        """The rule with a caret under the error, for display in a monospaced block."""
        return f"{self.rule}\n{' ' * self.position}^"


def _hint(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- tokens ----------------------------------------------------------------------------------------

KEYWORDS = frozenset({"and", "or", "not", "between", "in", "is", "null"})
_COMPARE = ("=", "!=", "<>", "<", "<=", ">", ">=")
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Token:
    kind: str  # number, text, name, keyword, op, end
    text: str
    pos: int
    value: object = None

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the rule"
        if self.kind == "text":
            return f"text {self.text}"
        return repr(self.text)


def tokenize(rule: str) -> list[Token]:
    """Split a rule into tokens; raises :class:`RuleError` at the first bad character."""
    tokens: list[Token] = []
    i, n = 0, len(rule)

    def fail(message: str, pos: int) -> RuleError:
        return RuleError(message, position=pos, rule=rule)

    while i < n:
        c = rule[i]
        if c.isspace():
            i += 1
            continue
        if c.isascii() and c.isdigit():
            start = i
            while i < n and rule[i].isascii() and rule[i].isdigit():
                i += 1
            if i < n and rule[i] == ".":
                i += 1
                if not (i < n and rule[i].isascii() and rule[i].isdigit()):
                    raise fail(ERR_EXPECTED.format(expected="a digit after the decimal point",
                                                   found=_found_at(rule, i)), i)
                while i < n and rule[i].isascii() and rule[i].isdigit():
                    i += 1
            text = rule[start:i]
            if i < n and rule[i] in "eE" and i + 1 < n and (rule[i + 1].isdigit() or rule[i + 1] in "+-"):
                j = i + 1
                while j < n and (rule[j].isalnum() or rule[j] in "+-"):
                    j += 1
                raise fail(ERR_EXPONENT.format(text=rule[start:j]), start)
            if i < n and (rule[i].isalpha() or rule[i] == "_"):
                raise fail(ERR_NUMBER_SUFFIX.format(char=rule[i]), i)
            value = Decimal(text)
            places = max(0, -int(value.as_tuple().exponent))
            whole = len(text.split(".")[0].lstrip("0"))
            if places > MAX_PLACES or whole + places > MAX_DIGITS:
                raise fail(ERR_NUMBER_DIGITS.format(text=text), start)
            tokens.append(Token("number", text, start, value))
            continue
        if c == "." and i + 1 < n and rule[i + 1].isdigit():
            j = i + 1
            while j < n and rule[j].isdigit():
                j += 1
            raise fail(ERR_LEADING_POINT.format(text=rule[i:j]), i)
        if c == "'":
            start = i
            i += 1
            parts: list[str] = []
            while True:
                if i >= n:
                    raise fail(ERR_UNTERMINATED, start)
                if rule[i] == "'":
                    if i + 1 < n and rule[i + 1] == "'":
                        parts.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                parts.append(rule[i])
                i += 1
            tokens.append(Token("text", rule[start:i], start, "".join(parts)))
            continue
        if c in "\"“”‘’":
            raise fail(ERR_DOUBLE_QUOTE, i)
        if (c.isascii() and c.isalpha()) or c == "_":
            start = i
            while i < n and ((rule[i].isascii() and rule[i].isalnum()) or rule[i] == "_"):
                i += 1
            word = rule[start:i]
            lower = word.lower()
            if lower in KEYWORDS:
                tokens.append(Token("keyword", word, start, lower))
            else:
                tokens.append(Token("name", word, start, lower))
            continue
        two = rule[i : i + 2]
        if two == "==":
            raise fail(ERR_DOUBLE_EQUALS, i)
        if two in ("<=", ">=", "!=", "<>"):
            tokens.append(Token("op", two, i, "!=" if two == "<>" else two))
            i += 2
            continue
        if c in "=<>+-*/(),":
            tokens.append(Token("op", c, i, c))
            i += 1
            continue
        raise fail(ERR_UNEXPECTED_CHAR.format(char=c), i)
    tokens.append(Token("end", "", n))
    return tokens


def _found_at(rule: str, i: int) -> str:
    return "the end of the rule" if i >= len(rule) else repr(rule[i])


# --- syntax tree -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    #: the node's first and one-past-last character in the rule
    start: int
    end: int


@dataclass(frozen=True)
class Number(Node):
    value: Decimal


@dataclass(frozen=True)
class Text(Node):
    value: str


@dataclass(frozen=True)
class Feature(Node):
    name: str


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class TagRef(Node):
    code: str


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Arithmetic(Node):
    op: str
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class Compare(Node):
    op: str
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class Logic(Node):
    op: str  # and / or
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


def walk(node: Node):
    """Every node of a tree, parents first."""
    yield node
    for child in _children(node):
        yield from walk(child)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Negate, Not, IsNull)):
        return (node.operand,)
    if isinstance(node, (Arithmetic, Compare, Logic)):
        return (node.left, node.right)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    return ()


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = tokenize(rule)
        self.i = 0

    # token helpers
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == "keyword" and token.value == word

    def is_op(self, *ops: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.value in ops

    def error(self, expected: str, token: Token | None = None) -> RuleError:
        token = token or self.peek()
        return RuleError(
            ERR_EXPECTED.format(expected=expected, found=token.describe()),
            position=token.pos,
            rule=self.rule,
        )

    def expect_op(self, op: str) -> Token:
        if not self.is_op(op):
            raise self.error(repr(op))
        return self.advance()

    # grammar
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise RuleError(ERR_EMPTY, position=0, rule=self.rule)
        node = self.or_expr()
        token = self.peek()
        if token.kind != "end":
            if token.kind == "op" and token.value in _COMPARE:
                raise RuleError(ERR_CHAINED, position=token.pos, rule=self.rule)
            raise self.error("'and', 'or', ')' or the end of the rule")
        return node

    def or_expr(self) -> Node:
        left = self.and_expr()
        while self.is_keyword("or"):
            op = self.advance()
            right = self.and_expr()
            left = Logic(left.start, right.end, "or", left, right, op.pos)
        return left

    def and_expr(self) -> Node:
        left = self.not_expr()
        while self.is_keyword("and"):
            op = self.advance()
            right = self.not_expr()
            left = Logic(left.start, right.end, "and", left, right, op.pos)
        return left

    def not_expr(self) -> Node:
        if self.is_keyword("not"):
            token = self.advance()
            operand = self.not_expr()
            return Not(token.pos, operand.end, operand)
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum()
        if self.is_op(*_COMPARE):
            op = self.advance()
            right = self.sum()
            return Compare(left.start, right.end, str(op.value), left, right, op.pos)
        negated = False
        if self.is_keyword("not") and (self.is_keyword("between", 1) or self.is_keyword("in", 1)):
            self.advance()
            negated = True
        if self.is_keyword("between"):
            self.advance()
            low = self.sum()
            if not self.is_keyword("and"):
                raise self.error("'and' (between low and high)")
            self.advance()
            high = self.sum()
            return Between(left.start, high.end, left, low, high, negated)
        if self.is_keyword("in"):
            self.advance()
            self.expect_op("(")
            items = [self.literal()]
            while self.is_op(","):
                self.advance()
                items.append(self.literal())
            close = self.expect_op(")")
            return InList(left.start, close.pos + 1, left, tuple(items), negated)
        if self.is_keyword("is"):
            self.advance()
            is_not = False
            if self.is_keyword("not"):
                self.advance()
                is_not = True
            if not self.is_keyword("null"):
                raise self.error("'null' (is null, is not null)")
            token = self.advance()
            return IsNull(left.start, token.pos + len(token.text), left, is_not)
        return left

    def literal(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value == "-" and self.peek(1).kind == "number":
            self.advance()
            number = self.advance()
            return Number(token.pos, number.pos + len(number.text), -number.value)  # type: ignore[operator]
        if token.kind == "number":
            self.advance()
            return Number(token.pos, token.pos + len(token.text), token.value)  # type: ignore[arg-type]
        if token.kind == "text":
            self.advance()
            return Text(token.pos, token.pos + len(token.text), token.value)  # type: ignore[arg-type]
        raise RuleError(
            f"{ERR_IN_LITERALS}; found {token.describe()}", position=token.pos, rule=self.rule
        )

    def sum(self) -> Node:
        left = self.product()
        while self.is_op("+", "-"):
            op = self.advance()
            right = self.product()
            left = Arithmetic(left.start, right.end, str(op.value), left, right, op.pos)
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.is_op("*", "/"):
            op = self.advance()
            right = self.unary()
            left = Arithmetic(left.start, right.end, str(op.value), left, right, op.pos)
        return left

    def unary(self) -> Node:
        if self.is_op("-"):
            token = self.advance()
            operand = self.unary()
            if isinstance(operand, Number):
                return Number(token.pos, operand.end, -operand.value)
            return Negate(token.pos, operand.end, operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.advance()
            return Number(token.pos, token.pos + len(token.text), token.value)  # type: ignore[arg-type]
        if token.kind == "text":
            self.advance()
            return Text(token.pos, token.pos + len(token.text), token.value)  # type: ignore[arg-type]
        if token.kind == "op" and token.value == "(":
            self.advance()
            inner = self.or_expr()
            close = self.expect_op(")")
            # Keep the inner node, widened to the parentheses (for messages).
            return _widen(inner, token.pos, close.pos + 1)
        if token.kind == "name":
            self.advance()
            name = str(token.value)
            if not self.is_op("("):
                return Feature(token.pos, token.pos + len(token.text), name)
            self.advance()
            if name == "tag":
                code = self.peek()
                if code.kind != "text":
                    raise RuleError(ERR_TAG_ARGUMENT, position=code.pos, rule=self.rule)
                self.advance()
                if not self.is_op(")"):
                    raise RuleError(ERR_TAG_ARGUMENT, position=self.peek().pos, rule=self.rule)
                close = self.advance()
                return TagRef(token.pos, close.pos + 1, str(code.value))
            args: list[Node] = []
            if not self.is_op(")"):
                args.append(self.or_expr())
                while self.is_op(","):
                    self.advance()
                    args.append(self.or_expr())
            close = self.expect_op(")")
            return Call(token.pos, close.pos + 1, name, tuple(args))
        raise self.error("a value (a number, 'text', a feature, a function or '(')")


def _widen(node: Node, start: int, end: int) -> Node:
    from dataclasses import replace

    return replace(node, start=start, end=end)


def parse(rule: str) -> Node:
    """The syntax tree of ``rule``; raises :class:`RuleError` on a syntax error."""
    return _Parser(rule).parse()


# --- functions ---------------------------------------------------------------------------------------

ANY = "any"


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]
    returns: str  # a type, or ANY: the type of the arguments
    doc: str


FUNCTIONS: Mapping[str, Function] = {
    f.name: f
    for f in (
        Function("days_since", (DATE,), NUMBER, "calendar days from the date to the evaluation day"),
        Function("days_until", (DATE,), NUMBER, "calendar days from the evaluation day to the date"),
        Function(
            "months_since", (DATE,), NUMBER, "whole calendar months from the date to the evaluation day"
        ),
        Function("abs", (NUMBER,), NUMBER, "absolute value"),
        Function("min", (NUMBER, NUMBER), NUMBER, "the smaller of two numbers (a missing one is ignored)"),
        Function("max", (NUMBER, NUMBER), NUMBER, "the larger of two numbers (a missing one is ignored)"),
        Function("coalesce", (ANY, ANY), ANY, "the first value unless it is missing, else the second"),
    )
}


# --- type checking -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    """A rule that parsed and type-checked: what it reads, and how to build it in Ibis."""

    rule: str
    tree: Node
    #: features the rule reads directly
    features: frozenset[str]
    #: tags the rule reads directly (``tag('code')``)
    tags: frozenset[str]
    #: the type of every node (what the compiler needs to know of a comparison's operands)
    types: Mapping[Node, str] = field(default_factory=dict, compare=False, repr=False)

    def to_ibis(
        self,
        table: ir.Table,
        *,
        day: date | EvaluationDay,
        tag: Callable[[str], ir.BooleanValue] | None = None,
    ) -> ir.BooleanValue:
        """The rule as a boolean column of ``table`` (never null: unknown is false).

        Parameters
        ----------
        table
            A table with a column per feature the rule reads (the feature table).
        day
            The evaluation day (``days_since`` and friends count from it), or its
            :class:`EvaluationDay` values.
        tag
            ``code → boolean column`` for the tags the rule reads; by default the column of
            ``table`` named after the tag.
        """
        resolve = tag or (lambda code: table[code])
        when = day if isinstance(day, EvaluationDay) else EvaluationDay.of(day)
        value = _Compiler(table=table, day=when, tag=resolve, types=self.types).condition(self.tree)
        return value.fill_null(False)


def compile_rule(
    rule: str,
    *,
    features: Mapping[str, str],
    tags: Collection[str] | None = None,
) -> CompiledRule:
    """Parse and type-check ``rule``; raises :class:`RuleError` on the first error.

    Parameters
    ----------
    rule
        The rule text.
    features
        Feature name → type (:data:`NUMBER`, :data:`TEXT`, :data:`DATE`, :data:`CONDITION`).
    tags
        The tag codes a rule may read; None accepts any code (the caller checks them).
    """
    if not isinstance(rule, str):
        raise RuleError("a rule is text", position=0, rule=str(rule))
    tree = parse(rule)
    checker = _Checker(rule=rule, features=features, tags=tags)
    found = checker.type_of(tree)
    if found != CONDITION:
        raise RuleError(
            ERR_NOT_CONDITION.format(found=_TYPE_WORDS[found], text=rule[tree.start : tree.end]),
            position=tree.start,
            rule=rule,
            kind="type",
        )
    return CompiledRule(
        rule=rule,
        tree=tree,
        features=frozenset(checker.used_features),
        tags=frozenset(checker.used_tags),
        types=checker.types,
    )


@dataclass
class _Checker:
    rule: str
    features: Mapping[str, str]
    tags: Collection[str] | None
    #: what the rule reads
    used_features: set[str] = field(default_factory=set)
    used_tags: set[str] = field(default_factory=set)
    types: dict[Node, str] = field(default_factory=dict)

    def text(self, node: Node) -> str:
        return self.rule[node.start : node.end]

    def fail(self, message: str, node: Node | int, kind: str = "type") -> RuleError:
        pos = node if isinstance(node, int) else node.start
        return RuleError(message, position=pos, rule=self.rule, kind=kind)

    def type_of(self, node: Node) -> str:
        found = self._type_of(node)
        self.types[node] = found
        return found

    def _type_of(self, node: Node) -> str:  # noqa: C901 - one branch per node kind
        if isinstance(node, Number):
            return NUMBER
        if isinstance(node, Text):
            return TEXT
        if isinstance(node, Feature):
            if node.name not in self.features:
                raise self.fail(
                    ERR_UNKNOWN_FEATURE.format(name=node.name, hint=_hint(node.name, self.features)),
                    node,
                    "unknown_feature",
                )
            self.used_features.add(node.name)
            return self.features[node.name]
        if isinstance(node, TagRef):
            if self.tags is not None and node.code not in self.tags:
                raise self.fail(
                    ERR_UNKNOWN_TAG.format(code=node.code, hint=_hint(node.code, self.tags)),
                    node,
                    "unknown_tag",
                )
            self.used_tags.add(node.code)
            return CONDITION
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Negate):
            self.need_number(node.operand, "-")
            return NUMBER
        if isinstance(node, Arithmetic):
            self.need_number(node.left, node.op)
            self.need_number(node.right, node.op)
            return NUMBER
        if isinstance(node, Not):
            self.need_condition(node.operand)
            return CONDITION
        if isinstance(node, Logic):
            self.need_condition(node.left)
            self.need_condition(node.right)
            return CONDITION
        if isinstance(node, Compare):
            self.comparable(node.left, node.right)
            return CONDITION
        if isinstance(node, Between):
            self.comparable(node.operand, node.low)
            self.comparable(node.operand, node.high)
            return CONDITION
        if isinstance(node, InList):
            found = self.type_of(node.operand)
            if found == CONDITION:
                raise self.fail(ERR_COMPARE_CONDITION.format(text=self.text(node.operand)), node.operand)
            for item in node.items:
                item_type = self.type_of(item)
                if item_type != found:
                    raise self.fail(
                        ERR_LIST_TYPE.format(
                            found=_TYPE_WORDS[found],
                            text=self.text(node.operand),
                            expected="numbers" if item_type == NUMBER else "text",
                        ),
                        item,
                    )
            return CONDITION
        if isinstance(node, IsNull):
            if self.type_of(node.operand) == CONDITION:
                raise self.fail(ERR_NULL_CONDITION.format(text=self.text(node.operand)), node.operand)
            return CONDITION
        raise AssertionError(node)  # pragma: no cover

    def need_number(self, node: Node, op: str) -> None:
        found = self.type_of(node)
        if found != NUMBER:
            raise self.fail(
                ERR_ARITHMETIC_TYPE.format(op=op, text=self.text(node), found=_TYPE_WORDS[found]), node
            )

    def need_condition(self, node: Node) -> None:
        found = self.type_of(node)
        if found != CONDITION:
            raise self.fail(
                ERR_NOT_CONDITION.format(found=_TYPE_WORDS[found], text=self.text(node)), node
            )

    def comparable(self, left: Node, right: Node) -> None:
        lt, rt = self.type_of(left), self.type_of(right)
        for node, found in ((left, lt), (right, rt)):
            if found == CONDITION:
                raise self.fail(ERR_COMPARE_CONDITION.format(text=self.text(node)), node)
        if lt != rt:
            raise self.fail(
                ERR_COMPARE_TYPES.format(
                    left_type=_TYPE_WORDS[lt],
                    left=self.text(left),
                    right_type=_TYPE_WORDS[rt],
                    right=self.text(right),
                ),
                right,
            )

    def call(self, node: Call) -> str:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise self.fail(
                ERR_UNKNOWN_FUNCTION.format(
                    name=node.name,
                    hint=_hint(node.name, [*FUNCTIONS, "tag"]),
                    known=", ".join([*sorted(FUNCTIONS), "tag"]),
                ),
                node,
                "unknown_function",
            )
        if len(node.args) != len(function.params):
            params = " and ".join(
                "a value" if p == ANY else _TYPE_WORDS[p] for p in function.params
            )
            count = len(function.params)
            raise self.fail(
                ERR_ARGUMENT_COUNT.format(
                    name=node.name,
                    expected=f"{count} argument{'s' if count > 1 else ''} ({params})",
                    given=len(node.args),
                ),
                node,
                "arguments",
            )
        found = [self.type_of(arg) for arg in node.args]
        if function.returns == ANY:
            left, right = node.args
            if CONDITION in found or found[0] != found[1]:
                raise self.fail(
                    ERR_COALESCE_TYPES.format(
                        left=self.text(left),
                        left_type=_TYPE_WORDS[found[0]],
                        right=self.text(right),
                        right_type=_TYPE_WORDS[found[1]],
                    ),
                    node,
                )
            return found[0]
        for arg, param, got in zip(node.args, function.params, found):
            if got != param:
                raise self.fail(
                    ERR_ARGUMENT_TYPE.format(
                        name=node.name, expected=_TYPE_WORDS[param], arg=self.text(arg),
                        found=_TYPE_WORDS[got],
                    ),
                    arg,
                )
        return function.returns


# --- compiling to Ibis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Num:
    """A number: an Ibis expression, and its value when it is a literal (folded at compile time)."""

    expr: ir.Value
    const: Decimal | None = None


def literal_type(value: Decimal) -> dt.Decimal:
    """The exact decimal type of a literal: ``500000`` is decimal(6,0), ``0.05`` decimal(2,2)."""
    _, digits, exponent = value.as_tuple()
    scale = max(0, -int(exponent))
    whole = max(len(digits) + int(exponent), 0)
    return dt.Decimal(max(whole + scale, 1), scale)


def _const(value: Decimal) -> _Num:
    with localcontext() as ctx:
        ctx.prec = 80
        value = +value
    return _Num(ibis.literal(value, type=literal_type(value)), value)


_ONE = Decimal(1)


def _fold(op: str, a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        return a * b


def _product(a: _Num, b: _Num) -> _Num:
    if a.const is not None and b.const is not None:
        return _const(_fold("*", a.const, b.const))
    if a.const == _ONE:
        return b
    if b.const == _ONE:
        return a

    if a.const is not None or b.const is not None:
        # amount × literal: exact as it is (the engines add the scales); no cast, which matters,
        # because rounding a 38-digit decimal to fewer places is ~100× slower than the product.
        return _Num(a.expr * b.expr)
    # amount × amount: each taken at OPERAND so that the product fits 38 digits on both engines.
    return _Num(a.expr.cast(OPERAND) * b.expr.cast(OPERAND))


def _sum(a: _Num, b: _Num, op: str) -> _Num:
    if a.const is not None and b.const is not None:
        return _const(_fold(op, a.const, b.const))
    if b.const == 0:
        return a
    if a.const == 0 and op == "+":
        return b

    # No cast: the engines widen the scale exactly (and a narrowing cast would round).
    return _Num(a.expr + b.expr if op == "+" else a.expr - b.expr)


def _negate(a: _Num) -> _Num:
    if a.const is not None:
        return _const(-a.const)
    return _Num(-a.expr)


@dataclass(frozen=True)
class _Frac:
    """An exact number as numerator / denominator (None: 1), so that nothing divides."""

    num: _Num
    den: _Num | None = None


def _scalar_compare(a: _Num, op: str, b: _Num) -> ir.BooleanValue:
    if a.const is not None and b.const is not None:
        result = {
            "=": a.const == b.const,
            "!=": a.const != b.const,
            "<": a.const < b.const,
            "<=": a.const <= b.const,
            ">": a.const > b.const,
            ">=": a.const >= b.const,
        }[op]
        return ibis.literal(result)
    x, y = a.expr, b.expr
    return {
        "=": lambda: x == y,
        "!=": lambda: x != y,
        "<": lambda: x < y,
        "<=": lambda: x <= y,
        ">": lambda: x > y,
        ">=": lambda: x >= y,
    }[op]()


_UNKNOWN = ibis.literal(None, type="boolean")


def _compare(a: _Frac, op: str, b: _Frac) -> ir.BooleanValue:
    """``a op b`` exactly: cross-multiplied by the denominators, minding their sign."""
    if a.den is None and b.den is None:
        return _scalar_compare(a.num, op, b.num)
    left = _product(a.num, b.den or _const(_ONE))
    right = _product(b.num, a.den or _const(_ONE))
    sign = 1
    variable: list[ir.Value] = []
    for den in (a.den, b.den):
        if den is None:
            continue
        if den.const is not None:
            if den.const == 0:
                return _UNKNOWN
            sign *= 1 if den.const > 0 else -1
        else:
            variable.append(den.expr)
    same, flipped = _scalar_compare(left, op, right), _scalar_compare(left, _FLIP[op], right)
    if sign < 0:
        same, flipped = flipped, same
    if not variable:
        return same
    if len(variable) == 1:
        positive, negative = variable[0] > 0, variable[0] < 0
    else:
        d1, d2 = variable
        positive = ((d1 > 0) & (d2 > 0)) | ((d1 < 0) & (d2 < 0))
        negative = ((d1 > 0) & (d2 < 0)) | ((d1 < 0) & (d2 > 0))
    return ibis.cases((positive, same), (negative, flipped), else_=_UNKNOWN)


def _missing(a: _Frac) -> ir.BooleanValue:
    """Whether a number is missing: a missing operand, or a division by zero."""
    parts: list[ir.BooleanValue] = []
    if a.num.const is None:
        parts.append(a.num.expr.isnull())
    if a.den is not None:
        if a.den.const is not None:
            if a.den.const == 0:
                return ibis.literal(True)
        else:
            parts.append(a.den.expr.isnull() | (a.den.expr == 0))
    if not parts:
        return ibis.literal(False)
    result = parts[0]
    for part in parts[1:]:
        result = result | part
    return result


def _pick(condition: ir.BooleanValue, a: _Frac, b: _Frac) -> _Frac:
    """``a`` where ``condition`` holds, else ``b`` (as one fraction)."""

    def wide(n: _Num) -> ir.Value:
        # An integer is widened to a decimal (exact); a decimal is left as it is.
        return n.expr.cast(SUM_OPERAND) if n.expr.type().is_integer() else n.expr

    if a.den is None and b.den is None:
        return _Frac(_Num(ibis.ifelse(condition, wide(a.num), wide(b.num))))
    one = _const(_ONE)
    return _Frac(
        _Num(ibis.ifelse(condition, wide(a.num), wide(b.num))),
        _Num(ibis.ifelse(condition, wide(a.den or one), wide(b.den or one))),
    )


#: columns that carry the evaluation day in a table (:meth:`EvaluationDay.columns`)
DAY_COLUMNS = {
    "__day": "date",
    "__day_year": "int64",
    "__day_month": "int64",
    "__day_of_month": "int64",
    "__days_in_month": "int64",
}


@dataclass(frozen=True)
class EvaluationDay:
    """The evaluation day as values of the query: the literals of one day (:meth:`of`), or
    columns of the evaluated table (:meth:`columns`, filled with :func:`day_values`) so that one
    compiled query serves every day."""

    day: ir.DateValue
    year: ir.IntegerValue
    month: ir.IntegerValue
    day_of_month: ir.IntegerValue
    days_in_month: ir.IntegerValue

    @classmethod
    def of(cls, day: date) -> EvaluationDay:
        return cls(*(ibis.literal(v) for v in day_values(day).values()))

    @classmethod
    def columns(cls, table: ir.Table) -> EvaluationDay:
        return cls(*(table[name] for name in DAY_COLUMNS))


def day_values(day: date) -> dict[str, object]:
    """The values of :data:`DAY_COLUMNS` for ``day``."""
    return dict(zip(DAY_COLUMNS, (day, day.year, day.month, day.day, _calendar.monthrange(day.year, day.month)[1])))


@dataclass
class _Compiler:
    table: ir.Table
    day: EvaluationDay
    tag: Callable[[str], ir.BooleanValue]
    types: Mapping[Node, str]

    def condition(self, node: Node) -> ir.BooleanValue:  # noqa: C901 - one branch per node kind
        if isinstance(node, Feature):
            return self.table[node.name]
        if isinstance(node, TagRef):
            return self.tag(node.code)
        if isinstance(node, Not):
            return ~self.condition(node.operand)
        if isinstance(node, Logic):
            left, right = self.condition(node.left), self.condition(node.right)
            return left & right if node.op == "and" else left | right
        if isinstance(node, Compare):
            return self.compare(node.left, node.op, node.right)
        if isinstance(node, Between):
            inside = self.compare(node.operand, ">=", node.low) & self.compare(
                node.operand, "<=", node.high
            )
            return ~inside if node.negated else inside
        if isinstance(node, InList):
            if self.types[node.operand] == NUMBER:
                x = self.number(node.operand)
                found = _compare(x, "=", self.number(node.items[0]))
                for item in node.items[1:]:
                    found = found | _compare(x, "=", self.number(item))
            else:
                found = self.value(node.operand).isin(
                    [item.value for item in node.items]  # type: ignore[attr-defined]
                )
            return ~found if node.negated else found
        if isinstance(node, IsNull):
            if self.types[node.operand] == NUMBER:
                missing = _missing(self.number(node.operand))
            else:
                missing = self.value(node.operand).isnull()
            return ~missing if node.negated else missing
        raise AssertionError(node)  # pragma: no cover - the checker allows nothing else

    def compare(self, left: Node, op: str, right: Node) -> ir.BooleanValue:
        if self.types[left] == NUMBER:
            return _compare(self.number(left), op, self.number(right))
        return _scalar_compare(_Num(self.value(left)), op, _Num(self.value(right)))

    def value(self, node: Node) -> ir.Value:
        """A text or date value."""
        if isinstance(node, Text):
            return ibis.literal(node.value, type="string")
        if isinstance(node, Feature):
            return self.table[node.name]
        if isinstance(node, Call) and node.name == "coalesce":
            return ibis.coalesce(self.value(node.args[0]), self.value(node.args[1]))
        raise AssertionError(node)  # pragma: no cover

    def number(self, node: Node) -> _Frac:  # noqa: C901 - one branch per node kind
        if isinstance(node, Number):
            return _Frac(_const(node.value))
        if isinstance(node, Feature):
            return _Frac(_Num(self.table[node.name]))
        if isinstance(node, Negate):
            inner = self.number(node.operand)
            return _Frac(_negate(inner.num), inner.den)
        if isinstance(node, Arithmetic):
            a, b = self.number(node.left), self.number(node.right)
            if node.op == "*":
                den = a.den if b.den is None else b.den if a.den is None else _product(a.den, b.den)
                return _Frac(_product(a.num, b.num), den)
            if node.op == "/":
                one = _const(_ONE)
                return _Frac(_product(a.num, b.den or one), _product(a.den or one, b.num))
            if a.den is None and b.den is None:
                return _Frac(_sum(a.num, b.num, node.op))
            one = _const(_ONE)
            return _Frac(
                _sum(_product(a.num, b.den or one), _product(b.num, a.den or one), node.op),
                _product(a.den or one, b.den or one),
            )
        if isinstance(node, Call):
            return self.call(node)
        raise AssertionError(node)  # pragma: no cover

    def call(self, node: Call) -> _Frac:
        name, args = node.name, node.args
        d = self.day
        if name == "days_since":
            return _Frac(_Num(d.day.delta(self.value(args[0]), unit="day")))
        if name == "days_until":
            return _Frac(_Num(self.value(args[0]).delta(d.day, unit="day")))
        if name == "months_since":
            x = self.value(args[0])
            months = (d.year - x.year()) * 12 + (d.month - x.month())
            # add_months(x, months) clamps x's day to the month's end; past the day, one less.
            short = ibis.least(x.day(), d.days_in_month) > d.day_of_month
            return _Frac(_Num((months - ibis.ifelse(short, 1, 0)).cast("int64")))
        if name == "abs":
            x = self.number(args[0])
            num = _Num(x.num.expr.abs()) if x.num.const is None else _const(abs(x.num.const))
            if x.den is None:
                return _Frac(num)
            den = _Num(x.den.expr.abs()) if x.den.const is None else _const(abs(x.den.const))
            return _Frac(num, den)
        if name in ("min", "max"):
            a, b = self.number(args[0]), self.number(args[1])
            a_first = _compare(a, "<=" if name == "min" else ">=", b)
            choose_a = ibis.cases(
                (_missing(b), True), (_missing(a), False), else_=a_first
            )
            return _pick(choose_a, a, b)
        if name == "coalesce":
            a, b = self.number(args[0]), self.number(args[1])
            return _pick(~_missing(a), a, b)
        raise AssertionError(node)  # pragma: no cover
