"""Conditions in survey scripts: a small, safe language of our own (never ``eval``).

A condition decides whether a question is asked or a rule fires::

    nps <= 6
    tier == "A" and not referral_ok
    reason in ["late", "broken"]
    customer.tier == "A" and (nps >= 9 or customer.years_as_customer >= 5)

Grammar (lowest precedence first)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") operand ]
    operand    := NUMBER | "-" NUMBER | STRING | "true" | "false" | NAME ("." NAME)*
                | "[" [operand ("," operand)* [","]] "]" | "(" expr ")"

Names are answer keys (``nps``) or dotted fields (``customer.tier``); the caller of
:func:`evaluate` maps a name to a value, so nothing here can reach into Python objects.

Evaluation is total: a missing value (an unanswered or skipped question, an empty
customer field) is ``None``; an ordering comparison with ``None`` or between values of
different kinds is false; ``==`` between different kinds is false. A bare name is true
when it holds a value (for a yes/no answer: when the answer is yes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import field
from datetime import date
from typing import Any

from calls.records import record

__all__ = [
    "And",
    "Compare",
    "ConditionError",
    "ListLit",
    "Literal",
    "Name",
    "Node",
    "Not",
    "Or",
    "evaluate",
    "names",
    "parse",
    "to_source",
    "truthy",
]


class ConditionError(ValueError):
    """A condition that cannot be parsed; ``position`` is the 0-based offset in ``source``."""

    def __init__(self, message: str, position: int, source: str):
        self.message = message
        self.position = position
        self.source = source
        super().__init__(f"{message} at column {position + 1} of '{source}'")


# -- the syntax tree ----------------------------------------------------------------------


@record(frozen=True)
class Literal:
    """A number, string or boolean written in the condition."""

    value: Any
    pos: int = field(default=0, compare=False)

    def __eq__(self, other: object) -> bool:
        # Positions are bookkeeping for messages; True must not equal 1 here.
        return (
            isinstance(other, Literal)
            and type(self.value) is type(other.value)
            and self.value == other.value
        )

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


@record(frozen=True)
class Name:
    """An answer key or a dotted field such as ``customer.tier``."""

    parts: tuple[str, ...]
    pos: int = field(default=0, compare=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@record(frozen=True)
class ListLit:
    """A list written in the condition, e.g. ``["late", "broken"]``."""

    items: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


@record(frozen=True)
class Not:
    operand: Node
    pos: int = field(default=0, compare=False)


@record(frozen=True)
class And:
    operands: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


@record(frozen=True)
class Or:
    operands: tuple[Node, ...]
    pos: int = field(default=0, compare=False)


COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


@record(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    pos: int = field(default=0, compare=False)


Node = Literal | Name | ListLit | Not | And | Or | Compare


# -- tokenizer ----------------------------------------------------------------------------

KEYWORDS = {"and", "or", "not", "in", "true", "false"}
MAX_LENGTH = 2000
MAX_DEPTH = 60

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@record(frozen=True)
class Token:
    kind: str  # num, str, name, kw, op, end
    value: Any
    pos: int


_HINTS = {
    "&&": "use 'and' instead of '&&'",
    "||": "use 'or' instead of '||'",
    "=": "use '==' to compare",
    "!": "use 'not' instead of '!'",
}


def tokenize(source: str) -> list[Token]:
    """Split a condition into tokens; raises :class:`ConditionError` with the position."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch in "0123456789":  # not str.isdigit(): that accepts '²' and other digits
            m = _NUMBER.match(source, i)
            assert m is not None
            text = m.group(0)
            value: Any = float(text) if (m.group(1) or m.group(2)) else int(text)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConditionError(f"number {text} is too large", i, source)
            end = m.end()
            if end < n and (source[end].isalpha() or source[end] == "_"):
                raise ConditionError(f"a name cannot start with a digit ('{text}{source[end]}')",
                                     i, source)
            tokens.append(Token("num", value, i))
            i = end
            continue
        if ch.isalpha() or ch == "_":
            m = _NAME.match(source, i)
            if m is None:  # a non-ASCII letter
                raise ConditionError(f"unexpected character '{ch}'", i, source)
            word = m.group(0)
            if word in KEYWORDS:
                tokens.append(Token("kw", word, i))
            elif word in ("True", "False", "TRUE", "FALSE"):
                tokens.append(Token("kw", word.lower(), i))
            elif word in ("AND", "OR", "NOT", "IN"):
                raise ConditionError(f"write '{word.lower()}' in lower case", i, source)
            else:
                tokens.append(Token("name", word, i))
            i = m.end()
            continue
        if ch in "\"'":
            start = i
            i, text = _read_string(source, i)
            tokens.append(Token("str", text, start))
            continue
        two = source[i : i + 2]
        if two in ("==", "!=", "<=", ">="):
            tokens.append(Token("op", two, i))
            i += 2
            continue
        if two in ("&&", "||"):
            raise ConditionError(_HINTS[two], i, source)
        if ch in "<>[](),.-":
            tokens.append(Token("op", ch, i))
            i += 1
            continue
        if ch in "=!":
            raise ConditionError(_HINTS[ch], i, source)
        raise ConditionError(f"unexpected character '{ch}'", i, source)
    tokens.append(Token("end", None, n))
    return tokens


def _read_string(source: str, start: int) -> tuple[int, str]:
    quote = source[start]
    out: list[str] = []
    i = start + 1
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            if i + 1 >= len(source):
                break
            nxt = source[i + 1]
            escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
            if nxt not in escapes:
                raise ConditionError(f"unknown escape '\\{nxt}' in a string", i, source)
            out.append(escapes[nxt])
            i += 2
            continue
        if ch == quote:
            return i + 1, "".join(out)
        out.append(ch)
        i += 1
    raise ConditionError("string is not closed", start, source)


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, pos: int | None = None) -> ConditionError:
        return ConditionError(message, self.tok.pos if pos is None else pos, self.source)

    def describe(self, tok: Token) -> str:
        if tok.kind == "end":
            return "the end of the condition"
        if tok.kind == "str":
            return f"string {_quote(tok.value)}"
        return f"'{tok.value}'"

    def is_(self, kind: str, value: Any = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (value is None or tok.value == value)

    def take(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect_op(self, op: str, what: str) -> Token:
        if not self.is_("op", op):
            raise self.error(f"expected {what}, found {self.describe(self.tok)}")
        return self.take()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("condition is nested too deeply")

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("condition is empty")
        node = self.expr()
        if self.tok.kind != "end":
            tok = self.tok
            if tok.kind in ("name", "num", "str") or (tok.kind == "kw" and tok.value in (
                    "true", "false")):
                raise self.error(f"expected 'and', 'or' or a comparison before "
                                 f"{self.describe(tok)}")
            raise self.error(f"unexpected {self.describe(tok)}")
        return node

    def expr(self) -> Node:
        self.nest()
        start = self.tok.pos
        operands = [self.and_expr()]
        while self.is_("kw", "or"):
            self.take()
            operands.append(self.and_expr())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else Or(tuple(operands), start)

    def and_expr(self) -> Node:
        start = self.tok.pos
        operands = [self.not_expr()]
        while self.is_("kw", "and"):
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands), start)

    def not_expr(self) -> Node:
        if self.is_("kw", "not"):
            tok = self.take()
            self.nest()
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand, tok.pos)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.tok
        op: str | None = None
        if tok.kind == "op" and tok.value in ("==", "!=", "<", "<=", ">", ">="):
            op = tok.value
            self.take()
        elif self.is_("kw", "in"):
            op = "in"
            self.take()
        elif self.is_("kw", "not") and self.tokens[self.i + 1].kind == "kw" and (
                self.tokens[self.i + 1].value == "in"):
            op = "not in"
            self.i += 2
        if op is None:
            return left
        right = self.operand()
        nxt = self.tok
        if nxt.kind == "op" and nxt.value in ("==", "!=", "<", "<=", ">", ">="):
            raise self.error("comparisons cannot be chained; join them with 'and'")
        return Compare(op, left, right, tok.pos)

    def operand(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.take()
            return Literal(tok.value, tok.pos)
        if tok.kind == "op" and tok.value == "-":
            self.take()
            num = self.tok
            if num.kind != "num":
                raise self.error(f"expected a number after '-', found {self.describe(num)}")
            self.take()
            return Literal(-num.value, tok.pos)
        if tok.kind == "str":
            self.take()
            return Literal(tok.value, tok.pos)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            self.take()
            return Literal(tok.value == "true", tok.pos)
        if tok.kind == "name":
            self.take()
            parts = [tok.value]
            while self.is_("op", "."):
                self.take()
                part = self.tok
                if part.kind not in ("name", "kw"):
                    raise self.error(f"expected a field name after '.', found "
                                     f"{self.describe(part)}")
                self.take()
                parts.append(part.value)
            return Name(tuple(parts), tok.pos)
        if tok.kind == "op" and tok.value == "[":
            self.take()
            self.nest()
            items: list[Node] = []
            while not self.is_("op", "]"):
                items.append(self.operand())
                if self.is_("op", ","):
                    self.take()
                elif not self.is_("op", "]"):
                    raise self.error(f"expected ',' or ']' in the list, found "
                                     f"{self.describe(self.tok)}")
            self.take()
            self.depth -= 1
            return ListLit(tuple(items), tok.pos)
        if tok.kind == "op" and tok.value == "(":
            self.take()
            inner = self.expr()
            self.expect_op(")", "')'")
            return inner
        if tok.kind == "end":
            raise self.error("condition ends too early: expected a value")
        raise self.error(f"expected a value, found {self.describe(tok)}")


def parse(source: str) -> Node:
    """Parse a condition; raises :class:`ConditionError` (with the position) if it is wrong."""
    if not isinstance(source, str):
        raise ConditionError("a condition must be text", 0, str(source))
    if len(source) > MAX_LENGTH:
        raise ConditionError(f"condition is longer than {MAX_LENGTH} characters", MAX_LENGTH,
                             source[:40] + "...")
    return _Parser(source).parse()


# -- back to text (round-trips through parse) ----------------------------------------------


def _quote(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t"))
    return f'"{escaped}"'


def to_source(node: Node) -> str:
    """The condition as text; ``parse(to_source(n)) == n`` for every tree ``parse`` makes."""
    if isinstance(node, Literal):
        value = node.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return _quote(value)
        if isinstance(value, float):
            text = repr(value)
            return text if "inf" not in text and "nan" not in text else "0"
        return str(value)
    if isinstance(node, Name):
        return node.dotted
    if isinstance(node, ListLit):
        return "[" + ", ".join(_wrap(item, Compare) for item in node.items) + "]"
    if isinstance(node, Not):
        return f"not {_wrap(node.operand, Not)}"
    if isinstance(node, And):
        return " and ".join(_wrap(o, And) for o in node.operands)
    if isinstance(node, Or):
        return " or ".join(_wrap(o, Or) for o in node.operands)
    if isinstance(node, Compare):
        return f"{_wrap(node.left, Compare)} {node.op} {_wrap(node.right, Compare)}"
    raise TypeError(f"not a condition node: {node!r}")


def _wrap(node: Node, parent: type) -> str:
    text = to_source(node)
    if isinstance(node, (Literal, Name, ListLit)):
        return text
    if parent is Compare:
        return f"({text})"
    if parent is Not:
        return text if isinstance(node, (Not, Compare)) else f"({text})"
    if parent is And:
        return text if isinstance(node, (Not, Compare)) else f"({text})"
    if parent is Or:
        return text if isinstance(node, (Not, Compare, And)) else f"({text})"
    return f"({text})"


# -- inspection ---------------------------------------------------------------------------


def names(node: Node) -> list[Name]:
    """Every name the condition refers to, in the order written."""
    found: list[Name] = []

    def walk(n: Node) -> None:
        if isinstance(n, Name):
            found.append(n)
        elif isinstance(n, ListLit):
            for item in n.items:
                walk(item)
        elif isinstance(n, Not):
            walk(n.operand)
        elif isinstance(n, (And, Or)):
            for o in n.operands:
                walk(o)
        elif isinstance(n, Compare):
            walk(n.left)
            walk(n.right)

    walk(node)
    return found


# -- evaluation ---------------------------------------------------------------------------

Lookup = Callable[[tuple[str, ...]], Any]


def truthy(value: Any) -> bool:
    """A bare value as a condition: yes/no as itself, otherwise 'has a value'."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, list, tuple, set, frozenset, dict)):
        return len(value) > 0
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, date) or isinstance(b, date):
        da, db = _as_date(a), _as_date(b)
        return da is not None and da == db
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return False


def _order(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    if _is_number(a) and _is_number(b):
        pass
    elif isinstance(a, date) or isinstance(b, date):
        a, b = _as_date(a), _as_date(b)
        if a is None or b is None:
            return False
    elif isinstance(a, str) and isinstance(b, str):
        pass
    else:
        return False
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _contains(item: Any, container: Any) -> bool:
    if isinstance(container, (list, tuple)):
        return any(_equal(item, member) for member in container)
    if isinstance(container, str) and isinstance(item, str):
        # Free text answers: a caller's spelling of case should not matter.
        return item.casefold() in container.casefold()
    return False


def _value(node: Node, lookup: Lookup) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return lookup(node.parts)
    if isinstance(node, ListLit):
        return [_value(item, lookup) for item in node.items]
    return _eval(node, lookup)


def _eval(node: Node, lookup: Lookup) -> bool:
    if isinstance(node, Or):
        return any(_eval(o, lookup) for o in node.operands)
    if isinstance(node, And):
        return all(_eval(o, lookup) for o in node.operands)
    if isinstance(node, Not):
        return not _eval(node.operand, lookup)
    if isinstance(node, Compare):
        left = _value(node.left, lookup)
        right = _value(node.right, lookup)
        if node.op == "==":
            return _equal(left, right)
        if node.op == "!=":
            return not _equal(left, right)
        if node.op == "in":
            return _contains(left, right)
        if node.op == "not in":
            return not _contains(left, right)
        return _order(node.op, left, right)
    return truthy(_value(node, lookup))


def evaluate(node: Node, lookup: Lookup | dict) -> bool:
    """Evaluate a parsed condition. ``lookup`` maps a name's parts to its value (or None).

    A dict is accepted too (keys are dotted names). Never raises for any values.
    """
    if isinstance(lookup, dict):
        table = lookup
        fn: Lookup = lambda parts: table.get(".".join(parts))
    else:
        fn = lookup
    return _eval(node, fn)


def source_names(source: str) -> Sequence[str]:
    """The dotted names a condition text refers to (parses it first)."""
    return [n.dotted for n in names(parse(source))]
