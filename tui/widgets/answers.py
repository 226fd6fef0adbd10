"""Answer widgets for one script question, each entered from the keyboard.

Every widget posts :class:`AnswerSubmitted` with a typed value (``None`` = skip).
Numbers are entered with :class:`DigitEntry`: a digit that cannot start a longer valid
number is taken at once, one that can (``1`` on a 0–10 scale) waits for a second digit
or Enter, so any NPS answer takes at most two keystrokes (``1`` ``0`` is 10, ``1``
Enter is 1) and there is no timer to race.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static


class AnswerSubmitted(Message):
    """The caller entered an answer (``value`` None means: skip this question)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


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


class ScaleAnswer(Widget, can_focus=True):
    """NPS (0–10) or rating (1–5): digits, left/right to move, Enter to take."""

    DEFAULT_CSS = """
    ScaleAnswer { height: 3; padding: 0 1; }
    ScaleAnswer:focus { background: $boost; }
    """

    def __init__(self, low: int, high: int, value: int | None = None,
                 labels: tuple[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.low, self.high = low, high
        self.value = value
        self.cursor = value
        self.labels = labels
        self.entry = DigitEntry(range(low, high + 1))

    def render(self) -> Text:
        text = Text()
        for n in range(self.low, self.high + 1):
            cell = f" {n} "
            if self.entry.pending == n:
                style = "bold reverse yellow"
            elif self.cursor == n:
                style = "bold reverse"
            elif self.value == n:
                style = "bold underline"
            else:
                style = ""
            text.append(cell, style=style)
        text.append("\n")
        if self.entry.pending is not None:
            nxt = [v for v in range(self.low, self.high + 1)
                   if str(v).startswith(str(self.entry.pending)) and v != self.entry.pending]
            text.append(f"{self.entry.pending}…  Enter = {self.entry.pending}", style="yellow")
            if nxt:
                text.append(f", next digit for {nxt[0]}" + ("" if len(nxt) == 1 else "…"),
                            style="yellow")
        elif self.labels:
            text.append(f"{self.low} {self.labels[0]} … {self.high} {self.labels[1]}",
                        style="dim")
        else:
            text.append("type the number", style="dim")
        return text

    def _take(self, value: int | None) -> None:
        self.refresh()
        if value is not None:
            self.value = self.cursor = value
            self.post_message(AnswerSubmitted(value))

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key.isdigit() and len(key) == 1:
            event.stop()
            event.prevent_default()
            self._take(self.entry.digit(int(key)))
        elif key == "enter":
            event.stop()
            event.prevent_default()
            if self.entry.pending is not None:
                self._take(self.entry.enter())
            elif self.cursor is not None:
                self._take(self.cursor)
            else:
                self.post_message(AnswerSubmitted(None))
        elif key in ("left", "right"):
            event.stop()
            self.entry.clear()
            start = self.cursor if self.cursor is not None else (
                self.low if key == "right" else self.high)
            step = 1 if key == "right" else -1
            if self.cursor is None:
                self.cursor = start
            else:
                self.cursor = min(self.high, max(self.low, start + step))
            self.refresh()
        elif key in ("backspace", "escape") and self.entry.pending is not None:
            event.stop()
            self.entry.clear()
            self.refresh()


class ChoiceAnswer(Widget, can_focus=True):
    """A list of numbered options: a digit picks one (``multi``: toggles; Enter takes them).

    ``yes_no`` questions are two options answered with ``y`` / ``n`` as well as 1 / 2.
    """

    DEFAULT_CSS = """
    ChoiceAnswer { height: auto; padding: 0 1; }
    ChoiceAnswer:focus { background: $boost; }
    """

    def __init__(self, options: Sequence[tuple[Any, str]], *, multi: bool = False,
                 value: Any = None, yes_no: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
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

    def render(self) -> Text:
        text = Text()
        for i, (val, label) in enumerate(self.options):
            number = i + 1
            marker = ""
            if self.multi:
                marker = "[x] " if i in self.selected else "[ ] "
            key = f"{number}"
            if self.yes_no:
                key = "y" if val is True else "n"
            line_style = "bold reverse" if i == self.cursor and self.has_focus else ""
            if not self.multi and self.value == val:
                line_style = (line_style + " underline").strip()
            if self.entry.pending == number:
                line_style = "bold reverse yellow"
            text.append(f" {key} ", style="bold")
            text.append(f"{marker}{label}", style=line_style)
            text.append("\n")
        hint = ("digits toggle, Enter takes the ticked ones" if self.multi
                else "y / n" if self.yes_no else "type the number (j/k and Enter also work)")
        if self.entry.pending is not None:
            hint = f"{self.entry.pending}…  Enter = {self.entry.pending}, or the next digit"
        text.append(hint, style="dim" if self.entry.pending is None else "yellow")
        return text

    def _pick(self, index: int) -> None:
        self.cursor = index
        if self.multi:
            self.selected ^= {index}
            self.refresh()
            return
        self.value = self.options[index][0]
        self.refresh()
        self.post_message(AnswerSubmitted(self.value))

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if self.yes_no and key in ("y", "n"):
            event.stop()
            event.prevent_default()
            want = key == "y"
            index = next(i for i, (v, _l) in enumerate(self.options) if v is want)
            self._pick(index)
        elif key.isdigit() and len(key) == 1:
            event.stop()
            event.prevent_default()
            number = self.entry.digit(int(key))
            self.refresh()
            if number is not None:
                self._pick(number - 1)
        elif key == "enter":
            event.stop()
            event.prevent_default()
            if self.entry.pending is not None:
                number = self.entry.enter()
                if number is not None:
                    self._pick(number - 1)
                return
            if self.multi:
                chosen = [self.options[i][0] for i in sorted(self.selected)]
                self.post_message(AnswerSubmitted(chosen or None))
            else:
                self._pick(self.cursor)
        elif key == "space" and self.multi:
            event.stop()
            event.prevent_default()
            self._pick(self.cursor)
        elif key in ("j", "k") and not self.yes_no:
            # ↑/↓ belong to the script (previous / next question); j/k move in the list.
            event.stop()
            step = 1 if key == "j" else -1
            self.cursor = (self.cursor + step) % len(self.options)
            self.refresh()


class TextAnswer(Input):
    """A line of text, a number or a date; Enter takes it (empty: skip)."""

    def __init__(self, qtype: str, value: Any = None, **kwargs: Any) -> None:
        placeholder = {"number": "a number, Enter", "date": "YYYY-MM-DD, Enter"}.get(
            qtype, "type the answer, Enter (empty: skip)")
        super().__init__(
            value="" if value is None else str(value),
            placeholder=placeholder,
            type="number" if qtype == "number" else "text",
            **kwargs,
        )
        self.qtype = qtype

    async def action_submit(self) -> None:
        text = self.value.strip()
        if not text:
            self.post_message(AnswerSubmitted(None))
            return
        if self.qtype == "number":
            try:
                number = float(text)
            except ValueError:
                self.app.bell()
                return
            self.post_message(AnswerSubmitted(int(number) if number.is_integer() else number))
            return
        self.post_message(AnswerSubmitted(text))


class AnswerError(Static):
    """The engine's reason for refusing an answer, under the answer widget."""

    DEFAULT_CSS = "AnswerError { color: $error; height: auto; padding: 0 1; }"

    def show(self, message: str | None) -> None:
        """Show ``message`` (None hides it)."""
        self.update(escape(message or ""))
        self.display = bool(message)
