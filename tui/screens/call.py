"""The call screen: the customer card, their history, the outcome keys, the script, notes.

Phases: ``ready`` (dialling; an outcome key or ``c`` when the customer answers),
``script`` (one question at a time), ``done`` (the closing line; Enter wraps up).
Every answer and note is written in the background the moment it is entered; the
outcome is written when the caller confirms it on the wrap-up screen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from calls.dial import DialSettings, dial, load_dial_settings
from calls.errors import UserError
from calls.models import kind_label
from calls.outcomes import LABEL, Outcome
from calls.session import CallSession
from calls.survey.types import question_type
from tui import core, memory
from tui.keys import OrderedKeys, shown_key
from tui.screens.kept import KeptStyles
from tui.stack import shows
from tui.timeparse import zone_of
from tui.typeahead import TypeAhead, key_kind
from tui.widgets.answers import (
    AnswerError,
    AnswerSubmitted,
    ChoiceModel,
    KeyAnswer,
    ScaleModel,
    TextAnswer,
)
from tui.widgets.card import CustomerCard, HistoryView
from tui.widgets.consent import ConsentLine, ConsentPick, ConsentScreen
from tui.widgets.key_bar import KeyBar
from tui.widgets.notes import NotesArea
from tui.widgets.shift_bar import ShiftBar
from tui.widgets.text import show_text

NOTES_DEBOUNCE = 0.6  # seconds of quiet typing before the notes are saved
CLAIM_RENEW_SECONDS = 60



def outcome_keys() -> dict[Outcome, str]:
    """Each outcome's key on this screen, from the outcome table (completed is Enter once
    the script is done)."""
    return {o: o.spec.key for o in Outcome if o.spec.key}


class ScriptPanel(Vertical, can_focus=True):
    """The script: the current line to read (scrolls) and the answer widget under it."""



@lru_cache(maxsize=64)
def _outcomes_with_keys(phase: str, calls_withdrawn: bool, table: tuple[Outcome, ...]
                        ) -> tuple[Outcome, ...]:
    """:meth:`CallScreen._allowed_outcomes`, worked out once per phase: the key bar asks
    for each outcome's key (check_action) whenever the bindings may have changed, and
    walking the table for each of them cost a third of it. ``table``: every outcome
    now (tests add and remove outcomes)."""
    return tuple(o for o in table if o.spec.key and phase in o.spec.phases
                 and not (o.spec.needs_callback and calls_withdrawn))


class CallScreen(OrderedKeys, KeptStyles, Screen[str | None]):
    """One call, from dialling to the wrap-up. Dismisses with ``"done"`` or ``"skipped"``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "connect", "Connected", tooltip="The customer answered: start the script", id="call-connect"),
        Binding("ctrl+d", "dial", "Dial", tooltip="Dial the number with your phone ([dial] in the config file)", id="call-dial"),
        *[
            Binding(key, f"outcome('{outcome.value}')", LABEL[outcome],
                    tooltip=f"Outcome: {LABEL[outcome]}", show=False,
                    id=f"call-{outcome.value.replace('_', '-')}")
            for outcome, key in outcome_keys().items()
        ],
        # The recording answer's keys before Notes and Follow-up: at 80 columns the key bar
        # leaves out its last keys, and these are the ones the caller needs then.
        Binding("y", "recording(True)", "Recording OK",
                tooltip="The customer agrees to the call being recorded", id="call-recording-yes"),
        Binding("n", "recording(False)", "No recording",
                tooltip="The customer does not want the call recorded", id="call-recording-no"),
        Binding("c", "consent", "Consent",
                tooltip="The customer gives or withdraws consent (no more calls, no marketing, "
                        "no recording): in force at once", id="call-consent"),
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

    def __init__(self, session: CallSession,
                 takes_next: Callable[[], bool] | None = None) -> None:
        super().__init__()
        # Whether a saved call goes straight on to the next customer on this same screen
        # (the queue says; None: back to whoever pushed the screen).
        self.takes_next = takes_next
        self._notes_timer: Timer | None = None
        # Which keys may act on what the screen shows (issue 15: never a question unseen);
        # a new session (the next customer loaded here) restarts it (_show_view).
        self.typeahead = TypeAhead()
        self._shown_session: CallSession | None = None
        self._titles: dict[str | None, str] = {}    # border titles set, by widget id
        self._saved_notice = ""     # the last call's "Saved ..." (see show_next)
        self._wrapup: Any = None    # the wrap-up screen, built at the first wrap-up
        self._take_session(session)

    def _take_session(self, session: CallSession) -> None:
        """Everything the screen holds about the call it shows, set in this one place:
        :meth:`load` puts the next customer on the same screen through here."""
        self.session = session
        self.customer = session.customer
        self.national = core.national_format(session.customer.phone)
        self.zone = zone_of(session.customer.time_zones)
        if not session.connected:
            self.phase = "ready"
        elif session.answer_lines():
            self.phase = "script"
        else:
            self.phase = "opening"
        if self._notes_timer is not None:
            self._notes_timer.stop()
        self._notes_timer = None
        self._notes_saved = session.notes
        self._notes_text = session.notes
        self._leaving = False

    def load(self, session: CallSession) -> None:
        """Show the call with the next customer on this screen (built once per shift): the
        card, history, script, notes and keys are all drawn again from ``session``."""
        self._take_session(session)
        self._draw_all()

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        session = self.session
        yield ShiftBar()
        with Horizontal(id="call-body"):
            with Vertical(id="call-left"):
                yield CustomerCard(id="card")
                history = VerticalScroll(id="history-box")
                history.border_title = "History"
                history.can_focus = False
                with history:
                    yield HistoryView(id="history")
            with Vertical(id="call-right"):
                with ScriptPanel(id="script"):
                    with VerticalScroll(id="script-scroll", can_focus=False):
                        yield Static(id="script-text")
                    with Vertical(id="answer-box"):
                        yield KeyAnswer(id="key-answer")
                        yield TextAnswer(id="text-answer")
                    yield AnswerError(id="answer-error")
                yield ConsentLine(id="consent-line")
                notes = NotesArea(session.notes, id="notes", soft_wrap=True,
                                  tab_behavior="focus")
                notes.border_title = "Notes (ctrl+n)"
                yield notes
        yield Static(id="outcome-bar")
        yield KeyBar()

    def on_mount(self) -> None:
        keys = self.query_one("#key-answer", KeyAnswer)
        typed = self.query_one("#text-answer", TextAnswer)
        keys.answer_handler = typed.answer_handler = self.take_answer
        self.set_interval(30, self._tick_card)
        self.dial_settings = DialSettings()
        try:
            self.dial_settings = load_dial_settings(getattr(self.app, "config", None))
        except UserError as exc:
            self.notify(f"Dialling by hand: {exc}", severity="warning", timeout=10)
        # Keep the claim while the call lasts, so no other caller is handed this customer.
        self.set_interval(CLAIM_RENEW_SECONDS, self._renew_claim)
        self._draw_all()

    def _draw_all(self) -> None:
        """Draw every part of the screen from the session (on mount, and for each next
        customer loaded into the screen)."""
        customer, script = self.customer, self.session.script
        title = customer.name or customer.ref
        if customer.company:
            title += f" · {customer.company}"
        self._set_title(self.query_one("#card", CustomerCard), escape(title))
        self._set_title(self.query_one("#script", ScriptPanel),
                        escape(f"{script.title or script.name} v{script.version}"))
        notes = self.query_one("#notes", NotesArea)
        if notes.text != self.session.notes:
            notes.load_text(self.session.notes)
        self.query_one("#history-box", VerticalScroll).scroll_home(animate=False)
        self.query_one("#script-scroll", VerticalScroll).scroll_home(animate=False)
        self._draw_history()
        self._draw_card()
        self._draw_consent()
        self._draw_script()
        memory.after_frame(self)     # the last customer's call is garbage now
        if self.session.resumed:
            self.notify(f"Resumed the call with {customer.name}.")

    def _set_title(self, widget: Widget, title: str) -> None:
        """A border title, set only when it changes (setting one repaints the widget)."""
        if self._titles.get(widget.id) != title:
            self._titles[widget.id] = title
            widget.border_title = title

    def _draw_history(self) -> None:
        session = self.session
        self.query_one("#history", HistoryView).show(core.history_lines(session),
                                                    list(session.followups),
                                                    self.customer.time_zones, self.app.now())

    def _renew_claim(self) -> None:
        if not self._leaving:
            self.app.db(self.session.keep_claim, self.app.now(),
                        on_done=self._claim_renewed)

    def _claim_renewed(self, kept: bool) -> None:
        if not kept and not self._leaving:
            self.notify(f"Another caller now holds {self.customer.name}: "
                        "finish what you are doing and check before calling again.",
                        severity="warning", timeout=15)

    def _tick_card(self) -> None:
        # The customer's time and window, while the screen shows (kept all shift, it is
        # off the stack between calls; the next customer is drawn afresh).
        if shows(self):
            self._draw_card()

    def _draw_card(self) -> None:
        window = core.window_status(self.app.policy, self.customer, self.app.now())
        show_text(self.query_one("#card", CustomerCard),
                  core.card(self.session, self.app.now(), window))

    # -- the script ------------------------------------------------------------------

    def _draw_script(self) -> None:
        text = self.query_one("#script-text", Static)
        keys = self.query_one("#key-answer", KeyAnswer)
        typed = self.query_one("#text-answer", TextAnswer)
        keys.display = typed.display = False
        self.query_one("#answer-error", AnswerError).show(None)
        session = self.session
        survey = session.survey
        if self.phase == "ready":
            phone = self.national or self.customer.phone or "the customer"
            show_text(text,
                f"[b]Dial {escape(phone)}[/b]\n\n"
                f"When the customer answers press [b]{self._key('call-connect', 'c')}[/b] "
                "and read the opening.\n"
                f"Someone else answered: [b]{self._outcome_key(Outcome.OTHER_CONTACT)}[/b]. "
                f"No answer: [b]{self._outcome_key(Outcome.NO_ANSWER)}[/b], "
                f"busy [b]{self._outcome_key(Outcome.BUSY)}[/b], "
                f"voicemail [b]{self._outcome_key(Outcome.VOICEMAIL)}[/b].\n\n"
                f"[dim]Opening:[/dim] {escape(survey.opening_text())}"
            )
            self.set_focus(self.query_one("#script", ScriptPanel))
        elif self.phase == "opening":
            show_text(text, f"[b]Read:[/b] {escape(survey.opening_text())}"
                      + self._recording_text() + self._opening_next())
            self.set_focus(self.query_one("#script", ScriptPanel))
        else:
            question = session.current()
            if question is None:
                self.phase = "done"
                show_text(
                    text,
                    "[b]All questions answered.[/b] Read the closing:\n\n"
                    f"{escape(survey.closing_text())}\n\n"
                    "[b]Enter[/b]: wrap up the call (completed) · [b]↑[/b]: change an answer"
                )
                self.set_focus(self.query_one("#script", ScriptPanel))
            else:
                self.phase = "script"
                show_text(text, self._question_text(question))
                self.query_one("#script-scroll", VerticalScroll).scroll_home(animate=False)
                model = self._answer_model(question)
                if model is not None:
                    keys.configure(model, key=question.key)
                    keys.display = True
                    self.set_focus(keys)
                else:
                    typed.configure(question.type, self.session.value(question.key),
                                    placeholder=question_type(question.type).placeholder,
                                    key=question.key)
                    typed.display = True
                    self.set_focus(typed)
        self._draw_outcome_bar()
        self.refresh_bindings()
        self._show_view()

    # -- keys typed ahead (tui/typeahead.py) ------------------------------------------

    def _show_view(self) -> None:
        """Tell the type-ahead guard what the caller sees now."""
        if self.session is not self._shown_session:      # another customer (or the first)
            self._shown_session = self.session
            self.typeahead.restart()
        current = self.session.current() if self.phase == "script" else None
        self.typeahead.show((self.phase, current.key if current is not None else None))

    def on_screen_resume(self) -> None:
        # Back from a dialog (or just shown): keys typed for the dialog are not for the call.
        self.typeahead.restart()
        if self._saved_notice:
            notice, self._saved_notice = self._saved_notice, ""
            self.call_after_refresh(self.notify, notice, timeout=5)

    def accepts_key(self, event: events.Key) -> bool:
        """Whether a key may act on the call now (:mod:`tui.typeahead`); a key that may not
        is named in a quiet hint under the answer."""
        focused = self.focused
        kind = key_kind(event.key, event.character,
                        in_field=isinstance(focused, (Input, TextArea))
                        and event.key not in ("up", "down", "pageup", "pagedown"),
                        submits=isinstance(focused, TextAnswer))
        reason = self.typeahead.check(event.time, kind)
        if reason is None:
            return True
        keys = self.typeahead.drop(event.key, event.character)
        self.query_one("#answer-error", AnswerError).show(
            f"Not used: {keys} ({reason}).", hint=True)
        return False

    def key_handled(self, event: events.Key) -> None:
        self.typeahead.done()

    def _recording_text(self) -> str:
        """The recording notice to read after the opening, and its answer keys."""
        notice = self.session.recording_notice
        if notice is None:
            return ""
        yes, no = self._key("call-recording-yes", "y"), self._key("call-recording-no", "n")
        text = f"\n\n[b yellow]Then:[/b yellow] {escape(notice)}"
        answer = self.session.recording
        if answer is None:
            text += f"\n[b]{yes}[/b] they agree · [b]{no}[/b] no recording"
            law = self.session.recording_law
            if law is not None:
                # On the keys' line, and the rule's id only (its source is in explain and
                # docs/lawful.md): a long German notice must leave it in sight at 80x24.
                text += (f" [dim]— needed before the first question (by law: "
                         f"{escape(law.id)})[/dim]")
        elif answer:
            text += f"\n[b]Recording: they agreed.[/b] ([b]{no}[/b]: they changed their mind)"
        else:
            text += "\n[b $error]No recording: switch the recording off now.[/]"
        return text

    def _opening_next(self) -> str:
        if self.session.recording_answer_needed:
            return ""   # the keys' line says the answer comes first; Enter waits for it
        return "\n\n[b]Enter[/b]: first question"

    def _draw_consent(self) -> None:
        session = self.session
        self.query_one("#consent-line", ConsentLine).show(session.recording, session.withdrawn)

    def _question_text(self, question: Any) -> str:
        survey = self.session.survey
        number, total = survey.question_number(question.key)
        parts = []
        required = "" if question.required else " [dim](optional: Enter skips)[/dim]"
        parts.append(f"[dim]Q{number}/{total}[/dim]{required}")
        parts.append(f"[b]{escape(survey.question_text(question.key))}[/b]")
        hint = survey.hint_text(question.key)
        if hint:
            parts.append(f"[i dim]{escape(hint)}[/i dim]")
        return "\n".join(parts)

    def _answer_model(self, question: Any) -> ScaleModel | ChoiceModel | None:
        """The key pad the question's type asks for (``calls.survey.types``), or None when
        the answer is typed into a field."""
        value = self.session.value(question.key)
        unit = question_type(question.type)
        if unit.pad == "scale" and unit.scale is not None:
            low, high = unit.scale
            return ScaleModel(low, high, value, labels=unit.scale_labels)
        if unit.pad in ("yes_no", "choice"):
            return ChoiceModel(unit.choices(question), value=value, yes_no=unit.pad == "yes_no",
                               multi=unit.kind == "options")
        return None

    @on(AnswerSubmitted)
    def _answered(self, event: AnswerSubmitted) -> None:
        event.stop()
        self.take_answer(event.value, event.key)

    def take_answer(self, value: Any, key: str | None = None) -> None:
        """The caller answered the current question (None: skip it); ``key``: the question
        the answer was typed for (an answer for another question is not taken)."""
        session = self.session
        question = session.current()
        if question is None or self.phase != "script":
            return
        if key is not None and key != question.key:
            self.query_one("#answer-error", AnswerError).show(
                "Not used: that answer was for another question.", hint=True)
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
        app.db(session.save, change, app.now())
        self._draw_script()

    def action_previous(self) -> None:
        if self.session.back() is not None:
            self._draw_script()

    def action_forward(self) -> None:
        self.session.forward()
        self._draw_script()

    # -- outcomes --------------------------------------------------------------------

    def _allowed_outcomes(self) -> tuple[Outcome, ...]:
        """The outcomes with a key in this phase, in the table's order (no callback for a
        customer who withdrew consent to calls in this call)."""
        return _outcomes_with_keys(self.phase, self.session.calls_withdrawn, tuple(Outcome))

    def _key(self, binding_id: str, default: str) -> str:
        """The key the caller presses for a binding (theirs, if the keymap changed it)."""
        return escape(shown_key(self.app, binding_id, default))

    def _outcome_key(self, outcome: Outcome) -> str:
        return self._key(f"call-{outcome.value.replace('_', '-')}", outcome.spec.key)

    def _draw_outcome_bar(self) -> None:
        parts = []
        if self.phase == "ready":
            parts.append(f"[b]{self._key('call-connect', 'c')}[/b] Connected")
        for outcome in self._allowed_outcomes():
            parts.append(f"[b]{self._outcome_key(outcome)}[/b] {LABEL[outcome]}")
        if self.phase == "done":
            parts.append("[b]Enter[/b] Completed")
        typing = isinstance(self.focused, (Input, TextArea))
        lead = "Esc, then: " if typing and self.phase != "ready" else "Outcome: "
        bar = self.query_one("#outcome-bar", Static)
        width = bar.content_size.width or self.app.size.width - 2
        if parts:
            parts[0] = lead + parts[0]
        show_text(bar, core.flow_markup(parts or [lead.rstrip()], width))

    def on_resize(self) -> None:
        self._draw_outcome_bar()

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
        if action == "dial":
            return (self.phase == "ready" and not typing and bool(self.customer.phone)
                    and getattr(self, "dial_settings", DialSettings()).enabled)
        if action == "complete":
            return self.phase == "done" and not typing
        if action == "first_question":
            return (self.phase == "opening" and not typing
                    and not self.session.recording_answer_needed)
        if action == "recording":
            return (self.phase == "opening" and not typing
                    and self.session.recording_notice is not None)
        if action == "consent":
            return self.phase != "ready" and not typing
        if action in ("previous", "forward"):
            if self.phase == "ready" or isinstance(self.focused, TextArea):
                return False
            current = self.session.current()
            if action == "forward":
                return current is not None and self.session.value(current.key) is not None
            return bool(self.session.answer_lines())
        if action == "skip":
            return self.phase == "ready" and self.session.call_id is None and not typing
        if action == "leave_field":
            return typing
        if action == "explain":
            return self.phase == "ready" and not typing
        return True

    def action_dial(self) -> None:
        """Run the dial command for the customer's number (E.164), off the UI thread."""
        number = self.session.number
        national = core.national_format(number)
        settings = self.dial_settings
        if not number:
            return
        app = self.app
        app.db(self.session.start)            # the call (and its dialling time) starts now

        def run() -> None:
            try:
                dial(settings, number, national)
            except UserError as exc:
                app.notify(str(exc), severity="warning", timeout=10)
                return
            app.notify(f"Dialling {national or number}… c when they answer.", timeout=4)

        self.run_worker(run, thread=True, exit_on_error=False, group="dial")

    def action_connect(self) -> None:
        self.phase = "opening"
        app = self.app
        app.db(self.session.connect, app.now())
        self._draw_script()

    def action_recording(self, ok: bool) -> None:
        """The customer answered the recording notice: kept at once, stored on the call."""
        session = self.session
        session.answer_recording(ok)
        app = self.app
        app.db(session.record_recording, ok, app.now(), on_done=lambda _r: self._draw_consent())
        self._draw_consent()
        self._draw_script()

    def action_consent(self) -> None:
        """The customer gives or withdraws a consent: pick which, in force at once."""
        self.app.push_screen(ConsentScreen(self.customer.name or self.customer.ref),
                             self._consent_picked)

    def _consent_picked(self, pick: ConsentPick | None) -> None:
        if pick is None:
            return
        app = self.app
        if pick.what == "recording":
            self.session.answer_recording(pick.given)
        app.db(self.session.record_consent, pick.what, pick.given, app.now(),
               proof="said during the call", on_done=self._consent_taken)

    def _consent_taken(self, taken: Any) -> None:
        from calls.consent import WITHDRAWAL_WORDS

        self._draw_consent()
        self._draw_history()
        self._draw_script()
        if taken.given:
            message = f"Consent to {taken.what} recorded."
        else:
            message = f"{WITHDRAWAL_WORDS[taken.what].capitalize()}: recorded, in force now."
        if taken.dropped:
            message += f" {len(taken.dropped)} marketing answer(s) taken off the script."
        if taken.cancelled:
            message += " Cancelled: " + ", ".join(
                f"{kind_label(kind)} #{fid}" for fid, kind in taken.cancelled) + "."
        self.notify(message, timeout=8)

    def action_first_question(self) -> None:
        self.phase = "script"
        self._draw_script()

    def action_complete(self) -> None:
        self._wrap_up(Outcome.COMPLETED)

    def action_outcome(self, code: str) -> None:
        outcome = Outcome(code)
        following = self.session.next_number()
        if outcome in (Outcome.NO_ANSWER, Outcome.WRONG_NUMBER) and following is not None:
            from tui.screens.modals import ConfirmScreen

            what = "No answer" if outcome is Outcome.NO_ANSWER else "Wrong number"
            national = core.national_format(following.e164) or following.e164

            def chosen(try_it: bool | None) -> None:
                if try_it:
                    self.app.db(self.session.try_next_number, self.app.now(),
                                wrong=outcome is Outcome.WRONG_NUMBER,
                                on_done=self._switched_number)
                else:
                    self._record_outcome(outcome)

            self.app.push_screen(ConfirmScreen(
                f"{what} on {core.national_format(self.session.number)}. "
                f"Try their {following.label} number, {national}, before ending "
                "this attempt?"), chosen)
            return
        self._record_outcome(outcome)

    def _switched_number(self, number) -> None:
        self.customer = self.session.customer
        self.national = core.national_format(number.e164)
        self._draw_card()
        self.refresh_bindings()
        self.notify(f"Now dial {self.national or number.e164}.", timeout=4)

    def _record_outcome(self, outcome: Outcome) -> None:
        customer = self.customer
        from tui.screens import modals

        if outcome.spec.needs_callback:
            self.app.push_screen(
                modals.CallbackScreen(customer.name, self.zone, self.app.now()),
                lambda choice: choice and self._wrap_up(outcome, callback_at=choice.at,
                                                        callback_personal=choice.personal),
            )
        elif outcome.spec.dnc:
            self.app.push_screen(
                modals.DncConfirmScreen(customer.name, self.national or customer.phone or ""),
                lambda reason: reason and self._wrap_up(outcome, dnc_reason=reason),
            )
        elif outcome is Outcome.WRONG_NUMBER:
            self.app.push_screen(
                modals.WrongNumberScreen(customer.name, self.national or customer.phone or "",
                                         customer.phone_region),
                lambda result: result and self._wrap_up(outcome, new_number=result.new_number),
            )
        else:
            self._wrap_up(outcome)

    def _wrap_up(self, outcome: Outcome, **extra: Any) -> None:
        from tui.screens.wrapup import WrapUpScreen

        self._flush_notes()
        try:
            chosen = self.session.choose(outcome, **extra)
        except UserError as exc:
            self.app.show_error(exc)
            return
        # Written now, not at wrap-up: a terminal that dies on the wrap-up screen must not
        # lose the caller's choice (the resume prompt closes the call with it).
        self.app.db(self.session.keep_outcome, chosen, self.app.now())

        def finished(result: str | None) -> None:
            if result == "done":           # saved; back to the queue
                self._leaving = True
                self.dismiss("done")
            elif result != "next":         # back to the call ("next": already loaded here)
                self._draw_script()

        screen = self._wrapup
        if screen is not None:
            screen.load(self.session, chosen, self._notes_now, following=self)
        else:
            screen = WrapUpScreen(self.session, chosen, self._notes_now, following=self)
            if self.takes_next is not None:
                # The shift's call screen (kept, see the queue) keeps its wrap-up too:
                # built once, loaded with each call. Another call screen (a call from the
                # follow-ups) leaves its wrap-up to Textual, which removes it once popped.
                self._wrapup = screen
                self.app.install_screen(screen, f"wrapup-{id(self)}")
        self.app.push_screen(screen, finished)

    def _notes_now(self) -> str:
        """The notes as typed right now (the wrap-up shows them)."""
        return self._notes_text

    # -- the next customer (tui.screens.wrapup.Following) ----------------------------

    def wants_next(self) -> bool:
        """Whether saving this call takes the next customer onto this screen."""
        return self.takes_next is not None and self.takes_next()

    def show_next(self, session: CallSession, saved: str = "") -> None:
        """The next customer, taken as the last call was saved; ``saved``: that call's
        notice, said once this screen has drawn the next customer (not in the time the
        caller waits for them)."""
        self.load(session)
        self._saved_notice = saved

    def action_skip(self) -> None:
        app = self.app
        self._leaving = True
        app.db(self.session.give_back, app.now())
        self.dismiss("skipped")

    def action_explain(self) -> None:
        from tui.screens.modals import ExplainScreen

        app = self.app
        app.db(core.explain_customer, self.customer.id, app.caller, app.now(),
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
            app.db(self.session.save_notes, text, app.now())

    def action_add_followup(self) -> None:
        from tui.screens.modals import FollowupScreen

        self.app.push_screen(
            FollowupScreen(self.app.caller, self.customer.owner, self.zone, self.app.now()),
            self._followup_drafted,
        )

    def _followup_drafted(self, draft: Any) -> None:
        if draft is None:
            return
        app = self.app
        app.db(self.session.add_followup, draft.kind, app.now(), owner=draft.owner,
               due_at=draft.due_at, note=draft.note, on_done=self._followup_added)

    def _followup_added(self, followup: Any) -> None:
        self._draw_history()
        self.notify(f"Follow-up added: {kind_label(followup.kind)}")

    def on_screen_suspend(self) -> None:
        # Covered (a dialog, the wrap-up) or left for the queue: the notes typed so far are
        # saved now (the screen is kept for the next customer, not unmounted).
        with contextlib.suppress(RuntimeError):
            self._flush_notes()

    def on_unmount(self) -> None:
        # Leaving by any way (quit included) must not drop the last keystrokes of notes.
        with contextlib.suppress(RuntimeError):  # the database has already closed
            self._flush_notes()
        wrapup, self._wrapup = self._wrapup, None
        if wrapup is not None and wrapup not in self.app.screen_stack:
            self.app.uninstall_screen(wrapup)
            wrapup.remove()
