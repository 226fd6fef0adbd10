"""Wrap-up: the outcome, the answers and the follow-ups the call creates; Enter saves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar, Protocol

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from calls.models import kind_label
from calls.outcomes import LABEL, Outcome
from calls.queue import QueueAhead
from calls.session import CallSession, ChosenOutcome, SavedAndNext, WrapUpPlan, WrapUpResult
from tui import core
from tui.screens.kept import KeptStyles
from tui.stack import shows
from tui.timeparse import format_local, zone_of
from tui.widgets.key_bar import KeyBar
from tui.widgets.shift_bar import ShiftBar
from tui.widgets.text import show_text


class Following(Protocol):
    """The screen under the wrap-up that can take the next customer at once (the call
    screen): asked as the caller saves, handed the next customer once it is taken."""

    def wants_next(self) -> bool: ...

    def show_next(self, session: CallSession, saved: str) -> None:
        """Show ``session``; ``saved``: the notice of the call just saved, to be said
        once the next customer is drawn."""
        ...


class WrapUpScreen(KeptStyles, Screen[str | None]):
    """Review before the outcome is written. Dismisses ``"done"`` after saving, ``"next"``
    once the next customer is on the call screen under it, None to go back to the call.

    The call screen keeps one for the shift and loads each call into it (:meth:`load`):
    every per-call attribute is set in :meth:`_take_call`, everything shown is drawn by
    :meth:`_draw`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Save & next", tooltip="Save the outcome and take the next customer", id="wrapup-confirm"),
        # With a supervisor's pause waiting, the same Enter saves and the pause starts.
        Binding("enter", "confirm_pause", "Save & pause", tooltip="Save the outcome; then the pause your supervisor asked for starts", id="wrapup-confirm"),
        # "Back to call": at 80 columns "Back to the call" pushed "t Themes" off the bar
        Binding("escape", "back", "Back to call", id="wrapup-back"),
        Binding("ctrl+f", "add_followup", "Follow-up", priority=True, tooltip="Add a follow-up by hand", id="wrapup-add-followup"),
        Binding("t", "themes", "Themes", tooltip="Confirm or change the themes of what the customer said", id="wrapup-themes"),
    ]

    def __init__(self, session: CallSession, chosen: ChosenOutcome,
                 notes_now: Callable[[], str], following: Following | None = None) -> None:
        super().__init__()
        self._take_call(session, chosen, notes_now, following)

    def _take_call(self, session: CallSession, chosen: ChosenOutcome,
                   notes_now: Callable[[], str], following: Following | None) -> None:
        """Everything the screen holds about the call it wraps up, set in this one place."""
        self.session = session
        self.chosen = chosen
        self.notes_now = notes_now          # the notes as typed right now (the call screen's)
        self.following = following
        # The next customer as the queue had them while this screen was up (read ahead:
        # Enter then only checks them again and claims them; calls.queue.QueueAhead).
        self._ahead: QueueAhead | None = None
        self.zone = zone_of(session.customer.time_zones)
        self._saving = False
        # Themes the caller confirmed per open answer (t); None: the suggestions stand.
        self.confirmed_themes: dict[str, tuple[str, ...]] | None = None

    def compose(self) -> ComposeResult:
        yield ShiftBar()
        with VerticalScroll(id="wrapup"):
            yield Static(id="wrapup-title")
            yield Static(id="wrapup-body")
        yield KeyBar()

    def load(self, session: CallSession, chosen: ChosenOutcome,
             notes_now: Callable[[], str], following: Following | None = None) -> None:
        """Wrap up another call on this screen (kept by the call screen for the shift)."""
        self._take_call(session, chosen, notes_now, following)
        self.query_one("#wrapup", VerticalScroll).scroll_home(animate=False)
        self._draw()
        self.refresh_bindings()

    def on_mount(self) -> None:
        self._draw()

    def on_screen_resume(self) -> None:
        # Shown (or back from a dialog): look up the next customer while the caller reads,
        # once this screen is drawn (not in the time the caller waits for it).
        if self.following is not None and not self._saving:
            self.call_after_refresh(self._read_next)

    def _read_next(self) -> None:
        if self._saving or self.following is None or not self.following.wants_next():
            return
        self.app.db(self.session.read_next, self.app.now(), quiet=True,
                    on_done=self._next_read)

    def _next_read(self, ahead: QueueAhead) -> None:
        # Read for this call (not one wrapped up here before), and not too late for it.
        if ahead.leaving == self.session.customer.id and not self._saving:
            self._ahead = ahead

    def _plan(self) -> WrapUpPlan:
        plan = self.session.plan_wrap_up(self.app.now(), self.notes_now(), self.chosen)
        return replace(plan, themes=self.confirmed_themes)

    @staticmethod
    def _questions(plan: WrapUpPlan) -> dict[str, str]:
        """Each answered question's words (callers read words, never question keys)."""
        return {a.key: a.text for a in plan.answers if a.text}

    def _theme_items(self, plan: WrapUpPlan) -> list:
        from calls.themes import wrap_up_items

        return wrap_up_items(plan.answers, self.app.policy)

    def _draw(self) -> None:
        session, chosen = self.session, self.chosen
        customer = session.customer
        outcome = chosen.outcome
        plan = self._plan()
        name = escape(customer.name or customer.ref)
        title = f"[b]Wrap-up:[/b] {name} — [b]{LABEL[outcome]}[/b]"
        lines: list[str] = []
        now = self.app.now()
        if outcome.spec.needs_callback and chosen.callback_at is not None:
            who = "personal (you)" if chosen.callback_personal else "anyone"
            lines.append(
                f"Call back {format_local(chosen.callback_at, self.zone, now)} their time"
                f" ({self.zone.key}), {who}."
            )
        number = core.national_format(customer.phone) or customer.phone or ""
        if outcome.spec.dnc:
            lines.append(f"{escape(number)} goes on the "
                         f"do-not-call list: {escape(chosen.dnc_reason or '')}")
        if outcome is Outcome.WRONG_NUMBER:
            if chosen.new_number:
                lines.append(f"Number corrected to {escape(chosen.new_number)}.")
            else:
                lines.append("The number is marked wrong; the customer leaves the queue "
                             "until someone corrects it.")
        lines.append("")
        if plan.answers:
            lines.append("[b]Answers[/b]")
            for answer in plan.answers:
                lines.append(f"  {escape(core.short_question(answer.text or answer.key))}: "
                             f"[b]{escape(answer.display)}[/b]")
        elif outcome in (Outcome.COMPLETED, Outcome.PARTIAL):
            lines.append("[dim]No answers recorded.[/dim]")
        items = self._theme_items(plan)
        if items:
            lines.append("")
            lines.append("[b]Themes[/b] [dim](t: confirm or change)[/dim]")
            asked = self._questions(plan)
            labels = {t.key: t.label for t in self.app.policy.themes.vocabulary}
            for item in items:
                confirmed = (self.confirmed_themes or {}).get(item.answer_key)
                themes = ", ".join(labels.get(t, t) for t in
                                   (confirmed if confirmed is not None else item.suggested))
                how = "confirmed" if confirmed is not None else "suggested"
                question = core.short_question(asked.get(item.answer_key, "What they said"))
                lines.append(f"  {escape(question)}: [b]{escape(themes or 'none')}"
                             f"[/b] [dim]({how})[/dim]")
        made = session.hand_followups
        if plan.rule_followups or made:
            lines.append("")
            lines.append("[b]Follow-ups[/b]")
            for spec in plan.rule_followups:
                lines.append(f"  + {escape(core.describe_spec(spec))} [dim](from the script)[/dim]")
            for f in made:
                lines.append(f"  ✓ {escape(kind_label(f.kind))} [dim](added by you)[/dim]")
        if plan.notes.strip():
            lines.append("")
            lines.append("[b]Notes[/b]")
            lines.append(escape(plan.notes.strip()))
        lines.append("")
        pause = self._pause_waiting()
        then = (f"save, then your pause ({escape(pause)}) starts" if pause
                else "save and take the next customer")
        lines.append(f"[b]Enter[/b]: {then} · [b]Esc[/b]: back to the call")
        show_text(self.query_one("#wrapup-title", Static), title)
        show_text(self.query_one("#wrapup-body", Static), "\n".join(lines))

    def _pause_waiting(self) -> str | None:
        """The reason of the pause a supervisor asked for, to start after this call."""
        state = getattr(self.app, "seat_state", None)
        return state.pause_after if state is not None else None

    def pause_changed(self) -> None:
        """A supervisor asked for a pause (or took it back) while this screen shows."""
        self._draw()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "themes":
            return not self._saving and bool(self._theme_items(self._plan()))
        if action in ("confirm", "confirm_pause"):
            return not self._saving and (action == "confirm_pause") == bool(
                self._pause_waiting())
        return not (action == "back" and self._saving)

    def action_themes(self) -> None:
        """Confirm or change the themes suggested for the open answers (issue 17)."""
        from tui.widgets.themes import ThemeItem, ThemesScreen

        confirmed = self.confirmed_themes or {}
        plan = self._plan()
        asked = self._questions(plan)
        items = [ThemeItem(i.answer_key, asked.get(i.answer_key, "What they said"), i.text,
                           tuple(i.suggested), confirmed.get(i.answer_key))
                 for i in self._theme_items(plan)]
        if not items:
            return
        vocabulary = [(t.key, t.label) for t in self.app.policy.themes.vocabulary]

        def chosen(choice) -> None:
            if choice is None:
                return
            self.confirmed_themes = {k: tuple(v) for k, v in choice.themes.items()}
            self._draw()

        self.app.push_screen(ThemesScreen(items, vocabulary, title="What did the customer "
                                          "talk about?"), chosen)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_confirm_pause(self) -> None:
        self.action_confirm()

    def action_confirm(self) -> None:
        """Save; with the call screen under it wanting the next customer, take them in the
        same step of the database (right after the wrap-up, only if it was written)."""
        if self._saving:
            return
        self._saving = True
        app = self.app
        if self.following is not None and self.following.wants_next():
            app.db(self.session.wrap_up_and_take_next, app.now(), self._plan(),
                   script=app.script_name, ahead=self._ahead,
                   on_done=self._saved_and_next, on_error=self._failed)
        else:
            app.db(self.session.wrap_up, app.now(), self._plan(),
                   on_done=self._saved, on_error=self._failed)
        # The key bar is redrawn only if saving takes a while: check_action refuses a second
        # Enter at once, and a frame drawn now would take from the next customer's time.
        self.set_timer(0.25, self._show_saving)

    def _show_saving(self) -> None:
        if self._saving and shows(self):
            self.refresh_bindings()

    def _failed(self, exc: Exception) -> None:
        # The call stays on this screen as it was (nothing of the wrap-up was written):
        # the app's notice says why, Enter tries again, Esc goes back to the call.
        self._saving = False
        self.refresh_bindings()

    def _count(self, result: WrapUpResult, seat: Any = None) -> None:
        """The shift's figures after the saved call, and the seat's state: ``seat`` (the
        next customer's dialling), else the one the wrap-up left."""
        app = self.app
        app.stats.add(self.chosen.outcome, nps=result.nps,
                      followups=len(result.followups) + len(self.session.hand_followups))
        seat = seat or result.seat
        if seat is not None:
            # Ready, or the pause a supervisor asked for during the call: known before
            # the queue offers the next customer (a paused seat is refused the next one).
            app.seat_state_changed(seat)

    def _saved(self, result: WrapUpResult) -> None:
        self._count(result)
        self.app.notify(core.wrap_up_message(result), timeout=5)
        self.dismiss("done")

    def _saved_and_next(self, step: SavedAndNext) -> None:
        saved = core.wrap_up_message(step.saved)
        session = step.next
        if session is None:
            self._count(step.saved)
            paused = step.saved.seat is not None and step.saved.seat.base_state == "paused"
            if step.refused is not None:
                self.notify(saved, timeout=5)
                self.app.show_error(step.refused)     # saved; the next could not be taken
            elif paused:
                self.notify(saved, timeout=5)         # the paused screen follows
            else:
                # One notice (of two asked for at once the app shows the last only).
                self.notify(f"{saved}\nNobody left to call right now.", severity="warning")
            self.dismiss("done")
            return
        # The next customer goes onto the call screen underneath while this one still
        # covers it; no frame shows the last customer again. The saved call's notice is
        # said by the call screen once the next customer is drawn (said now, it would be
        # built on this screen, which goes, and again on the call screen).
        with self.app.batch_update():
            self.following.show_next(session, saved)
            self.dismiss("next")
            self._count(step.saved, session.seat)

    def action_add_followup(self) -> None:
        from tui.screens.modals import FollowupScreen

        app = self.app

        def drafted(draft: Any) -> None:
            if draft is None:
                return
            app.db(self.session.add_followup, draft.kind, app.now(), owner=draft.owner,
                   due_at=draft.due_at, note=draft.note, on_done=added)

        def added(_followup: Any) -> None:
            self._draw()

        app.push_screen(
            FollowupScreen(app.caller, self.session.customer.owner, self.zone, app.now()), drafted
        )
