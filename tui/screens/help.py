"""The help overlay (``?`` or F1): the keys that work on this screen now, as the user mapped
them, in a box that fits 80x24."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

# Keys every screen has, which the list would only repeat.
_SKIP_ACTIONS = {"help", "app.help", "command_palette", "app.command_palette"}
# Rows that fit the box at 80x24 in one column; more go in two columns.
ONE_COLUMN_ROWS = 16


@dataclass(frozen=True)
class HelpRow:
    """One key and what it does (``label``: the short name, ``detail``: the rest)."""

    keys: str
    label: str
    detail: str = ""

    @property
    def what(self) -> str:
        """The label and the detail in one line."""
        return f"{self.label} — {self.detail}" if self.detail else self.label

    def fitted(self, width: int) -> str:
        """The line in ``width`` cells: the detail only when it fits whole (a word cut in
        the middle helps nobody; the label alone still says what the key does)."""
        return self.what if len(self.what) <= width else self.label


def _words(description: str, tooltip: str | None) -> tuple[str, str]:
    """A binding's label and detail: "Callback" and "outcome" for a tooltip "Outcome:
    Callback" that only repeats the label."""
    label = description or tooltip or ""
    if not tooltip or tooltip.lower() == label.lower():
        return label, ""
    head, sep, tail = tooltip.partition(":")
    if sep and tail.strip().lower() == label.lower():
        return label, head.strip().lower()
    return label, tooltip


def help_rows(screen: Screen) -> list[HelpRow]:
    """The keys that apply on ``screen`` now (enabled bindings, the user's keymap applied),
    one row per action, the focused widget's first, then the screen's, then the app's."""
    app = screen.app
    by_action: dict[tuple[int, str], list[str]] = {}
    words: dict[tuple[int, str], tuple[str, str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not active.enabled or binding.action in _SKIP_ACTIONS:
            continue
        if not (binding.show or binding.tooltip):
            continue      # moving a cursor, Tab: what every list and form does
        if not (binding.description or binding.tooltip):
            continue
        what = _words(binding.description, binding.tooltip)
        key = (id(active.node), binding.action)
        by_action.setdefault(key, [])
        display = app.get_key_display(binding)
        if display not in by_action[key]:
            by_action[key].append(display)
        words.setdefault(key, what)
    rows = [HelpRow(" ".join(keys), *words[key]) for key, keys in by_action.items()]
    palette = app.get_key_display(
        Binding(app.COMMAND_PALETTE_BINDING, "command_palette", id="help-palette-key"))
    rows.append(HelpRow(palette, "Command palette", "everything else, by name"))
    return rows


def _table(rows: list[HelpRow], what_width: int) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(max_width=what_width, overflow="ellipsis", no_wrap=True)
    for row in rows:
        table.add_row(escape(row.keys), escape(row.fitted(what_width)))
    return table


class HelpScreen(ModalScreen[None]):
    """What the keys do here; any of Esc, ? or F1 closes it."""

    CSS_PATH = "tools.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "close", "Close", id="help-close"),
    ]

    def __init__(self, title: str, rows: list[HelpRow]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Static(f"[b]Keys: {escape(self.title_text)}[/b]", id="help-title")
            if len(self.rows) <= ONE_COLUMN_ROWS:
                body = _table(self.rows, 60)
            else:
                half = (len(self.rows) + 1) // 2
                body = Table.grid(padding=(0, 2))
                body.add_column()
                body.add_column()
                body.add_row(_table(self.rows[:half], 32), _table(self.rows[half:], 32))
            yield Static(body, id="help-keys")
            yield Static("[dim]Esc, ? or F1 closes this. Keys can be changed in the config "
                         "file (\\[keymap]).[/dim]", id="help-foot")

    def action_close(self) -> None:
        self.dismiss(None)


def show_help(app) -> None:
    """Open the help overlay for the screen the user is on (not over another help)."""
    screen = app.screen
    if isinstance(screen, HelpScreen):
        screen.dismiss(None)
        return
    title = getattr(screen, "HELP_TITLE", None) or screen.__class__.__name__.removesuffix(
        "Screen") or "this screen"
    app.push_screen(HelpScreen(title, help_rows(screen)))
