"""The recording notice and consent during a call, on the call screen (issue 14): what the
caller sees and presses, and what the database holds afterwards."""

from __future__ import annotations

from dataclasses import replace

import pytest

from calls.policy import DEFAULT_POLICY
from calls.store import Store
from tests.support.tui import NOW, make_db, press, settle
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.help import HelpScreen
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen
from tui.widgets.consent import ConsentScreen
from tui.widgets.key_bar import KeyBar


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _app(db, policy=DEFAULT_POLICY):
    return make_app(db, "ann", clock=FixedClock(NOW), policy=policy)


def _all(db, sql, params=()):
    with Store.open(db) as store:
        return store.all(sql, params)


def _footer(app) -> list[str]:
    """The descriptions the key bar (the screen's footer) shows now."""
    return [item.description for item in app.screen.query_one(KeyBar).items]


def _script(call: CallScreen) -> str:
    return str(call.query_one("#script-text").render())


def _line(call: CallScreen) -> str:
    line = call.query_one("#consent-line")
    return str(line.render()) if line.display else ""


async def _take_next(pilot) -> CallScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    await press(pilot, "n")
    assert isinstance(pilot.app.screen, CallScreen)
    return pilot.app.screen


async def test_recording_answer_is_the_first_step_where_the_law_needs_it(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        assert call.customer.ref == "C001"             # +1 312: Illinois, all-party consent
        assert "Recording OK" not in _footer(app)      # dialling: nothing to answer yet
        await press(pilot, "c")
        shown = _script(call)
        assert "this call may be recorded" in shown
        assert "needed before the first question (by law: US-IL.recording)" in shown
        assert "Recording OK" in _footer(app) and "No recording" in _footer(app)
        assert "First question" not in _footer(app)
        await press(pilot, "enter")                    # not yet: they have not answered
        assert call.phase == "opening"
        await press(pilot, "n")
        assert "Not recorded: switch recording off" in _line(call)
        assert "No recording: switch the recording off now." in _script(call)
        assert "First question" in _footer(app)
        await press(pilot, "enter")
        assert call.phase == "script" and call.session.current().key == "nps"
        assert "Not recorded" in _line(call)           # it stays in sight for the call
    [row] = _all(shift_db, "SELECT id, recording_ok FROM calls")
    assert row["recording_ok"] == "no"
    assert _all(shift_db, "SELECT what, state, how, call_id FROM consents "
                          "WHERE what = 'recording'") == [
        {"what": "recording", "state": "withdrawn", "how": "call", "call_id": row["id"]}]


async def test_where_no_law_needs_it_the_answer_is_asked_but_enter_goes_on(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        await press(pilot, "s")                        # skip Jane (Illinois) ...
        call = await _take_next(pilot)
        assert call.customer.ref == "C002"             # ... New York: one-party consent
        await press(pilot, "c")
        assert "this call may be recorded" in _script(call)
        assert "needed before" not in _script(call)
        assert "Recording OK" in _footer(app) and "First question" in _footer(app)
        await press(pilot, "y")
        assert "Recording: they agreed." in _script(call)
        await press(pilot, "enter")
        assert call.phase == "script"
        assert _line(call) == ""                       # nothing restricts the call
    assert _all(shift_db, "SELECT recording_ok FROM calls") == [{"recording_ok": "yes"}]


async def test_calls_not_recorded_by_policy_show_no_notice(shift_db):
    policy = replace(DEFAULT_POLICY, lawful=replace(DEFAULT_POLICY.lawful, recording="off"))
    app = _app(shift_db, policy)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        await press(pilot, "c")
        assert "recorded" not in _script(call)
        assert "Recording OK" not in _footer(app)
        await press(pilot, "y", "enter")               # y does nothing here
        assert call.phase == "script"
    assert _all(shift_db, "SELECT recording_ok FROM calls") == [{"recording_ok": None}]


async def test_customer_withdraws_consent_during_the_call(shift_db, notifications):
    with Store.open(shift_db) as store:
        jane = store.scalar("SELECT id FROM customers WHERE ref = 'C001'")
        from calls import consent
        from calls.followups import add_followup

        # She agreed to marketing: the referral and needs questions are asked.
        consent.record(store, jane, "marketing", True, how="web", actor="test", now=NOW)
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _take_next(pilot)
        assert call.customer.id == jane
        with Store.open(shift_db) as store:
            # A colleague planned a callback for next week (a planned callback would have
            # kept her out of the queue until then).
            later = add_followup(store, kind="callback", customer_id=jane, owner=None,
                                 due_at=NOW.replace(day=17), details="the renewal",
                                 now=NOW, created_by="sue", source="hand")
        assert "Consent" not in _footer(app)           # dialling: nobody to ask yet
        await press(pilot, "c", "y", "enter", "9")     # promoter: the referral ask is next
        assert call.session.current().key == "going_well"
        assert "Consent" not in _footer(app)           # typing an answer: Esc first
        await press(pilot, "enter")                    # going well: skipped
        assert call.session.current().key == "last_order_csat"
        assert "Consent" in _footer(app)
        assert "Callback" in str(call.query_one("#outcome-bar").render())
        await press(pilot, "5", "y")                   # satisfied; may contact
        assert call.session.current().key == "referral_ok"

        await press(pilot, "c")
        assert isinstance(app.screen, ConsentScreen)
        await press(pilot, "1")                        # "Do not call me again"
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)
        assert "No more calls: no callback" in _line(call)
        assert any(f"Cancelled: callback #{later.id}" in m for m in notifications.messages()), \
            notifications.messages()
        # No marketing without consent to calls: the referral ask left the script at once.
        assert call.session.current().key != "referral_ok"
        assert "referral_ok" not in _script(call)
        bar = str(call.query_one("#outcome-bar").render())
        assert "Callback" not in bar and "Refused" in bar
        await press(pilot, "k")                        # the callback key does nothing now
        assert isinstance(app.screen, CallScreen)

        while call.session.current() is not None:      # the rest of the call: no marketing
            assert not call.session.current().marketing
            await press(pilot, "n" if call.session.current().type == "yes_no" else "enter")
        await press(pilot, "enter")
        assert isinstance(app.screen, WrapUpScreen)
        await press(pilot, "enter")
        await settle(pilot)

    call_row = _all(shift_db, "SELECT id, outcome, purpose FROM calls WHERE customer_id = ?",
                    (jane,))[0]
    assert call_row["outcome"] == "completed" and call_row["purpose"] == "care"
    assert _all(shift_db, "SELECT what, state, how, call_id FROM consents "
                          "WHERE what = 'calls' AND customer_id = ?", (jane,)) == [
        {"what": "calls", "state": "withdrawn", "how": "call", "call_id": call_row["id"]}]
    keys = {r["key"] for r in _all(shift_db, "SELECT key FROM answers WHERE call_id = ?",
                                   (call_row["id"],))}
    assert not keys & {"referral_ok", "referral_name", "need", "need_detail"}
    assert _all(shift_db, "SELECT status FROM followups WHERE id = ?", (later.id,)) == [
        {"status": "cancelled"}]
    assert _all(shift_db, "SELECT count(*) AS n FROM followups WHERE customer_id = ? "
                          "AND kind IN ('callback', 'recovery_call', 'referral') "
                          "AND status = 'open'", (jane,)) == [{"n": 0}]


async def test_help_lists_the_consent_keys_in_the_call(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await _take_next(pilot)
        await press(pilot, "c")
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {r.what.split(" — ")[0]: r.keys for r in app.screen.rows}
        assert rows["Recording OK"] == "y" and rows["No recording"] == "n"
        assert rows["Consent"] == "c"
