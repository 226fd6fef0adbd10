"""The call screen: the customer card, their history, the outcome keys, the script, notes.

Phases: ``ready`` (dialling; an outcome key or ``c`` when the customer answers),
``script`` (one question at a time), ``done`` (the closing line; Enter wraps up).
Every answer and note is written in the background the moment it is entered; the
outcome is written when the caller confirms it on the wrap-up screen.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TextArea

from calls.outcomes import LABEL, Outcome
from tui import core
from tui.keys import OrderedKeys
from tui.timeparse import zone_of
from tui.widgets.answers import (
    AnswerError,
    AnswerSubmitted,
    ChoiceModel,
    KeyAnswer,
    ScaleModel,
    TextAnswer,
)
from tui.widgets.card import CustomerCard, HistoryView
from tui.widgets.notes import NotesArea
from tui.widgets.shift_bar import ShiftBar

NOTES_DEBOUNCE = 0.6  # seconds of quiet typing before the notes are saved
CLAIM_RENEW_SECONDS = 60

# Outcome keys: one per outcome (completed is Enter once the script is done).
OUTCOME_KEYS: dict[Outcome, str] = {
    Outcome.NO_ANSWER: "n",
    Outcome.BUSY: "b",
    Outcome.VOICEMAIL: "v",
    Outcome.OTHER_CONTACT: "o",
    Outcome.WRONG_NUMBER: "w",
    Outcome.DISCONNECTED: "x",
    Outcome.CALLBACK: "k",
    Outcome.REFUSED: "r",
    Outcome.DO_NOT_CALL: "d",
    Outcome.PARTIAL: "p",
}
# Before the customer is on the line.
DIAL_OUTCOMES = (Outcome.NO_ANSWER, Outcome.BUSY, Outcome.VOICEMAIL, Outcome.OTHER_CONTACT,
                 Outcome.WRONG_NUMBER, Outcome.DISCONNECTED)
# Talking with the customer (before or during the script).
TALK_OUTCOMES = (Outcome.CALLBACK, Outcome.REFUSED, Outcome.DO_NOT_CALL)


class ScriptPanel(Vertical, can_focus=True):
    """The script: the current line to read (scrolls) and the answer widget under it."""


class CallScreen(OrderedKeys, Screen[str | None]):
    """One call, from dialling to the wrap-up. Dismisses with ``"done"`` or ``"skipped"``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "connect", "Connected", tooltip="The customer answered: start the script", id="call-connect"),
        *[
            Binding(key, f"outcome('{outcome.value}')", LABEL[outcome],
                    tooltip=f"Outcome: {LABEL[outcome]}", show=False,
                    id=f"call-{outcome.value.replace('_', '-')}")
            for outcome, key in OUTCOME_KEYS.items()
        ],
        Binding("enter", "first_question", "First question",
                tooltip="The customer agreed: go to the first question", id="call-first-question"),
        Binding("enter", "complete", "Wrap up", tooltip="Outcome: Completed (wrap up)", id="call-complete"),
        Binding("up,pageup", "previous", "Back", key_display="↑",
                tooltip="Back to the previous question", id="call-previous"),
        Binding("down,pagedown", "forward", "Fwd", key_display="↓", show=False,
                tooltip="Forward to the next unanswered question", id="call-forward"),
        Binding("ctrl+n", "notes", "Notes", priority=True, tooltip="Write notes (saved as you type)", id="call-notes"),
        Binding("ctrl+f", "add_followup", "Follow-up", priority=True,
                tooltip="Add a follow-up by hand", id="call-add-followup"),
        Binding("escape", "leave_field", "Script", show=False, id="call-leave-field"),
        Binding("s", "skip", "Skip", tooltip="Skip this customer (back to the queue)", id="call-skip"),
        Binding("e", "explain", "Explain", show=False, tooltip="Why this customer is called now", id="call-explain"),
    ]

    def __init__(self, context: core.CallContext) -> None:
        super().__init__()
        self.context = context
        self.session = context.session
        self.zone = zone_of(context.customer.time_zones)
        if not context.connected:
            self.phase = "ready"
        elif any(step.state != "open" for step in context.session.path()):
            self.phase = "script"
        else:
            self.phase = "opening"
        self._notes_timer: Timer | None = None
        self._notes_saved = context.notes
        self._notes_text = context.notes
        self._leaving = False

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ctx = self.context
        yield ShiftBar()
        with Horizontal(id="call-body"):
            with Vertical(id="call-left"):
                card = CustomerCard(id="card")
                title = ctx.customer.name or ctx.customer.ref
                if ctx.customer.company:
                    title += f" · {ctx.customer.company}"
                card.border_title = escape(title)
                yield card
                history = VerticalScroll(id="history-box")
                history.border_title = "History"
                history.can_focus = False
                with history:
                    yield HistoryView(id="history")
            with Vertical(id="call-right"):
                panel = ScriptPanel(id="script")
                script = self.session.script
                panel.border_title = escape(f"{script.title or script.name} v{script.version}")
                with panel:
                    with VerticalScroll(id="script-scroll", can_focus=False):
                        yield Static(id="script-text")
                    with Vertical(id="answer-box"):
                        yield KeyAnswer(id="key-answer")
                        yield TextAnswer(id="text-answer")
                    yield AnswerError(id="answer-error")
                notes = NotesArea(ctx.notes, id="notes", soft_wrap=True, tab_behavior="focus")
                notes.border_title = "Notes (ctrl+n)"
                yield notes
        yield Static(id="outcome-bar")
        yield Footer()

    def on_mount(self) -> None:
        keys = self.query_one("#key-answer", KeyAnswer)
        typed = self.query_one("#text-answer", TextAnswer)
        keys.answer_handler = typed.answer_handler = self.take_answer
        self.context.notes_now_fn = lambda: self._notes_text
        self.query_one("#answer-error", AnswerError).show(None)
        self._draw_history()
        self._draw_card()
        self._draw_script()
        self.set_interval(30, self._draw_card)
        # Keep the claim while the call lasts, so no other caller is handed this customer.
        self.set_interval(CLAIM_RENEW_SECONDS, self._renew_claim)
        if self.context.resumed:
            self.notify(f"Resumed the call with {self.context.customer.name}.")

    def _draw_history(self) -> None:
        ctx = self.context
        self.query_one("#history", HistoryView).show(ctx.history, ctx.followups,
                                                    ctx.customer.time_zones, self.app.now())

    def _renew_claim(self) -> None:
        if not self._leaving:
            self.app.db(core.keep_claim, self.context.handle, self.app.now(),
                        on_done=self._claim_renewed)

    def _claim_renewed(self, kept: bool) -> None:
        if not kept and not self._leaving:
            self.notify(f"Another caller now holds {self.context.customer.name}: "
                        "finish what you are doing and check before calling again.",
                        severity="warning", timeout=15)

    def _draw_card(self) -> None:
        ctx = self.context
        window = core.window_status(self.app.policy, ctx.customer, self.app.now())
        self.query_one("#card", CustomerCard).update(
            core.card(ctx, self.app.now(), window)
        )

    # -- the script ------------------------------------------------------------------

    def _draw_script(self) -> None:
        text = self.query_one("#script-text", Static)
        keys = self.query_one("#key-answer", KeyAnswer)
        typed = self.query_one("#text-answer", TextAnswer)
        keys.display = typed.display = False
        self.query_one("#answer-error", AnswerError).show(None)
        ctx = self.context
        session = self.session
        if self.phase == "ready":
            phone = ctx.national or ctx.customer.phone or "the customer"
            text.update(
                f"[b]Dial {escape(phone)}[/b]\n\n"
                "When the customer answers press [b]c[/b] and read the opening.\n"
                "Someone else answered: [b]o[/b]. No answer: [b]n[/b], busy [b]b[/b], "
                "voicemail [b]v[/b].\n\n"
                f"[dim]Opening:[/dim] {escape(session.opening_text())}"
            )
            self.set_focus(self.query_one("#script", ScriptPanel))
        elif self.phase == "opening":
            consent = session.consent_text()
            text.update(
                f"[b]Read:[/b] {escape(session.opening_text())}"
                + (f"\n\n[b yellow]Then:[/b yellow] {escape(consent)}" if consent else "")
                + "\n\n[b]Enter[/b]: first question"
            )
            self.set_focus(self.query_one("#script", ScriptPanel))
        else:
            question = session.current()
            if question is None:
                self.phase = "done"
                text.update(
                    "[b]All questions answered.[/b] Read the closing:\n\n"
                    f"{escape(session.closing_text())}\n\n"
                    "[b]Enter[/b]: wrap up the call (completed) · [b]↑[/b]: change an answer"
                )
                self.set_focus(self.query_one("#script", ScriptPanel))
            else:
                self.phase = "script"
                text.update(self._question_text(question))
                self.query_one("#script-scroll", VerticalScroll).scroll_home(animate=False)
                model = self._answer_model(question)
                if model is not None:
                    keys.configure(model)
                    keys.display = True
                    self.set_focus(keys)
                else:
                    typed.configure(question.type, self.session.value(question.key))
                    typed.display = True
                    self.set_focus(typed)
        self._draw_outcome_bar()
        self.refresh_bindings()

    def _question_text(self, question: Any) -> str:
        session = self.session
        steps = session.path()
        keys = [step.key for step in steps]
        number = keys.index(question.key) + 1 if question.key in keys else 0
        parts = []
        required = "" if question.required else " [dim](optional: Enter skips)[/dim]"
        parts.append(f"[dim]Q{number}/{len(keys)}[/dim]{required}")
        parts.append(f"[b]{escape(session.question_text(question.key))}[/b]")
        hint = session.hint_text(question.key)
        if hint:
            parts.append(f"[i dim]{escape(hint)}[/i dim]")
        return "\n".join(parts)

    def _answer_model(self, question: Any) -> ScaleModel | ChoiceModel | None:
        """The key pad for the question, or None when it is typed (text, number, date)."""
        value = self.session.value(question.key)
        kind = question.type
        if kind == "nps":
            return ScaleModel(0, 10, value, labels=("not at all", "extremely likely"))
        if kind == "rating":
            return ScaleModel(1, 5, value, labels=("very dissatisfied", "very satisfied"))
        if kind == "yes_no":
            return ChoiceModel([(True, "yes"), (False, "no")], value=value, yes_no=True)
        if kind in ("choice", "multi_choice"):
            return ChoiceModel([(o.value, o.label) for o in question.options],
                               multi=kind == "multi_choice", value=value)
        return None

    @on(AnswerSubmitted)
    def _answered(self, event: AnswerSubmitted) -> None:
        event.stop()
        self.take_answer(event.value)

    def take_answer(self, value: Any) -> None:
        """The caller answered the current question (None: skip it)."""
        session = self.session
        question = session.current()
        if question is None:
            return
        try:
            if value is None:
                change = session.skip(question.key)
            else:
                change = session.answer(question.key, value)
        except ValueError as exc:  # the engine's AnswerError: its reason, for the caller
            self.query_one("#answer-error", AnswerError).show(str(exc))
            return
        app = self.app
        app.db(core.save_answer, self.context.handle, change, app.now())
        self._draw_script()

    def action_previous(self) -> None:
        if self.session.back() is not None:
            self._draw_script()

    def action_forward(self) -> None:
        self.session.forward()
        self._draw_script()

    # -- outcomes --------------------------------------------------------------------

    def _allowed_outcomes(self) -> tuple[Outcome, ...]:
        if self.phase == "ready":
            return DIAL_OUTCOMES + TALK_OUTCOMES
        if self.phase == "opening":
            return TALK_OUTCOMES + (Outcome.OTHER_CONTACT,)
        return TALK_OUTCOMES + (Outcome.PARTIAL,)

    def _draw_outcome_bar(self) -> None:
        parts = []
        if self.phase == "ready":
            parts.append("[b]c[/b] Connected")
        for outcome in self._allowed_outcomes():
            parts.append(f"[b]{OUTCOME_KEYS[outcome]}[/b] {LABEL[outcome]}")
        if self.phase == "done":
            parts.append("[b]Enter[/b] Completed")
        typing = isinstance(self.focused, (Input, TextArea))
        lead = "Esc, then: " if typing and self.phase != "ready" else "Outcome: "
        self.query_one("#outcome-bar", Static).update(lead + "  ".join(parts))

    def on_descendant_focus(self) -> None:
        if self.is_mounted:
            self._draw_outcome_bar()
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = isinstance(self.focused, (Input, TextArea))
        if action == "outcome":
            if typing:
                return False
            outcome = Outcome(str(parameters[0]))
            return outcome in self._allowed_outcomes()
        if action == "connect":
            return self.phase == "ready" and not typing
        if action == "complete":
            return self.phase == "done" and not typing
        if action == "first_question":
            return self.phase == "opening" and not typing
        if action in ("previous", "forward"):
            if self.phase == "ready" or isinstance(self.focused, TextArea):
                return False
            current = self.session.current()
            if action == "forward":
                return current is not None and self.session.value(current.key) is not None
            return any(step.state != "open" for step in self.session.path())
        if action == "skip":
            return self.phase == "ready" and not self.context.handle.started and not typing
        if action == "leave_field":
            return typing
        if action == "explain":
            return self.phase == "ready" and not typing
        return True

    def action_connect(self) -> None:
        self.phase = "opening"
        app = self.app
        app.db(core.connect, self.context.handle, app.now())
        self._draw_script()

    def action_first_question(self) -> None:
        self.phase = "script"
        self._draw_script()

    def action_complete(self) -> None:
        self._wrap_up(Outcome.COMPLETED)

    def action_outcome(self, code: str) -> None:
        outcome = Outcome(code)
        customer = self.context.customer
        from tui.screens import modals

        if outcome is Outcome.CALLBACK:
            self.app.push_screen(
                modals.CallbackScreen(customer.name, self.zone, self.app.now()),
                lambda choice: choice and self._wrap_up(outcome, callback=choice),
            )
        elif outcome is Outcome.DO_NOT_CALL:
            self.app.push_screen(
                modals.DncConfirmScreen(customer.name, self.context.national or customer.phone or ""),
                lambda reason: reason and self._wrap_up(outcome, dnc_reason=reason),
            )
        elif outcome is Outcome.WRONG_NUMBER:
            self.app.push_screen(
                modals.WrongNumberScreen(customer.name, self.context.national or customer.phone or "",
                                         customer.phone_region),
                lambda result: result and self._wrap_up(outcome, new_number=result.new_number),
            )
        else:
            self._wrap_up(outcome)

    def _wrap_up(self, outcome: Outcome, **extra: Any) -> None:
        from tui.screens.wrapup import WrapUpScreen

        self._flush_notes()
        pending = core.PendingOutcome(outcome=outcome, **extra)
        # Written now, not at wrap-up: a terminal that dies on the wrap-up screen must not
        # lose the caller's choice (the resume prompt closes the call with it).
        self.app.db(core.choose_outcome, self.context.handle, pending)

        def finished(result: str | None) -> None:
            if result == "done":
                self._leaving = True
                self.dismiss("done")
            else:
                self._draw_script()

        self.app.push_screen(WrapUpScreen(self.context, pending), finished)

    def action_skip(self) -> None:
        app = self.app
        self._leaving = True
        app.db(core.skip, self.context.handle, app.now())
        self.dismiss("skipped")

    def action_explain(self) -> None:
        from tui.screens.modals import ExplainScreen

        app = self.app
        app.db(core.explain_customer, self.context.customer.id, app.caller, app.now(),
               app.policy, on_done=lambda r: app.push_screen(ExplainScreen(*r)))

    # -- notes and hand follow-ups ---------------------------------------------------

    def action_notes(self) -> None:
        notes = self.query_one("#notes", TextArea)
        if notes.has_focus:
            self.action_leave_field()
        else:
            notes.focus()

    def action_leave_field(self) -> None:
        """Leave a text field: back to the answer pad (or the script panel)."""
        self._flush_notes()
        keys = self.query_one("#key-answer", KeyAnswer)
        typed = self.query_one("#text-answer", TextAnswer)
        if self.focused is not keys and keys.display:
            self.set_focus(keys)
        elif self.focused is not typed and typed.display:
            self.set_focus(typed)
        else:
            self.set_focus(self.query_one("#script", ScriptPanel))

    @on(TextArea.Changed, "#notes")
    def _notes_changed(self, event: TextArea.Changed) -> None:
        self._notes_text = event.text_area.text
        if self._notes_timer is not None:
            self._notes_timer.stop()
        self._notes_timer = self.set_timer(NOTES_DEBOUNCE, self._flush_notes)

    def _flush_notes(self) -> None:
        if self._notes_timer is not None:
            self._notes_timer.stop()
            self._notes_timer = None
        text = self._notes_text
        if text != self._notes_saved:
            self._notes_saved = text
            app = self.app
            app.db(core.save_notes, self.context.handle, text, app.now())

    def action_add_followup(self) -> None:
        from tui.screens.modals import FollowupScreen

        self.app.push_screen(
            FollowupScreen(self.app.caller, self.context.customer.owner, self.zone, self.app.now()),
            self._followup_drafted,
        )

    def _followup_drafted(self, draft: Any) -> None:
        if draft is None:
            return
        app = self.app
        app.db(core.add_hand_followup, self.context.handle, draft, app.caller, app.now(),
               on_done=self._followup_added)

    def _followup_added(self, followup: Any) -> None:
        self.context.followups_made.append(followup)
        self.context.followups = [f for f in self.context.followups if f.id != followup.id] + [followup]
        self._draw_history()
        self.notify(f"Follow-up added: {followup.kind.replace('_', ' ')}")

    def on_unmount(self) -> None:
        # Leaving by any way (quit included) must not drop the last keystrokes of notes.
        with contextlib.suppress(RuntimeError):  # the database thread has already stopped
            self._flush_notes()
