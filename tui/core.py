"""The calls the screens make into the core, each run on the database thread.

Every function here takes the app's ``Store`` first (``app.db`` passes it) and only
composes the public core API (``calls.queue``, ``calls.calling``, ``calls.survey``,
``calls.followups``): no SQL, no queue or survey logic of its own. The dataclasses are
what the screens hold.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calls.clock import from_iso
from calls.models import Customer
from calls.outcomes import LABEL, Outcome
from calls.store import Store
from calls.store.customers import get_customer
from calls.survey import SurveySession, load_script
from tui.timeparse import format_local, zone_of

# Which shipped script a queue reason calls for, when the shift has no --script.
SCRIPT_FOR_REASON = {
    "recovery": "recovery",
    "thank_you": "thank_you",
    "purchase": "thank_you",
    "occasion": "occasion",
    "birthday": "occasion",
    "anniversary": "occasion",
}
DEFAULT_SCRIPT = "quarterly"


# -- the queue --------------------------------------------------------------------------


@dataclass
class QueueView:
    """The first page of the caller's queue and, when it is short, when more open up."""

    entries: list[Any]
    waiting_line: str | None = None


def entry_reasons(entry: Any) -> list[str]:
    """A queue entry's reasons in words."""
    return [str(r) for r in entry.reasons]


def entry_search_text(entry: Any) -> str:
    """Lower-case text the queue filter matches against."""
    c = entry.customer
    return " ".join(
        str(x) for x in (c.name, c.company or "", c.ref, c.tier or "", *entry_reasons(entry))
    ).lower()


def load_queue(store: Store, caller: str, now: datetime, policy: Any, limit: int) -> QueueView:
    """The first ``limit`` rows of the caller's queue; when it is empty, when it fills again."""
    from calls.policy import format_duration
    from calls.queue import build_queue, next_opening

    entries = build_queue(store, caller, now, policy, limit=limit)
    waiting = None
    if not entries:
        opening = next_opening(store, caller, now, policy)
        if opening is None:
            waiting = "nobody is due in the next 7 days"
        else:
            local = opening.astimezone()
            waiting = (f"the next customers can be called from {local:%a %H:%M} your time "
                       f"(in {format_duration(opening - now)})")
    return QueueView(entries=entries, waiting_line=waiting)


def explain_customer(store: Store, customer_id: int, caller: str, now: datetime,
                     policy: Any) -> tuple[str, list[str]]:
    """Why a customer is (not) callable now: a title and the lines of the explanation."""
    from calls.queue import explain

    result = explain(store, customer_id, caller, now, policy)
    c = result.customer
    title = f"{c.name or c.ref} — {'callable now' if result.callable else 'not callable now'}"
    window = "open" if result.window_open else "closed"
    lines = [f"their time: {result.local_time:%a %H:%M} ({result.time_zone}), window {window}"]
    lines += [line for line in result.lines if line != "callable now"]
    return title, lines


# -- a call -----------------------------------------------------------------------------


@dataclass
class CallHandle:
    """One call as the database thread knows it; the call row is made on the first write.

    Taking a customer only claims them: a caller who skips before dialling leaves no call
    record. The first thing written (connected, an answer, a note, an outcome) starts the
    call with ``started_at`` = the moment the customer was taken.
    """

    customer_id: int
    caller: str
    taken_at: datetime
    reason: str | None
    script: Any
    policy: Any
    call_id: int | None = None
    connected: bool = False

    @property
    def started(self) -> bool:
        return self.call_id is not None


@dataclass
class CallContext:
    """Everything the call screen shows and edits for one call."""

    handle: CallHandle
    customer: Customer
    reasons: list[str]
    session: SurveySession
    national: str | None
    history: list[str]
    followups: list[Any]
    notes: str = ""
    resumed: bool = False
    connected: bool = False
    followups_made: list[Any] = field(default_factory=list)
    notes_now_fn: Any = None

    def notes_now(self) -> str:
        """The notes as typed right now (the call screen keeps them)."""
        return self.notes_now_fn() if self.notes_now_fn else self.notes


@dataclass
class PendingOutcome:
    """The outcome the caller chose, with what it carries; written on wrap-up."""

    outcome: Outcome
    callback: Any = None          # modals.CallbackChoice
    dnc_reason: str | None = None
    new_number: str | None = None


@dataclass
class FinishResult:
    """What saving the outcome did: follow-ups made and lines to tell the caller."""

    followups: list[Any]
    messages: list[str]


def national_format(e164: str | None) -> str | None:
    """The number as the customer's country writes it (display only)."""
    if not e164:
        return None
    import phonenumbers

    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:  # a stored number phonenumbers cannot read
        return None


def pick_script(script_name: str | None, reason_codes: list[str]):
    """The script for a call: the shift's ``--script``, else the one the reason calls for."""
    if script_name:
        return load_script(script_name)
    for code in reason_codes:
        name = SCRIPT_FOR_REASON.get(code)
        if name:
            return load_script(name)
    return load_script(DEFAULT_SCRIPT)


def _session_context(store: Store, customer: Customer, now: datetime, policy: Any) -> dict:
    """Fill-ins beyond the customer: what was fixed (recovery) and the occasion (birthday,
    anniversary) the occasion script speaks of."""
    from calls.followups import recovery_context
    from calls.survey import occasion_context

    days_ahead = getattr(getattr(policy, "occasions", None), "days_ahead", 14)
    context: dict = dict(occasion_context(customer, now, days_ahead=days_ahead))
    fix = recovery_context(store, customer.id)
    if fix:
        context["fix"] = fix
    return context


def _history_lines(store: Store, customer_id: int, exclude: int | None = None) -> list[str]:
    from calls.calling import call_history

    return [describe_history_item(item) for item in call_history(store, customer_id)
            if item.id != exclude]


def describe_history_item(item: Any) -> str:
    """One previous call in a line: date, caller, outcome, scores, notes."""
    started = item.started_at if isinstance(item.started_at, datetime) else from_iso(item.started_at)
    outcome = LABEL.get(Outcome(item.outcome), item.outcome) if item.outcome else "unfinished"
    parts = [f"{started:%Y-%m-%d}", item.caller, outcome]
    scores = getattr(item, "scores", None) or {}
    for key, value in scores.items():
        parts.append(f"{key} {value}")
    line = " · ".join(str(p) for p in parts)
    notes = (item.notes or "").strip()
    if notes:
        first = notes.splitlines()[0]
        line += f" — {first[:80]}"
    return line


def window_status(policy: Any, customer: Customer, now: datetime) -> tuple[bool, str] | None:
    """Whether the customer's calling window is open now, and when it changes."""
    from calls.policy import window_state

    if not customer.time_zones:
        return None
    state = window_state(customer.country or customer.phone_region, customer.time_zones, now,
                         policy)
    zone = zone_of(customer.time_zones)
    if state.open:
        until = f"until {format_local(state.closes_at, zone, now)}" if state.closes_at else ""
        return True, until
    if state.opens_at:
        return False, f"opens {format_local(state.opens_at, zone, now)}"
    return False, "no opening in the next two weeks"


def card(context: CallContext, now: datetime, window: tuple[bool, str] | None) -> str:
    """The customer card's markup."""
    from tui.widgets.card import card_text

    return card_text(context.customer, now, window, context.reasons, context.national)


def answer_lines(session: SurveySession) -> list[tuple[str, str]]:
    """(question key, answer in words) for the answers on the path."""
    out = []
    for step in session.path():
        if step.state == "answered":
            out.append((step.key, step.display))
        elif step.state == "skipped":
            out.append((step.key, "(skipped)"))
    return out


def outcome_applies_rules(outcome: Outcome) -> bool:
    """Script rules make follow-ups only when the customer answered questions."""
    return outcome in (Outcome.COMPLETED, Outcome.PARTIAL, Outcome.CALLBACK, Outcome.REFUSED)


def rule_followups(session: SurveySession, outcome: Outcome, now: datetime) -> list[Any]:
    """The follow-ups the script's rules make for this outcome (none without answers)."""
    if not outcome_applies_rules(outcome) or not session.answers():
        return []
    return session.followups(now)


def describe_spec(spec: Any) -> str:
    """A rule follow-up in a line: kind, owner, note."""
    note = f": {spec.note}" if spec.note else ""
    return f"{spec.kind.replace('_', ' ')} for {spec.owner}{note}"


def nps_value(session: SurveySession, outcome: Outcome) -> int | None:
    """The call's NPS answer (for the shift bar), if the customer gave one."""
    for step in session.path():
        if step.question.type == "nps" and step.state == "answered":
            return step.value
    return None


# -- taking, resuming and working a call (database thread) -----------------------------


@dataclass
class UnfinishedCall:
    """A call this caller started and never ended, with the customer's name for the prompt."""

    call: Any                     # calls.calling.CallRecord
    customer: Customer
    answers: int


def unfinished(store: Store, caller: str) -> list[UnfinishedCall]:
    """The caller's unfinished calls (a terminal died mid-call), oldest first."""
    from calls.calling import unfinished_calls
    from calls.store.scripts import answers_for_call

    out = []
    for call in unfinished_calls(store, caller):
        customer = get_customer(store, call.customer_id)
        if customer is not None:
            out.append(UnfinishedCall(call, customer, len(answers_for_call(store, call.id))))
    return out


def describe_unfinished(item: UnfinishedCall, now: datetime) -> str:
    """The resume prompt's text."""
    call, customer = item.call, item.customer
    who = customer.name or customer.ref
    if customer.company:
        who += f" ({customer.company})"
    state = "talking" if call.connected_at else "dialling"
    answers = f", {item.answers} answer{'s' if item.answers != 1 else ''} saved" if item.answers else ""
    if call.chosen_outcome is not None:
        answers += f", outcome picked: {LABEL[call.chosen_outcome]}"
    started = call.started_at.astimezone()
    return f"Call with {who}, started {started:%a %d %b %H:%M} ({state}{answers})."


def _context(store: Store, customer: Customer, reasons: list[str], codes: list[str],
             caller: str, now: datetime, policy: Any, script: Any, *,
             answers: dict | None = None) -> CallContext:
    from calls.followups import list_followups

    handle = CallHandle(customer_id=customer.id, caller=caller, taken_at=now,
                        reason=codes[0] if codes else None, script=script, policy=policy)
    session = SurveySession(script, customer, caller, answers,
                            context=_session_context(store, customer, now, policy), now=now)
    return CallContext(
        handle=handle,
        customer=customer,
        reasons=reasons,
        session=session,
        national=national_format(customer.phone),
        history=_history_lines(store, customer.id),
        followups=list_followups(store, customer_id=customer.id),
    )


def take_next(store: Store, caller: str, now: datetime, policy: Any,
              script_name: str | None) -> CallContext | None:
    """Claim the top of the caller's queue; None when nobody can be called now."""
    from calls.queue import claim_next

    entry = claim_next(store, caller, now, policy)
    if entry is None:
        return None
    script = pick_script(script_name, list(entry.reason_codes))
    return _context(store, entry.customer, entry_reasons(entry), list(entry.reason_codes),
                    caller, now, policy, script)


def take_customer(store: Store, customer_id: int, caller: str, now: datetime, policy: Any,
                  script_name: str | None, *, entry: Any = None) -> CallContext:
    """Claim one chosen customer; UserError when another caller has them or they cannot be
    called now. ``entry``: the queue row the caller picked (its reasons choose the script)."""
    from calls.errors import UserError
    from calls.queue import claim_customer, explain

    if not claim_customer(store, customer_id, caller, now, policy):
        why = explain(store, customer_id, caller, now, policy)
        detail = "; ".join(why.blockers) or "not callable now"
        raise UserError(f"{why.customer.name or why.customer.ref} cannot be taken: {detail}")
    why = explain(store, customer_id, caller, now, policy)
    if entry is not None and entry.customer.id == customer_id:
        codes = list(entry.reason_codes)
    else:
        codes = _reason_codes(store, customer_id, caller, now, policy)
    script = pick_script(script_name, codes)
    return _context(store, why.customer, list(why.reasons), codes, caller, now, policy, script)


def _reason_codes(store: Store, customer_id: int, caller: str, now: datetime,
                  policy: Any) -> list[str]:
    from calls.queue import queue_entry

    return list(queue_entry(store, customer_id, caller, now, policy).reason_codes)


def resume_call(store: Store, item: UnfinishedCall, caller: str, now: datetime, policy: Any,
                script_name: str | None) -> CallContext:
    """Pick an unfinished call up again: same script version, its answers and notes."""
    from calls.errors import UserError
    from calls.queue import renew_claim
    from calls.store.scripts import answers_for_call, script_from_store

    call = item.call
    if not renew_claim(store, call.customer_id, caller, now, policy):
        raise UserError(f"{item.customer.name} is being called by another caller now")
    if call.script_id is not None:
        script = script_from_store(store, call.script_id)
    else:
        script = pick_script(script_name, [call.reason] if call.reason else [])
    customer = get_customer(store, call.customer_id) or item.customer
    why = "resumed call" + (f" ({call.reason.replace('_', ' ')})" if call.reason else "")
    context = _context(store, customer, [why], [call.reason] if call.reason else [], caller,
                       now, policy, script, answers=answers_for_call(store, call.id))
    context.handle.call_id = call.id
    context.handle.taken_at = call.started_at
    context.handle.connected = call.connected_at is not None
    context.connected = call.connected_at is not None
    context.notes = call.notes or ""
    context.resumed = True
    context.history = _history_lines(store, customer.id, exclude=call.id)
    return context


def close_partial(store: Store, item: UnfinishedCall, caller: str, now: datetime,
                  policy: Any) -> None:
    """End an unfinished call with the outcome the caller had picked, else as partial (or
    no answer if nobody had answered)."""
    from calls.calling import record_outcome

    call = item.call
    chosen = call.chosen_outcome
    if chosen is not None and (chosen is not Outcome.CALLBACK or call.callback_at):
        # The caller had picked an outcome before the terminal died: keep their word.
        record_outcome(store, call.id, chosen, now, policy=policy,
                       callback_at=call.callback_at,
                       callback_personal=bool(call.callback_personal)
                       if call.callback_personal is not None else True)
        return
    outcome = Outcome.PARTIAL if call.connected_at else Outcome.NO_ANSWER
    record_outcome(store, call.id, outcome, now, policy=policy)


def _ensure_started(store: Store, handle: CallHandle) -> int:
    """The call's id, starting the call (and storing its script version) on first use."""
    if handle.call_id is None:
        from calls.calling import start_call
        from calls.store.scripts import store_script

        script_id = store_script(store, handle.script, handle.taken_at, by=handle.caller)
        handle.call_id = start_call(store, handle.customer_id, handle.caller, handle.taken_at,
                                    script_id=script_id, reason=handle.reason,
                                    policy=handle.policy)
    return handle.call_id


def connect(store: Store, handle: CallHandle, now: datetime) -> None:
    """The customer answered."""
    from calls.calling import mark_connected

    call_id = _ensure_started(store, handle)
    mark_connected(store, call_id, now)
    handle.connected = True


def save_answer(store: Store, handle: CallHandle, change: Any, now: datetime) -> None:
    """Write one answer (or skip) and delete the answers that left the path."""
    from calls.store.scripts import delete_answer
    from calls.store.scripts import save_answer as store_answer

    call_id = _ensure_started(store, handle)
    with store.write():
        store_answer(store, call_id, change.key, change.qtype, change.stored, now)
        for key in change.dropped:
            delete_answer(store, call_id, key)


def save_notes(store: Store, handle: CallHandle, text: str, now: datetime) -> None:
    """Write the call's notes as they stand."""
    from calls.calling import save_notes as store_notes

    call_id = _ensure_started(store, handle)
    store_notes(store, call_id, text)


def choose_outcome(store: Store, handle: CallHandle, pending: PendingOutcome) -> None:
    """Write the outcome the caller just picked (the call ends at wrap-up)."""
    from calls.calling import choose_outcome as store_choice

    call_id = _ensure_started(store, handle)
    callback = pending.callback
    store_choice(store, call_id, pending.outcome,
                 callback_at=callback.at if callback is not None else None,
                 callback_personal=callback.personal if callback is not None else True)


def keep_claim(store: Store, handle: CallHandle, now: datetime) -> bool:
    """Renew the caller's lease on the customer while the call screen is open."""
    from calls.queue import renew_claim

    return renew_claim(store, handle.customer_id, handle.caller, now, handle.policy)


def skip(store: Store, handle: CallHandle, now: datetime) -> None:
    """Give the customer back without calling (only before anything was written)."""
    from calls.queue import skip_customer

    skip_customer(store, handle.caller, handle.customer_id, now, handle.policy)


def release_untouched(store: Store, handles: list[CallHandle]) -> None:
    """Give back customers that were taken but never called (the shift is ending)."""
    from calls.queue import release

    for handle in handles:
        if not handle.started:
            release(store, handle.caller, handle.customer_id)


def add_hand_followup(store: Store, handle: CallHandle, draft: Any, caller: str,
                      now: datetime) -> Any:
    """A follow-up the caller added during the call (linked to the call)."""
    from calls.followups import add_followup

    call_id = _ensure_started(store, handle)
    return add_followup(store, kind=draft.kind, customer_id=handle.customer_id,
                        owner=draft.owner, due_at=draft.due_at, details=draft.note, now=now,
                        call_id=call_id, created_by=caller, source="hand")


def _sync_answers(store: Store, call_id: int, answers: list[tuple[str, str, Any]],
                  now: datetime) -> None:
    from calls.store.scripts import answers_for_call, delete_answer
    from calls.store.scripts import save_answer as store_answer

    stored = answers_for_call(store, call_id)
    keep = {key for key, _qtype, _value in answers}
    for key, qtype, value in answers:
        if key not in stored or stored[key] != value:
            store_answer(store, call_id, key, qtype, value, now)
    for key in stored:
        if key not in keep:
            delete_answer(store, call_id, key)


def final_answers(session: SurveySession) -> list[tuple[str, str, Any]]:
    """(key, question type, stored value) of every answer on the path, skips included."""
    from calls.survey import to_stored

    return [(step.key, step.question.type, to_stored(step.value))
            for step in session.path() if step.state != "open"]


def finish_call(store: Store, handle: CallHandle, pending: PendingOutcome, specs: list[Any],
                now: datetime, notes: str,
                answers: list[tuple[str, str, Any]] | None = None) -> FinishResult:
    """Write the outcome, the rule follow-ups and a corrected number; say what follows.

    ``answers`` (the path as the screen shows it) are written again first, in the same
    transaction: if an earlier background write failed, the record still matches what
    the caller saw and confirmed.
    """
    from calls.calling import correct_number, mark_connected, record_outcome
    from calls.followups import apply_rule_followups
    from calls.outcomes import CONTACT
    from calls.queue import explain

    outcome = pending.outcome
    call_id = _ensure_started(store, handle)
    if (outcome in CONTACT or outcome is Outcome.OTHER_CONTACT) and not handle.connected:
        mark_connected(store, call_id, now)
        handle.connected = True
    if outcome is Outcome.DO_NOT_CALL and pending.dnc_reason:
        notes = (notes.rstrip() + "\n" if notes.strip() else "") + f"Do not call: {pending.dnc_reason}"
    callback = pending.callback
    made: list[Any] = []
    messages: list[str] = []
    with store.write():
        if answers is not None:
            _sync_answers(store, call_id, answers, now)
        record_outcome(
            store, call_id, outcome, now, policy=handle.policy,
            callback_at=callback.at if callback is not None else None,
            callback_personal=callback.personal if callback is not None else True,
            notes=notes,
        )
        if specs:
            made = apply_rule_followups(store, call_id, specs, handle.caller, now)
        if outcome is Outcome.WRONG_NUMBER and pending.new_number:
            correct_number(store, handle.customer_id, pending.new_number, now, by=handle.caller)
    customer = get_customer(store, handle.customer_id)
    name = customer.name if customer else "the customer"
    messages.append(f"Saved: {name} — {LABEL[outcome]}.")
    if made:
        messages.append("Follow-ups: " + ", ".join(f.kind.replace("_", " ") for f in made))
    if outcome not in (Outcome.COMPLETED, Outcome.DO_NOT_CALL):
        why = explain(store, handle.customer_id, handle.caller, now, handle.policy)
        if why.next_callable_at is not None and why.next_callable_at > now:
            local = why.next_callable_at.astimezone(zone_of(why.customer.time_zones))
            messages.append(f"{name} can be called again from {local:%a %H:%M} their time.")
    return FinishResult(followups=made, messages=messages)


# -- screens other areas provide --------------------------------------------------------

_SCREENS = {
    "followups": ("tui.screens.followups", ("FollowupsScreen", "FollowUpsScreen")),
    "dashboard": ("tui.screens.dashboard", ("DashboardScreen",)),
}


def _screen_class(name: str):
    module_name, class_names = _SCREENS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    for class_name in class_names:
        cls = getattr(module, class_name, None)
        if cls is not None:
            return cls
    return None


def has_screen(name: str) -> bool:
    """True when another area's screen (follow-ups, dashboard) is installed."""
    return _screen_class(name) is not None


def open_screen(app: Any, name: str) -> None:
    """Push another area's screen, if it is installed."""
    cls = _screen_class(name)
    if cls is None:
        app.notify(f"The {name} screen is not available yet.", severity="warning")
        return
    if name == "dashboard":
        app.push_screen(cls(clock=app.now, policy=app.policy))
    else:
        app.push_screen(cls())
