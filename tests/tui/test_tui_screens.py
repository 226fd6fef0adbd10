"""The shift app's other screens and keys, driven with the Pilot and checked in the database."""

from __future__ import annotations

from datetime import datetime

import pytest
from textual.widgets import OptionList

from calls.store import Store
from tests.support.tui import NOW, make_db, press, settle, type_text
from tests.tui.test_tui_calls import _all, _one
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.modals import CallbackScreen, ExplainScreen
from tui.screens.queue import QueueScreen
from tui.screens.summary import ShiftSummaryScreen
from tui.screens.welcome import WelcomeScreen
from tui.screens.wrapup import WrapUpScreen


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _app(db, clock=None, caller="ann"):
    return make_app(db, caller, clock=clock or FixedClock(NOW))


def _notes(app):
    return [n.message for n in app._notifications]


async def test_an_empty_database_opens_the_welcome_screen_and_loads_the_demo(tmp_path):
    app = _app(tmp_path / "empty.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        text = str(app.screen.query_one("Markdown").source)
        assert "carecall import" in text and "carecall demo" in text
        await press(pilot, "d")
        await settle(pilot, 20)
        assert isinstance(app.screen, QueueScreen), _notes(app)
        assert app.screen.view.entries  # a Tuesday afternoon: people to call
    with Store.open(tmp_path / "empty.db") as store:
        assert store.scalar("SELECT count(*) FROM customers") > 100


async def test_queue_filter_and_explain(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        table = queue.query_one("DataTable")
        assert table.row_count == 4            # Carla (Los Angeles, 08:00) is not callable
        await press(pilot, "ctrl+f")           # "/" finds any customer in the list
        await type_text(pilot, "delta")
        assert table.row_count == 1
        await press(pilot, "enter", "e")
        await settle(pilot)
        assert isinstance(app.screen, ExplainScreen)
        assert "Dieter Weber" in app.screen.title_text
        assert any("Europe/Berlin" in line for line in app.screen.lines)
        await press(pilot, "escape")
        await press(pilot, "escape")           # clears the filter
        assert table.row_count == 4


async def test_a_closed_window_says_when_the_next_customers_open(shift_db):
    sunday = datetime(2026, 3, 8, 15, 0, tzinfo=NOW.tzinfo)
    app = _app(shift_db, clock=FixedClock(sunday))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert queue.view.entries == []
        assert "can be called from" in queue.view.waiting_line
        status = str(queue.query_one("#queue-status").render())
        assert "Nobody to call right now" in status and "can be called from Mon" in status


async def test_wrong_number_with_the_right_number(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        customer = app.screen.session.customer
        await press(pilot, "w")
        await type_text(pilot, "312 555 0188")
        await press(pilot, "enter")
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)
    row = _one(shift_db, "SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
    assert row["outcome"] == "wrong_number"
    cust = _one(shift_db, "SELECT phone, number_status FROM customers WHERE id = ?",
                (customer.id,))
    assert cust["phone"] == "+13125550188" and cust["number_status"] == "ok"


async def test_wrong_number_refuses_an_invalid_correction(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n", "w")
        await type_text(pilot, "12")
        await press(pilot, "enter")
        assert "not a valid number" in str(app.screen.query_one("#error").render())
        await press(pilot, "escape")
        assert isinstance(app.screen, CallScreen)


async def test_a_follow_up_added_by_hand_during_the_call(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n", "c")
        customer = app.screen.session.customer
        await press(pilot, "ctrl+f")
        await press(pilot, "down", "down", "down")          # fix, note, gift, send info
        kinds = app.screen.query_one("#kind", OptionList)
        chosen = kinds.get_option_at_index(kinds.highlighted)
        assert (chosen.id, str(chosen.prompt)) == ("send_info", "send info")
        await press(pilot, "enter")                         # kind chosen: to the owner
        await press(pilot, "enter")                         # owner: me
        await press(pilot, "enter")                         # due: +1d
        await type_text(pilot, "price list 2026")
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)
        call_id = app.screen.session.call_id
        # One wording for the kind wherever it shows: the notice, the wrap-up.
        assert "Follow-up added: send info" in [n.message for n in app._notifications]
        await press(pilot, "r")                             # refused (not now): wrap-up
        await settle(pilot)
        assert isinstance(app.screen, WrapUpScreen)
        assert "✓ send info (added by you)" in str(
            app.screen.query_one("#wrapup-body").render())
    rows = _all(shift_db, "SELECT * FROM followups WHERE customer_id = ?", (customer.id,))
    assert len(rows) == 1
    f = rows[0]
    assert (f["kind"], f["owner"], f["source"], f["call_id"]) == ("send_info", "ann", "hand",
                                                                  call_id)
    assert f["details"] == "price list 2026"
    assert f["due_at"] == "2026-03-11T15:00:00Z"


async def test_callback_quick_choice_for_anyone(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n", "k")
        customer = app.screen.customer_name if isinstance(app.screen, CallbackScreen) else None
        assert customer == "Jane Doe"
        await press(pilot, "ctrl+o", "4")                    # anyone; tomorrow, same time
        assert isinstance(app.screen, WrapUpScreen)
        assert "anyone" in str(app.screen.query_one("#wrapup-body").render())
        await press(pilot, "enter")
        await settle(pilot)
    fu = _one(shift_db, "SELECT * FROM followups WHERE kind = 'callback'")
    assert fu["owner"] is None and fu["due_at"] == "2026-03-11T15:00:00Z"


async def test_command_palette_takes_the_next_customer(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await type_text(pilot, "next customer")
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, CallScreen), app.screen


async def test_end_of_shift_summary(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n", "n", "enter")                # a no answer
        await settle(pilot)
        await press(pilot, "s", "ctrl+q")
        assert isinstance(app.screen, ShiftSummaryScreen)
        summary = str(app.screen.query_one("#summary").render())
        assert "Calls            1" in summary and "No answer" in summary
        await press(pilot, "escape")
        app.stats.nps.append(9)   # one answer is "1 answer"
        await press(pilot, "ctrl+q")
        assert "+100  (1 answer)\n" in str(app.screen.query_one("#summary").render())
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "ctrl+q", "q")
    assert app.return_value is app.stats and app.stats.calls == 1


async def test_followups_screen_opens_from_the_queue(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f")
        assert type(app.screen).__name__ == "FollowupsScreen"
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)


async def test_skipped_customer_leaves_no_call(shift_db):
    clock = FixedClock(NOW)
    app = _app(shift_db, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        skipped = app.screen.session.customer
        await press(pilot, "s")
        assert isinstance(app.screen, QueueScreen)
        assert skipped.id not in [e.customer.id for e in app.screen.view.entries]
        await press(pilot, "n")
        assert app.screen.session.customer.id != skipped.id
    assert _all(shift_db, "SELECT * FROM calls") == []
    assert clock() == NOW


async def test_ending_the_shift_gives_back_a_customer_not_yet_called(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, CallScreen)
        assert _all(shift_db, "SELECT * FROM claims WHERE caller = 'ann'")
        await press(pilot, "ctrl+q", "q")
        await settle(pilot)
    assert _all(shift_db, "SELECT * FROM claims WHERE caller = 'ann'") == []
    assert _all(shift_db, "SELECT * FROM calls") == []


async def test_the_planner_runs_when_the_shift_starts(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, 10)
        assert isinstance(app.screen, QueueScreen)
    rows = _all(shift_db, "SELECT f.kind, c.ref FROM followups f "
                          "JOIN customers c ON c.id = f.customer_id WHERE f.source = 'planner'")
    assert ("thank_you_note", "C003") in {(r["kind"], r["ref"]) for r in rows}


async def test_enter_takes_the_highlighted_customer(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, CallScreen)
        assert app.screen.session.customer.ref == "C002"
        assert _one(shift_db, "SELECT caller FROM claims WHERE customer_id = ?",
                    (app.screen.session.customer.id,))["caller"] == "ann"


async def test_a_recovery_call_reads_the_recovery_script(shift_db):
    from calls.followups import add_followup, close_followup

    with Store.open(shift_db) as store:
        emma = store.one("SELECT id FROM customers WHERE ref = 'C005'")["id"]
        fix = add_followup(store, kind="fix_problem", customer_id=emma, owner="Sam Owner",
                           due_at=None, details="late delivery", now=NOW, source="hand")
        close_followup(store, fix.id, by="Sam Owner", note="new courier from next week",
                       now=NOW)
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.view.entries[0].customer.ref == "C005"
        await press(pilot, "n")
        call = app.screen
        assert call.session.script.name == "recovery"
        await press(pilot, "c")
        # The opening on screen tells the customer what was fixed.
        shown = str(call.query_one("#script-text").render())
        assert "new courier from next week" in shown


async def test_palette_offers_only_the_outcomes_that_apply_now(shift_db):
    from tui.commands import ShiftCommands

    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        call = app.screen
        titles = {title for title, _help, _cb in ShiftCommands(call)._hits()}
        assert "Outcome: No answer" in titles and "Outcome: Partial" not in titles
        await press(pilot, "c", "y", "enter")
        titles = {title for title, _help, _cb in ShiftCommands(call)._hits()}
        assert "Outcome: Partial" in titles and "Outcome: No answer" not in titles
        assert "End the shift (shows a summary)" in titles


async def test_a_customer_another_caller_just_took_cannot_be_taken(shift_db, notifications):
    notifications.expect_error("cannot be taken: being called by")
    from calls.policy import DEFAULT_POLICY
    from calls.queue import claim_next

    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        top = app.screen.view.entries[0].customer
        with Store.open(shift_db) as store:           # bob, at another terminal
            assert claim_next(store, "bob", NOW, DEFAULT_POLICY).customer.id == top.id
        await press(pilot, "enter")                    # ann takes the row she still sees
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert any("cannot be taken" in m for m in _notes(app)), _notes(app)
        assert top.id not in [e.customer.id for e in app.screen.view.entries]
        await press(pilot, "n")                        # the next one is someone else
        assert app.screen.session.customer.id != top.id
    assert _one(shift_db, "SELECT caller FROM claims WHERE customer_id = ?",
                (top.id,))["caller"] == "bob"
