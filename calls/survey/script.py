"""Survey scripts: the TOML format, its dataclasses, the validator and the fill-ins.

A script is a TOML file (see docs/scripts.md for the whole format)::

    name = "quarterly"
    version = "1"
    purpose = "care"
    opening = "Hello {customer.name}, this is {caller} from the customer care team."
    closing = "Thank you, {customer.name}."

    [[questions]]
    key = "nps"
    type = "nps"
    text = "How likely are you to recommend us to a friend or colleague?"

    [[rules]]
    when = "nps <= 6"
    kind = "fix_problem"
    owner = "account_owner"
    due = "+2d"
    note = "Detractor ({nps})"

:func:`parse_script` validates everything up front and raises :class:`ScriptError`
listing every problem, each naming the file, the question (or rule) and what is wrong.
:func:`load_script` finds a script by name (``$CARECALL_SCRIPTS`` directories first, then
the scripts carecall ships) or by file path.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from calls.errors import UserError
from calls.models import FOLLOWUP_KINDS
from calls.records import record
from calls.survey import conditions as cond
from calls.survey.types import format_value, question_type, type_names

# The type names scripts may use: the registry of question types (calls/survey/types.py).
QUESTION_TYPES = type_names()
KNOWN_PURPOSES = ("care", "thank_you", "recovery", "occasion", "welcome", "win_back", "other")
OWNER_KEYWORDS = ("account_owner", "caller")

# Why a call is made, for the law (docs/lawful.md): a marketing question raises a care
# or survey call to marketing.
CALL_PURPOSES = ("care", "survey", "marketing")

_TOP_KEYS = ("name", "version", "purpose", "call_purpose", "title", "description", "language",
             "opening", "consent", "closing", "questions", "rules", "translations")
_TRANSLATION_KEYS = ("title", "opening", "consent", "closing", "questions")
_QUESTION_TRANSLATION_KEYS = ("text", "hint", "options")
_LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
_QUESTION_KEYS = ("key", "type", "text", "hint", "required", "when", "options", "min", "max",
                  "marketing", "permission")
# What a yes/no question may ask permission for: "followup" = may we get back to you about
# what you told us (a "no" means no recovery call); "share" = may we use what you share
# (a referral, your name): a "yes" is recorded as the customer's consent to share
# (docs/lawful.md).
PERMISSIONS = ("followup", "share")
_RULE_KEYS = ("name", "when", "kind", "owner", "due", "note")

# What a name in a condition or a fill-in can refer to besides answer keys, and the kind
# of value each holds (for the validator's type checks).
CUSTOMER_FIELDS: dict[str, str] = {
    "ref": "text",
    "name": "text",
    "first_name": "text",
    "last_name": "text",
    # How to address the customer in the call's language: "Herr Becker", "Madame Dupont",
    # "Mr Smith", or the first name (calls.language.address).
    "salutation": "text",
    "language": "text",
    "company": "text",
    "phone": "text",
    "email": "text",
    "country": "text",
    "revenue": "number",
    "tier": "text",
    "customer_since": "date",
    "last_purchase": "date",
    "birthday": "date",
    "owner": "text",
    "do_not_call": "bool",
    "number_status": "text",
    # Derived from the moment of the call (see SurveySession's ``now``).
    "years_as_customer": "number",
    "days_since_purchase": "number",
}
# Values the caller's app supplies about why the customer is called (``context=``).
CONTEXT_FIELDS: dict[str, dict[str, str]] = {
    # The fix_problem follow-up a recovery call reports on.
    "fix": {"note": "text", "problem": "text", "by": "text", "date": "date", "score": "number"},
    # The special occasion an occasion call is about.
    "occasion": {"what": "text", "date": "date", "years": "number"},
}
_RESERVED_KEYS = {"customer", "caller", *CONTEXT_FIELDS, *cond.KEYWORDS}
_KEY_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_OFFSET_RE = re.compile(r"^\+?\s*((?:\d+\s*[wdhm]\s*)+)$")
_OFFSET_PART = re.compile(r"(\d+)\s*([wdhm])")
MAX_OFFSET = timedelta(days=366)


# -- dataclasses --------------------------------------------------------------------------


@record(frozen=True)
class Option:
    """One answer of a choice question: ``value`` is what conditions compare with."""

    value: str
    label: str


@record(frozen=True)
class Question:
    """One question of a script."""

    key: str
    type: str
    text: str
    hint: str | None = None
    required: bool = True
    when: str | None = None
    condition: cond.Node | None = field(default=None, compare=False, repr=False)
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    # A referral ask or a sales question: asked only when the customer's basis allows
    # marketing, and answering it makes the call a marketing call.
    marketing: bool = False
    # A yes/no question asking the customer's permission (PERMISSIONS), honoured after.
    permission: str | None = None

    def option(self, value: str) -> Option | None:
        """The option with this value, or None."""
        return next((o for o in self.options if o.value == value), None)


@record(frozen=True)
class Rule:
    """A follow-up the script creates when its condition holds at the end of the call."""

    index: int                  # 1-based position in the file (for messages)
    kind: str
    owner: str
    due: str
    due_delta: timedelta
    note: str = ""
    name: str | None = None
    when: str | None = None
    condition: cond.Node | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How messages name this rule."""
        return f"rule {self.index}" + (f" ({self.name})" if self.name else f" ({self.kind})")


@record(frozen=True)
class QuestionText:
    """A question's words in another language; None where the script's own are kept."""

    text: str | None = None
    hint: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)   # option value -> label


@record(frozen=True)
class Translation:
    """A script's texts in one more language (missing ones fall back to the script's own)."""

    language: str
    title: str | None = None
    opening: str | None = None
    consent: str | None = None
    closing: str | None = None
    questions: Mapping[str, QuestionText] = field(default_factory=dict)


@record(frozen=True)
class Script:
    """A validated survey script."""

    name: str
    version: str
    purpose: str
    opening: str
    closing: str
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...] = ()
    consent: str | None = None
    title: str | None = None
    description: str | None = None
    text: str = ""              # the TOML text it was read from (stored with every call)
    call_purpose: str = "care"  # care | survey | marketing (CALL_PURPOSES)
    source: str = "<text>"      # file path, or "shipped:<name>"
    language: str = "en"        # the language of the texts above
    translations: Mapping[str, Translation] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language the script speaks, its own first."""
        return (self.language, *sorted(self.translations))

    @property
    def hash(self) -> str:
        """sha256 of the text: the identity of this version in the store."""
        return script_hash(self.text)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions)

    def question(self, key: str) -> Question:
        """The question with this key; KeyError if there is none."""
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(key)


def script_hash(text: str) -> str:
    """The sha256 hex digest of a script's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@record(frozen=True)
class Problem:
    """One thing wrong with a script: the file, where in it, and what."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


class ScriptError(UserError):
    """A script that does not validate; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        first = str(problems[0]) if problems else "invalid script"
        more = len(problems) - 1
        suffix = (f" (and {more} more problem{'s' if more > 1 else ''}: "
                  f"'carecall script check {problems[0].file}' lists them)") if more > 0 else ""
        super().__init__(first + suffix)


# -- fill-ins -----------------------------------------------------------------------------

_FILL_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FILL_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$")


@record(frozen=True)
class FillIn:
    """A ``{name}`` or ``{name|fallback}`` placeholder in a text."""

    name: str
    fallback: str | None
    start: int


def parse_fill_ins(template: str) -> list[FillIn]:
    """The placeholders in a text; ValueError says what is wrong with a broken one."""
    found = []
    for m in _FILL_RE.finditer(template):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise ValueError(f"unmatched '{token}' at column {m.start() + 1} "
                             "(write '{{' or '}}' for a brace)")
        inner = m.group(1)
        name, sep, fallback = inner.partition("|")
        nm = _FILL_NAME.match(name)
        if not nm:
            raise ValueError(f"'{{{inner}}}' at column {m.start() + 1} is not a fill-in "
                             "name such as {customer.name}")
        found.append(FillIn(nm.group(1), fallback if sep else None, m.start()))
    return found


def render(template: str, lookup: Callable[[str], Any]) -> str:
    """Fill a text's placeholders: ``lookup(dotted_name)`` gives the value (None if missing).

    A missing or empty value uses the placeholder's fallback (``{fix.note|we fixed it}``),
    else nothing.
    """

    def replace(m: re.Match) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if m.group(1) is None:
            return token
        name, sep, fallback = m.group(1).partition("|")
        value = format_value(lookup(name.strip()))
        if value == "" and sep:
            return fallback
        return value

    return _FILL_RE.sub(replace, template)


# -- kinds of values (for the type checks on conditions) ----------------------------------


@record(frozen=True)
class _Kind:
    kind: str                     # number, bool, text, date, option, options, string, list, any
    what: str                     # how a message names it
    options: tuple[str, ...] = ()
    items: tuple[_Kind, ...] = ()
    literal: Any = None


def _question_kind(q: Question) -> _Kind:
    kind = question_type(q.type).kind
    return _Kind(kind, f"'{q.key}' ({q.type.replace('_', ' ')})",
                 tuple(o.value for o in q.options))


def _literal_kind(node: cond.Node) -> _Kind | None:
    if isinstance(node, cond.Literal):
        value = node.value
        if isinstance(value, bool):
            return _Kind("bool", "true" if value else "false", literal=value)
        if isinstance(value, (int, float)):
            return _Kind("number", f"the number {value}", literal=value)
        return _Kind("string", f'"{value}"', literal=value)
    return None


def _is_iso_date(text: Any) -> bool:
    if not isinstance(text, str) or len(text) != 10:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# -- the validator ------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one script file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        # Keys of questions that have problems of their own: names referring to them are
        # not reported again as unknown.
        self.broken: set[str] = set()

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.file, where, message))

    # ---- names and conditions ----

    def name_kind(self, node: cond.Name, earlier: Mapping[str, Question] | None,
                  later: set[str], where: str, what: str) -> _Kind | None:
        """The kind of a name in a condition, or None (after reporting) when it is unknown."""
        parts = node.parts
        head = parts[0]
        col = f"at column {node.pos + 1}"
        if head == "customer":
            if len(parts) == 1:
                self.add(where, f"{what}: 'customer' needs a field, e.g. customer.tier ({col})")
                return None
            if parts[1] == "extra":
                if len(parts) != 3:
                    self.add(where, f"{what}: write customer.extra.<column> ({col})")
                    return None
                return _Kind("any", node.dotted)
            if len(parts) != 2 or parts[1] not in CUSTOMER_FIELDS:
                self.add(where, f"{what}: unknown customer field '{node.dotted}' ({col})"
                         + _did_you_mean(parts[1], CUSTOMER_FIELDS))
                return None
            return _Kind(CUSTOMER_FIELDS[parts[1]], node.dotted)
        if head == "caller":
            if parts in (("caller",), ("caller", "first_name")):
                return _Kind("text", node.dotted)
            self.add(where, f"{what}: unknown name '{node.dotted}' ({col}); the caller is "
                     "{caller} or {caller.first_name}")
            return None
        if head in CONTEXT_FIELDS:
            fields = CONTEXT_FIELDS[head]
            if len(parts) != 2 or parts[1] not in fields:
                self.add(where, f"{what}: unknown field '{node.dotted}' ({col}); "
                         f"{head} has " + ", ".join(f"{head}.{f}" for f in fields))
                return None
            return _Kind(fields[parts[1]], node.dotted)
        if len(parts) > 1:
            self.add(where, f"{what}: unknown name '{node.dotted}' ({col}); dotted names "
                     "start with customer., fix. or occasion.")
            return None
        if earlier is not None and head in earlier:
            return _question_kind(earlier[head])
        if head in self.broken:
            return None
        if head in later:
            self.add(where, f"{what} refers to '{head}', which is not asked before this "
                     f"question ({col})")
            return None
        if head in CUSTOMER_FIELDS:
            hint = f" (did you mean 'customer.{head}'?)"
        else:
            hint = _did_you_mean(head, list(earlier or {}) + ["customer", "fix", "occasion"])
        self.add(where, f"{what} refers to unknown question '{head}' ({col})" + hint)
        return None

    def condition(self, source: Any, where: str, earlier: Mapping[str, Question],
                  later: set[str]) -> cond.Node | None:
        """Parse and type-check a ``when``; report problems and return the tree (or None)."""
        if not isinstance(source, str):
            self.add(where, f"'when' must be text, not {_type_name(source)}")
            return None
        try:
            node = cond.parse(source)
        except cond.ConditionError as exc:
            # Quote a long condition around the error only: the line must stay readable.
            shown = source if len(source) <= 80 else (
                ("..." if exc.position > 40 else "")
                + source[max(0, exc.position - 40):exc.position + 40]
                + ("..." if exc.position + 40 < len(source) else ""))
            self.add(where, f"syntax error in 'when' at column {exc.position + 1}: "
                     f"{exc.message} (in '{shown}')")
            return None
        before = len(self.problems)
        self._check(node, where, earlier, later)
        return node if len(self.problems) == before else None

    def _kind(self, node: cond.Node, where: str, earlier, later) -> _Kind | None:
        if isinstance(node, cond.Literal):
            return _literal_kind(node)
        if isinstance(node, cond.Name):
            return self.name_kind(node, earlier, later, where, "'when'")
        if isinstance(node, cond.ListLit):
            kinds = [self._kind(item, where, earlier, later) for item in node.items]
            if any(k is None for k in kinds):
                return None
            return _Kind("list", "a list", items=tuple(k for k in kinds if k is not None))
        self._check(node, where, earlier, later)
        return _Kind("bool", "a condition")

    def _check(self, node: cond.Node, where: str, earlier, later) -> None:
        if isinstance(node, (cond.And, cond.Or)):
            for o in node.operands:
                self._check(o, where, earlier, later)
        elif isinstance(node, cond.Not):
            self._check(node.operand, where, earlier, later)
        elif isinstance(node, cond.Compare):
            left = self._kind(node.left, where, earlier, later)
            right = self._kind(node.right, where, earlier, later)
            if left is not None and right is not None:
                message = _compare_problem(node.op, left, right)
                if message:
                    self.add(where, f"'when' at column {node.pos + 1}: {message}")
        else:
            kind = self._kind(node, where, earlier, later)
            if kind is not None and kind.kind == "list":
                self.add(where, "'when' is a list, not a condition")

    # ---- fill-ins ----

    def fill_ins(self, text: str, where: str, field_name: str,
                 answers: Mapping[str, Question] | None, later: set[str]) -> None:
        try:
            found = parse_fill_ins(text)
        except ValueError as exc:
            self.add(where, f"'{field_name}': {exc}")
            return
        for fill in found:
            parts = tuple(fill.name.split("."))
            if parts in (("caller",), ("caller", "first_name")):
                continue
            node = cond.Name(parts, fill.start)
            if len(parts) == 1 and answers is None and parts[0] not in ("customer",):
                # Openings are read before any answer exists.
                self.add(where, f"'{field_name}': unknown fill-in {{{fill.name}}}"
                         + _did_you_mean(parts[0], ["caller"])
                         + "; before the questions only {caller}, {caller.first_name}, "
                         "{customer.<field>}, {fix.<field>} and {occasion.<field>} are known")
                continue
            self.name_kind(node, answers or {}, later, where,
                           f"'{field_name}' fill-in {{{fill.name}}}")


def _type_name(value: Any) -> str:
    return {str: "text", bool: "true/false", int: "a number", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _compare_problem(op: str, left: _Kind, right: _Kind) -> str | None:
    """Why ``left op right`` can never be true (or makes no sense), or None if it is fine."""
    if "any" in (left.kind, right.kind):
        return None
    if op in ("in", "not in"):
        if right.kind == "list":
            for item in right.items:
                problem = _compare_problem("==", left, item)
                if problem:
                    return problem
            return None
        if right.kind == "options":
            if left.kind == "string":
                if left.literal not in right.options:
                    return (f"{left.what} is not an option of {right.what} (options: "
                            + ", ".join(right.options) + ")")
                return None
            if left.kind in ("option", "text"):
                return None
            return f"{left.what} cannot be one of the choices of {right.what}"
        if right.kind == "text" and left.kind in ("string", "text", "option"):
            return None
        return (f"'{op}' needs a list, a multiple-choice answer or text on its right, "
                f"not {right.what}")
    if left.kind in ("string", "number", "bool") and right.kind not in (
            "string", "number", "bool"):
        left, right = right, left  # put the name first for the messages below
    if left.kind == "options" or right.kind == "options":
        multi = left if left.kind == "options" else right
        return (f"{multi.what} holds several choices; test one with "
                f"\"<option>\" in {multi.what.split(' ')[0].strip(chr(39))}")
    if op in ("<", "<=", ">", ">="):
        pair = {left.kind, right.kind}
        if pair == {"number"} or pair == {"date"} or pair <= {"text", "string"}:
            return None
        if pair == {"date", "string"}:
            literal = left.literal if left.kind == "string" else right.literal
            if _is_iso_date(literal):
                return None
            return f'compare a date with a date written "YYYY-MM-DD", not {literal!r}'
        return f"cannot order {left.what} and {right.what} with '{op}'"
    # == and !=
    if left.kind == right.kind:
        return None
    if left.kind == "option" and right.kind == "string":
        if right.literal not in left.options:
            return (f"{right.what} is not an option of {left.what} (options: "
                    + ", ".join(left.options) + ")")
        return None
    if {left.kind, right.kind} in ({"text", "string"}, {"option", "text"}, {"string"}):
        return None
    if {left.kind, right.kind} == {"date", "string"}:
        literal = left.literal if left.kind == "string" else right.literal
        if _is_iso_date(literal):
            return None
        return f'compare a date with a date written "YYYY-MM-DD", not {literal!r}'
    return f"{left.what} can never equal {right.what}"


def parse_offset(text: Any) -> timedelta:
    """A due offset such as ``+2d``, ``+4h``, ``+1w``, ``+1d12h``, ``+30m`` or ``now``.

    Raises ValueError (TypeError for a value that is not text) saying what is wrong.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise TypeError(f"due must be text such as \"+2d\", not {_type_name(text)}")
    raw = text.strip().lower()
    if raw in ("now", "0", "+0"):
        return timedelta(0)
    m = _OFFSET_RE.match(raw)
    if not m:
        raise ValueError(f"bad due offset {text!r}: write +<number><unit> with unit w, d, h "
                         "or m, e.g. \"+2d\", \"+4h\", \"+1d12h\"")
    total = timedelta(0)
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
    for amount, unit in _OFFSET_PART.findall(m.group(1)):
        total += timedelta(**{units[unit]: int(amount)})
    if total > MAX_OFFSET:
        raise ValueError(f"due offset {text!r} is more than a year away")
    return total


def _check_text(checker: _Checker, data: Mapping, key: str, where: str, *,
                required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            checker.add(where, f"'{key}' is missing")
        return None
    if not isinstance(value, str):
        checker.add(where, f"'{key}' must be text, not {_type_name(value)}")
        return None
    if required and not value.strip():
        checker.add(where, f"'{key}' is empty")
        return None
    return value


def _unknown_keys(checker: _Checker, data: Mapping, allowed: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in allowed:
            checker.add(where, f"unknown key '{key}'" + _did_you_mean(key, allowed)
                        + " (allowed: " + ", ".join(allowed) + ")")


def _options(checker: _Checker, raw: Any, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list):
        checker.add(where, "'options' must be a list of answers")
        return ()
    options: list[Option] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, 1):
        if isinstance(item, str):
            value, label = item.strip(), item.strip()
        elif isinstance(item, dict):
            bad = [k for k in item if k not in ("value", "label")]
            if bad:
                checker.add(where, f"option {i}: unknown key '{bad[0]}' (allowed: value, label)")
                continue
            value = item.get("value")
            label = item.get("label", value)
            if not isinstance(value, str) or not isinstance(label, str):
                checker.add(where, f"option {i}: 'value' and 'label' must be text")
                continue
            value, label = value.strip(), label.strip()
        else:
            checker.add(where, f"option {i} must be text or a table with value and label, "
                        f"not {_type_name(item)}")
            continue
        if not value:
            checker.add(where, f"option {i} is empty")
            continue
        if "," in value or "," in label:
            # Multiple-choice answers are typed as a comma-separated list.
            checker.add(where, f"option {i} ({value!r}) must not contain a comma")
            continue
        if value in seen:
            checker.add(where, f"option '{value}' is listed twice")
            continue
        seen.add(value)
        options.append(Option(value, label))
    return tuple(options)


def _question(checker: _Checker, raw: Any, index: int, earlier: dict[str, Question],
              later_keys: set[str]) -> Question | None:
    if not isinstance(raw, dict):
        checker.add(f"question {index}", "must be a table ([[questions]])")
        return None
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        where = f"question {index}"
        checker.add(where, "'key' is missing" if key is None else "'key' must be text")
        key = None
    else:
        where = f"question '{key}'"
        if not _KEY_RE.match(key):
            checker.add(where, "a key is lower-case letters, digits and _ (starting with a "
                        "letter), so conditions can name it")
        elif key in _RESERVED_KEYS:
            checker.add(where, f"'{key}' is a reserved word; choose another key")
        elif key in earlier:
            checker.add(where, f"duplicate question key '{key}'")
    before = len(checker.problems)
    _unknown_keys(checker, raw, _QUESTION_KEYS, where)
    qtype = raw.get("type")
    names = type_names()
    if qtype is None:
        checker.add(where, "'type' is missing (one of " + ", ".join(names) + ")")
    elif qtype not in names:
        checker.add(where, f"unknown type {qtype!r}" + _did_you_mean(str(qtype), names)
                    + " (one of " + ", ".join(names) + ")")
        qtype = None
    unit = question_type(qtype) if qtype is not None else None
    text = _check_text(checker, raw, "text", where, required=True)
    hint = _check_text(checker, raw, "hint", where, required=False)
    required = raw.get("required", True)
    if not isinstance(required, bool):
        checker.add(where, "'required' must be true or false")
        required = True
    marketing = raw.get("marketing", False)
    if not isinstance(marketing, bool):
        checker.add(where, "'marketing' must be true or false")
        marketing = False
    permission = raw.get("permission")
    if permission is not None and (permission not in PERMISSIONS or qtype != "yes_no"):
        checker.add(where, f"'permission' must be one of {', '.join(PERMISSIONS)} "
                           "on a yes_no question")
        permission = None
    options: tuple[Option, ...] = ()
    if unit is not None and unit.takes_options:
        if "options" not in raw:
            checker.add(where, f"a {qtype} question needs 'options'")
        else:
            options = _options(checker, raw["options"], where)
            if len(options) < 2 and len(checker.problems) == before:
                checker.add(where, f"a {qtype} question needs at least two options")
    elif "options" in raw and qtype is not None:
        with_options = " and ".join(n for n in names if question_type(n).takes_options)
        checker.add(where, f"'options' only apply to {with_options}, not {qtype}")
    bounds: dict[str, float | None] = {"min": None, "max": None}
    for bound in ("min", "max"):
        if bound in raw:
            value = raw[bound]
            if unit is not None and not unit.takes_bounds:
                with_bounds = " and ".join(n for n in names if question_type(n).takes_bounds)
                checker.add(where, f"'{bound}' only applies to {with_bounds} questions")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                checker.add(where, f"'{bound}' must be a number")
            else:
                bounds[bound] = value
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        checker.add(where, "'min' is larger than 'max'")
    if text is not None:
        checker.fill_ins(text, where, "text", earlier, later_keys)
    if hint is not None:
        checker.fill_ins(hint, where, "hint", earlier, later_keys)
    condition = None
    when = raw.get("when")
    if when is not None:
        later = set(later_keys)
        if key:
            later.add(key)  # a question cannot depend on itself
        condition = checker.condition(when, where, earlier, later)
    if len(checker.problems) != before or key is None or qtype is None or text is None:
        return None
    return Question(key=key, type=qtype, text=text, hint=hint, required=required,
                    when=when, condition=condition, options=options,
                    min=bounds["min"], max=bounds["max"], marketing=marketing,
                    permission=permission)


def _owner_problem(owner: Any) -> str | None:
    if not isinstance(owner, str) or not owner.strip():
        return "'owner' must be account_owner, caller, or a person or team name"
    if owner in OWNER_KEYWORDS:
        return None
    # A snake_case word looks like a keyword, not a person: most likely a typo.
    if re.fullmatch(r"[a-z]+(_[a-z]+)+", owner):
        return (f"unknown owner '{owner}'" + _did_you_mean(owner, OWNER_KEYWORDS)
                + " (account_owner, caller, or a person or team name)")
    return None


def _rule(checker: _Checker, raw: Any, index: int, questions: dict[str, Question]) -> Rule | None:
    where = f"rule {index}"
    if not isinstance(raw, dict):
        checker.add(where, "must be a table ([[rules]])")
        return None
    name = raw.get("name")
    if isinstance(name, str) and name:
        where = f"rule {index} ({name})"
    elif name is not None:
        checker.add(where, "'name' must be text")
        name = None
    before = len(checker.problems)
    _unknown_keys(checker, raw, _RULE_KEYS, where)
    kind = raw.get("kind")
    if kind is None:
        checker.add(where, "'kind' is missing (one of " + ", ".join(FOLLOWUP_KINDS) + ")")
    elif kind not in FOLLOWUP_KINDS:
        checker.add(where, f"unknown follow-up kind {kind!r}"
                    + _did_you_mean(str(kind), FOLLOWUP_KINDS)
                    + " (one of " + ", ".join(FOLLOWUP_KINDS) + ")")
    owner = raw.get("owner", "account_owner")
    problem = _owner_problem(owner)
    if problem:
        checker.add(where, problem)
    due = raw.get("due", "+1d")
    delta = timedelta(0)
    try:
        delta = parse_offset(due)
    except (ValueError, TypeError) as exc:
        checker.add(where, str(exc))
    note = raw.get("note", "")
    if not isinstance(note, str):
        checker.add(where, "'note' must be text")
        note = ""
    else:
        checker.fill_ins(note, where, "note", questions, set())
    condition = None
    when = raw.get("when")
    if when is not None:
        condition = checker.condition(when, where, questions, set())
    if len(checker.problems) != before:
        return None
    return Rule(index=index, kind=kind, owner=owner.strip(), due=due, due_delta=delta,
                note=note, name=name, when=when, condition=condition)


def parse_script(text: str, source: str = "<text>") -> Script:
    """Parse and validate a script's TOML text; raises :class:`ScriptError` listing problems.

    A text seen before gives the same (immutable) Script at once: every call parses its
    script, and the queue's reasons pick among a few, so parsing is done once per version.
    """
    key = (text, source, len(type_names()))
    script = _PARSED.get(key)
    if script is None:
        problems, script = check_script_text(text, source)
        if problems or script is None:
            raise ScriptError(problems)
        if len(_PARSED) >= 64:
            _PARSED.clear()
        _PARSED[key] = script
    return script


# Scripts parsed so far, by (text, source, number of question types known).
_PARSED: dict[tuple[str, str, int], Script] = {}


# The literal of a top-level ``version = <number>`` line, as written.
_VERSION_LITERAL = re.compile(r"^[ \t]*version[ \t]*=[ \t]*([0-9][0-9._eE+-]*)[ \t]*(?:#.*)?$",
                              re.MULTILINE)


def check_script_text(text: str, source: str = "<text>") -> tuple[list[Problem], Script | None]:
    """Every problem in a script's text, and the script when there are none."""
    checker = _Checker(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        checker.add("TOML", f"not valid TOML: {exc}")
        return checker.problems, None
    except RecursionError:
        # tomllib reads nested arrays and tables recursively: thousands of levels are a
        # hostile or broken file, never a script.
        checker.add("TOML", "not valid TOML: arrays or tables nested too deeply")
        return checker.problems, None
    top = "script"
    if not any(key in data for key in ("name", "version", "opening", "questions")):
        # Some other TOML file (or none at all): one line says it, not one per missing key.
        checker.add(top, "not a carecall script (no name, version, opening or questions)")
        return checker.problems, None
    _unknown_keys(checker, data, _TOP_KEYS, top)
    name = data.get("name")
    if name is None:
        checker.add(top, "'name' is missing")
    elif not isinstance(name, str) or not _NAME_RE.match(name):
        checker.add(top, "'name' must be a word of letters, digits, '_', '-' or '.'")
        name = None
    version = data.get("version")
    if version is None:
        checker.add(top, "'version' is missing")
    elif isinstance(version, bool) or not isinstance(version, (str, int, float)):
        checker.add(top, "'version' must be text or a number")
        version = None
    elif not str(version).strip():
        checker.add(top, "'version' is empty")
        version = None
    elif isinstance(version, float):
        # TOML reads 1.10 as the number 1.1: the version stored would not be the one written
        written = _VERSION_LITERAL.search(text)
        if written and written.group(1) != str(version):
            checker.add(top, f"'version = {written.group(1)}' reads as the number {version}; "
                             f'write it as text: version = "{written.group(1)}"')
            version = None
    purpose = data.get("purpose")
    if purpose is None:
        checker.add(top, "'purpose' is missing (e.g. " + ", ".join(KNOWN_PURPOSES[:4]) + ")")
    elif not isinstance(purpose, str) or not _KEY_RE.match(purpose):
        checker.add(top, "'purpose' must be a lower-case word such as care or thank_you")
        purpose = None
    call_purpose = data.get("call_purpose", "care")
    if call_purpose not in CALL_PURPOSES:
        checker.add(top, f"'call_purpose' must be one of {', '.join(CALL_PURPOSES)}, "
                         f"got {call_purpose!r}")
        call_purpose = "care"
    title = _check_text(checker, data, "title", top, required=False)
    description = _check_text(checker, data, "description", top, required=False)
    opening = _check_text(checker, data, "opening", "opening", required=True)
    consent = _check_text(checker, data, "consent", "consent", required=False)
    closing = _check_text(checker, data, "closing", "closing", required=True)

    raw_questions = data.get("questions")
    questions: dict[str, Question] = {}
    if raw_questions is None:
        checker.add(top, "no questions (add [[questions]] tables)")
        raw_questions = []
    elif not isinstance(raw_questions, list) or not raw_questions:
        checker.add(top, "'questions' must be a list of [[questions]] tables")
        raw_questions = []
    all_keys = [q.get("key") for q in raw_questions if isinstance(q, dict)]
    for i, raw in enumerate(raw_questions, 1):
        later = {k for k in all_keys[i:] if isinstance(k, str)}
        q = _question(checker, raw, i, questions, later)
        if q is not None:
            questions[q.key] = q
        elif isinstance(raw, dict) and isinstance(raw.get("key"), str):
            checker.broken.add(raw["key"])
    if opening is not None:
        checker.fill_ins(opening, "opening", "opening", None, set())
    if consent is not None:
        checker.fill_ins(consent, "consent", "consent", None, set())
    if closing is not None:
        checker.fill_ins(closing, "closing", "closing", questions, set())

    raw_rules = data.get("rules", [])
    rules: list[Rule] = []
    if not isinstance(raw_rules, list):
        checker.add(top, "'rules' must be a list of [[rules]] tables")
        raw_rules = []
    for i, raw in enumerate(raw_rules, 1):
        rule = _rule(checker, raw, i, questions)
        if rule is not None:
            rules.append(rule)

    language = data.get("language", "en")
    if not isinstance(language, str) or not _LANGUAGE_RE.match(language):
        checker.add(top, "'language' is a two-letter code such as en, de or fr")
        language = "en"
    translations = _translations(checker, data.get("translations", {}), language, questions,
                                 has_consent=consent is not None)

    if checker.problems:
        return checker.problems, None
    assert name and version is not None and purpose and opening and closing
    return [], Script(
        name=name, version=str(version).strip(), purpose=purpose, opening=opening,
        closing=closing, questions=tuple(questions.values()), rules=tuple(rules),
        consent=consent, title=title, description=description, text=text, source=source,
        call_purpose=call_purpose,
        language=language, translations=translations,
    )


def _translations(checker: _Checker, raw: Any, own: str, questions: dict[str, Question], *,
                  has_consent: bool) -> dict[str, Translation]:
    """The ``[translations.<language>]`` tables, checked like the texts they translate."""
    if not isinstance(raw, dict):
        checker.add("translations", "'translations' must be a table of languages, e.g. "
                    "[translations.de]")
        return {}
    out: dict[str, Translation] = {}
    for lang, table in raw.items():
        where = f"translation '{lang}'"
        if not _LANGUAGE_RE.match(lang):
            checker.add(where, "a language is a two-letter code such as de or fr")
            continue
        if lang == own:
            checker.add(where, f"'{lang}' is the script's own language; write those texts "
                        "at the top")
            continue
        if not isinstance(table, dict):
            checker.add(where, f"must be a table ([translations.{lang}])")
            continue
        before = len(checker.problems)
        _unknown_keys(checker, table, _TRANSLATION_KEYS, where)
        texts = {k: _check_text(checker, table, k, where, required=False)
                 for k in ("title", "opening", "consent", "closing")}
        if texts["consent"] is not None and not has_consent:
            checker.add(where, "'consent' translates a consent notice the script does not have")
        for k in ("opening", "consent"):
            if texts[k] is not None:
                checker.fill_ins(texts[k], where, k, None, set())
        if texts["closing"] is not None:
            checker.fill_ins(texts["closing"], where, "closing", questions, set())
        qtexts = _question_translations(checker, table.get("questions", {}), where, questions)
        if len(checker.problems) == before:
            out[lang] = Translation(lang, texts["title"], texts["opening"], texts["consent"],
                                    texts["closing"], qtexts)
    return out


def _question_translations(checker: _Checker, raw: Any, where: str,
                           questions: dict[str, Question]) -> dict[str, QuestionText]:
    if not isinstance(raw, dict):
        checker.add(where, "'questions' must be a table of question keys, e.g. "
                    "[translations.de.questions.nps]")
        return {}
    keys = list(questions)
    out: dict[str, QuestionText] = {}
    for key, table in raw.items():
        qwhere = f"{where}, question '{key}'"
        if key not in questions:
            checker.add(qwhere, "the script has no such question" + _did_you_mean(key, keys))
            continue
        if not isinstance(table, dict):
            checker.add(qwhere, "must be a table with text, hint, options")
            continue
        _unknown_keys(checker, table, _QUESTION_TRANSLATION_KEYS, qwhere)
        q = questions[key]
        earlier = {k: questions[k] for k in keys[:keys.index(key)]}
        text = _check_text(checker, table, "text", qwhere, required=False)
        hint = _check_text(checker, table, "hint", qwhere, required=False)
        for name, value in (("text", text), ("hint", hint)):
            if value is not None:
                checker.fill_ins(value, qwhere, name, earlier, set(keys[keys.index(key):]))
        labels: dict[str, str] = {}
        options = table.get("options", {})
        if options and not q.options:
            checker.add(qwhere, f"'options' only apply to choice questions, not {q.type}")
        elif not isinstance(options, dict):
            checker.add(qwhere, "'options' is a table of option value = label")
        else:
            for value, label in options.items():
                if q.option(value) is None:
                    checker.add(qwhere, f"'{value}' is not an option of '{key}'"
                                + _did_you_mean(value, [o.value for o in q.options]))
                elif not isinstance(label, str) or not label.strip() or "," in label:
                    checker.add(qwhere, f"option '{value}': the label must be text "
                                "without a comma")
                else:
                    labels[value] = label.strip()
        out[key] = QuestionText(text, hint, labels)
    return out


# -- finding scripts ----------------------------------------------------------------------

SCRIPTS_ENV = "CARECALL_SCRIPTS"


@record(frozen=True)
class ScriptFile:
    """A script file that ``load_script`` can find by name."""

    name: str                  # the file's stem, which is the name to load it by
    path: str
    origin: str                # "shipped" or the $CARECALL_SCRIPTS directory


@cache
def _shipped_dir():
    return resources.files("calls") / "data" / "scripts"


def available_scripts() -> list[ScriptFile]:
    """Scripts loadable by name: ``$CARECALL_SCRIPTS`` directories first, then shipped ones.

    A name found in a directory hides a shipped script of the same name.
    """
    found: dict[str, ScriptFile] = {}
    for directory in _script_dirs():
        for path in sorted(directory.glob("*.toml")):
            found.setdefault(path.stem, ScriptFile(path.stem, str(path), str(directory)))
    shipped = _shipped_dir()
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            stem = entry.name[: -len(".toml")]
            found.setdefault(stem, ScriptFile(stem, str(entry), "shipped"))
    return sorted(found.values(), key=lambda f: f.name)


def shipped_script_names() -> list[str]:
    """The names of the scripts carecall ships."""
    return sorted(e.name[:-5] for e in _shipped_dir().iterdir() if e.name.endswith(".toml"))


def _script_dirs() -> list[Path]:
    env = os.environ.get(SCRIPTS_ENV, "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()
            and Path(p).expanduser().is_dir()]


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or os.sep in name


def read_script_source(name_or_path: str | os.PathLike) -> tuple[str, str]:
    """The text of a script by name or path, and how to name its source in messages."""
    found = _find_script(name_or_path)
    return found.read(), found.label


@record(frozen=True)
class _Found:
    """A script file found by name or path, and how messages name it."""

    path: Path
    label: str
    shipped: bool

    def read(self) -> str:
        if self.shipped:
            return self.path.read_text(encoding="utf-8")
        return _read_file(self.path, self.label)


def _find_script(name_or_path: str | os.PathLike) -> _Found:
    text_name = str(name_or_path)
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(text_name):
        path = Path(text_name).expanduser()
        if not path.exists():
            raise UserError(f"script file {text_name} not found")
        if path.is_dir():
            raise UserError(f"{text_name} is a directory, not a script file")
        return _Found(path, text_name, shipped=False)
    for entry in available_scripts():
        if entry.name == text_name:
            if entry.origin == "shipped":
                return _Found(Path(str(_shipped_dir() / f"{text_name}.toml")),
                              f"shipped:{text_name}", shipped=True)
            return _Found(Path(entry.path), entry.path, shipped=False)
    names = ", ".join(f.name for f in available_scripts())
    raise UserError(f"no script named '{text_name}' (available: {names}; or give a .toml path)")


def _read_file(path: Path, label: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {label}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{label}: a script must be UTF-8 text") from None


# Scripts parsed before, by file: (label, device, inode, size, mtime_ns, ctime_ns) and the
# Script. Every call takes its script by name; reading and validating the file again
# each time cost a seat ~0.2-0.7 ms a customer (issue 18). A file edited, replaced or
# touched has another key and is read again; a script is frozen, so one parse is shared.
_parsed: dict[Path, tuple[tuple[Any, ...], Script]] = {}


def load_script(name_or_path: str | os.PathLike) -> Script:
    """A validated script by name (see :func:`available_scripts`) or by file path.

    The file is read and validated again only when it changed since the last load (its
    size, modification or change time, or the file itself); otherwise the Script parsed
    then is returned (the same object). Raises :class:`UserError` (a :class:`ScriptError`
    when the script is invalid).
    """
    found = _find_script(name_or_path)
    try:
        st = os.stat(found.path)
    except OSError:     # unreadable, or gone since it was found: read() says which
        return parse_script(found.read(), found.label)
    key = (found.label, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    kept = _parsed.get(found.path)
    if kept is not None and kept[0] == key:
        return kept[1]
    script = parse_script(found.read(), found.label)
    _parsed[found.path] = (key, script)
    return script


def script_for_purpose(purpose: str) -> str | None:
    """The name of an available script with this purpose (the shipped one unless overridden)."""
    for entry in available_scripts():
        try:
            script = load_script(entry.name)
        except UserError:
            continue
        if script.purpose == purpose:
            return entry.name
    return None
