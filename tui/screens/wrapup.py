"""Wrap-up: the outcome, the answers and the follow-ups the call creates; Enter saves."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from calls.outcomes import LABEL, Outcome
from tui import core
from tui.timeparse import format_local, zone_of
from tui.widgets.shift_bar import ShiftBar


class WrapUpScreen(Screen[str | None]):
    """Review before the outcome is written. Dismisses ``"done"`` after saving, else None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Save & next", tooltip="Save the outcome and take the next customer", id="wrapup-confirm"),
        Binding("escape", "back", "Back to the call", id="wrapup-back"),
        Binding("ctrl+f", "add_followup", "Follow-up", priority=True, tooltip="Add a follow-up by hand", id="wrapup-add-followup"),
    ]

    def __init__(self, context: core.CallContext, pending: core.PendingOutcome) -> None:
        super().__init__()
        self.context = context
        self.pending = pending
        self.zone = zone_of(context.customer.time_zones)
        self._saving = False

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        with VerticalScroll(id="wrapup"):
            yield Static(id="wrapup-title")
            yield Static(id="wrapup-body")
        yield Footer()

    def on_mount(self) -> None:
        self._draw()

    def _draw(self) -> None:
        ctx, pending = self.context, self.pending
        outcome = pending.outcome
        name = escape(ctx.customer.name or ctx.customer.ref)
        title = f"[b]Wrap-up:[/b] {name} — [b]{LABEL[outcome]}[/b]"
        lines: list[str] = []
        now = self.app.now()
        if outcome is Outcome.CALLBACK and pending.callback is not None:
            who = "personal (you)" if pending.callback.personal else "anyone"
            lines.append(
                f"Call back {format_local(pending.callback.at, self.zone, now)} their time"
                f" ({self.zone.key}), {who}."
            )
        if outcome is Outcome.DO_NOT_CALL:
            lines.append(f"{escape(ctx.national or ctx.customer.phone or '')} goes on the "
                         f"do-not-call list: {escape(pending.dnc_reason or '')}")
        if outcome is Outcome.WRONG_NUMBER:
            if pending.new_number:
                lines.append(f"Number corrected to {escape(pending.new_number)}.")
            else:
                lines.append("The number is marked wrong; the customer leaves the queue "
                             "until someone corrects it.")
        answers = core.answer_lines(self.context.session)
        lines.append("")
        if answers:
            lines.append("[b]Answers[/b]")
            for question, value in answers:
                lines.append(f"  {escape(question)}: [b]{escape(value)}[/b]")
        elif outcome in (Outcome.COMPLETED, Outcome.PARTIAL):
            lines.append("[dim]No answers recorded.[/dim]")
        specs = core.rule_followups(self.context.session, outcome, now)
        made = self.context.followups_made
        if specs or made:
            lines.append("")
            lines.append("[b]Follow-ups[/b]")
            for spec in specs:
                lines.append(f"  + {escape(core.describe_spec(spec))} [dim](from the script)[/dim]")
            for f in made:
                lines.append(f"  ✓ {escape(f.kind.replace('_', ' '))} [dim](added by you)[/dim]")
        notes = self.context.notes_now()
        if notes.strip():
            lines.append("")
            lines.append("[b]Notes[/b]")
            lines.append(escape(notes.strip()))
        lines.append("")
        lines.append("[b]Enter[/b]: save and take the next customer · [b]Esc[/b]: back to the call")
        self.query_one("#wrapup-title", Static).update(title)
        self.query_one("#wrapup-body", Static).update("\n".join(lines))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in ("confirm", "back") and self._saving)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        if self._saving:
            return
        self._saving = True
        self.refresh_bindings()
        app = self.app
        specs = core.rule_followups(self.context.session, self.pending.outcome, app.now())
        app.db(core.finish_call, self.context.handle, self.pending, specs, app.now(),
               self.context.notes_now(), core.final_answers(self.context.session),
               on_done=self._saved, on_error=self._failed)

    def _failed(self, exc: Exception) -> None:
        self._saving = False
        self.refresh_bindings()
        self.app.show_error(exc)

    def _saved(self, result: core.FinishResult) -> None:
        app = self.app
        app.stats.add(self.pending.outcome, nps=core.nps_value(self.context.session, self.pending.outcome),
                      followups=len(result.followups) + len(self.context.followups_made))
        for line in result.messages:
            app.notify(line, timeout=6)
        self.dismiss("done")

    def action_add_followup(self) -> None:
        from tui.screens.modals import FollowupScreen

        app = self.app

        def drafted(draft: Any) -> None:
            if draft is None:
                return
            app.db(core.add_hand_followup, self.context.handle, draft, app.caller, app.now(),
                   on_done=added)

        def added(followup: Any) -> None:
            self.context.followups_made.append(followup)
            self._draw()

        app.push_screen(
            FollowupScreen(app.caller, self.context.customer.owner, self.zone, app.now()), drafted
        )
