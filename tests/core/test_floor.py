"""Floor status: seat states as intervals, pause reasons from the policy, and the per-caller
view (state, time in state, customer for supervisors, today's figures) with a fixed clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from calls import floor
from calls.errors import UserError
from calls.policy import policy_from_dict
from tests.support.queue import NY, add_customer
from tests.support.team import make_team


def add_call(store, customer_id, caller, started, outcome):
    with store.write():
        return store.db["calls"].insert({
            "customer_id": customer_id, "caller": caller, "started_at": started,
            "ended_at": started, "outcome": outcome}).last_pk


def test_states_are_intervals_and_pause_needs_a_known_reason(store, now):
    s = floor.set_state(store, "ann", "ready", now=now)
    assert (s.state, s.since) == ("ready", now)
    assert floor.set_state(store, "ann", "ready", now=now + timedelta(minutes=1)).since == now
    with pytest.raises(UserError, match="pause reason 'nap'"):
        floor.set_state(store, "ann", "paused", now=now, reason="nap")
    p = floor.set_state(store, "ann", "paused", now=now + timedelta(minutes=5), reason="lunch")
    assert p.label == "paused (lunch)" and floor.is_paused(store, "ann")
    assert p.elapsed(now + timedelta(minutes=35)) == timedelta(minutes=30)
    custom = policy_from_dict({"floor": {"pause_reasons": ["huddle"]}})
    floor.set_state(store, "ann", "paused", now=now, reason="huddle", policy=custom)
    floor.sign_off(store, "ann", now=now + timedelta(hours=1))
    assert floor.current_state(store, "ann") is None
    assert store.scalar("SELECT count(*) FROM seat_states WHERE ended_at IS NULL") == 0


def test_floor_view_per_caller(store, now):
    make_team(store, now)
    start = now - timedelta(hours=2)
    c1 = add_customer(store, "R1", where=NY, name="Alma Alpha")
    c2 = add_customer(store, "R2", where=NY, name="Bea Beta")
    t = start
    # ann: 10 min ready, a call (2 min dialling, 6 talking, 2 wrap-up), 15 min lunch,
    # then a second call being dialled now.
    floor.set_state(store, "ann", "ready", now=t)
    call1 = add_call(store, c1, "ann", "2026-03-10T13:10:00Z", "completed")
    floor.set_state(store, "ann", "dialling", now=t + timedelta(minutes=10), customer_id=c1,
                    call_id=call1)
    floor.set_state(store, "ann", "talking", now=t + timedelta(minutes=12), customer_id=c1,
                    call_id=call1)
    floor.set_state(store, "ann", "wrapup", now=t + timedelta(minutes=18), customer_id=c1,
                    call_id=call1)
    floor.set_state(store, "ann", "paused", now=t + timedelta(minutes=20), reason="lunch")
    floor.set_state(store, "ann", "ready", now=t + timedelta(minutes=35))
    call2 = add_call(store, c2, "ann", "2026-03-10T14:55:00Z", "no_answer")
    floor.set_state(store, "ann", "dialling", now=now - timedelta(minutes=5), customer_id=c2,
                    call_id=call2)
    floor.set_state(store, "bob", "paused", now=now - timedelta(minutes=7), reason="break")
    view = {v.caller: v for v in floor.floor_view(store, now, start, show_customers=True)}
    # Active callers; sue (supervisor) and boss (admin) have not been on the floor today.
    assert sorted(view) == ["ann", "bob"]
    ann = view["ann"]
    assert (ann.state, ann.in_state_seconds, ann.customer) == ("dialling", 300,
                                                               "Bea Beta (R2)")
    assert (ann.calls, ann.contacts, ann.completes) == (2, 1, 1)
    assert ann.paused_seconds == 15 * 60
    assert ann.signed_in_seconds == 105 * 60  # 2 hours less the lunch
    assert ann.calls_per_hour == pytest.approx(2 / 1.75)
    # Handle time: call 1 took 10 minutes, call 2 has been dialled for 5 so far.
    assert ann.handle_seconds == pytest.approx(15 * 60 / 2)
    assert view["bob"].label == "paused (break)" and view["bob"].in_state_seconds == 420
    assert view["bob"].display == "Bob Lee"
    hidden = {v.caller: v for v in floor.floor_view(store, now, start, show_customers=False)}
    assert hidden["ann"].customer is None


def test_supervisors_are_on_the_floor_only_once_they_worked_it_today(store, now):
    """A supervisor (or admin) who only watches the dashboard is not listed as a caller
    "signed out"; once they take a seat they are listed, and stay listed for the day."""
    make_team(store, now)
    start = now - timedelta(hours=2)

    def listed(at):
        return {v.caller: v for v in floor.floor_view(store, at, start, show_customers=True)}

    assert sorted(listed(now)) == ["ann", "bob"]
    floor.take_seat(store, "sue", token="t", kind="terminal", now=now)
    floor.take_seat(store, "boss", token="u", kind="terminal", now=now)
    seen = listed(now + timedelta(minutes=3))
    assert sorted(seen) == ["ann", "bob", "boss", "sue"]
    assert (seen["sue"].label, seen["sue"].display) == ("ready", "Sue Lee")
    floor.sign_off(store, "sue", now=now + timedelta(minutes=10))
    later = listed(now + timedelta(minutes=20))
    assert later["sue"].label == "signed out" and later["sue"].signed_in_seconds == 600
    assert later["boss"].label == "ready"   # his seat is still open
    floor.sign_off(store, "boss", now=now + timedelta(minutes=30))
    tomorrow = now + timedelta(days=1)
    assert sorted(v.caller for v in floor.floor_view(
        store, tomorrow, tomorrow - timedelta(hours=1), show_customers=True)) == ["ann", "bob"]


def states(store, caller="ann"):
    return [(r["state"], r["started_at"], r["call_id"]) for r in store.all(
        "SELECT state, started_at, call_id FROM seat_states WHERE caller = ? ORDER BY id",
        (caller,))]


def test_the_call_session_moves_the_seat_at_each_step(store, now):
    from calls.clock import to_iso
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession

    add_customer(store, "R1", where=NY)
    add_customer(store, "R2", where=NY)
    floor.sign_on(store, "ann", now=now)
    t = [now + timedelta(seconds=k) for k in range(0, 600, 10)]
    s = CallSession.take_next(store, "ann", t[1], DEFAULT_POLICY, "quarterly")
    # Taken: dialling at once, before any call record exists.
    assert (s.seat.state, s.seat.since, s.seat.call_id) == ("dialling", t[1], None)
    assert floor.current_state(store, "ann").customer_id == s.customer.id
    s.start(store)   # the call row: named on the same interval, no new state
    assert floor.current_state(store, "ann") == s.seat and s.seat.call_id == s.call_id
    s.connect(store, t[3])
    assert (s.seat.state, s.seat.since) == ("talking", t[3])
    s.keep_outcome(store, s.choose("completed"), t[9])
    assert (s.seat.state, s.seat.since) == ("wrapup", t[9])
    result = s.wrap_up(store, t[12], s.plan_wrap_up(t[12]))
    assert (result.seat.state, result.seat.since, result.seat.call_id) == ("ready", t[12], None)
    call = s.call_id
    # A customer taken and given back: dialling, then ready; no call, no call worked.
    g = CallSession.take_next(store, "ann", t[20], DEFAULT_POLICY, "quarterly")
    assert g.give_back(store, t[21]).state == "ready"
    assert states(store) == [
        ("ready", to_iso(now), None), ("dialling", to_iso(t[1]), call),
        ("talking", to_iso(t[3]), call), ("wrapup", to_iso(t[9]), call),
        ("ready", to_iso(t[12]), None), ("dialling", to_iso(t[20]), None),
        ("ready", to_iso(t[21]), None)]
    view = {v.caller: v for v in floor.floor_view(store, t[22], now, show_customers=True)}
    # The call alone: the customer given back is time worked, not a call's handling.
    assert view["ann"].handle_seconds == 110
    assert view["ann"].signed_in_seconds == 220
    # A call logged from outside the app (log-call) has no seat: the seat stays ready.
    from calls.session import log_call

    log_call(store, "R2", "no_answer", "ann", t[23])
    assert floor.current_state(store, "ann").since == t[21]


def test_a_resumed_call_puts_the_seat_where_the_call_was(store, now):
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession

    add_customer(store, "R1", where=NY)
    floor.sign_on(store, "ann", now=now)
    s = CallSession.take_next(store, "ann", now, DEFAULT_POLICY, "quarterly")
    s.connect(store, now + timedelta(seconds=5))
    floor.sign_off(store, "ann", now=now + timedelta(minutes=1))   # the terminal died
    floor.sign_on(store, "ann", now=now + timedelta(minutes=3))
    r = CallSession.resume(store, s.call_id, "ann", now + timedelta(minutes=4), DEFAULT_POLICY)
    assert (r.seat.state, r.seat.since, r.seat.call_id) == (
        "talking", now + timedelta(minutes=4), s.call_id)


def test_a_pause_asked_during_a_call_starts_when_the_wrap_up_is_done(store, now):
    from calls import audit
    from calls.accounts import get_account
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession

    make_team(store, now)
    sue = get_account(store, "sue").as_actor()
    add_customer(store, "R1", where=NY)
    add_customer(store, "R2", where=NY)
    floor.sign_on(store, "ann", now=now)
    s = CallSession.take_next(store, "ann", now, DEFAULT_POLICY, "quarterly")
    s.connect(store, now + timedelta(seconds=5))
    asked = floor.pause_caller(store, "ann", "coaching", actor=sue,
                               now=now + timedelta(minutes=1))
    # The call goes on: the seat is still talking, with the pause waiting.
    assert (asked.state, asked.pause_after) == ("talking", "coaching")
    assert floor.seat_now(store, "ann").pause_after == "coaching"
    view = {v.caller: v for v in floor.floor_view(store, now + timedelta(minutes=2), now,
                                                   show_customers=True)}
    assert view["ann"].label == "talking, then paused (coaching)"
    s.keep_outcome(store, s.choose("completed"), now + timedelta(minutes=3))
    done = s.wrap_up(store, now + timedelta(minutes=4))
    assert (done.seat.state, done.seat.reason, done.seat.since) == (
        "paused", "coaching", now + timedelta(minutes=4))
    assert floor.seat_now(store, "ann").pause_after is None   # taken effect: asked no more
    # Paused: no customer is offered, with one clear reason.
    with pytest.raises(floor.SeatPaused, match=r"ann is paused \(coaching\) since 15:04"):
        CallSession.take_next(store, "ann", now + timedelta(minutes=5), DEFAULT_POLICY)
    cid = store.scalar("SELECT id FROM customers WHERE ref = 'R2'")
    with pytest.raises(floor.SeatPaused):
        CallSession.take(store, cid, "ann", now + timedelta(minutes=5), DEFAULT_POLICY)
    assert store.scalar("SELECT count(*) FROM claims WHERE caller = 'ann'") == 0
    row = [e for e in audit.entries(store, action="seat.pause")][-1]
    assert (row.actor, row.subject, row.details) == (
        "sue", "ann", {"reason": "coaching", "from": "after the call"})
    # Between calls a pause is at once; a signed-out caller cannot be paused.
    floor.set_state(store, "bob", "ready", now=now)
    assert floor.pause_caller(store, "bob", "meeting", actor=sue, now=now).state == "paused"
    with pytest.raises(UserError, match="boss has no seat open"):
        floor.pause_caller(store, "boss", "meeting", actor=sue, now=now)
    with pytest.raises(UserError, match="pause reason 'nap'"):
        floor.pause_caller(store, "bob", "nap", actor=sue, now=now)


def test_signing_off_forgets_a_pause_that_waited_for_a_call(store, now):
    from calls.accounts import get_account

    make_team(store, now)
    sue = get_account(store, "sue").as_actor()
    cid = add_customer(store, "R1", where=NY)
    floor.sign_on(store, "ann", now=now)
    floor.call_step(store, "ann", "dialling", now=now, customer_id=cid)
    floor.pause_caller(store, "ann", "break", actor=sue, now=now)
    floor.sign_off(store, "ann", now=now + timedelta(minutes=1))
    floor.sign_on(store, "ann", now=now + timedelta(minutes=2))
    assert floor.after_call(store, "ann", now=now + timedelta(minutes=3)).state == "ready"
    # No seat open: the session's steps move nothing.
    floor.sign_off(store, "ann", now=now + timedelta(minutes=4))
    assert floor.call_step(store, "ann", "talking", now=now, customer_id=cid) is None
    assert floor.after_call(store, "ann", now=now) is None


def test_one_account_sits_at_one_seat(store, now):
    first = floor.take_seat(store, "ann", token="t1", kind="terminal", now=now)
    assert (first.state.state, first.state.token, first.replaced_kind) == ("ready", "t1", None)
    assert floor.seat_now(store, "ann").token == "t1"
    later = now + timedelta(minutes=3)
    second = floor.take_seat(store, "ann", token="t2", kind="web", now=later)
    assert (second.replaced_kind, second.replaced_since) == ("terminal", now)
    assert floor.seat_now(store, "ann").token == "t2"   # the first seat sees it and closes
    # The first seat closing leaves the second one's state alone.
    assert floor.sign_off(store, "ann", now=later, token="t1") is False
    assert floor.current_state(store, "ann").state == "ready"   # still open
    assert floor.sign_off(store, "ann", now=later + timedelta(minutes=1), token="t2") is True
    assert floor.current_state(store, "ann") is None and floor.seat_now(store, "ann") is None
    assert store.scalar("SELECT count(*) FROM seats") == 0


def test_a_callers_own_pause_is_an_audit_row_in_its_transaction(store, now):
    """Pauses with a reason are audit rows whoever takes the seat off the floor; ready,
    dialling, talking and wrap-up are the seat log's only. A refused pause leaves neither."""
    from calls import audit

    floor.sign_on(store, "ann", now=now)
    with pytest.raises(UserError, match="pause reason 'nap'"):
        floor.pause_seat(store, "ann", "nap", now=now)
    assert audit.entries(store) == [] and floor.current_state(store, "ann").state == "ready"
    state = floor.pause_seat(store, "ann", "break", now=now + timedelta(minutes=1))
    assert state.label == "paused (break)"
    floor.pause_seat(store, "ann", "break", now=now + timedelta(minutes=2))   # already: no row
    floor.pause_seat(store, "ann", "lunch", now=now + timedelta(minutes=3))   # a new reason
    floor.set_state(store, "ann", "ready", now=now + timedelta(minutes=40))
    assert [(e.actor, e.action, e.subject, e.details["reason"], e.at - now)
            for e in audit.entries(store)] == [
        ("ann", "seat.pause", "ann", "break", timedelta(minutes=1)),
        ("ann", "seat.pause", "ann", "lunch", timedelta(minutes=3))]


def test_a_disabled_account_is_offered_no_customer_and_its_claims_go_back(store, now):
    from calls import accounts
    from calls.policy import DEFAULT_POLICY
    from calls.session import CallSession

    make_team(store, now)
    boss = accounts.get_account(store, "boss").as_actor()
    add_customer(store, "R1", where=NY)
    r2 = add_customer(store, "R2", where=NY)
    floor.sign_on(store, "ann", now=now)
    s = CallSession.take_next(store, "ann", now, DEFAULT_POLICY, "quarterly")
    assert s is not None and floor.current_state(store, "ann").state == "dialling"
    accounts.set_active(store, "ann", False, actor=boss, now=now + timedelta(minutes=1))
    assert floor.current_state(store, "ann") is None          # the seat is signed off
    assert store.scalar("SELECT count(*) FROM claims WHERE caller = 'ann'") == 0
    later = now + timedelta(minutes=2)
    with pytest.raises(floor.AccountDisabled, match="account ann is disabled"):
        CallSession.take_next(store, "ann", later, DEFAULT_POLICY)
    with pytest.raises(floor.AccountDisabled):
        CallSession.take(store, r2, "ann", later, DEFAULT_POLICY)
    # bob takes the customer ann had claimed; enabled again, ann is offered customers
    assert CallSession.take_next(store, "bob", later, DEFAULT_POLICY).customer.ref == "R1"
    accounts.set_active(store, "ann", True, actor=boss, now=later)
    assert CallSession.take_next(store, "ann", later, DEFAULT_POLICY).customer.ref == "R2"


# -- a locked seat (the idle lock) -------------------------------------------------------


def test_a_locked_seat_is_locked_on_the_floor_and_unlocking_returns_it(store, now):
    make_team(store, now)
    start = now - timedelta(hours=1)
    floor.take_seat(store, "ann", token="t1", kind="terminal", now=start)
    locked = floor.lock_seat(store, "ann", now=start + timedelta(minutes=20), token="t1")
    assert (locked.state, locked.locked_from, locked.label) == ("locked", "ready", "locked")
    # Locking again, or from a seat the account no longer sits at, changes nothing.
    assert floor.lock_seat(store, "ann", now=start + timedelta(minutes=25)).since == \
        start + timedelta(minutes=20)
    assert floor.lock_seat(store, "ann", now=now, token="other") is None
    view = {v.caller: v for v in floor.floor_view(store, now, start, show_customers=True)}
    ann = view["ann"]
    assert (ann.state, ann.label, ann.in_state_seconds) == ("locked", "locked", 40 * 60)
    # Not ready, not worked: 20 minutes ready, then 40 locked.
    assert (ann.signed_in_seconds, ann.locked_seconds, ann.paused_seconds) == (
        20 * 60, 40 * 60, 0)
    assert ann.to_dict()["locked_seconds"] == 40 * 60
    assert floor.unlock_seat(store, "ann", now=now, token="other") is None
    back = floor.unlock_seat(store, "ann", now=now, token="t1")
    # Ready again, since before the lock (the time counted: from now).
    assert (back.state, back.locked_from, back.since) == ("ready", None, start)
    assert floor.current_state(store, "ann") == back
    later = now + timedelta(minutes=10)
    assert floor.floor_view(store, later, start, show_customers=True)[0].in_state_seconds \
        == 70 * 60
    assert {v.caller: v for v in floor.floor_view(
        store, later, start, show_customers=True)}["ann"].signed_in_seconds == 30 * 60
    # Unlocking a seat that is not locked changes nothing.
    assert floor.unlock_seat(store, "ann", now=later) == back


def test_a_lock_over_a_pause_or_a_call_keeps_it_and_counts_its_time_as_it(store, now):
    make_team(store, now)
    start = now - timedelta(hours=1)
    cid = add_customer(store, "R1", where=NY, name="Alma Alpha")
    floor.set_state(store, "ann", "paused", now=start, reason="lunch")
    lunch = floor.lock_seat(store, "ann", now=start + timedelta(minutes=5))
    assert lunch.label == "locked, paused (lunch)" and floor.is_paused(store, "ann")
    with pytest.raises(floor.SeatPaused):
        floor.refuse_unless_ready_to_take(store, "ann")
    lunch_back = floor.unlock_seat(store, "ann", now=start + timedelta(minutes=30))
    assert (lunch_back.label, lunch_back.since) == ("paused (lunch)", start)
    floor.set_state(store, "bob", "talking", now=start, customer_id=cid, call_id=7)
    floor.lock_seat(store, "bob", now=start + timedelta(minutes=10))
    view = {v.caller: v for v in floor.floor_view(store, now, start, show_customers=True)}
    assert view["ann"].paused_seconds == 60 * 60 and view["ann"].locked_seconds == 0
    bob = view["bob"]
    assert (bob.label, bob.customer, bob.in_state_seconds) == (
        "locked, talking", "Alma Alpha (R1)", 50 * 60)
    # The caller may be on the phone under the lock: the call's time, not "locked".
    assert bob.handle_seconds == 60 * 60 and bob.locked_seconds == 0
    # A supervisor's pause asked for a locked seat on a call waits for the call's end.
    sue = make_team_actor(store, "sue")
    assert floor.pause_caller(store, "bob", "coaching", actor=sue, now=now).pause_after \
        == "coaching"
    assert {v.caller: v for v in floor.floor_view(
        store, now, start, show_customers=True)}["bob"].label \
        == "locked, talking, then paused (coaching)"
    back = floor.unlock_seat(store, "bob", now=now)
    assert (back.state, back.customer_id, back.call_id, back.since) == (
        "talking", cid, 7, start)


def test_steps_under_a_lock_stay_under_it_and_a_new_sign_in_ends_it(store, now):
    make_team(store, now)
    floor.take_seat(store, "ann", token="t1", kind="terminal", now=now)
    floor.lock_seat(store, "ann", now=now + timedelta(minutes=5))
    # A step that lands while the screen is locked (a supervisor's pause, a wrap-up saved
    # a moment before): the seat stays locked, over the new state.
    sue = make_team_actor(store, "sue")
    paused = floor.pause_caller(store, "ann", "meeting", actor=sue,
                                now=now + timedelta(minutes=6))
    assert (paused.state, paused.locked_from, paused.reason) == ("locked", "paused", "meeting")
    assert floor.unlock_seat(store, "ann", now=now + timedelta(minutes=9)).label \
        == "paused (meeting)"
    floor.lock_seat(store, "ann", now=now + timedelta(minutes=10))
    # The account signs in at another seat: that one is not locked.
    taken = floor.take_seat(store, "ann", token="t2", kind="web", now=now + timedelta(minutes=11))
    assert (taken.state.state, taken.state.locked_from) == ("ready", None)
    assert floor.current_state(store, "ann").state == "ready"


def make_team_actor(store, name):
    from calls import accounts

    return accounts.get_account(store, name).as_actor()
