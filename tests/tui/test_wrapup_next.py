"""Save & next, and `n` (issue 18): the next customer is looked up before the key (the
wrap-up reads them while the caller reads it; `n` uses the queue's top row as the screen
read it); the key claims that customer after a check in the claim's lock, without reading
the queue in the time the caller waits. A customer another seat took meanwhile is never
handed twice."""

from __future__ import annotations

from calls import queue
from calls.policy import DEFAULT_POLICY
from calls.session import CallSession
from calls.store import Store
from tests.support.queue import count_queue_reads
from tests.support.tui import NOW, db_rows, press, screen_lines, settle, take_next
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.wrapup import WrapUpScreen


def _next_in_queue(db, leaving: int) -> int:
    """Whom the queue offers ann now, after the customer she is wrapping up."""
    with Store.open(db) as store:
        entries = queue.build_queue(store, "ann", NOW, DEFAULT_POLICY, limit=5)
    return next(e.customer.id for e in entries if e.customer.id != leaving)


def _name(db, customer_id: int) -> str:
    return db_rows(db, "SELECT name FROM customers WHERE id = ?", [customer_id])[0]["name"]


async def test_enter_claims_the_customer_looked_up_while_the_wrap_up_showed(shift_db,
                                                                           monkeypatch):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        first = call.session.customer
        await press(pilot, "n")                       # no answer: the wrap-up
        assert isinstance(app.screen, WrapUpScreen)
        await settle(pilot)                           # the look-up ran meanwhile
        expected = _next_in_queue(shift_db, first.id)

        reads = count_queue_reads(monkeypatch)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is call and call.session.customer.id == expected
        assert reads == []                            # claimed, not read again
        shown = "\n".join(screen_lines(app))
        assert _name(shift_db, expected) in shown and first.name not in shown
        assert db_rows(shift_db, "SELECT customer_id, caller FROM claims") == [
            {"customer_id": expected, "caller": "ann"}]
        assert db_rows(shift_db, "SELECT customer_id, outcome FROM calls") == [
            {"customer_id": first.id, "outcome": "no_answer"}]


async def test_a_customer_another_seat_took_meanwhile_is_not_handed_twice(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        first = call.session.customer
        await press(pilot, "n")
        await settle(pilot)
        looked_up = _next_in_queue(shift_db, first.id)
        # Bob, at his own seat, takes exactly that customer while ann reads her wrap-up.
        with Store.open(shift_db) as store:
            bob = CallSession.take_next(store, "bob", NOW, DEFAULT_POLICY, "quarterly")
        assert bob.customer.id == looked_up

        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)
        got = call.session.customer.id
        assert got not in (looked_up, first.id)
        shown = "\n".join(screen_lines(app))
        assert _name(shift_db, got) in shown and _name(shift_db, looked_up) not in shown
        claims = db_rows(shift_db, "SELECT customer_id, caller FROM claims ORDER BY caller")
        assert claims == [{"customer_id": got, "caller": "ann"},
                          {"customer_id": looked_up, "caller": "bob"}]


# -- n on the queue: the top row as the screen read it ---------------------------------


async def test_n_claims_the_top_row_shown_without_reading_the_queue_again(shift_db,
                                                                         monkeypatch):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        top = app.screen.view.entries[0].customer
        reads = count_queue_reads(monkeypatch)
        call = await take_next(pilot)
        assert call.session.customer.id == top.id and reads == []
        assert top.name in "\n".join(screen_lines(app))
        assert db_rows(shift_db, "SELECT customer_id, caller FROM claims") == [
            {"customer_id": top.id, "caller": "ann"}]


async def test_n_after_another_seat_took_the_top_row_takes_the_next_one(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        rows = [e.customer.id for e in app.screen.view.entries]
        with Store.open(shift_db) as store:      # bob, at his seat, is quicker
            bob = CallSession.take_next(store, "bob", NOW, DEFAULT_POLICY, "quarterly")
        assert bob.customer.id == rows[0]
        call = await take_next(pilot)
        assert call.session.customer.id == rows[1]
        claims = db_rows(shift_db, "SELECT customer_id, caller FROM claims ORDER BY caller")
        assert claims == [{"customer_id": rows[1], "caller": "ann"},
                          {"customer_id": rows[0], "caller": "bob"}]
