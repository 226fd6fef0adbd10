"""Floor status: what each seat is doing now, since when, and the day's figures from it.

A seat is in one state at a time, logged as intervals in ``seat_states``: ready (waiting
for the next customer), dialling, talking, wrap-up, or paused with a reason code from
the policy (``[floor] pause_reasons``: break, lunch, training, meeting, coaching,
technical); and ``locked`` while its screen is locked (the idle lock), over the state it
was in (:func:`lock_seat`, :func:`unlock_seat`). The call session moves a seat in the
transaction of each step (:func:`call_step`: dialling when a customer is taken, talking
when they answer, wrap-up when an outcome is picked; :func:`after_call`: ready, or
paused when a supervisor asked for a pause during the call); the seat itself signs on
(ready), pauses and resumes. Calls per hour and handle time come from these logged
intervals, not from estimates: calls per hour = calls / hours signed in and not paused
(nor locked while ready); handle time = time in dialling + talking + wrap-up on a call /
calls worked (a customer given back without a call is time worked, not handle time; a
lock during a call counts as the call: the caller may be on the phone).
"""

from __future__ import annotations

from dataclasses import field, replace
from datetime import datetime, timedelta

from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.outcomes import CONTACT, Outcome
from calls.policy import DEFAULT_POLICY, Policy
from calls.records import record
from calls.reports import average_handle_seconds
from calls.store import Store
from calls.store import floor as q

STATES = ("ready", "dialling", "talking", "wrapup", "paused")
# A locked screen: not a state the seat is set to (STATES), but one over them.
LOCKED = "locked"
LABEL = {"ready": "ready", "dialling": "dialling", "talking": "talking", "wrapup": "wrap-up",
         "paused": "paused", "away": "signed out", LOCKED: "locked"}
CALL_STATES = ("dialling", "talking", "wrapup")


def state_label(state: str, reason: str | None, locked_from: str | None = None) -> str:
    """A state in words: "paused (lunch)"; a locked seat: "locked", or "locked, " and the
    state under the lock when it was not ready ("locked, talking")."""
    if state == LOCKED and locked_from is not None:
        under = "" if locked_from == "ready" else f", {state_label(locked_from, reason)}"
        return f"{LABEL[LOCKED]}{under}"
    text = LABEL.get(state, state)
    return f"{text} ({reason})" if reason else text


@record(frozen=True)
class SeatState:
    """A seat's state now."""

    caller: str
    state: str
    since: datetime
    reason: str | None = None
    customer_id: int | None = None
    call_id: int | None = None
    pause_after: str | None = None   # a supervisor's pause, to start when the call ends
    set_by: str | None = None        # who paused the seat, when not the caller
    locked_from: str | None = None   # locked: the state under the lock (unlocking returns)
    # The seat the account is signed in at (seat_now); not part of the state itself.
    token: str | None = field(default=None, compare=False)

    @classmethod
    def from_row(cls, row: dict) -> SeatState:
        return cls(row["caller"], row["state"], from_iso(shown_since(row)), row["reason"],
                   row["customer_id"], row["call_id"], set_by=row.get("set_by"),
                   locked_from=row.get("locked_from"))

    @property
    def base_state(self) -> str:
        """The seat's own state: the one under the lock when locked."""
        return self.locked_from or self.state

    def elapsed(self, now: datetime) -> timedelta:
        """How long the seat has been in this state."""
        return max(now - self.since, timedelta(0))

    @property
    def label(self) -> str:
        return state_label(self.state, self.reason, self.locked_from)


def shown_since(row: dict) -> str:
    """Since when the seat of an open interval (a ``seat_states`` row) shows its state:
    a locked one since the lock; a state returned to by unlocking since before the
    lock."""
    if row["state"] == LOCKED:
        return row["started_at"]
    return row.get("state_since") or row["started_at"]


def set_state(store: Store, caller: str, state: str, *, now: datetime, reason: str | None = None,
              customer_id: int | None = None, call_id: int | None = None,
              policy: Policy = DEFAULT_POLICY, set_by: str | None = None) -> SeatState:
    """Move the caller's seat into ``state`` (the one before ends now). Setting the state
    the seat is already in (same reason and call) changes nothing. ``set_by``: who paused
    the seat, when it was not the caller (a supervisor). A locked seat stays locked: the
    new state is the one under the lock (unlocking returns to it)."""
    if state not in STATES:
        raise ValueError(f"unknown seat state {state!r}")
    if state == "paused":
        if reason not in policy.floor.pause_reasons:
            raise UserError(f"pause reason {reason!r}: use one of "
                            f"{', '.join(policy.floor.pause_reasons)}")
    else:
        reason = None
    with store.write():
        current = q.open_state(store, caller)
        locked_from = state if current is not None and current["state"] == LOCKED else None
        if (current and (current["locked_from"] or current["state"]) == state
                and current["reason"] == reason and current["call_id"] == call_id):
            return SeatState.from_row(current)
        stamp = to_iso(now)
        shown = LOCKED if locked_from else state
        q.close_open(store, caller, stamp)
        q.insert_state(store, caller, shown, reason, customer_id, call_id, stamp, set_by,
                       locked_from=locked_from, state_since=stamp if locked_from else None)
    return SeatState(caller, shown, from_iso(stamp), reason, customer_id, call_id,
                     set_by=set_by, locked_from=locked_from)


def lock_seat(store: Store, caller: str, *, now: datetime,
              token: str | None = None) -> SeatState | None:
    """The seat's screen locked (the idle lock): the seat is ``locked`` from now, over the
    state it was in (its reason, customer and call kept on the interval), so the floor
    shows it locked and for how long, and does not count it as ready. ``token``: the
    seat's id (a seat the account has since signed in at elsewhere is left alone). None
    when no seat is open (or not this one); a locked seat stays as it is."""
    with store.write():
        current = q.open_state(store, caller)
        if current is None or not _this_seat(store, caller, token):
            return None
        if current["state"] == LOCKED:
            return SeatState.from_row(current)
        stamp = to_iso(now)
        q.close_open(store, caller, stamp)
        q.insert_state(store, caller, LOCKED, current["reason"], current["customer_id"],
                       current["call_id"], stamp, current["set_by"],
                       locked_from=current["state"], state_since=shown_since(current))
    return replace(SeatState.from_row(current), state=LOCKED, since=from_iso(stamp),
                   locked_from=current["state"])


def unlock_seat(store: Store, caller: str, *, now: datetime,
                token: str | None = None) -> SeatState | None:
    """The seat's password was typed again: the seat returns to the state under the lock
    (what it was, or what a step or a supervisor made it meanwhile), from now. None when
    no seat is open (or not this one); a seat that is not locked stays as it is."""
    with store.write():
        current = q.open_state(store, caller)
        if current is None or not _this_seat(store, caller, token):
            return None
        if current["state"] != LOCKED:
            return SeatState.from_row(current)
        stamp = to_iso(now)
        q.close_open(store, caller, stamp)
        since = current["state_since"] or stamp
        q.insert_state(store, caller, current["locked_from"], current["reason"],
                       current["customer_id"], current["call_id"], stamp, current["set_by"],
                       state_since=since)
    return replace(SeatState.from_row(current), state=current["locked_from"],
                   since=from_iso(since), locked_from=None)


def _this_seat(store: Store, caller: str, token: str | None) -> bool:
    """Whether the caller's seat is the one with ``token`` (any, when None)."""
    if token is None:
        return True
    seat = q.seat_row(store, caller)
    return seat is None or seat["token"] == token


class SeatPaused(UserError):
    """The caller's seat is paused: no customer is offered until it is back to ready."""

    def __init__(self, state: SeatState) -> None:
        self.state = state
        super().__init__(f"{state.caller} is paused ({state.reason}) since "
                         f"{state.since:%H:%M} UTC: no customer is offered until the seat "
                         "is back to ready (Enter on the shift's paused screen)")


class AccountDisabled(UserError):
    """The caller's account was disabled while its seat was open: no customer is offered."""

    def __init__(self, caller: str) -> None:
        self.caller = caller
        super().__init__(f"account {caller} is disabled: no customer is offered; an admin "
                         "can enable it again (carecall users enable)")


def refuse_unless_ready_to_take(store: Store, caller: str) -> None:
    """SeatPaused (a UserError) when the caller's seat is paused; AccountDisabled when
    the caller's account has been disabled (a caller without an account, as in a
    one-person trial, is not refused here)."""
    if not q.account_active(store, caller):
        raise AccountDisabled(caller)
    state = current_state(store, caller)
    if state is not None and state.base_state == "paused":
        raise SeatPaused(state)


def call_step(store: Store, caller: str, state: str, *, now: datetime, customer_id: int,
              call_id: int | None = None) -> SeatState | None:
    """The call session moved the caller's call on (``dialling`` when a customer is
    taken, ``talking`` when they answer, ``wrapup`` when an outcome is picked): the seat
    follows, in the caller's transaction. Only a seat that is open moves (a call logged
    from the command line has none); a call row made after the customer was taken is
    named on the interval that was opened for it. Returns the seat's state (None: no
    seat open)."""
    with store.write():
        current = current_state(store, caller)
        if current is None:
            return None
        if current.base_state == state and current.customer_id == customer_id \
                and current.call_id in (None, call_id):
            if current.call_id is None and call_id is not None:
                row = q.open_state(store, caller)
                q.attach_call(store, row["id"], call_id)
                return replace(current, call_id=call_id)
            return current
        return set_state(store, caller, state, now=now, customer_id=customer_id,
                         call_id=call_id)


def after_call(store: Store, caller: str, *, now: datetime,
               policy: Policy = DEFAULT_POLICY) -> SeatState | None:
    """The call ended (wrap-up done, or the customer given back): the seat is ready, or
    paused when a supervisor asked for a pause during the call. In the caller's
    transaction; None when no seat is open."""
    with store.write():
        if q.open_state(store, caller) is None:
            return None
        asked = q.pause_request(store, caller)
        if asked is None:
            return set_state(store, caller, "ready", now=now)
        q.drop_pause_request(store, caller)
        return set_state(store, caller, "paused", now=now, reason=asked["reason"],
                         policy=_allowing(policy, asked["reason"]),
                         set_by=asked["requested_by"])


def _allowing(policy: Policy, reason: str) -> Policy:
    """The policy, or one that allows ``reason``: a pause asked for under another seat's
    policy still takes effect (the supervisor chose it from theirs)."""
    if reason in policy.floor.pause_reasons:
        return policy
    return replace(policy, floor=replace(policy.floor,
                                         pause_reasons=(*policy.floor.pause_reasons, reason)))


def sign_on(store: Store, caller: str, *, now: datetime) -> SeatState:
    """A seat opens: ready now (a seat that closed without signing out, e.g. a lost
    connection, ends here, with any pause it was asked for, and a lock)."""
    with store.write():
        q.drop_pause_request(store, caller)
        current = q.open_state(store, caller)
        if current is not None and current["state"] == LOCKED:
            q.close_open(store, caller, to_iso(now))
        return set_state(store, caller, "ready", now=now)


@record(frozen=True)
class SeatTaken:
    """A seat signed in: its state, and the seat of the same account it took over (the
    kind, terminal or web, and since when), if one was open."""

    state: SeatState
    replaced_kind: str | None = None
    replaced_since: datetime | None = None


def take_seat(store: Store, caller: str, *, token: str, kind: str,
              now: datetime) -> SeatTaken:
    """An account signs in at a seat (``token``: the seat's own random id): one account
    sits at one seat, so a seat it was still signed in at is taken over (that seat sees
    another token in :func:`seat_now` and closes itself; a call it left unfinished is
    offered for resuming here). The seat is ready now."""
    with store.write():
        before = q.seat_row(store, caller)
        q.put_seat(store, caller, token, kind, to_iso(now))
        state = replace(sign_on(store, caller, now=now), token=token)
    if before is None or before["token"] == token:
        return SeatTaken(state)
    return SeatTaken(state, before["kind"], from_iso(before["opened_at"]))


def sign_off(store: Store, caller: str, *, now: datetime, token: str | None = None) -> bool:
    """The seat closed: its open state ends now. ``token``: the seat's id; a seat the
    account has since signed in at elsewhere is left as it is (False)."""
    with store.write():
        seat = q.seat_row(store, caller)
        if token is not None and seat is not None and seat["token"] != token:
            return False
        q.end_seat(store, caller, to_iso(now))
    return True


def current_state(store: Store, caller: str) -> SeatState | None:
    """The caller's state now, or None when no seat of theirs is open."""
    row = q.open_state(store, caller)
    return SeatState.from_row(row) if row else None


def seat_now(store: Store, caller: str) -> SeatState | None:
    """What the seat shows: its state now with the pause a supervisor asked for after
    the call (``pause_after``), or None when no seat of theirs is open."""
    state = current_state(store, caller)
    if state is None:
        return None
    asked = q.pause_request(store, caller)
    seat = q.seat_row(store, caller)
    return replace(state, pause_after=asked["reason"] if asked else None,
                   token=seat["token"] if seat else None)


def is_paused(store: Store, caller: str) -> bool:
    """True while the caller is paused (no customer is offered to them)."""
    state = current_state(store, caller)
    return state is not None and state.base_state == "paused"


# Calls per hour is shown once a caller has worked this long today (signed in, not
# paused): three calls in the first five minutes are not "36 an hour".
RATE_AFTER_SECONDS = 30 * 60


@record(frozen=True)
class CallerFloor:
    """One caller on the floor: now and today."""

    caller: str
    display: str | None
    state: str                       # one of STATES, or "away" (no open seat)
    reason: str | None
    since: datetime | None
    in_state_seconds: float | None
    customer: str | None             # "name (ref)" while on a call; supervisors only
    calls: int
    contacts: int
    completes: int
    signed_in_seconds: float         # today, not paused (nor locked between calls)
    paused_seconds: float
    calls_per_hour: float | None
    handle_seconds: float | None     # average per call worked
    pause_after: str | None = None   # a supervisor's pause waiting for the call to end
    locked_from: str | None = None   # locked: the state under the lock
    locked_seconds: float = 0.0      # today, locked while ready (neither worked nor paused)

    @property
    def label(self) -> str:
        if self.pause_after:
            text = state_label(self.state, None, self.locked_from)
            return f"{text}, then paused ({self.pause_after})"
        return state_label(self.state, self.reason, self.locked_from)

    def to_dict(self) -> dict:
        return {
            "caller": self.caller, "display": self.display, "state": self.state,
            "reason": self.reason, "since": to_iso(self.since) if self.since else None,
            "in_state_seconds": self.in_state_seconds, "customer": self.customer,
            "calls": self.calls, "contacts": self.contacts, "completes": self.completes,
            "signed_in_seconds": self.signed_in_seconds,
            "paused_seconds": self.paused_seconds, "calls_per_hour": self.calls_per_hour,
            "handle_seconds": self.handle_seconds, "pause_after": self.pause_after,
            "locked_from": self.locked_from, "locked_seconds": self.locked_seconds,
        }


def floor_view(store: Store, now: datetime, day_start: datetime, *,
               show_customers: bool,
               outcomes: dict[str, dict[str | None, int]] | None = None) -> list[CallerFloor]:
    """Every caller: their state now and for how long, and today's figures (since
    ``day_start``). The current customer is named only when ``show_customers`` (a
    supervisor's view). ``outcomes``: the calls started in [day_start, now) per caller
    and outcome (None: in progress), when the caller has them (the dashboard keeps them
    per 10-minute slot); else read.

    Who is listed: every active account with the caller role (signed out too: the floor
    shows who is missing), and anyone else (a supervisor, an admin) only once they have
    been on the floor today (a seat open, time in a state, a call): a supervisor who
    watches the dashboard is not a caller "signed out"."""
    start, stamp = to_iso(day_start), to_iso(now)
    accounts = q.active_account_names(store)
    names: dict[str, str | None] = {name: display for name, display, _ in accounts}
    callers = {name for name, _, role in accounts if role == "caller"}
    opened = {r["caller"]: r for r in q.open_states(store)}
    asked = q.pause_requests(store)
    spent: dict[str, dict[str, tuple[float, int, float]]] = {}
    for r in q.state_seconds(store, start, stamp):
        spent.setdefault(r["caller"], {})[r["state"]] = (
            float(r["seconds"] or 0), r["calls"], float(r["call_seconds"] or 0))
    if outcomes is None:
        outcomes = {}
        for r in q.calls_by_outcome(store, start, stamp):
            outcomes.setdefault(r["caller"], {})[r["outcome"]] = r["n"]
    everyone = sorted(callers | set(opened) | set(spent) | set(outcomes), key=str.lower)
    contact_codes = {o.value for o in CONTACT}
    view = []
    for caller in everyone:
        row = opened.get(caller)
        states = spent.get(caller, {})
        done = outcomes.get(caller, {})
        calls = sum(done.values())
        paused = states.get("paused", (0.0, 0, 0.0))[0]
        locked = states.get(LOCKED, (0.0, 0, 0.0))[0]
        working = sum(s for k, (s, _, _) in states.items() if k not in ("paused", LOCKED))
        # Handle time is the calls' own: a customer taken and given back (no call) is
        # time worked, not a call's handling (it made a caller's average look slower).
        handled = sum(states.get(k, (0.0, 0, 0.0))[2] for k in CALL_STATES)
        worked = max((states.get(k, (0.0, 0, 0.0))[1] for k in CALL_STATES), default=0)
        customer = None
        if show_customers and row is not None and row["customer_name"] is not None:
            customer = f"{row['customer_name']} ({row['customer_ref']})"
        since = from_iso(shown_since(row)) if row else None
        view.append(CallerFloor(
            caller=caller, display=names.get(caller),
            state=row["state"] if row else "away", reason=row["reason"] if row else None,
            since=since,
            in_state_seconds=(now - since).total_seconds() if since else None,
            customer=customer, calls=calls,
            contacts=sum(n for o, n in done.items() if o in contact_codes),
            completes=done.get(Outcome.COMPLETED.value, 0),
            signed_in_seconds=working, paused_seconds=paused,
            calls_per_hour=(calls / (working / 3600)
                            if working >= RATE_AFTER_SECONDS and calls else None),
            handle_seconds=average_handle_seconds(handled, worked),
            pause_after=asked.get(caller) if row is not None else None,
            locked_from=row["locked_from"] if row else None, locked_seconds=locked,
        ))
    return view


# -- pauses: the seat taken off the floor, with a reason (audited) ---------------------
# Ready, dialling, talking and wrap-up are the floor's own states (the seat log, the
# dashboard's figures); a pause is someone's decision to take a seat off the floor, with a
# reason, so it is also an audit row ``seat.pause``: the caller's own (``p``) or a
# supervisor's. Coming back to ready ends the pause in the seat log only.


def pause_seat(store: Store, caller: str, reason: str, *, now: datetime,
               policy: Policy = DEFAULT_POLICY) -> SeatState:
    """The caller steps away (``p``, between calls): paused with one of the policy's
    reasons, and a ``seat.pause`` audit row in the same transaction. Pausing a seat that
    is already paused for the same reason changes nothing."""
    from calls import audit

    with store.write():
        before = current_state(store, caller)
        state = set_state(store, caller, "paused", now=now, reason=reason, policy=policy)
        if before is None or (before.state, before.reason) != ("paused", reason):
            audit.record(store, caller, "seat.pause", caller,
                         {"reason": reason, "from": "now"}, now=now)
    return state


# -- a supervisor acting on a caller's seat ---------------------------------------------


def pause_caller(store: Store, caller: str, reason: str, *, actor, now: datetime,
                 policy: Policy = DEFAULT_POLICY) -> SeatState:
    """A supervisor pauses a caller (e.g. for coaching): their seat stops offering
    customers until they resume. A caller on a call finishes it first: the pause starts
    when their wrap-up is done (the state returned then has ``pause_after``). Audited;
    supervisors and admins only; UserError for a caller with no seat open."""
    from calls import audit
    from calls.accounts import require

    require(actor, "floor.manage")
    if reason not in policy.floor.pause_reasons:
        raise UserError(f"pause reason {reason!r}: use one of "
                        f"{', '.join(policy.floor.pause_reasons)}")
    with store.write():
        current = current_state(store, caller)
        if current is None:
            raise UserError(f"{caller} has no seat open (signed out): nothing to pause")
        if current.base_state in CALL_STATES:
            q.put_pause_request(store, caller, reason, actor.name, to_iso(now))
            state = replace(current, pause_after=reason)
            when = "after the call"
        else:
            q.drop_pause_request(store, caller)
            state = set_state(store, caller, "paused", now=now, reason=reason, policy=policy,
                              set_by=actor.name)
            when = "now"
        audit.record(store, actor.name, "seat.pause", caller,
                     {"reason": reason, "from": when}, now=now)
    return state


def release_caller(store: Store, caller: str, *, actor, now: datetime) -> int:
    """A supervisor gives back every customer a caller has claimed (a seat that left in a
    hurry); how many. Audited; supervisors and admins only."""
    from calls import audit
    from calls.accounts import require
    from calls.queue import release

    require(actor, "floor.manage")
    with store.write():
        released = release(store, caller)
        if released:
            audit.record(store, actor.name, "claims.release", caller,
                         {"customers": len(released)}, now=now)
    return len(released)
