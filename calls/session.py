"""The call session: the one way to work a call, from taking a customer to the wrap-up.

A :class:`CallSession` is one call as a seat sees it. It is made by taking a customer
(:meth:`CallSession.take_next`, :meth:`CallSession.take`), by picking an unfinished call
up again (:meth:`CallSession.resume`) or, for a call made outside the app, by
:meth:`CallSession.open`. Every step takes ``now`` and the store where it writes, and
returns dataclasses:

- **deciding** steps are pure and instant (they validate and move the script along):
  :meth:`answer`, :meth:`skip`, :meth:`back`, :meth:`forward`, :meth:`choose`,
  :meth:`plan_wrap_up`. A seat runs them where the caller types, so the next key already
  sees the next question;
- **writing** steps take the store: :meth:`connect`, :meth:`save` (one answer, the moment
  it is given), :meth:`save_notes`, :meth:`keep_outcome` (the outcome is kept the moment
  it is picked, in ``calls.chosen_outcome``), :meth:`add_followup`, :meth:`keep_claim`,
  :meth:`give_back`, and :meth:`wrap_up`, which writes the answers, the outcome and what it
  implies, the rule follow-ups and a corrected number in ONE transaction: a failure in the
  middle leaves nothing of it written.

The call row is made by the first write (a customer taken and given back leaves no call
record), with ``started_at`` = the moment the customer was taken.

A seat runs the writing steps on its database thread, in the order they were asked for;
:meth:`record_answer` and :func:`log_call` combine the two kinds for callers that do not
type (``carecall log-call``, the floor benchmark).
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Any

from calls import consent, floor
from calls import lawful as lawful_session
from calls.calling import (
    CallRecord,
    call_history,
    check_outcome,
    correct_number,
    get_call,
    mark_connected,
    record_outcome,
    start_call,
    unfinished_calls,
)
from calls.calling import choose_outcome as keep_chosen_outcome
from calls.calling import save_notes as store_notes
from calls.customers import PhoneNumber, mark_number, numbers_for, use_as_main
from calls.errors import UserError
from calls.followups import (
    Followup,
    add_followup,
    apply_rule_followups,
    list_followups,
    recovery_context,
)
from calls.models import Customer
from calls.outcomes import CONTACT, Outcome
from calls.policy import DEFAULT_POLICY, Policy
from calls.queue import (
    QueueAhead,
    QueueEntry,
    blocker_texts,
    claim_customer,
    claim_next,
    explain,
    queue_entry,
    read_ahead,
    renew_claim,
    skip_customer,
)
from calls.queue import release as release_claim
from calls.records import record
from calls.store import Store
from calls.store.consent import consents_of_call, set_call_purpose, set_call_recording
from calls.store.customers import get_customer
from calls.store.scripts import answers_for_call, delete_answer, store_script
from calls.store.scripts import save_answer as store_answer
from calls.survey import (
    Answered,
    AnswerError,
    FollowupSpec,
    Question,
    Script,
    SurveySession,
    load_script,
    occasion_context,
    past_answer_words,
    stored_script,
    to_stored,
)
from calls.themes import record_wrap_up_themes, wrap_up_items

# Which shipped script a queue reason calls for, when the seat names none.
SCRIPT_FOR_REASON = {
    "recovery": "recovery",
    "thank_you": "thank_you",
    "purchase": "thank_you",
    "occasion": "occasion",
    "birthday": "occasion",
    "anniversary": "occasion",
}
DEFAULT_SCRIPT = "quarterly"

def pick_script(script_name: str | None, reason_codes: list[str] | tuple[str, ...]) -> Script:
    """The script for a call: the one named, else the one the first reason calls for."""
    if script_name:
        return load_script(script_name)
    for code in reason_codes:
        name = SCRIPT_FOR_REASON.get(code)
        if name:
            return load_script(name)
    return load_script(DEFAULT_SCRIPT)


def rules_apply(outcome: Outcome) -> bool:
    """Whether the script's rules make follow-ups after a call with this outcome (the
    outcome table's ``rules``: the customer answered questions)."""
    return Outcome(outcome).spec.rules


# -- what the steps return --------------------------------------------------------------


@record(frozen=True)
class ChosenOutcome:
    """The outcome the caller picked, with what it carries (validated by :meth:`choose`)."""

    outcome: Outcome
    callback_at: datetime | None = None   # the moment the customer asked for (callback)
    callback_personal: bool = True        # only this caller makes the callback
    dnc_reason: str | None = None         # what the customer said (do not call)
    new_number: str | None = None         # the right number, when the caller got it


@record(frozen=True)
class AnswerLine:
    """One answer on the path as the wrap-up shows it and writes it."""

    key: str
    qtype: str
    stored: Any          # JSON-ready value (None = skipped)
    display: str         # in words; "(skipped)" for a skip
    text: str = ""       # the question as the caller read it (callers never see keys)


@record(frozen=True)
class WrapUpPlan:
    """What :meth:`CallSession.wrap_up` will write: shown to the caller before they confirm."""

    chosen: ChosenOutcome
    answers: tuple[AnswerLine, ...]
    rule_followups: tuple[FollowupSpec, ...]
    notes: str
    # The themes the caller confirmed per open answer (key -> themes; issue 17); None or a
    # key left out: the keywords' suggestions are stored, unconfirmed.
    themes: dict[str, tuple[str, ...]] | None = None

    @property
    def outcome(self) -> Outcome:
        return self.chosen.outcome


@record(frozen=True)
class WrapUpResult:
    """What the wrap-up wrote, and when the customer can be called again."""

    call: CallRecord
    customer: Customer
    followups: tuple[Followup, ...]           # made by the script's rules
    next_callable_at: datetime | None         # None: not before the next cycle / never
    nps: int | None                           # the call's NPS answer, if any
    seat: floor.SeatState | None = None       # the seat after the call: ready or paused


@record(frozen=True)
class SavedAndNext:
    """A wrap-up and the next customer taken right after it (one step of a seat)."""

    saved: WrapUpResult
    next: CallSession | None            # None: nobody to call now, the seat paused, or refused
    refused: Exception | None = None    # why the next could not be taken (the wrap-up stands)


@record(frozen=True)
class ConsentTaken:
    """A consent the customer gave or withdrew in the call, and what it changed at once."""

    what: str
    given: bool
    dropped: tuple[str, ...] = ()               # questions (and answers) off the path
    cancelled: tuple[tuple[int, str], ...] = ()  # follow-ups cancelled (id, kind)


@record(frozen=True)
class UnfinishedCall:
    """A call this caller started and never ended (a terminal died mid-call)."""

    call: CallRecord
    customer: Customer
    answers: int                              # how many answers were saved


# -- the session --------------------------------------------------------------------------


@record(eq=False)
class CallSession:
    """One call from taking the customer to the wrap-up (see the module doc)."""

    customer: Customer
    caller: str
    policy: Policy
    script: Script
    survey: SurveySession
    taken_at: datetime
    reason: str | None = None                 # the queue reason code the call is for
    reasons: tuple[str, ...] = ()             # why now, in words
    history: tuple[CallRecord, ...] = ()      # the customer's earlier calls, newest first
    # Each earlier call's scores as (the question's words in the customer's language, the
    # answer), by call id: callers read words, never question keys.
    history_words: dict[int, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    followups: tuple[Followup, ...] = ()      # the customer's open follow-ups
    call_id: int | None = None
    connected: bool = False
    notes: str = ""
    chosen: ChosenOutcome | None = None
    resumed: bool = False
    hand_followups: list[Followup] = field(default_factory=list)
    ended: bool = False
    inbound: bool = False                     # the customer called us (see take)
    numbers: tuple[PhoneNumber, ...] = ()     # the customer's numbers, in the order to try
    dialled: str | None = None                # the number dialled now (None: the main one)
    tried: list[str] = field(default_factory=list)   # numbers tried before in this attempt
    calls_withdrawn: bool = False              # the customer withdrew consent in this call
    withdrawn: set[str] = field(default_factory=set)   # consents withdrawn in this call
    granted: set[str] = field(default_factory=set)     # consents given in this call
    recording: bool | None = None             # the answer to the recording notice (None: none)
    recording_law: Any = None                 # the rule that needs that answer first (or None)
    # Taken from the queue at a seat: each step moves the seat's floor state with it, in
    # the step's transaction (calls.floor); a call logged from outside (open) has none.
    on_seat: bool = False
    seat: floor.SeatState | None = None        # the seat's state after the last step

    # -- taking a customer ----------------------------------------------------------

    @classmethod
    def _make(cls, store: Store, customer: Customer, caller: str, now: datetime,
              policy: Policy, script: Script, reason_codes: list[str], reasons: list[str],
              *, answers: dict | None = None, exclude_call: int | None = None) -> CallSession:
        days_ahead = getattr(getattr(policy, "occasions", None), "days_ahead", 14)
        context: dict = dict(occasion_context(customer, now, days_ahead=days_ahead))
        fix = recovery_context(store, customer.id)
        if fix:
            context["fix"] = fix
        # Marketing questions (referral asks, sales questions) only with a basis for
        # marketing where the customer lives (docs/lawful.md).
        marketing_ok = lawful_session.marketing_allowed(store, customer.id, now, policy)
        survey = SurveySession(script, customer, caller, answers, context=context, now=now,
                               marketing_allowed=marketing_ok)
        history = tuple(c for c in call_history(store, customer.id) if c.id != exclude_call)
        scripts: dict = {}
        words = {c.id: past_answer_words(store, c, customer, survey.language, scripts)
                 for c in history if c.scores}
        return cls(
            customer=customer, caller=caller, policy=policy, script=script, survey=survey,
            taken_at=now, reason=reason_codes[0] if reason_codes else None,
            reasons=tuple(reasons), history=history, history_words=words,
            followups=tuple(list_followups(store, customer_id=customer.id)),
            numbers=tuple(numbers_for(store, customer)),
            recording_law=lawful_session.customer_recording_rule(store, customer.id, policy),
        )

    @classmethod
    def take_next(cls, store: Store, caller: str, now: datetime,
                  policy: Policy = DEFAULT_POLICY, script: str | None = None, *,
                  ahead: QueueAhead | None = None) -> CallSession | None:
        """Claim the top of the caller's queue; None when nobody can be called now.

        ``script``: a script name or path for every call, else the reason picks it.
        ``ahead``: the queue's top read a moment before (:meth:`read_next`), checked again
        and claimed without reading the queue while it stands (``calls.queue.claim_next``).
        """
        # The queue is read outside the write lock (claim_next); the pause check and the
        # seat's state go in the claim's own transaction.
        floor.refuse_unless_ready_to_take(store, caller)
        seats: list = []

        def with_claim(entry: QueueEntry) -> None:
            floor.refuse_unless_ready_to_take(store, caller)
            seats.append(floor.call_step(store, caller, "dialling", now=now,
                                         customer_id=entry.customer.id))

        entry = claim_next(store, caller, now, policy, inside=with_claim, ahead=ahead)
        if entry is None:
            return None
        seat = seats[-1]
        codes = list(entry.reason_codes)
        session = cls._make(store, entry.customer, caller, now, policy,
                            pick_script(script, codes), codes, [str(r) for r in entry.reasons])
        session.on_seat, session.seat = True, seat
        return session

    @classmethod
    def take(cls, store: Store, customer_id: int, caller: str, now: datetime,
             policy: Policy = DEFAULT_POLICY, script: str | None = None, *,
             reason_codes: list[str] | None = None, inbound: bool = False) -> CallSession:
        """Claim one chosen customer. UserError when another caller has them or they cannot
        be called now. ``reason_codes``: the reasons of the queue row the caller picked (they
        choose the script); else the queue's reasons for the customer now. ``inbound``: the
        customer called us: allowed outside the calling window (never against the
        do-not-call list), and the call is recorded as inbound."""
        with store.write():
            floor.refuse_unless_ready_to_take(store, caller)
            claimed = claim_customer(store, customer_id, caller, now, policy, inbound=inbound)
            seat = (floor.call_step(store, caller, "dialling", now=now, customer_id=customer_id)
                    if claimed else None)
        if not claimed:
            who = get_customer(store, customer_id)
            # Only what holds this call (an inbound one is not held by the window).
            detail = "; ".join(blocker_texts(store, customer_id, caller, now, policy,
                                             inbound=inbound)) or "not callable now"
            name = (who.name or who.ref) if who is not None else f"#{customer_id}"
            raise UserError(f"{name} cannot be taken: {detail}")
        why = explain(store, customer_id, caller, now, policy)
        if reason_codes is None:
            reason_codes = list(queue_entry(store, customer_id, caller, now, policy).reason_codes)
        session = cls._make(store, why.customer, caller, now, policy,
                            pick_script(script, reason_codes), list(reason_codes),
                            ["inbound call: they called us"] if inbound else list(why.reasons))
        session.inbound = inbound
        session.on_seat, session.seat = True, seat
        return session

    @classmethod
    def resume(cls, store: Store, call_id: int, caller: str, now: datetime,
               policy: Policy = DEFAULT_POLICY, script: str | None = None) -> CallSession:
        """Pick an unfinished call of this caller up again: the same script version, its
        answers, notes and picked outcome. UserError when another caller holds the customer."""
        call = _own_unfinished(store, call_id, caller)
        customer = get_customer(store, call.customer_id)
        if customer is None:
            raise UserError(f"call #{call_id}: the customer is gone")
        if not renew_claim(store, call.customer_id, caller, now, policy):
            raise UserError(f"{customer.name or customer.ref} is being called by another "
                            "caller now")
        if call.script_id is not None:
            used = stored_script(store, call.script_id)
        else:
            used = pick_script(script, [call.reason] if call.reason else [])
        why = "resumed call" + (f" ({call.reason.replace('_', ' ')})" if call.reason else "")
        session = cls._make(store, customer, caller, now, policy, used,
                            [call.reason] if call.reason else [], [why],
                            answers=answers_for_call(store, call.id), exclude_call=call.id)
        session.call_id = call.id
        session.taken_at = call.started_at
        session.connected = call.connected_at is not None
        session.notes = call.notes or ""
        session.resumed = True
        for row in consents_of_call(store, call.id):   # oldest first: the last one counts
            if row["what"] == "recording":
                session.recording = row["state"] == "given"
            given = row["state"] == "given"
            (session.granted if given else session.withdrawn).add(row["what"])
            (session.withdrawn if given else session.granted).discard(row["what"])
        session.calls_withdrawn = "calls" in session.withdrawn
        if call.chosen_outcome is not None:
            session.chosen = ChosenOutcome(call.chosen_outcome, call.callback_at,
                                           bool(call.callback_personal)
                                           if call.callback_personal is not None else True)
        session.on_seat = True
        session._move_seat(store, now)
        return session

    @classmethod
    def open(cls, store: Store, customer: Customer | int | str, caller: str, now: datetime,
             policy: Policy = DEFAULT_POLICY, script: str | None = None) -> CallSession:
        """A call made outside the queue (a callback from a mobile, an inbound call): no
        claim and no calling window; starting it still refuses a customer who must not be
        called or whom another caller holds. ``customer``: an id, a ref or a Customer."""
        if not caller:
            raise UserError("a call needs a caller name")
        found = customer if isinstance(customer, Customer) else get_customer(store, customer)
        if found is None:
            raise UserError(f"no customer {customer!r}")
        codes = list(queue_entry(store, found.id, caller, now, policy).reason_codes)
        return cls._make(store, found, caller, now, policy, pick_script(script, codes), codes,
                         [])

    # -- the script (pure) -------------------------------------------------------------

    def current(self) -> Question | None:
        """The question to read now; None when the script is done."""
        return self.survey.current()

    def answer(self, key: str | None, value: Any) -> Answered:
        """Validate an answer (keyboard text or a typed value) to ``key`` (None: the current
        question) and move the script on; AnswerError says why a value is refused. Write
        the returned change with :meth:`save`."""
        return self.survey.answer(self._key(key), value)

    def skip(self, key: str | None = None) -> Answered:
        """Skip an optional question (AnswerError for a required one); write it with
        :meth:`save`."""
        return self.survey.skip(self._key(key))

    def answer_all(self, answers: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> None:
        """Validate answers given all at once (a call logged afterwards): (key, text) pairs
        in any order, applied in the script's order; optional questions left out before a
        given one count as skipped. UserError names the answer and what is wrong. Pure:
        :meth:`wrap_up` writes them."""
        order = {key: i for i, key in enumerate(self.script.keys)}
        seen: set[str] = set()
        for key, _value in answers:
            if key not in order:
                raise UserError(f"answer {key}: script {self.script.name} "
                                f"v{self.script.version} has no question {key!r} "
                                f"(its questions: {', '.join(self.script.keys)})")
            if key in seen:
                raise UserError(f"answer {key}: given twice")
            seen.add(key)
        for key, value in sorted(answers, key=lambda pair: order[pair[0]]):
            try:
                self._skip_optional_before(key)
                self.answer(key, value)
            except AnswerError as exc:
                raise UserError(f"answer {key}={value}: {exc.reason}") from None

    def _skip_optional_before(self, key: str | None) -> None:
        """Skip open optional questions up to ``key`` (None: to the end of the script)."""
        while (current := self.current()) is not None and current.key != key \
                and not current.required:
            path = [step.key for step in self.survey.path()]
            if key is not None and (key not in path
                                    or path.index(key) < path.index(current.key)):
                return
            self.survey.skip(current.key)

    def back(self) -> Question | None:
        """Back to the previous question to change its answer (None at the first)."""
        return self.survey.back()

    def forward(self) -> Question | None:
        """Leave the earlier answer as it is and go on where the call was."""
        return self.survey.forward()

    def _key(self, key: str | None) -> str:
        if key is not None:
            return key
        question = self.survey.current()
        if question is None:
            raise AnswerError("there is no question left to answer")
        return question.key

    def value(self, key: str) -> Any:
        """The current answer to a question on the path (None if unanswered or skipped)."""
        return self.survey.value(key)

    def answer_lines(self) -> tuple[AnswerLine, ...]:
        """The answers on the path, skips included, in path order."""
        return tuple(
            AnswerLine(step.key, step.question.type, to_stored(step.value),
                       step.display if step.state == "answered" else "(skipped)",
                       self.survey.question_text(step.key))
            for step in self.survey.path() if step.state != "open"
        )

    def nps(self) -> int | None:
        """The call's NPS answer, if the customer gave one."""
        for step in self.survey.path():
            if step.question.type == "nps" and step.state == "answered":
                return step.value
        return None

    # -- writing steps -----------------------------------------------------------------

    def _ensure_started(self, store: Store) -> int:
        """The call's id, starting the call (and storing its script version) on first use."""
        if self.call_id is None:
            with store.write():
                script_id = store_script(store, self.script, self.taken_at, by=self.caller)
                self.call_id = start_call(store, self.customer.id, self.caller, self.taken_at,
                                          script_id=script_id, reason=self.reason,
                                          policy=self.policy, inbound=self.inbound)
                self._move_seat(store, self.taken_at)
        return self.call_id

    def _move_seat(self, store: Store, now: datetime) -> None:
        """Put the seat in the call's state (inside the step's transaction): wrap-up once
        an outcome is kept, talking once connected, else dialling."""
        if not self.on_seat:
            return
        state = ("wrapup" if self.chosen is not None else
                 "talking" if self.connected else "dialling")
        self.seat = floor.call_step(store, self.caller, state, now=now,
                                    customer_id=self.customer.id, call_id=self.call_id)

    def start(self, store: Store) -> int:
        """Start the call now (the caller dials); returns its id. The other writing steps
        start it themselves when needed."""
        return self._ensure_started(store)

    def connect(self, store: Store, now: datetime) -> None:
        """The customer (or someone) answered."""
        with store.write():
            mark_connected(store, self._ensure_started(store), now)
            self.connected = True
            self._move_seat(store, now)

    def save(self, store: Store, change: Answered, now: datetime) -> None:
        """Write one answer (or skip) and delete the answers the change took off the path."""
        with store.write():
            call_id = self._ensure_started(store)
            store_answer(store, call_id, change.key, change.qtype, change.stored, now)
            for key in change.dropped:
                delete_answer(store, call_id, key)

    def record_answer(self, store: Store, key: str | None, value: Any,
                      now: datetime) -> Answered:
        """Validate and write one answer at once (:meth:`answer` then :meth:`save`)."""
        change = self.answer(key, value)
        self.save(store, change, now)
        return change

    def save_notes(self, store: Store, text: str, now: datetime) -> None:
        """Write the call's notes as they stand."""
        with store.write():
            store_notes(store, self._ensure_started(store), text)
        self.notes = text

    def choose(self, outcome: Outcome | str, *, callback_at: datetime | None = None,
               callback_personal: bool = True, dnc_reason: str | None = None,
               new_number: str | None = None) -> ChosenOutcome:
        """Validate the outcome the caller picked (UserError says what is missing); keep it
        with :meth:`keep_outcome` and end the call with :meth:`wrap_up`."""
        code = check_outcome(outcome, callback_at)
        if code is Outcome.CALLBACK and self.calls_withdrawn:
            raise UserError("the customer withdrew consent to be called: no callback; "
                            "pick another outcome")

        if new_number is not None and code is not Outcome.WRONG_NUMBER:
            raise UserError("a corrected number only goes with the wrong_number outcome")
        chosen = ChosenOutcome(code, callback_at, callback_personal,
                               (dnc_reason or "").strip() or None,
                               (new_number or "").strip() or None)
        self.chosen = chosen
        return chosen

    def keep_outcome(self, store: Store, chosen: ChosenOutcome,
                     now: datetime | None = None) -> None:
        """Write the picked outcome at once (the call ends at wrap-up; a terminal that dies
        in between leaves it for the resume prompt). ``now``: when it was picked (the
        seat's wrap-up starts then; default: the real time)."""
        if now is None:
            from calls.clock import now_utc

            now = now_utc()
        if chosen.outcome is Outcome.VOICEMAIL:
            lawful_session.check_voicemail(store, self.customer.id, self.policy)
        with store.write():
            keep_chosen_outcome(store, self._ensure_started(store), chosen.outcome,
                                callback_at=chosen.callback_at,
                                callback_personal=chosen.callback_personal)
            self.chosen = chosen
            self._move_seat(store, now)

    def add_followup(self, store: Store, kind: str, now: datetime, *, owner: str | None = None,
                     due_at: datetime | None = None, note: str = "") -> Followup:
        """A follow-up the caller adds by hand during the call (linked to the call)."""
        with store.write():
            made = add_followup(store, kind=kind, customer_id=self.customer.id, owner=owner,
                                due_at=due_at, details=note, now=now,
                                call_id=self._ensure_started(store), created_by=self.caller,
                                source="hand")
        self.hand_followups.append(made)
        self.followups = tuple(f for f in self.followups if f.id != made.id) + (made,)
        return made

    # -- several numbers -------------------------------------------------------------

    @property
    def number(self) -> str | None:
        """The number being dialled now (E.164)."""
        return self.dialled or self.customer.phone

    def next_number(self) -> PhoneNumber | None:
        """The customer's next number to try in this attempt (after no answer or a wrong
        number on this one), or None when there is none left."""
        tried = {*self.tried, self.number}
        return next((n for n in self.numbers if n.callable and n.e164 not in tried), None)

    def try_next_number(self, store: Store, now: datetime, *, wrong: bool) -> PhoneNumber:
        """Dial the next number in the same attempt. ``wrong``: the number just dialled does
        not reach the customer: it is marked so, and when it was the main number the next
        one becomes the main one (so the queue can call them again)."""
        following = self.next_number()
        if following is None:
            raise UserError(f"{self.customer.name} has no other number to try")
        current = self.number
        if wrong and current:
            with store.write():
                mark_number(store, self.customer, current, "wrong_number", by=self.caller,
                            now=now)
                if current == self.customer.phone:
                    use_as_main(store, self.customer, following.e164, by=self.caller, now=now)
            self.customer = get_customer(store, self.customer.id) or self.customer
        if current:
            self.tried.append(current)
        self.dialled = following.e164
        return following
    # -- what the customer says about consent (issue 14) --------------------------------

    def _shares(self, answers: tuple[AnswerLine, ...]) -> list[AnswerLine]:
        """The answers that gave consent to share (a yes to a ``permission = "share"``
        question)."""
        keys = _share_keys(self.script)
        return [line for line in answers if line.key in keys and line.stored is True]

    @property
    def recording_notice(self) -> str | None:
        """The recording notice to read after the opening (in the customer's language), or
        None: the script has none, or calls are not recorded (``lawful.recording = "off"``)."""
        if self.policy.lawful.recording == "off":
            return None
        return self.survey.consent_text()

    @property
    def recording_answer_needed(self) -> bool:
        """The customer must answer the recording notice before the first question (a rule
        pack needs all-party consent to recording, or the policy says always) and has not."""
        return (self.recording is None and self.recording_law is not None
                and self.recording_notice is not None)

    def record_consent(self, store: Store, what: str, given: bool, now: datetime,
                       proof: str | None = None) -> ConsentTaken:
        """The customer gives or withdraws a consent during the call: recorded at once
        (with an audit row) and in force at once. Withdrawing marketing (or calls) takes
        the marketing questions off the path (their answers are deleted); withdrawing
        calls also means no callback from this call; a withdrawal cancels the customer's
        open follow-ups that go against it (``calls.consent.CANCELLED_BY_WITHDRAWAL``)."""
        with store.write():
            call_id = self._ensure_started(store)
            change = consent.record_change(store, self.customer.id, what, given, how="call",
                                           actor=self.caller, now=now, call_id=call_id,
                                           proof=proof)
            dropped: tuple[str, ...] = ()
            if what in ("marketing", "calls"):
                allowed = lawful_session.marketing_allowed(store, self.customer.id, now,
                                                           self.policy)
                dropped = self.survey.allow_marketing(allowed)
                for key in dropped:
                    delete_answer(store, call_id, key)
            if what == "recording":
                set_call_recording(store, call_id, "yes" if given else "no")
        if what == "calls":
            self.calls_withdrawn = not given
        if what == "recording":
            self.recording = given
        (self.granted if given else self.withdrawn).add(what)
        (self.withdrawn if given else self.granted).discard(what)
        gone = {fid for fid, _kind in change.cancelled}
        self.followups = tuple(f for f in self.followups if f.id not in gone)
        return ConsentTaken(what, given, dropped, change.cancelled)

    def answer_recording(self, ok: bool) -> None:
        """The customer answered the recording notice (pure: the questions may start at
        once); write it with :meth:`record_recording`."""
        self.recording = ok

    def record_recording(self, store: Store, ok: bool, now: datetime) -> ConsentTaken:
        """The customer's answer to the recording notice: stored on the call (exported
        with it) and as a consent record."""
        return self.record_consent(store, "recording", ok, now,
                                   proof=self.survey.consent_text() or self.script.consent
                                   or "recording notice")

    def keep_claim(self, store: Store, now: datetime) -> bool:
        """Renew the caller's lease on the customer while the call lasts; False when another
        caller holds them now."""
        return renew_claim(store, self.customer.id, self.caller, now, self.policy)

    def give_back(self, store: Store, now: datetime) -> floor.SeatState | None:
        """Skip the customer: give them back to the queue without a call outcome. The
        seat's state after it (ready, or the pause a supervisor asked for) is returned."""
        with store.write():
            skip_customer(store, self.caller, self.customer.id, now, self.policy)
            seat = (floor.after_call(store, self.caller, now=now, policy=self.policy)
                    if self.on_seat else None)
        self.seat = seat
        return seat

    # -- the wrap-up -----------------------------------------------------------------

    def plan_wrap_up(self, now: datetime, notes: str | None = None,
                     chosen: ChosenOutcome | None = None) -> WrapUpPlan:
        """What the wrap-up will write for the picked outcome (pure): the answers on the
        path, the follow-ups the script's rules make (none without answers, or for an
        outcome where nobody answered questions) and the notes."""
        chosen = chosen or self.chosen
        if chosen is None:
            raise UserError("pick an outcome first")
        answers = self.answer_lines()
        specs: tuple[FollowupSpec, ...] = ()
        if rules_apply(chosen.outcome) and self.survey.answers():
            against = {kind for what in self.withdrawn
                       for kind in consent.CANCELLED_BY_WITHDRAWAL.get(what, ())}
            specs = tuple(f for f in self.survey.followups(now) if f.kind not in against)
        return WrapUpPlan(chosen, answers, specs, self.notes if notes is None else notes)

    def wrap_up(self, store: Store, now: datetime, plan: WrapUpPlan | None = None) -> WrapUpResult:
        """End the call: in one transaction, start it if needed, write the answers on the
        path (again: a background write that failed is mended), end the call with its
        outcome (queue state, DNC, callback, what the call answered), the rule follow-ups
        and a corrected number. Nothing of it is written if any part fails."""
        plan = plan or self.plan_wrap_up(now)
        chosen = plan.chosen
        notes = plan.notes
        if chosen.outcome is Outcome.DO_NOT_CALL and chosen.dnc_reason:
            notes = (notes.rstrip() + "\n" if notes.strip() else "") + \
                f"Do not call: {chosen.dnc_reason}"
        if chosen.outcome is Outcome.VOICEMAIL:
            lawful_session.check_voicemail(store, self.customer.id, self.policy)
        started_here = self.call_id is None
        # Worked out before the write lock (pure: suggestions from the answers' words):
        # every other seat waits while a wrap-up holds it.
        themes = wrap_up_items(plan.answers, self.policy)
        try:
            with store.write():
                call_id = self._ensure_started(store)
                if chosen.outcome.spec.connected and not self.connected:
                    mark_connected(store, call_id, now)
                _sync_answers(store, call_id, plan.answers, now)
                for line in self._shares(plan.answers):
                    # "May we mention your name / use what you share?" — yes: the
                    # customer's consent to share, with the question as asked as proof.
                    consent.record(store, self.customer.id, "share", True, how="call",
                                   actor=self.caller, now=now, call_id=call_id,
                                   proof=line.text or line.key)
                set_call_purpose(store, call_id, self.survey.call_purpose)
                record = record_outcome(
                    store, call_id, chosen.outcome, now, policy=self.policy,
                    callback_at=chosen.callback_at, callback_personal=chosen.callback_personal,
                    notes=notes)
                made = (apply_rule_followups(store, call_id, list(plan.rule_followups),
                                             self.caller, now)
                        if plan.rule_followups else [])
                record_wrap_up_themes(store, call_id, plan.answers, plan.themes, self.caller,
                                      now, self.policy, items=themes)
                if chosen.outcome is Outcome.WRONG_NUMBER and chosen.new_number:
                    correct_number(store, self.customer.id, chosen.new_number, now,
                                   by=self.caller)
                elif (chosen.outcome.spec.connected and self.dialled
                      and self.dialled != self.customer.phone):
                    # Another number reached them: it is the one to call next time.
                    use_as_main(store, self.customer, self.dialled, by=self.caller, now=now)
                # The seat: ready for the next customer, or the pause a supervisor asked
                # for during the call.
                seat = (floor.after_call(store, self.caller, now=now, policy=self.policy)
                        if self.on_seat else None)
        except BaseException:
            if started_here:
                self.call_id = None   # rolled back with the rest
            raise
        self.ended = True
        self.seat = seat
        self.connected = self.connected or chosen.outcome.spec.connected
        customer = get_customer(store, self.customer.id) or self.customer
        next_at = None
        if chosen.outcome not in (Outcome.COMPLETED, Outcome.DO_NOT_CALL):
            # The customer as an object: explain then reads their row once, not twice.
            why = explain(store, self.customer, self.caller, now, self.policy)
            if why.next_callable_at is not None and why.next_callable_at > now:
                next_at = why.next_callable_at
        return WrapUpResult(record, customer, tuple(made), next_at, self.nps(), self.seat)


    # -- the next customer, while this call is wrapped up --------------------------

    def read_next(self, store: Store, now: datetime) -> QueueAhead:
        """The caller's next customer as the queue has them now, read while this call is
        wrapped up, for :meth:`wrap_up_and_take_next` (a read: no lock, nothing claimed)."""
        return read_ahead(store, self.caller, now, self.policy, leaving=self.customer.id)

    def wrap_up_and_take_next(self, store: Store, now: datetime,
                              plan: WrapUpPlan | None = None, *, script: str | None = None,
                              ahead: QueueAhead | None = None) -> SavedAndNext:
        """:meth:`wrap_up`, then the caller's next customer (:meth:`take_next`, ``script``
        and ``ahead`` as there), as one step: a seat shows the next customer as soon as the
        call is saved. A seat paused by the wrap-up (a supervisor's pause asked during the
        call) takes nobody. A wrap-up that fails raises (nothing written, nobody taken); a
        take that fails after it is returned as ``refused`` (the wrap-up stands)."""
        saved = self.wrap_up(store, now, plan)
        if saved.seat is not None and saved.seat.base_state == "paused":
            return SavedAndNext(saved, None)
        try:
            following = CallSession.take_next(store, self.caller, now, self.policy, script,
                                              ahead=ahead)
        except Exception as exc:  # noqa: BLE001 - the call is saved; the seat says why
            return SavedAndNext(saved, None, exc)
        return SavedAndNext(saved, following)


def _share_keys(script: Script) -> frozenset[str]:
    return frozenset(q.key for q in script.questions if q.permission == "share")


def _sync_answers(store: Store, call_id: int, answers: tuple[AnswerLine, ...],
                  now: datetime) -> None:
    stored = answers_for_call(store, call_id)
    keep = {line.key for line in answers}
    for line in answers:
        if line.key not in stored or stored[line.key] != line.stored:
            store_answer(store, call_id, line.key, line.qtype, line.stored, now)
    for key in stored:
        if key not in keep:
            delete_answer(store, call_id, key)


def _own_unfinished(store: Store, call_id: int, caller: str) -> CallRecord:
    call = get_call(store, call_id)
    if call.caller != caller:
        raise UserError(f"call #{call_id} is {call.caller}'s, not {caller}'s")
    if call.ended_at is not None:
        raise UserError(f"call #{call_id} has already ended")
    return call


# -- unfinished calls and leftovers ------------------------------------------------------


def unfinished(store: Store, caller: str) -> list[UnfinishedCall]:
    """The caller's unfinished calls (a terminal died mid-call), oldest first."""
    out = []
    for call in unfinished_calls(store, caller):
        customer = get_customer(store, call.customer_id)
        if customer is not None:
            out.append(UnfinishedCall(call, customer, len(answers_for_call(store, call.id))))
    return out


def close_unfinished(store: Store, call_id: int, caller: str, now: datetime,
                     policy: Policy = DEFAULT_POLICY) -> CallRecord:
    """End an unfinished call with the outcome the caller had picked, else as partial (or
    no answer if nobody had answered)."""
    call = _own_unfinished(store, call_id, caller)
    chosen = call.chosen_outcome
    if chosen is not None and (chosen is not Outcome.CALLBACK or call.callback_at):
        # The caller had picked an outcome before the terminal died: keep their word.
        return record_outcome(store, call.id, chosen, now, policy=policy,
                              callback_at=call.callback_at,
                              callback_personal=bool(call.callback_personal)
                              if call.callback_personal is not None else True)
    outcome = Outcome.PARTIAL if call.connected_at else Outcome.NO_ANSWER
    return record_outcome(store, call.id, outcome, now, policy=policy)


def release_untouched(store: Store, sessions: list[CallSession]) -> None:
    """Give back customers that were taken but never called (the shift is ending)."""
    for session in sessions:
        if session.call_id is None:
            release_claim(store, session.caller, session.customer.id)


# -- a call made outside the app ---------------------------------------------------------


def log_call(store: Store, customer: int | str, outcome: Outcome | str, caller: str,
             now: datetime, policy: Policy = DEFAULT_POLICY, *,
             answers: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
             notes: str | None = None, script: str | None = None,
             callback_at: datetime | None = None,
             callback_personal: bool = True,
             recording: bool | None = None,
             withdraw: tuple[str, ...] | list[str] = ()) -> WrapUpResult:
    """Record a call made outside the app (``carecall log-call``), exactly as the app
    would have: the same session, validation and wrap-up, in one transaction.

    ``answers`` are (question key, text) pairs in any order; each is validated against the
    script (the one named, else the one the customer's queue reason calls for). Optional
    questions left out before a given one count as skipped. ``recording``: the customer's
    answer to the recording notice; ``withdraw``: consents the customer withdrew in the
    call (calls, marketing, recording, share), in force before the answers are checked (a
    marketing answer after "no marketing" is refused). UserError names what is wrong.
    """
    withdraw = tuple(dict.fromkeys(withdraw))
    for what in withdraw:
        if what not in consent.WHATS:
            raise UserError(f"withdraw {what!r}: one of {', '.join(consent.WHATS)}")
    if recording and "recording" in withdraw:
        raise UserError("the recording notice was answered yes and consent to recording "
                        "withdrawn: give one of them")
    session = CallSession.open(store, customer, caller, now, policy, script)
    if answers and recording is None and "recording" not in withdraw \
            and session.recording_answer_needed:
        # As on the call screen: where recording needs everyone's consent, the questions
        # come after the answer to the recording notice; a log without it is refused.
        raise UserError("the customer's answer to the recording notice comes before the "
                        f"questions here ({session.recording_law.cites()}): give "
                        "--recording yes or --recording no")
    session.calls_withdrawn = "calls" in withdraw
    chosen = session.choose(outcome, callback_at=callback_at,
                            callback_personal=callback_personal)
    said = [what for what, given in (("answers go", bool(answers)),
                                     ("a recording answer goes", recording is not None),
                                     ("a consent withdrawn goes", bool(withdraw))) if given]
    if said and chosen.outcome not in CONTACT:
        talk = ", ".join(o.value for o in Outcome if o in CONTACT)
        raise UserError(f"{said[0]} with an outcome where the customer was reached "
                        f"({talk}), not {chosen.outcome.value}")
    if {"calls", "marketing"} & set(withdraw):
        session.survey.allow_marketing(False)
    session.answer_all(answers)
    if chosen.outcome is Outcome.COMPLETED:
        session._skip_optional_before(None)
        if session.current() is not None:
            left = ", ".join(session.survey.missing())
            raise UserError(f"completed means the script was finished; not answered: {left} "
                            "(log it as partial, or give those answers)")
    with store.write():
        if recording is not None:
            session.record_recording(store, recording, now)
        for what in withdraw:
            session.record_consent(store, what, False, now,
                                   proof=(notes or "").strip() or "said on a logged call")
        return session.wrap_up(store, now, session.plan_wrap_up(now, notes or ""))
