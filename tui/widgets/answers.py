"""Answer widgets for one script question, each entered from the keyboard.

Every widget posts :class:`AnswerSubmitted` with a typed value (``None`` = skip).
Numbers are entered with :class:`DigitEntry`: a digit that cannot start a longer valid
number is taken at once, one that can (``1`` on a 0–10 scale) waits for a second digit
or Enter, so any NPS answer takes at most two keystrokes (``1`` ``0`` is 10, ``1``
Enter is 1) and there is no timer to race.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from tui.keys import type_into_input
from tui.widgets.text import show_text


class AnswerSubmitted(Message):
    """The caller entered an answer (``value`` None means: skip this question) to the
    question ``key`` (the one the widget was set up for)."""

    def __init__(self, value: Any, key: str | None = None) -> None:
        super().__init__()
        self.value = value
        self.key = key


class DigitEntry:
    """Pick one of ``valid`` numbers by typing digits; never waits when it cannot be longer."""

    def __init__(self, valid: Sequence[int]) -> None:
        self.valid = set(valid)
        self.pending: int | None = None

    def _is_prefix(self, number: int) -> bool:
        text = str(number)
        return any(str(v).startswith(text) and v != number for v in self.valid)

    def digit(self, d: int) -> int | None:
        """Feed one digit; the chosen number when it is settled, else None (waiting)."""
        candidate = d if self.pending is None else self.pending * 10 + d
        if candidate not in self.valid and not self._is_prefix(candidate):
            # "1" then "5" on a 0-10 scale: the caller changed their mind, start again.
            candidate = d
        if self._is_prefix(candidate):
            self.pending = candidate
            return None
        self.pending = None
        return candidate if candidate in self.valid else None

    def enter(self) -> int | None:
        """Enter: take the waiting number if it is valid."""
        value, self.pending = self.pending, None
        return value if value is not None and value in self.valid else None

    def clear(self) -> None:
        """Forget a waiting digit."""
        self.pending = None


class ScaleModel:
    """NPS (0–10) or rating (1–5): digits, left/right to move, Enter to take."""

    def __init__(self, low: int, high: int, value: int | None = None,
                 labels: tuple[str, str] | None = None) -> None:
        self.low, self.high = low, high
        self.value = value
        self.cursor = value
        self.labels = labels
        self.entry = DigitEntry(range(low, high + 1))

    def render(self, focused: bool, width: int = 80) -> Text:
        text = Text()
        for n in range(self.low, self.high + 1):
            if self.entry.pending == n:
                style = "bold reverse yellow"
            elif self.cursor == n:
                style = "bold reverse"
            elif self.value == n:
                style = "bold underline"
            else:
                style = ""
            text.append(f" {n} ", style=style)
        text.append("\n")
        if self.entry.pending is not None:
            pending = self.entry.pending
            longer = [v for v in range(self.low, self.high + 1)
                      if str(v).startswith(str(pending)) and v != pending]
            text.append(f"{pending}…  Enter = {pending}", style="yellow")
            if longer:
                text.append(f", next digit for {longer[0]}" + ("" if len(longer) == 1 else "…"),
                            style="yellow")
        elif self.labels:
            text.append(f"{self.low} {self.labels[0]} … {self.high} {self.labels[1]}",
                        style="dim")
        else:
            text.append("type the number", style="dim")
        return text

    def key(self, key: str) -> tuple[bool, Any]:
        """Handle a key: (handled, answer); the answer is ``_NOTHING`` until one is taken."""
        if key.isdigit() and len(key) == 1:
            value = self.entry.digit(int(key))
            return True, (_NOTHING if value is None else self._take(value))
        if key == "enter":
            if self.entry.pending is not None:
                value = self.entry.enter()
                return True, (_NOTHING if value is None else self._take(value))
            if self.cursor is not None:
                return True, self._take(self.cursor)
            return True, None  # skip (the engine refuses it for a required question)
        if key in ("left", "right"):
            self.entry.clear()
            step = 1 if key == "right" else -1
            if self.cursor is None:
                self.cursor = self.low if step > 0 else self.high
            else:
                self.cursor = min(self.high, max(self.low, self.cursor + step))
            return True, _NOTHING
        if key in ("backspace", "escape") and self.entry.pending is not None:
            self.entry.clear()
            return True, _NOTHING
        return False, _NOTHING

    def _take(self, value: int) -> int:
        self.value = self.cursor = value
        return value


class ChoiceModel:
    """Numbered options: a digit picks one (``multi``: toggles; Enter takes them).

    ``yes_no`` questions are two options answered with ``y`` / ``n`` only: a digit typed
    for a scale must not answer them (it is named in a hint instead).
    """

    def __init__(self, options: Sequence[tuple[Any, str]], *, multi: bool = False,
                 value: Any = None, yes_no: bool = False) -> None:
        self.options = list(options)
        self.multi = multi
        self.yes_no = yes_no
        self.value = value
        self.selected: set[int] = set()
        if multi and value:
            values = list(value)
            self.selected = {i for i, (v, _l) in enumerate(self.options) if v in values}
        self.cursor = next((i for i, (v, _l) in enumerate(self.options) if v == value), 0)
        self.entry = DigitEntry(range(1, len(self.options) + 1))
        self.refused: str | None = None     # a digit typed on a yes/no question

    # More options than this flow on a few lines instead of one line each (80x24).
    LIST_MAX = 6

    def render(self, focused: bool, width: int = 80) -> Text:
        text = Text()
        flow = len(self.options) > self.LIST_MAX
        used = 0
        for i, (val, label) in enumerate(self.options):
            number = i + 1
            marker = ("[x] " if i in self.selected else "[ ] ") if self.multi else ""
            key = ("y" if val is True else "n") if self.yes_no else f"{number}"
            style = "bold reverse" if i == self.cursor and focused and not self.yes_no else ""
            if not self.multi and self.value == val and self.value is not None:
                style = (style + " underline").strip()
            if self.entry.pending == number:
                style = "bold reverse yellow"
            if flow:
                # Options side by side, a new line only between two options.
                cell = len(key) + 1 + len(marker) + len(label)
                if used and used + 2 + cell > width:
                    text.append("\n")
                    used = 0
                elif used:
                    text.append("  ")
                    used += 2
                text.append(f"{key} ", style="bold")
                text.append(f"{marker}{label}", style=style)
                used += cell
            else:
                text.append(f" {key} ", style="bold")
                text.append(f"{marker}{label}", style=style)
                text.append("\n")
        if flow:
            text.append("\n")
        if self.entry.pending is not None:
            text.append(f"{self.entry.pending}…  Enter = {self.entry.pending}, or the next digit",
                        style="yellow")
        elif self.refused is not None:
            text.append(f"“{self.refused}” does not answer yes/no: press y or n", style="yellow")
        elif self.multi:
            text.append("digits tick, Enter takes the ticked ones", style="dim")
        elif not self.yes_no:
            text.append("type the number", style="dim")
        return text

    def key(self, key: str) -> tuple[bool, Any]:
        """Handle a key: (handled, answer); the answer is ``_NOTHING`` until one is taken."""
        self.refused = None
        if self.yes_no and key.isdigit() and len(key) == 1:
            self.refused = key
            return True, _NOTHING
        if self.yes_no and key in ("y", "n"):
            want = key == "y"
            index = next(i for i, (v, _l) in enumerate(self.options) if v is want)
            return True, self._pick(index)
        if key.isdigit() and len(key) == 1:
            number = self.entry.digit(int(key))
            return True, (_NOTHING if number is None else self._pick(number - 1))
        if key == "enter":
            if self.entry.pending is not None:
                number = self.entry.enter()
                return True, (_NOTHING if number is None else self._pick(number - 1))
            if self.multi:
                chosen = [self.options[i][0] for i in sorted(self.selected)]
                return True, (chosen or None)
            if self.yes_no and self.value is None:
                return True, None
            return True, self._pick(self.cursor)
        if key == "space" and self.multi:
            return True, self._pick(self.cursor)
        return False, _NOTHING

    def _pick(self, index: int) -> Any:
        self.cursor = index
        if self.multi:
            self.selected ^= {index}
            return _NOTHING
        self.value = self.options[index][0]
        return self.value


_NOTHING = object()  # a key was handled but no answer was taken yet


class KeyAnswer(Widget, can_focus=True):
    """The answer pad for questions answered with single keys (scales, choices, yes/no).

    One pad stays mounted for the whole call and is re-configured for each question.
    """


    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: ScaleModel | ChoiceModel | None = None
        self.question_key: str | None = None

    def configure(self, model: ScaleModel | ChoiceModel | None, key: str | None = None) -> None:
        """Show ``model`` (None: nothing to answer with keys) for the question ``key``: the
        answers it takes go to that question only."""
        self.model = model
        self.question_key = key
        self.refresh(layout=True)

    def render(self) -> Text:
        if self.model is None:
            return Text("")
        return self.model.render(self.has_focus, max(self.content_size.width, 20))

    def apply_key(self, key: str) -> bool:
        """Apply a key to the current question; True when the key was used."""
        if self.model is None:
            return False
        handled, answer = self.model.key(key)
        if handled:
            self.refresh(layout=True)
            if answer is not _NOTHING:
                _submit(self, answer)
        return handled

    def type_key(self, event: events.Key) -> bool:
        """The call screen's keys, in typing order (see :mod:`tui.keys`)."""
        return self.apply_key(event.key)


def _submit(widget: Widget, value: Any) -> None:
    """Hand an answer (for the question the widget was set up for) to the screen at once,
    so the next key finds the next question; else as a message."""
    key = getattr(widget, "question_key", None)
    handler = getattr(widget, "answer_handler", None)
    if handler is not None:
        handler(value, key)
    else:
        widget.post_message(AnswerSubmitted(value, key))


class TextAnswer(Input):
    """A line of text, a number or a date; Enter takes it (empty: skip).

    Like :class:`KeyAnswer` it stays mounted for the whole call.
    """

    PLACEHOLDERS: ClassVar[dict[str, str]] = {
        "number": "a number, Enter",
        "date": "YYYY-MM-DD, Enter",
        "text": "type the answer, Enter",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.qtype = "text"
        self.question_key: str | None = None

    # An Input is a ScrollView: its up/down/page keys would scroll a one-line field. They
    # belong to the script (previous / next question).
    _SCROLL_ACTIONS = frozenset({"scroll_up", "scroll_down", "page_up", "page_down",
                                 "scroll_home", "scroll_end"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._SCROLL_ACTIONS:
            return False
        return super().check_action(action, parameters)

    def configure(self, qtype: str, value: Any = None, placeholder: str | None = None,
                  key: str | None = None) -> None:
        """Prepare for the question ``key`` of type ``qtype`` with its current answer
        (``placeholder``: the type's own hint, else one of PLACEHOLDERS)."""
        self.qtype = qtype
        self.question_key = key
        self.placeholder = placeholder or self.PLACEHOLDERS.get(qtype, self.PLACEHOLDERS["text"])
        self.value = "" if value is None else str(value)
        self.cursor_position = len(self.value)

    def type_key(self, event: events.Key) -> bool:
        """The call screen's keys, in typing order (see :mod:`tui.keys`): Enter takes the
        answer at once, so the keys typed after it already find the next question."""
        if event.key == "enter":
            self.submit_now()
            return True
        return type_into_input(self, event)

    async def action_submit(self) -> None:
        self.submit_now()

    def submit_now(self) -> None:
        """Take what is typed (empty: skip)."""
        text = self.value.strip()
        # The engine reads numbers and dates from text and says why a value is refused.
        _submit(self, text or None)


class AnswerError(Static):
    """The engine's reason for refusing an answer, under the answer widget; or, quieter, a
    hint about keys that were not used (:mod:`tui.typeahead`)."""

    def show(self, message: str | None, *, hint: bool = False) -> None:
        """Show ``message`` (None hides it); ``hint``: a notice, not a refusal."""
        show_text(self, escape(message or ""))
        self.set_class(hint, "hint")
        self.display = bool(message)
