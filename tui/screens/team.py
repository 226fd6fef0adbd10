"""Small dialogs of the team feature: give a follow-up to someone, pause with a reason."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.key_bar import KeyBar
from tui.widgets.shift_bar import ShiftBar, clock_text


class _TeamDialog(ModalScreen):
    CSS_PATH = "team.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel",
                                                     id="team-dialog-cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReassignScreen(_TeamDialog):
    """Who gets this follow-up: an account name, or "anyone". Returns the text typed."""

    def __init__(self, what: str, current: str | None) -> None:
        super().__init__()
        self.what = what
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Give {escape(self.what)} to…", classes="dialog-title")
            yield Input(placeholder="account name, or anyone", id="reassign-to")
            yield Static(f"now: {escape(self.current or 'anyone')} · Enter gives · Esc cancels",
                         classes="dialog-note")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())


class PauseScreen(_TeamDialog):
    """Why the caller steps away: one of the policy's reason codes. Returns the code."""

    def __init__(self, reasons: tuple[str, ...], who: str | None = None) -> None:
        super().__init__()
        self.reasons = reasons
        self.who = who   # a supervisor pausing a caller (None: the caller pauses)

    def compose(self) -> ComposeResult:
        if self.who:
            title = f"Pause {escape(self.who)}: why?"
            note = ("A call in progress is finished first; then no customer is offered "
                    "until they are back · Esc cancels")
        else:
            title, note = "Pause: why?", "No customer is offered while you are paused · Esc cancels"
        with Vertical():
            yield Label(title, classes="dialog-title")
            yield OptionList(*[Option(r.replace("_", " "), id=r) for r in self.reasons],
                             id="pause-reasons")
            yield Static(note, classes="dialog-note")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class PausedScreen(Screen[None]):
    """The seat is paused: no customer is offered; shows the reason and how long."""

    CSS_PATH = "team.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "resume", "Back to work", tooltip="End the pause: ready for calls",
                id="paused-resume"),
        Binding("r", "resume", "Back to work", show=False, id="paused-resume-r"),
    ]

    def __init__(self, reason: str, *, by: str | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.by = by   # the supervisor who paused the seat (None: the caller, with p)

    def compose(self) -> ComposeResult:
        who = f"{self.by} (supervisor) paused this seat. " if self.by else ""
        with Vertical(id="paused-box"):
            yield Label(f"Paused · {escape(self.reason)}", id="paused-title")
            yield Static("", id="paused-time")
            yield Static(f"{who}No customer is offered while you are paused.",
                         id="paused-note")
        yield ShiftBar()
        yield KeyBar()

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1, self.tick)

    def tick(self) -> None:
        state = getattr(self.app, "seat_state", None)
        if state is None or state.state != "paused":
            return
        seconds = int(state.elapsed(self.app.now()).total_seconds())
        self.query_one("#paused-time", Static).update(f"for {clock_text(seconds)}")
        if state.reason and state.reason != self.reason:
            # A supervisor paused the seat again, for another reason (coaching now).
            self.reason = state.reason
            self.by = state.set_by if state.set_by != getattr(self.app, "caller", None) else None
            self.query_one("#paused-title", Label).update(f"Paused · {escape(self.reason)}")
            who = f"{self.by} (supervisor) paused this seat. " if self.by else ""
            self.query_one("#paused-note", Static).update(
                f"{who}No customer is offered while you are paused.")

    def action_resume(self) -> None:
        self.dismiss(None)
