"""Call records: start a call, mark it answered, keep its notes, record its outcome.

:func:`record_outcome` is where a call's result reaches everything else: it ends the call,
moves the customer's care-queue state on (:func:`next_care_state`), releases the claim,
puts a do-not-call number on the DNC list, marks a wrong number, opens the callback
follow-up, and finally lets ``calls.followups.on_call_ended`` close what the call answered.
Which outcome does what is its entry in the outcome table (``calls/outcomes.py``).
All of it is one transaction: a crash leaves either the whole outcome or none of it.
"""

from __future__ import annotations

import json
from dataclasses import field
from datetime import datetime, timedelta
from typing import Any

from calls import audit
from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.followups import add_followup, on_call_ended
from calls.models import Customer
from calls.outcomes import Outcome, parse_outcome
from calls.planner import plan_letter_now
from calls.policy import DEFAULT_POLICY, Policy
from calls.records import record
from calls.store import Store
from calls.store import calls as q
from calls.store.customers import get_customer


@record(frozen=True)
class CallRecord:
    """One call attempt as the store holds it."""

    id: int
    customer_id: int
    caller: str
    started_at: datetime
    script_id: int | None = None
    reason: str | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: Outcome | None = None
    chosen_outcome: Outcome | None = None   # picked, not yet recorded (call still open)
    callback_at: datetime | None = None
    callback_personal: bool | None = None
    notes: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)   # nps / rating answers by key

    @property
    def in_progress(self) -> bool:
        """Started and not ended."""
        return self.ended_at is None

    @classmethod
    def from_row(cls, row: dict, scores: dict[str, Any] | None = None) -> CallRecord:
        """Build from a ``calls`` row."""

        def moment(key: str) -> datetime | None:
            return from_iso(row[key]) if row.get(key) else None

        def code(key: str) -> Outcome | None:
            try:
                return Outcome(row[key]) if row.get(key) else None
            except ValueError:
                return None

        outcome = code("outcome")
        personal = row.get("callback_personal")
        return cls(
            id=row["id"],
            customer_id=row["customer_id"],
            caller=row["caller"],
            started_at=from_iso(row["started_at"]),
            script_id=row.get("script_id"),
            reason=row.get("reason"),
            connected_at=moment("connected_at"),
            ended_at=moment("ended_at"),
            outcome=outcome,
            chosen_outcome=code("chosen_outcome"),
            callback_at=moment("callback_at"),
            callback_personal=None if personal is None else bool(personal),
            notes=row.get("notes"),
            scores=scores or {},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = to_iso(value)
            elif isinstance(value, Outcome):
                value = value.value
            out[name] = value
        return out


# -- the queue state, pure -------------------------------------------------------------


def next_care_state(state: dict, outcome: Outcome | str, now: datetime,
                    policy: Policy = DEFAULT_POLICY) -> dict:
    """The customer's queue-state columns after a call ended with ``outcome`` at ``now``.

    - a closing outcome (completed, partial): the care cycle is done (``reached``);
    - a counted failure (no answer, busy, voicemail, refused, other person): one more
      attempt and a retry delay; at ``cycle.max_attempts`` the cycle is closed
      ``unreached`` (the planner then suggests a letter);
    - anything else (callback, do-not-call, wrong number, disconnected) sets the retry
      delay the policy has for it, if any, and leaves the cycle alone.
    """
    code = Outcome(outcome).value
    stamp = to_iso(now)
    attempts = state.get("cycle_attempts") or 0
    out = {
        "cycle_status": state.get("cycle_status"),
        "cycle_ended_at": state.get("cycle_ended_at"),
        "cycle_attempts": attempts,
        "retry_after": None,
        "last_outcome": code,
        "last_call_at": stamp,
    }
    if code in policy.cycle.closing_outcomes:
        out.update(cycle_status="reached", cycle_ended_at=stamp, cycle_attempts=0)
        return _keep_later_call(state, out)
    delay = policy.retry.delay(code)
    if code in policy.cycle.counted_outcomes:
        attempts += 1
        if attempts >= policy.cycle.max_attempts:
            out.update(cycle_status="unreached", cycle_ended_at=stamp, cycle_attempts=0)
            return _keep_later_call(state, out)
        out["cycle_attempts"] = attempts
    if delay:
        out["retry_after"] = to_iso(now + delay)
    return _keep_later_call(state, out)


def _keep_later_call(state: dict, out: dict) -> dict:
    """``out`` without moving the customer's last call backwards in time.

    A call logged late (``log-call --at`` yesterday, after today's call in the app) still
    counts towards the cycle, but the last call and its outcome stay today's, and the
    retry delay the later call set is not shortened.
    """
    later = state.get("last_call_at")
    if not later or later <= out["last_call_at"]:
        return out
    kept = dict(out, last_call_at=later, last_outcome=state.get("last_outcome"))
    if state.get("retry_after") and (out["retry_after"] or "") < state["retry_after"]:
        kept["retry_after"] = state["retry_after"]
    return kept


# -- the API ----------------------------------------------------------------------------


def _call(store: Store, call_id: int) -> dict:
    row = q.call_row(store, call_id)
    if row is None:
        raise UserError(f"no call #{call_id}")
    return row


def start_call(store: Store, customer_id: int, caller: str, now: datetime, *,
               script_id: int | None = None, reason: str | None = None,
               policy: Policy = DEFAULT_POLICY, inbound: bool = False) -> int:
    """Start a call to a customer (the caller dials now); returns the call id.

    The caller's claim on the customer is renewed for the call (the lease covers the
    call). Refused when another caller holds the customer, or the customer must not be
    called (do-not-call, number on the DNC list, wrong number).
    """
    if not caller:
        raise UserError("a call needs a caller name")
    stamp = to_iso(now)
    with store.write():
        state = q.customer_state(store, customer_id)
        if state is None:
            raise UserError(f"no customer #{customer_id}")
        who = f"{state['ref']} ({state['name']})"
        if not state.get("phone"):
            raise UserError(f"{who} has no phone number")
        if state.get("do_not_call"):
            raise UserError(f"{who} asked not to be called")
        from calls.store.queue import dnc_rows_for

        if dnc_rows_for(store, [state["phone"]]):
            raise UserError(f"{who}: {state['phone']} is on the do-not-call list")
        if (state.get("number_status") or "ok") != "ok":
            raise UserError(f"{who}: the number is marked {state['number_status']}; "
                            "correct it first")
        claim = q.live_claim(store, customer_id, stamp)
        if claim is not None and claim["caller"] != caller:
            raise UserError(f"{who} is being called by {claim['caller']}")
        call_id = q.insert_call(store, customer_id, caller, stamp, script_id, reason, inbound)
        from calls.store.queue import put_claim

        put_claim(store, customer_id, caller, stamp,
                  to_iso(now + timedelta(minutes=policy.claims.lease_minutes)))
        return call_id


def mark_connected(store: Store, call_id: int, now: datetime) -> None:
    """Record that the customer (or someone) answered."""
    with store.write():
        row = _call(store, call_id)
        if row.get("ended_at"):
            raise UserError(f"call #{call_id} has already ended")
        q.set_connected(store, call_id, to_iso(now))


def save_notes(store: Store, call_id: int, notes: str) -> None:
    """Replace the call's notes (while it runs and during wrap-up)."""
    with store.write():
        _call(store, call_id)
        q.set_notes(store, call_id, notes)


def choose_outcome(store: Store, call_id: int, outcome: Outcome | str, *,
                   callback_at: datetime | None = None,
                   callback_personal: bool = True) -> None:
    """Write the outcome the caller picked, the moment they pick it.

    The call stays open: :func:`record_outcome` ends it at wrap-up and applies what
    follows. If the terminal dies in between, :func:`unfinished_calls` returns the call
    with its ``chosen_outcome`` so it can be closed as the caller meant.
    """
    chosen = Outcome(outcome)
    with store.write():
        row = _call(store, call_id)
        if row.get("ended_at"):
            raise UserError(f"call #{call_id} has already ended")
        q.set_chosen_outcome(store, call_id, chosen.value,
                             to_iso(callback_at) if callback_at else None,
                             callback_personal if callback_at else None)


def check_outcome(outcome: Outcome | str, callback_at: datetime | None = None) -> Outcome:
    """The outcome for a code, checked against the callback time it needs (a callback)
    or must not have (anything else); UserError says what is wrong."""
    try:
        code = parse_outcome(str(outcome))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if code.spec.needs_callback:
        if callback_at is None:
            raise UserError(f"a {code.value} needs the time the customer asked for")
        if callback_at.tzinfo is None:
            raise UserError("the callback time needs a time zone")
    elif callback_at is not None:
        raise UserError("a callback time only goes with the callback outcome")
    return code


def record_outcome(store: Store, call_id: int, outcome: Outcome | str, now: datetime, *,
                   policy: Policy = DEFAULT_POLICY, callback_at: datetime | None = None,
                   callback_personal: bool = True, notes: str | None = None) -> CallRecord:
    """End a call with its outcome and apply what follows from it (see the module doc).

    ``callback_at`` (required for a callback) is the moment the customer asked for,
    timezone-aware (the TUI builds it in the customer's local time); it is stored in UTC.
    """
    code = check_outcome(outcome, callback_at)
    stamp = to_iso(now)
    with store.write():
        row = _call(store, call_id)
        if row.get("ended_at"):
            raise UserError(f"call #{call_id} already ended ({row.get('outcome')})")
        customer_id = row["customer_id"]
        caller = row["caller"]
        cb_text = to_iso(callback_at) if callback_at is not None else None
        q.end_call(store, call_id, stamp, code.value, cb_text,
                   callback_personal if code.spec.needs_callback else None, notes)
        state = q.customer_state(store, customer_id)
        changes = next_care_state(state, code, now, policy)
        if code.spec.dnc:
            changes.update(do_not_call=1, dnc_reason=f"asked on call #{call_id}", dnc_at=stamp)
            if state.get("phone"):
                q.add_to_dnc(store, state["phone"], state.get("phone_raw"), "call",
                             f"customer {state['ref']} asked on call #{call_id}", stamp, caller)
                audit.record(store, caller, "dnc.add", state["phone"],
                             {"source": "call", "call_id": call_id, "customer": state["ref"]},
                             now=now)
        elif code.spec.flags_number:
            changes["number_status"] = code.value
        changes["updated_at"] = stamp
        q.update_customer(store, customer_id, changes)
        q.delete_claim(store, customer_id, caller)
        if code.spec.needs_callback:
            _open_callback(store, customer_id, call_id, caller, callback_at, callback_personal,
                           notes, now)
        on_call_ended(store, call_id, now)
        # The attempt cap closed the cycle unreached on this very call: the letter is
        # planned now, due today, not at the next shift's planner run.
        plan_letter_now(store, customer_id, stamp, now)
        return _record(store, call_id)


def _open_callback(store: Store, customer_id: int, call_id: int, caller: str,
                   callback_at: datetime, personal: bool, notes: str | None,
                   now: datetime) -> None:
    owner = caller if personal else None
    details = f"asked to be called back (call #{call_id})"
    if notes:
        details += f": {notes.strip()}"
    add_followup(store, kind="callback", customer_id=customer_id, owner=owner,
                 due_at=callback_at, details=details, now=now, call_id=call_id,
                 created_by=caller, source="outcome")


def _record(store: Store, call_id: int) -> CallRecord:
    row = _call(store, call_id)
    return CallRecord.from_row(row, _scores(store, [call_id]).get(call_id))


def _scores(store: Store, call_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for a in q.score_answers(store, call_ids):
        try:
            value = json.loads(a["value"]) if a["value"] is not None else None
        except ValueError:
            value = a["value"]
        out.setdefault(a["call_id"], {})[a["key"]] = value
    return out


def get_call(store: Store, call_id: int) -> CallRecord:
    """One call by id (UserError if there is none)."""
    return _record(store, call_id)


def unfinished_calls(store: Store, caller: str) -> list[CallRecord]:
    """The caller's calls that were started and never ended (e.g. a terminal died)."""
    rows = q.unfinished_rows(store, caller)
    scores = _scores(store, [r["id"] for r in rows])
    return [CallRecord.from_row(r, scores.get(r["id"])) for r in rows]


def call_history(store: Store, customer_id: int) -> list[CallRecord]:
    """A customer's calls, newest first, with their NPS / rating answers."""
    rows = q.history_rows(store, customer_id)
    scores = _scores(store, [r["id"] for r in rows])
    return [CallRecord.from_row(r, scores.get(r["id"])) for r in rows]


def correct_number(store: Store, customer_id: int, raw: str, now: datetime,
                   by: str | None = None) -> Customer:
    """Replace a customer's phone number (after a wrong number); the customer can be
    called again. The number is read in the old number's region unless written
    internationally. UserError for a number that is not valid. An audit row
    ``customer.number`` by ``by`` (else the OS login) says from what to what."""
    from calls.ingest.phones import PhoneError, normalise_phone

    with store.write():
        state = q.customer_state(store, customer_id)
        if state is None:
            raise UserError(f"no customer #{customer_id}")
        try:
            phone = normalise_phone(raw, default_region=state.get("phone_region") or "US")
        except PhoneError as exc:
            raise UserError(f"{raw!r} is not a valid phone number: {exc}") from None
        q.update_customer(store, customer_id, {
            "phone": phone.e164,
            "phone_raw": phone.raw,
            "phone_ext": phone.ext,
            "phone_region": phone.region,
            "phone_type": phone.number_type,
            "time_zones": json.dumps(list(phone.time_zones)),
            "number_status": "ok",
            "retry_after": None,
            "updated_at": to_iso(now),
        })
        audit.record(store, by or audit.os_login(), "customer.number", state.get("ref"),
                     {"from": state.get("phone"), "to": phone.e164}, now=now)
    found = get_customer(store, customer_id)
    assert found is not None
    return found
