"""The shift summary, shown when the caller ends the shift."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from calls.outcomes import LABEL
from calls.reports import nps_text
from tui.widgets.shift_bar import format_duration


class ShiftSummaryScreen(ModalScreen[None]):
    """Calls, contacts, completes, outcomes and NPS of this shift; q ends it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,enter,ctrl+q", "quit_shift", "End shift", priority=True, id="summary-quit-shift"),
        Binding("escape", "back", "Back to work", id="summary-back"),
    ]

    def compose(self) -> ComposeResult:
        app = self.app
        stats = app.stats
        now = app.now()
        lines = [
            f"Caller           {escape(app.caller)}",
            f"On shift         {format_duration((now - stats.started).total_seconds())}",
            f"Calls            {stats.calls}",
            f"Contacts         {stats.contacts}",
            f"Completes        {stats.completes}",
            f"NPS this shift   {nps_text(stats.nps_score)}"
            + (f"  ({len(stats.nps)} answer{'s' * (len(stats.nps) != 1)})" if stats.nps else ""),
            f"Follow-ups made  {stats.followups}",
        ]
        open_calls = [s.session for s in app.screen_stack
                      if type(s).__name__ == "CallScreen" and s.session.call_id is not None]
        for session in open_calls:
            lines.append("")
            lines.append(f"[yellow]The call with {escape(session.customer.name)} is not "
                         "finished: it is offered to resume when you start again.[/yellow]")
        if stats.outcomes:
            lines.append("")
            lines.append("Outcomes")
            for outcome, count in stats.outcomes.most_common():
                lines.append(f"  {LABEL[outcome]:<18} {count}")
        with Vertical(classes="dialog"):
            yield Label("[b]Shift summary[/b]", classes="title")
            yield Static("\n".join(lines), id="summary")
            yield Static("q / Enter: end the shift · Esc: back to work", classes="hint")

    def action_quit_shift(self) -> None:
        app = self.app
        from calls.session import release_untouched
        from tui.screens.call import CallScreen

        # A customer taken but not yet called goes back to the queue for the others; a
        # call in progress keeps its claim (the caller is offered to resume it).
        sessions = [s.session for s in app.screen_stack if isinstance(s, CallScreen)]
        app.db(release_untouched, sessions, on_done=lambda _r: app.exit(app.stats),
               on_error=lambda _e: app.exit(app.stats))

    def action_back(self) -> None:
        self.dismiss(None)
