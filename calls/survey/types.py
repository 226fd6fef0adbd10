"""Question types: one unit per type, in one registry.

A :class:`QuestionType` says everything carecall does with a type of question: how a
script defines it (options, min/max), how an answer is validated and parsed (from what a
caller typed or from a typed value), how it is stored (JSON-ready) and shown in words,
what a caller may type (``help``), how conditions compare it (``kind``) and which answer
pad the call screen shows (``pad``: ``scale`` for digits on a scale, ``yes_no``,
``choice`` for numbered options, ``typed`` for a text field with ``placeholder``).

Adding a type is one new unit: a ``QuestionType(...)`` passed to :func:`register` (the
script validator, the engine, the CLI's ``script try`` and the call screen read it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from calls.records import record

if TYPE_CHECKING:
    from calls.survey.script import Question

MAX_TEXT = 5000


class AnswerError(ValueError):
    """An answer the engine refuses; the message is the reason, for the caller to read."""

    def __init__(self, reason: str, key: str | None = None):
        self.reason = reason
        self.key = key
        super().__init__(reason)


def to_stored(value: Any) -> Any:
    """A typed answer as a JSON-ready value (dates as ``YYYY-MM-DD``, lists as lists)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def format_value(value: Any) -> str:
    """A value as words a caller can read aloud."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


@record(frozen=True)
class QuestionType:
    """One type of question; see the module doc."""

    name: str
    kind: str                                    # number, bool, option, options, text, date
    parse: Callable[[Question, Any], Any]        # validate; AnswerError says why not
    help: Callable[[Question], str]              # what the caller may type
    pad: str = "typed"                           # scale, yes_no, choice, typed
    # the answer in words; None: format_value (no call in between: it runs per step shown)
    display: Callable[[Question, Any], str] | None = None
    store: Callable[[Any], Any] = to_stored      # the JSON-ready form
    takes_options: bool = False                  # the script gives 'options'
    takes_bounds: bool = False                   # the script may give 'min' / 'max'
    scale: tuple[int, int] | None = None         # pad "scale": lowest and highest number
    scale_labels: tuple[str, str] | None = None  # pad "scale": what the ends mean
    placeholder: str = "type the answer, Enter"  # pad "typed"
    show_help: bool = False                      # `script show` prints the help line

    def choices(self, q: Question) -> list[tuple[Any, str]]:
        """The (value, label) pairs a choice pad offers."""
        if self.pad == "yes_no":
            return [(True, "yes"), (False, "no")]
        return [(o.value, o.label) for o in q.options]


TYPES: dict[str, QuestionType] = {}


def register(qtype: QuestionType) -> QuestionType:
    """Add a question type (a script may then use it)."""
    if qtype.pad not in ("scale", "yes_no", "choice", "typed"):
        raise ValueError(f"question type {qtype.name}: unknown pad {qtype.pad!r}")
    TYPES[qtype.name] = qtype
    return qtype


def question_type(name: str) -> QuestionType:
    """The unit of a type name (KeyError for an unknown one; scripts are checked on load)."""
    return TYPES[name]


def type_names() -> tuple[str, ...]:
    """Every registered type name, in registration order."""
    return tuple(TYPES)


# -- the units ------------------------------------------------------------------------------

_YES = {"y", "yes", "true", "t"}
_NO = {"n", "no", "false", "f"}
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _scale_parser(what: str) -> Callable[[Question, Any], int]:
    def parse(q: Question, raw: Any) -> int:
        low, high = question_type(q.type).scale or (0, 0)
        reason = f"type a whole number from {low} to {high}"
        if isinstance(raw, str):
            text = raw.strip()
            if not text.isdigit():
                raise AnswerError(f"'{text}' is not a score: {reason}", q.key)
            value = int(text)
        elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise AnswerError(reason, q.key)
        elif isinstance(raw, float):
            if not raw.is_integer():
                raise AnswerError(reason, q.key)
            value = int(raw)
        else:
            value = raw
        if not low <= value <= high:
            raise AnswerError(f"{value} is out of range: {reason}", q.key)
        return value

    return parse


def _scale_help(q: Question) -> str:
    low, high = question_type(q.type).scale or (0, 0)
    return f"{low}-{high}"


def _yes_no(q: Question, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip().casefold()
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise AnswerError(f"'{raw.strip()}' is not yes or no: type y or n", q.key)
    raise AnswerError("answer yes or no (y or n)", q.key)


def _choice_help(q: Question) -> str:
    listed = "  ".join(f"{i} {o.label}" for i, o in enumerate(q.options, 1))
    more = " (several: 1,3)" if q.type == "multi_choice" else ""
    return listed + more


def _option(q: Question, raw: Any) -> str:
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise AnswerError("choose one of the options", q.key)
    text = str(raw).strip()
    folded = text.casefold()
    for option in q.options:           # the exact value first: it may itself be a digit
        if option.value == text:
            return option.value
    if text.isdigit():
        number = int(text)
        if 1 <= number <= len(q.options):
            return q.options[number - 1].value
        raise AnswerError(f"there is no option {number}: choose 1 to {len(q.options)}", q.key)
    for option in q.options:
        if folded in (option.value.casefold(), option.label.casefold()):
            return option.value
    prefixed = [o for o in q.options
                if o.value.casefold().startswith(folded) or o.label.casefold().startswith(folded)]
    if len(prefixed) == 1 and folded:
        return prefixed[0].value
    if len(prefixed) > 1:
        raise AnswerError(f"'{text}' fits several options ("
                          + ", ".join(o.label for o in prefixed) + "); type more or a number",
                          q.key)
    raise AnswerError(f"'{text}' is not one of the options: {_choice_help(q)}", q.key)


def _options(q: Question, raw: Any) -> list[str]:
    if isinstance(raw, str):
        parts = [p for p in (s.strip() for s in raw.split(",")) if p]
    elif isinstance(raw, (list, tuple, set, frozenset)):
        parts = list(raw)
    else:
        raise AnswerError("choose one or more of the options", q.key)
    if not parts:
        raise AnswerError("choose at least one option", q.key)
    chosen = {_option(q, part) for part in parts}
    return [o.value for o in q.options if o.value in chosen]


def _option_label(q: Question, value: Any) -> str:
    option = q.option(value)
    return option.label if option else str(value)


def _text(q: Question, raw: Any) -> str:
    if not isinstance(raw, str):
        raise AnswerError("the answer must be text", q.key)
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise AnswerError(f"the answer is longer than {MAX_TEXT} characters", q.key)
    return text


def _number(q: Question, raw: Any) -> int | float:
    if isinstance(raw, str):
        text = raw.strip().replace(" ", "").replace("_", "")
        if not _NUMBER_RE.match(text):
            raise AnswerError(f"'{raw.strip()}' is not a number", q.key)
        value: int | float = float(text) if "." in text else int(text)
    elif isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise AnswerError("the answer must be a number", q.key)
    else:
        value = raw
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AnswerError("the answer must be a finite number", q.key)
        if value.is_integer() and abs(value) < 2**53:
            value = int(value)
    if q.min is not None and value < q.min:
        raise AnswerError(f"{format_value(value)} is below the minimum, "
                          f"{format_value(q.min)}", q.key)
    if q.max is not None and value > q.max:
        raise AnswerError(f"{format_value(value)} is above the maximum, "
                          f"{format_value(q.max)}", q.key)
    return value


def _number_help(q: Question) -> str:
    if q.min is not None and q.max is not None:
        return f"a number from {format_value(q.min)} to {format_value(q.max)}"
    if q.min is not None:
        return f"a number, at least {format_value(q.min)}"
    if q.max is not None:
        return f"a number, at most {format_value(q.max)}"
    return "a number"


def _date(q: Question, raw: Any) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) != 10:
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise AnswerError(f"'{text}' is not a date: write it as YYYY-MM-DD", q.key) from None
    raise AnswerError("the answer must be a date (YYYY-MM-DD)", q.key)


register(QuestionType(
    "nps", "number", _scale_parser("an NPS answer"), _scale_help, pad="scale", scale=(0, 10),
    scale_labels=("not at all", "extremely likely")))
register(QuestionType(
    "rating", "number", _scale_parser("a rating"), _scale_help, pad="scale", scale=(1, 5),
    scale_labels=("very dissatisfied", "very satisfied")))
register(QuestionType(
    "yes_no", "bool", _yes_no, lambda _q: "y or n", pad="yes_no"))
register(QuestionType(
    "choice", "option", _option, _choice_help, pad="choice", display=_option_label,
    takes_options=True, show_help=True))
register(QuestionType(
    "multi_choice", "options", _options, _choice_help, pad="choice",
    display=lambda q, values: ", ".join(_option_label(q, v) for v in values),
    takes_options=True, show_help=True))
register(QuestionType(
    "text", "text", _text, lambda _q: "text"))
register(QuestionType(
    "number", "number", _number, _number_help, takes_bounds=True,
    placeholder="a number, Enter", show_help=True))
register(QuestionType(
    "date", "date", _date, lambda _q: "a date, YYYY-MM-DD", placeholder="YYYY-MM-DD, Enter",
    show_help=True))
