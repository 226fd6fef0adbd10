"""Whole calls driven through the shift app with the Pilot, checked in the database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from calls.clock import to_iso
from calls.policy import DEFAULT_POLICY
from calls.queue import build_queue
from calls.store import Store
from tests.support.tui import (
    NOW,
    make_db,
    press,
    read_question,
    screen_lines,
    settle,
    type_text,
)
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.queue import QueueScreen
from tui.screens.resume import ResumeScreen
from tui.screens.wrapup import WrapUpScreen


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _app(db, caller="ann", clock=None):
    return make_app(db, caller, clock=clock or FixedClock(NOW))


def _queue_ids(db, caller, now):
    with Store.open(db) as store:
        return [e.customer.id for e in build_queue(store, caller, now, DEFAULT_POLICY, limit=50)]


def _one(db, sql, params=()):
    with Store.open(db) as store:
        return store.one(sql, params)


def _all(db, sql, params=()):
    with Store.open(db) as store:
        return store.all(sql, params)


async def _take_next(pilot) -> CallScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    await press(pilot, "n")
    screen = pilot.app.screen
    assert isinstance(screen, CallScreen), screen
    return screen


async def test_detractor_completes_the_quarterly_script(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        assert customer.ref == "C001"  # A tier, highest revenue, never called
        numbers = []

        def question_number():
            found = [m for line in screen_lines(app) for m in re.findall(r"Q(\d+)/(\d+)", line)]
            assert len(found) == 1, found
            numbers.append(tuple(int(n) for n in found[0]))

        await press(pilot, "c", "y", "enter")
        assert call.session.current().key == "nps"
        question_number()
        await press(pilot, "3")
        assert call.session.current().key == "going_well"
        question_number()
        await type_text(pilot, "friendly staff")
        await press(pilot, "enter")
        # The improvement branch appears for a detractor.
        assert call.session.current().key == "improve"
        question_number()
        await type_text(pilot, "faster delivery")
        await press(pilot, "enter")
        assert call.session.current().key == "problem_area"
        await read_question(pilot)                   # keys typed straight on answer nothing
        await press(pilot, "1")                      # delivery
        assert call.session.current().key == "last_order_csat"
        await press(pilot, "2", "y", "n", "n")       # csat 2, may contact, no need, no info
        assert call.session.current().key == "anything_else"
        question_number()
        # "Q3/12": the total holds still as the NPS opens the detractor branch, and the
        # numbers only go up (the questions the branch leaves out are skipped numbers).
        assert numbers[0][0] == 1 and len({total for _n, total in numbers}) == 1
        assert [n for n, _t in numbers] == sorted({n for n, _t in numbers})
        assert numbers[-1][0] == numbers[-1][1]      # "anything else" ends the script
        await press(pilot, "enter")                  # optional: skipped
        assert call.phase == "done"
        # Answers are in the database before the call is wrapped up.
        row = _one(shift_db, "SELECT id, ended_at FROM calls WHERE customer_id = ?",
                   (customer.id,))
        assert row["ended_at"] is None
        saved = {r["key"]: r["value"] for r in _all(
            shift_db, "SELECT key, value FROM answers WHERE call_id = ?", (row["id"],))}
        assert saved["nps"] == "3" and saved["improve"] == '"faster delivery"'
        await press(pilot, "enter")
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)
        # The next customer is offered at once.
        assert isinstance(app.screen, CallScreen), [n.message for n in app._notifications]
        assert app.screen.session.customer.id != customer.id
        assert app.stats.completes == 1 and app.stats.nps == [3]

    call_row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert call_row["outcome"] == "completed"
    assert call_row["connected_at"] is not None and call_row["ended_at"] is not None
    assert call_row["script_id"] is not None
    answers = {r["key"]: r["value"] for r in _all(
        shift_db, "SELECT key, value FROM answers WHERE call_id = ?", (call_row["id"],))}
    assert answers["problem_area"] == '"delivery"'
    assert answers["last_order_csat"] == "2"
    assert answers["anything_else"] == "null"  # the skip is recorded
    assert "referral_ok" not in answers
    fix = _all(shift_db, "SELECT * FROM followups WHERE customer_id = ? AND kind = 'fix_problem'",
               (customer.id,))
    assert len(fix) == 1
    assert fix[0]["status"] == "open" and fix[0]["owner"] == "Sam Owner"
    assert fix[0]["call_id"] == call_row["id"]
    assert "faster delivery" in fix[0]["details"]


async def test_no_answer_leaves_the_queue_until_the_retry_delay(shift_db):
    clock = FixedClock(NOW)
    app = _app(shift_db, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        await press(pilot, "n")
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)
        # The next customer was offered; skip back to the queue.
        assert isinstance(app.screen, CallScreen)
        assert app.screen.session.customer.id != customer.id
        await press(pilot, "s")
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await settle(pilot)
        assert customer.id not in [e.customer.id for e in queue.view.entries]
        clock.advance(hours=3, minutes=1)
        await press(pilot, "r")
        assert customer.id in [e.customer.id for e in queue.view.entries]

    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["outcome"] == "no_answer" and row["connected_at"] is None
    assert customer.id not in _queue_ids(shift_db, "ann", NOW + timedelta(hours=2, minutes=59))
    assert customer.id not in _queue_ids(shift_db, "bob", NOW + timedelta(hours=2, minutes=59))
    assert customer.id in _queue_ids(shift_db, "bob", NOW + timedelta(hours=3, minutes=1))


async def test_callback_at_a_set_time_comes_back_first_for_the_caller(shift_db):
    clock = FixedClock(NOW)
    app = _app(shift_db, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        assert customer.time_zones == ("America/Chicago",)
        await press(pilot, "c", "k")
        await press(pilot, "tab")
        await type_text(pilot, "16:30")              # their time: 16:30 CDT = 21:30 UTC
        await press(pilot, "enter")
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)
        await press(pilot, "s")                      # skip the next customer offered
        clock.set(NOW.replace(hour=21, minute=30))
        await press(pilot, "r")
        queue = app.screen
        assert queue.view.entries[0].customer.id == customer.id
        assert "callback" in queue.view.entries[0].reason_codes

    due = NOW.replace(hour=21, minute=30)
    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["outcome"] == "callback"
    assert row["callback_at"] == to_iso(due) and row["callback_personal"] == 1
    fu = _one(shift_db, "SELECT * FROM followups WHERE customer_id = ? AND kind = 'callback'",
              (customer.id,))
    assert fu["owner"] == "ann" and fu["due_at"] == to_iso(due) and fu["status"] == "open"
    assert customer.id not in _queue_ids(shift_db, "ann", due - timedelta(minutes=30))
    assert _queue_ids(shift_db, "ann", due)[0] == customer.id
    # Personal: another caller does not get it at that time.
    assert customer.id not in _queue_ids(shift_db, "bob", due)


async def test_do_not_call_puts_the_number_on_the_dnc_list(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        await press(pilot, "c", "d")
        await press(pilot, "enter")                  # confirm (reason prefilled)
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)

    assert _one(shift_db, "SELECT * FROM dnc WHERE phone = ?", (customer.phone,)) is not None
    cust = _one(shift_db, "SELECT do_not_call FROM customers WHERE id = ?", (customer.id,))
    assert cust["do_not_call"] == 1
    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["outcome"] == "do_not_call"
    assert "Do not call: customer asked not to be called" in row["notes"]
    for later in (timedelta(0), timedelta(days=1), timedelta(days=100), timedelta(days=400)):
        for caller in ("ann", "bob"):
            assert customer.id not in _queue_ids(shift_db, caller, NOW + later)


async def test_resume_after_the_app_is_dropped_mid_call(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        await press(pilot, "c", "y", "enter", "9")
        await type_text(pilot, "quick service")
        await press(pilot, "enter")
        assert call.session.current().key == "last_order_csat"
        await press(pilot, "ctrl+n")
        await type_text(pilot, "prefers mornings")
        await pilot.pause(0.9)                       # the notes save after a short pause
        await settle(pilot)
        # The terminal dies here: no outcome, no wrap-up.

    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["ended_at"] is None and row["notes"] == "prefers mornings"

    app2 = _app(shift_db)
    async with app2.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app2.screen, ResumeScreen)
        await press(pilot, "r")
        call = app2.screen
        assert isinstance(call, CallScreen)
        assert call.session.customer.id == customer.id
        assert call.session.call_id == row["id"]
        assert call.session.value("nps") == 9
        assert call.session.current().key == "last_order_csat"
        await press(pilot, "5", "y")                 # csat, may contact
        assert call.session.current().key == "referral_ok"
        await press(pilot, "n", "n", "n")            # no referral, no need, no info
        await press(pilot, "enter")                  # anything else: skip
        await press(pilot, "enter", "enter")         # wrap up, save
        await settle(pilot)

    rows = _all(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert len(rows) == 1
    assert rows[0]["outcome"] == "completed" and rows[0]["notes"] == "prefers mornings"
    answers = {r["key"]: r["value"] for r in _all(
        shift_db, "SELECT key, value FROM answers WHERE call_id = ?", (rows[0]["id"],))}
    assert answers["nps"] == "9" and answers["going_well"] == '"quick service"'
    assert answers["last_order_csat"] == "5"


async def test_unfinished_call_closed_as_partial(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        await press(pilot, "c", "y", "enter", "7")
    app2 = _app(shift_db)
    async with app2.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app2.screen, ResumeScreen)
        await press(pilot, "p")
        await settle(pilot)
        assert isinstance(app2.screen, QueueScreen)
    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["outcome"] == "partial" and row["ended_at"] is not None


async def test_wrap_up_writes_the_answers_a_failed_background_write_missed(
    shift_db, monkeypatch, notifications
):
    notifications.expect_error("disk hiccup")
    from calls.session import CallSession

    real = CallSession.save
    failures = []

    def flaky(self, store, change, now):
        if change.key == "going_well" and not failures:
            failures.append(change.key)
            raise RuntimeError("disk hiccup")
        return real(self, store, change, now)

    monkeypatch.setattr(CallSession, "save", flaky)
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        session = call.session           # the screen shows the next customer after the save
        await press(pilot, "c", "y", "enter", "9")
        await type_text(pilot, "kind people")
        await press(pilot, "enter")
        assert failures == ["going_well"]
        assert any("disk hiccup" in n.message for n in app._notifications)
        await read_question(pilot)
        await press(pilot, "5", "y", "n", "n", "n", "enter", "enter", "enter")
        await settle(pilot)
        call_id = session.call_id
    answers = {r["key"]: r["value"] for r in _all(
        shift_db, "SELECT key, value FROM answers WHERE call_id = ?", (call_id,))}
    assert answers["going_well"] == '"kind people"'
    row = _one(shift_db, "SELECT outcome FROM calls WHERE id = ?", (call_id,))
    assert row["outcome"] == "completed"


async def test_every_answer_type_from_the_keyboard(shift_db):
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "data" / "tui_all_types.toml"
    app = make_app(shift_db, "ann", script=str(script), clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        session = call.session           # the screen shows the next customer after the save
        await press(pilot, "c", "y", "enter", "4")                # rating
        await press(pilot, "1", "3", "enter")                # e-mail and post
        await type_text(pilot, "1x")                          # not a number: refused
        await press(pilot, "enter")
        assert call.session.current().key == "staff"
        assert "not a number" in str(call.query_one("#answer-error").render())
        await press(pilot, "backspace", "backspace")
        await type_text(pilot, "250")
        await press(pilot, "enter")
        await type_text(pilot, "2026-13-01")
        await press(pilot, "enter")
        assert call.session.current().key == "renewal"       # no 13th month
        for _ in range(10):
            await press(pilot, "backspace")
        await type_text(pilot, "2026-09-30")
        await press(pilot, "enter")
        await read_question(pilot)
        await press(pilot, "1", "1")                          # option 11 of 12
        assert call.phase == "done"
        await press(pilot, "up")                              # back to the region
        assert call.session.current().key == "region"
        await press(pilot, "1", "enter")                      # "1" waits; Enter: option 1
        assert call.phase == "done"
        await press(pilot, "enter", "enter")
        await settle(pilot)
        call_id = session.call_id
    answers = {r["key"]: r["value"] for r in _all(
        shift_db, "SELECT key, value FROM answers WHERE call_id = ?", (call_id,))}
    assert answers == {"score": "4", "channels": '["email", "post"]', "staff": "250",
                       "renewal": '"2026-09-30"', "region": '"r1"'}


async def test_changing_an_earlier_answer_reruns_the_branching_in_the_database(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        await press(pilot, "c", "y", "enter", "3")
        await type_text(pilot, "the team")
        await press(pilot, "enter")
        await type_text(pilot, "answer faster")
        await press(pilot, "enter")                           # improve
        await read_question(pilot)
        await press(pilot, "1")                               # problem area
        assert call.session.current().key == "last_order_csat"
        await press(pilot, "up", "up", "up", "up")
        assert call.session.current().key == "nps"
        await press(pilot, "1", "0")                          # a promoter after all
        assert call.session.current().key == "last_order_csat"
        call_id = call.session.call_id
        keys = {r["key"] for r in _all(shift_db, "SELECT key FROM answers WHERE call_id = ?",
                                       (call_id,))}
        assert keys == {"nps", "going_well"}                  # improve, problem_area dropped
        assert _one(shift_db, "SELECT value FROM answers WHERE call_id = ? AND key = 'nps'",
                    (call_id,))["value"] == "10"


async def test_an_outcome_is_kept_the_moment_it_is_picked(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        customer = call.session.customer
        await press(pilot, "b")                      # busy: the wrap-up screen opens
        await settle(pilot)
        # The terminal dies on the wrap-up screen, before the caller confirms.

    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["ended_at"] is None and row["outcome"] is None
    assert row["chosen_outcome"] == "busy"

    app2 = _app(shift_db)
    async with app2.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app2.screen, ResumeScreen)
        await press(pilot, "p")                      # close it: as the caller meant
        await settle(pilot)
    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["outcome"] == "busy" and row["ended_at"] is not None
