"""What the customer says about consent during a call: the recording notice's answer and
consents given or withdrawn (issue 14; docs/lawful.md).

- :class:`ConsentLine`: one line on the call screen that says what restricts the rest of
  the call ("Not recorded: switch recording off", "No more calls: no callback").
- :class:`ConsentScreen`: the dialog the call screen's Consent key opens; returns a
  :class:`ConsentPick` (what, given) or None.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from calls.consent import WITHDRAWAL_WORDS
from calls.records import record
from tui.widgets.text import show_text


@record(frozen=True)
class ConsentPick:
    """A consent the customer gave (``given``) or withdrew in the call."""

    what: str
    given: bool


# The dialog's choices, in its order: (what, given, the caller's words).
CHOICES: tuple[tuple[str, bool, str], ...] = (
    ("calls", False,
     "Do not call me again: withdraws consent to calls (this call may finish; no callback)"),
    ("marketing", False,
     "No offers or referrals: withdraws consent to marketing (those questions go)"),
    ("recording", False, "Stop recording: withdraws consent to recording"),
    ("share", False, "Do not pass on my referral: withdraws consent to share"),
    ("marketing", True, "Yes to offers: gives consent to marketing"),
    ("calls", True, "Yes, you may call me: gives consent to calls"),
)


class ConsentScreen(ModalScreen[ConsentPick | None]):
    """Which consent the customer gave or withdrew: a digit picks, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="consent-cancel"),
        *[Binding(str(i), f"pick({i})", f"choice {i}", show=False, id=f"consent-{i}")
          for i in range(1, len(CHOICES) + 1)],
    ]

    def __init__(self, customer_name: str) -> None:
        super().__init__()
        self.customer_name = customer_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="consent-dialog"):
            yield Label(f"[b]What did {escape(self.customer_name)} say?[/b]", classes="title")
            yield Static("\n".join(f"[b]{i}[/b] {escape(words)}"
                                   for i, (_w, _g, words) in enumerate(CHOICES, 1)))
            yield Static("Recorded at once and in force at once. To end the call and put the "
                         "number on the do-not-call list, pick the Do not call outcome "
                         "instead.", classes="hint")
            yield Static("1-6: pick · Esc: cancel", classes="hint")

    def action_pick(self, number: int) -> None:
        what, given, _words = CHOICES[number - 1]
        self.dismiss(ConsentPick(what, given))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConsentLine(Static):
    """What the customer said about consent in this call, in force now (hidden when
    nothing was said)."""

    def show(self, recording: bool | None, withdrawn: set[str] | frozenset[str]) -> None:
        """Draw what restricts the rest of the call (``withdrawn``: consents withdrawn in
        this call); hidden when nothing does (the line costs a row at 80x24)."""
        parts = []
        if recording is False or "recording" in withdrawn:
            parts.append("[b $error]Not recorded:[/] switch recording off")
        if "calls" in withdrawn:
            parts.append("[b $error]No more calls:[/] no callback")
        for what in ("marketing", "share"):
            if what in withdrawn:
                parts.append(f"[b $warning]{escape(WITHDRAWAL_WORDS[what].capitalize())}[/]")
        show_text(self, " · ".join(parts))
        self.display = bool(parts)
