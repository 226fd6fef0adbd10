"""Floor status: what each seat is doing now, since when, and the day's figures from it.

A seat is in one state at a time, logged as intervals in ``seat_states``: ready (waiting
for the next customer), dialling, talking, wrap-up, or paused with a reason code from
the policy (``[floor] pause_reasons``: break, lunch, training, meeting, coaching,
technical). The call session moves a seat through dialling, talking and wrap-up; the
app sets ready and paused. Calls per hour and handle time come from these logged
intervals, not from estimates: calls per hour = calls / hours signed in and not paused;
handle time = time in dialling + talking + wrap-up / calls worked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from calls.clock import from_iso, to_iso
from calls.errors import UserError
from calls.outcomes import CONTACT, Outcome
from calls.policy import DEFAULT_POLICY, Policy
from calls.store import Store
from calls.store import floor as q

STATES = ("ready", "dialling", "talking", "wrapup", "paused")
LABEL = {"ready": "ready", "dialling": "dialling", "talking": "talking", "wrapup": "wrap-up",
         "paused": "paused", "away": "signed out"}
CALL_STATES = ("dialling", "talking", "wrapup")


@dataclass(frozen=True)
class SeatState:
    """A seat's state now."""

    caller: str
    state: str
    since: datetime
    reason: str | None = None
    customer_id: int | None = None
    call_id: int | None = None

    @classmethod
    def from_row(cls, row: dict) -> SeatState:
        return cls(row["caller"], row["state"], from_iso(row["started_at"]), row["reason"],
                   row["customer_id"], row["call_id"])

    def elapsed(self, now: datetime) -> timedelta:
        """How long the seat has been in this state."""
        return max(now - self.since, timedelta(0))

    @property
    def label(self) -> str:
        text = LABEL.get(self.state, self.state)
        return f"{text} ({self.reason})" if self.reason else text


def set_state(store: Store, caller: str, state: str, *, now: datetime, reason: str | None = None,
              customer_id: int | None = None, call_id: int | None = None,
              policy: Policy = DEFAULT_POLICY) -> SeatState:
    """Move the caller's seat into ``state`` (the one before ends now). Setting the state
    the seat is already in (same reason and call) changes nothing."""
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
        if (current and current["state"] == state and current["reason"] == reason
                and current["call_id"] == call_id):
            return SeatState.from_row(current)
        stamp = to_iso(now)
        q.close_open(store, caller, stamp)
        q.insert_state(store, caller, state, reason, customer_id, call_id, stamp)
    return SeatState(caller, state, from_iso(stamp), reason, customer_id, call_id)


def follow_calls(store: Store, caller: str, *, now: datetime) -> SeatState | None:
    """Move the seat along the caller's call as the call session records it: dialling
    from the call's start, talking from its connection, wrap-up once an outcome is
    picked, ready from its end. The times are the call's own (wrap-up: when first seen),
    so the log is exact however often this runs; states a short call went through
    between two runs are logged too. A paused seat is left alone. Only reads unless the
    seat has to move (it runs after every database step of a seat)."""
    current, steps = _follow_plan(store, caller, now)
    if not steps:
        return current
    with store.write():
        current, steps = _follow_plan(store, caller, now)  # again, under the write lock
        state = current
        for name, moment, customer_id, call_id in steps:
            state = set_state(store, caller, name, now=max(moment, state.since),
                              customer_id=customer_id, call_id=call_id)
        return state


def _follow_plan(store: Store, caller: str, now: datetime):
    """The seat's state now and the (state, at, customer, call) steps it is behind."""
    current = current_state(store, caller)
    if current is None or current.state == "paused":
        return current, []
    call = q.seat_call(store, caller, to_iso(current.since))
    if call is None:
        return current, []
    wanted = [("dialling", call["started_at"])]
    if call["connected_at"]:
        wanted.append(("talking", call["connected_at"]))
    if call["chosen_outcome"] or call["ended_at"]:
        wanted.append(("wrapup", call["ended_at"] or to_iso(now)))
    if call["ended_at"]:
        wanted.append(("ready", call["ended_at"]))
    logged = q.logged_states_of_call(store, caller, call["id"])
    steps = []
    for name, at in wanted:
        moment = from_iso(at)
        if name in logged or (name == "ready" and current.state == "ready"
                              and current.since >= moment):
            continue
        on_call = name != "ready"
        steps.append((name, moment, call["customer_id"] if on_call else None,
                      call["id"] if on_call else None))
    return current, steps


def sign_off(store: Store, caller: str, *, now: datetime) -> None:
    """The seat closed: its open state ends now."""
    with store.write():
        q.close_open(store, caller, to_iso(now))


def current_state(store: Store, caller: str) -> SeatState | None:
    """The caller's state now, or None when no seat of theirs is open."""
    row = q.open_state(store, caller)
    return SeatState.from_row(row) if row else None


def is_paused(store: Store, caller: str) -> bool:
    """True while the caller is paused (no customer is offered to them)."""
    state = current_state(store, caller)
    return state is not None and state.state == "paused"


@dataclass(frozen=True)
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
    signed_in_seconds: float         # today, not paused
    paused_seconds: float
    calls_per_hour: float | None
    handle_seconds: float | None     # average per call worked

    @property
    def label(self) -> str:
        text = LABEL.get(self.state, self.state)
        return f"{text} ({self.reason})" if self.reason else text

    def to_dict(self) -> dict:
        return {
            "caller": self.caller, "display": self.display, "state": self.state,
            "reason": self.reason, "since": to_iso(self.since) if self.since else None,
            "in_state_seconds": self.in_state_seconds, "customer": self.customer,
            "calls": self.calls, "contacts": self.contacts, "completes": self.completes,
            "signed_in_seconds": self.signed_in_seconds,
            "paused_seconds": self.paused_seconds, "calls_per_hour": self.calls_per_hour,
            "handle_seconds": self.handle_seconds,
        }


def floor_view(store: Store, now: datetime, day_start: datetime, *,
               show_customers: bool) -> list[CallerFloor]:
    """Every caller: their state now and for how long, and today's figures (since
    ``day_start``). The current customer is named only when ``show_customers`` (a
    supervisor's view)."""
    start, stamp = to_iso(day_start), to_iso(now)
    names: dict[str, str | None] = dict(q.active_account_names(store))
    opened = {r["caller"]: r for r in q.open_states(store)}
    spent: dict[str, dict[str, tuple[float, int]]] = {}
    for r in q.state_seconds(store, start, stamp):
        spent.setdefault(r["caller"], {})[r["state"]] = (float(r["seconds"] or 0), r["calls"])
    outcomes: dict[str, dict[str | None, int]] = {}
    for r in q.calls_by_outcome(store, start, stamp):
        outcomes.setdefault(r["caller"], {})[r["outcome"]] = r["n"]
    everyone = sorted(set(names) | set(opened) | set(spent) | set(outcomes), key=str.lower)
    contact_codes = {o.value for o in CONTACT}
    view = []
    for caller in everyone:
        row = opened.get(caller)
        states = spent.get(caller, {})
        done = outcomes.get(caller, {})
        calls = sum(done.values())
        paused = states.get("paused", (0.0, 0))[0]
        working = sum(s for k, (s, _) in states.items() if k != "paused")
        handled = sum(states.get(k, (0.0, 0))[0] for k in CALL_STATES)
        worked = max((states.get(k, (0.0, 0))[1] for k in CALL_STATES), default=0)
        customer = None
        if show_customers and row is not None and row["customer_name"] is not None:
            customer = f"{row['customer_name']} ({row['customer_ref']})"
        since = from_iso(row["started_at"]) if row else None
        view.append(CallerFloor(
            caller=caller, display=names.get(caller),
            state=row["state"] if row else "away", reason=row["reason"] if row else None,
            since=since,
            in_state_seconds=(now - since).total_seconds() if since else None,
            customer=customer, calls=calls,
            contacts=sum(n for o, n in done.items() if o in contact_codes),
            completes=done.get(Outcome.COMPLETED.value, 0),
            signed_in_seconds=working, paused_seconds=paused,
            calls_per_hour=calls / (working / 3600) if working >= 60 and calls else None,
            handle_seconds=handled / worked if worked else None,
        ))
    return view


# -- a supervisor acting on a caller's seat ---------------------------------------------


def pause_caller(store: Store, caller: str, reason: str, *, actor, now: datetime,
                 policy: Policy = DEFAULT_POLICY) -> SeatState:
    """A supervisor pauses a caller (e.g. for coaching): their seat stops offering
    customers until they resume. Audited; supervisors and admins only."""
    from calls import audit
    from calls.accounts import require

    require(actor, "floor.manage")
    with store.write():
        state = set_state(store, caller, "paused", now=now, reason=reason, policy=policy)
        audit.record(store, actor.name, "seat.pause", caller, {"reason": reason}, now=now)
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
