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
    assert sorted(view) == ["ann", "bob", "sue"]  # active callers and supervisors
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
    assert view["sue"].state == "away" and view["sue"].calls == 0
    hidden = {v.caller: v for v in floor.floor_view(store, now, start, show_customers=False)}
    assert hidden["ann"].customer is None


def test_the_seat_follows_the_call_record(store, now):
    from calls.calling import choose_outcome, mark_connected, record_outcome, start_call

    cid = add_customer(store, "R1", where=NY)
    floor.set_state(store, "ann", "ready", now=now)
    t = now + timedelta(minutes=1)
    call = start_call(store, cid, "ann", t)
    s = floor.follow_calls(store, "ann", now=t + timedelta(seconds=2))
    assert (s.state, s.since, s.call_id, s.customer_id) == ("dialling", t, call, cid)
    mark_connected(store, call, t + timedelta(seconds=20))
    s = floor.follow_calls(store, "ann", now=t + timedelta(seconds=25))
    assert (s.state, s.since) == ("talking", t + timedelta(seconds=20))
    choose_outcome(store, call, "completed")
    s = floor.follow_calls(store, "ann", now=t + timedelta(minutes=5))
    assert (s.state, s.since) == ("wrapup", t + timedelta(minutes=5))
    assert floor.follow_calls(store, "ann", now=t + timedelta(minutes=6)) == s  # no change
    record_outcome(store, call, "completed", t + timedelta(minutes=7))
    s = floor.follow_calls(store, "ann", now=t + timedelta(minutes=7, seconds=3))
    assert (s.state, s.since, s.call_id) == ("ready", t + timedelta(minutes=7), None)
    assert floor.follow_calls(store, "ann", now=t + timedelta(minutes=8)) == s
    # A short call that began and ended between two looks is logged whole.
    u = t + timedelta(minutes=10)
    quick = start_call(store, cid, "ann", u)
    record_outcome(store, quick, "no_answer", u + timedelta(seconds=30))
    s = floor.follow_calls(store, "ann", now=u + timedelta(minutes=1))
    assert (s.state, s.since) == ("ready", u + timedelta(seconds=30))
    rows = store.all("SELECT state, started_at, ended_at, call_id FROM seat_states "
                     "WHERE caller = 'ann' ORDER BY id")
    assert [(r["state"], r["call_id"]) for r in rows] == [
        ("ready", None), ("dialling", call), ("talking", call), ("wrapup", call),
        ("ready", None), ("dialling", quick), ("wrapup", quick), ("ready", None)]
    view = {v.caller: v for v in floor.floor_view(store, u + timedelta(minutes=1), now,
                                                   show_customers=True)}
    # Handle time: call one 7 min (start to end), call two 30 s.
    assert view["ann"].handle_seconds == (7 * 60 + 30) / 2
    # Paused seats are left alone.
    floor.set_state(store, "ann", "paused", now=u + timedelta(minutes=2), reason="break")
    start_call(store, cid, "ann", u + timedelta(minutes=3))
    assert floor.follow_calls(store, "ann", now=u + timedelta(minutes=4)).state == "paused"
