"""Confirming the themes of what a customer said: the caller at wrap-up, the owner when
closing a fix.

``ThemesScreen(items, vocabulary, root_cause=...)`` shows each text with the themes the
keywords suggest already ticked; space ticks or unticks a theme, Tab goes to the next answer, Enter confirms (the
confirmed themes then win over any suggestion), Esc leaves them as suggestions. For a
fix, ``r`` says whether it removed the cause for everyone (root cause) or fixed this
customer's problem. It returns a :class:`ThemeChoice` per item, or None when skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Label, SelectionList, Static
from textual.widgets.selection_list import Selection


@dataclass(frozen=True)
class ThemeItem:
    """One text to tag: a label (the question or "fix"), the text, the suggested themes."""

    key: str
    label: str
    text: str
    suggested: tuple[str, ...]
    confirmed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ThemeChoice:
    """What the person confirmed: themes per item key, and the root-cause answer."""

    themes: dict[str, list[str]]
    root_cause: bool = False


class ThemesScreen(ModalScreen[ThemeChoice | None]):
    """Tick the themes of each text; Enter confirms, Esc keeps the suggestions."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "confirm", "Confirm", priority=True, id="themes-confirm"),
        Binding("escape", "skip", "Skip", id="themes-skip"),
        Binding("r", "root_cause", "Root cause", id="themes-root-cause"),
        Binding("tab", "next_list", "Next answer", show=False, priority=True,
                id="themes-next"),
        Binding("shift+tab", "next_list(-1)", "Previous answer", show=False, priority=True,
                id="themes-previous"),
    ]

    def __init__(self, items: list[ThemeItem], vocabulary: list[tuple[str, str]], *,
                 root_cause: bool | None = None, title: str = "What was it about?") -> None:
        super().__init__()
        self.items = items
        self.vocabulary = vocabulary          # (key, label)
        self.ask_root_cause = root_cause is not None
        self.root_cause = bool(root_cause)
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="themes-dialog"):
            yield Label(f"[b]{escape(self.title_text)}[/b]", classes="title")
            with VerticalScroll(id="themes-items"):
                for i, item in enumerate(self.items):
                    chosen = set(item.confirmed if item.confirmed is not None
                                 else item.suggested)
                    yield Static(f"[b]{escape(item.label)}[/b]: {escape(item.text)}",
                                 classes="themes-text")
                    yield SelectionList[str](
                        *(Selection(label, key, key in chosen)
                          for key, label in self.vocabulary),
                        id=f"themes-{i}", classes="themes-list")
            if self.ask_root_cause:
                yield Checkbox("Root cause fixed: the cause is gone for everyone",
                               self.root_cause, id="themes-root")
            yield Static("space: tick or untick · "
                         + ("Tab: next answer · " if len(self.items) > 1 else "")
                         + "Enter: confirm · Esc: keep the suggestions"
                         + (" · r: root cause" if self.ask_root_cause else ""),
                         classes="hint")

    def on_mount(self) -> None:
        self.query(SelectionList).first().focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "root_cause":
            return self.ask_root_cause
        return True

    def action_root_cause(self) -> None:
        box = self.query_one("#themes-root", Checkbox)
        box.value = not box.value

    def action_next_list(self, step: int = 1) -> None:
        """Move to the next (or previous) answer's list of themes."""
        lists = list(self.query(SelectionList))
        if not lists:
            return
        current = lists.index(self.focused) if self.focused in lists else -1
        lists[(current + step) % len(lists)].focus()

    def action_skip(self) -> None:
        self.dismiss(None)

    def chosen(self) -> ThemeChoice:
        """The ticked themes per item, in vocabulary order, and the root-cause answer."""
        themes = {}
        for i, item in enumerate(self.items):
            # widget ids by position: a question key may hold characters an id may not
            ticked = set(self.query_one(f"#themes-{i}", SelectionList).selected)
            themes[item.key] = [key for key, _ in self.vocabulary if key in ticked]
        root = self.query_one("#themes-root", Checkbox).value if self.ask_root_cause else False
        return ThemeChoice(themes, root)

    def action_confirm(self) -> None:
        self.dismiss(self.chosen())
