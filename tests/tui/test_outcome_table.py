"""One table for outcomes: a new entry is on the call screen, in the wrap-up and in reports."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest

from calls import outcomes
from calls.clock import to_iso
from calls.outcomes import Outcome, OutcomeSpec
from calls.policy import Policy
from calls.reports import build_report
from calls.store import Store
from tests.support.tui import NOW, make_db, press, settle
from tui.app import make_app
from tui.clock import FixedClock

MESSAGE = OutcomeSpec("left_message", "Message left", "NC", retry_minutes=120,
                      counts_attempt=True, key="m", phases=("ready",))


@pytest.fixture
def with_new_outcome():
    """The table with one more entry, and the call screen built from it (then undone)."""
    import tui.screens.call as call_module

    # The screen's bindings are made when its class is: rebuild the module with the new
    # entry, then put the original objects back (other tests hold the original class).
    saved = dict(call_module.__dict__)
    outcomes.add(MESSAGE)
    importlib.reload(call_module)
    yield Outcome("left_message")
    outcomes.remove("left_message")
    call_module.__dict__.clear()
    call_module.__dict__.update(saved)


async def test_a_new_outcome_entry_is_on_the_call_screen_and_in_reports(tmp_path,
                                                                       with_new_outcome):
    from tui.screens.call import CallScreen
    from tui.screens.wrapup import WrapUpScreen

    db = make_db(tmp_path / "shift.db")
    policy = Policy()                      # its retry and cycle defaults read the table
    assert policy.retry.minutes["left_message"] == 120
    app = make_app(db, "ann", clock=FixedClock(NOW), policy=policy)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        call = app.screen
        assert isinstance(call, CallScreen)
        bar = str(call.query_one("#outcome-bar").render())
        assert "m Message left" in bar
        await press(pilot, "m")
        assert isinstance(app.screen, WrapUpScreen)
        assert "Message left" in str(app.screen.query_one("#wrapup-title").render())
        # (the call screen takes the next customer after the save: keep this one's)
        customer = call.session.customer
        await press(pilot, "enter")
        await settle(pilot)
    with Store.open(db) as store:
        row = store.one("SELECT * FROM calls WHERE customer_id = ?", (customer.id,))
        assert row["outcome"] == "left_message" and row["ended_at"] is not None
        state = store.one("SELECT * FROM customers WHERE id = ?", (customer.id,))
        assert state["retry_after"] == to_iso(NOW + timedelta(minutes=120))
        assert state["cycle_attempts"] == 1
        report = build_report(store, NOW + timedelta(hours=1), NOW.date(), NOW.date())
    data = report.to_json()
    assert data["activity"]["outcomes"] == {"left_message": 1}
    assert data["aapor"]["counts"]["NC"] == 1


def test_the_table_drives_labels_families_and_effects():
    assert outcomes.LABEL[Outcome.BUSY] == "Busy" and outcomes.FAMILY["refused"] == "R"
    assert Outcome.CALLBACK.spec.needs_callback and Outcome.DO_NOT_CALL.spec.dnc
    assert set(outcomes.CONTACT) == {Outcome.COMPLETED, Outcome.PARTIAL, Outcome.CALLBACK,
                                     Outcome.REFUSED, Outcome.DO_NOT_CALL}
    assert Outcome.OTHER_CONTACT in outcomes.CONNECTED
    assert Outcome.OTHER_CONTACT not in outcomes.CONTACT
    assert set(outcomes.RULES) == {Outcome.COMPLETED, Outcome.PARTIAL, Outcome.CALLBACK,
                                   Outcome.REFUSED}
    keys = [o.spec.key for o in Outcome if o.spec.key]
    assert len(keys) == len(set(keys))            # one key per outcome
    with pytest.raises(ValueError, match="AAPOR family"):
        OutcomeSpec("odd", "Odd", "X")
    with pytest.raises(ValueError):
        Outcome("odd")
