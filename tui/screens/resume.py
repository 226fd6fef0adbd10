"""The resume prompt: a call of this caller was left unfinished (the terminal died)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from calls.outcomes import LABEL
from tui import core


class ResumeScreen(ModalScreen[str | None]):
    """Resume the unfinished call (r), close it (p), or decide later (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "choose('resume')", "Resume", id="resume-resume"),
        Binding("p", "choose('partial')", "Close it", id="resume-partial"),
        Binding("escape", "choose('later')", "Later", id="resume-later"),
    ]

    def __init__(self, call: Any) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("[b]Unfinished call[/b]", classes="title")
            yield Static(escape(core.describe_unfinished(self.call, self.app.now())))
            chosen = self.call.call.chosen_outcome
            if chosen is not None:
                close = f"close it as {LABEL[chosen].lower()} (the outcome you picked)"
            elif self.call.call.connected_at:
                close = "close it as partial"
            else:
                close = "close it as not reached (no answer)"
            yield Static(
                "Everything entered so far was saved.\n\n"
                f"[b]r[/b] resume the call · [b]p[/b] {close} · [b]Esc[/b] later",
            )

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
