"""Calls in a row on one call screen (issue 18): each customer is loaded into the screen the
shift built once, and nothing of the customer before shows: not their name, answers,
notes or call timer."""

from __future__ import annotations

from calls.errors import UserError
from calls.session import CallSession
from tests.support.tui import (
    NOW,
    db_rows,
    press,
    screen_lines,
    settle,
    take_next,
    type_text,
)
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen


def _shown(app) -> str:
    return "\n".join(screen_lines(app))


async def _partial_with_notes(pilot, call: CallScreen, score: str, notes: str) -> None:
    """Connect, answer the first question, write notes, pick Partial: the wrap-up shows."""
    await press(pilot, "c", "y", "enter", score, "ctrl+n")
    await type_text(pilot, notes)
    await press(pilot, "escape", "escape", "p")
    assert isinstance(pilot.app.screen, WrapUpScreen)


async def test_the_next_customer_comes_into_the_same_call_screen_with_nothing_of_the_last(
        shift_db, notifications):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        first = call.session.customer
        await _partial_with_notes(pilot, call, "3", "wants a call back in May")
        shown = _shown(app)
        assert "call 0:00" in shown                     # the call timer ran on this call
        await press(pilot, "enter")
        await settle(pilot)

        assert app.screen is call                       # the same screen, not a new one
        second = call.session.customer
        assert second.id != first.id
        shown = _shown(app)
        # The saved call's notice, said once, over the next customer's call screen.
        saved = [m for m in notifications.messages() if m.startswith("Saved ")]
        assert len(saved) == 1 and saved[0].startswith(f"Saved {first.name}: Partial")
        assert second.name in shown and first.name not in shown
        assert f"Dial {call.national}" in shown         # dialling: no question, no answer
        assert "wants a call back" not in shown and call.query_one("#notes").text == ""
        assert "(call " not in shown and app.call_started_at is None
        assert call.phase == "ready" and not call.session.answer_lines()
        assert call.session.notes == ""
        # The database: the first call ended with its notes and answer; the second
        # customer is claimed by ann, with no call written yet.
        ended = db_rows(shift_db, "SELECT customer_id, outcome, notes FROM calls")
        assert ended == [{"customer_id": first.id, "outcome": "partial",
                          "notes": "wants a call back in May"}]
        claims = db_rows(shift_db, "SELECT customer_id, caller FROM claims")
        assert claims == [{"customer_id": second.id, "caller": "ann"}]

        # And once more: the third customer on the same screen, the second one's notes gone.
        await _partial_with_notes(pilot, call, "9", "happy with the new app")
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is call
        third = call.session.customer
        assert third.id not in (first.id, second.id)
        shown = _shown(app)
        assert third.name in shown and second.name not in shown
        assert "happy with the new app" not in shown
        assert "calls 2" in shown


async def test_no_one_left_goes_back_to_the_queue(shift_db, notifications):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        seen = []
        while isinstance(app.screen, CallScreen):
            seen.append(call.session.customer.id)
            await press(pilot, "n")                     # no answer (tried again later)
            assert isinstance(app.screen, WrapUpScreen)
            await press(pilot, "enter")
            await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert len(seen) == len(set(seen)) == 4         # everyone callable now, once each
        said = [m for m in notifications.messages() if m.startswith("Saved ")]
        assert len(said) == 4                           # each call saved said so, once
        assert said[-1].endswith("\nNobody left to call right now.")
        assert "Nobody to call right now" in _shown(app)
        assert not db_rows(shift_db, "SELECT * FROM claims")


async def test_a_wrap_up_that_fails_stays_and_takes_nobody(shift_db, monkeypatch,
                                                           notifications):
    notifications.expect_error("the disk is full")
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        first = call.session.customer
        original = CallSession.wrap_up

        def failing(self, store, now, plan=None):
            raise UserError("the disk is full")

        monkeypatch.setattr(CallSession, "wrap_up", failing)
        await press(pilot, "n")                         # no answer
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, WrapUpScreen)     # still here: Enter tries again
        assert call.session.customer.id == first.id
        assert db_rows(shift_db, "SELECT customer_id FROM claims") == [{"customer_id": first.id}]
        assert not db_rows(shift_db, "SELECT * FROM calls WHERE ended_at IS NOT NULL")

        monkeypatch.setattr(CallSession, "wrap_up", original)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is call and call.session.customer.id != first.id
        assert db_rows(shift_db, "SELECT customer_id, outcome FROM calls") == [
            {"customer_id": first.id, "outcome": "no_answer"}]



# -- the kept screen's styles (tui.screens.call.KeptStyles) ----------------------------


def _count_restyles(screen: CallScreen) -> list[int]:
    """Counts the restyles of every widget of ``screen`` from now on (one item each)."""
    restyles: list[int] = []
    original = screen.update_node_styles

    def counted(animate: bool = True) -> None:
        restyles.append(1)
        original(animate)

    screen.update_node_styles = counted
    return restyles


async def _as_drawn_the_plain_way(pilot, screen: CallScreen) -> str:
    """The screen after the restyle of every widget Textual does for a pushed screen and
    with every text put on its widget again (``tui.widgets.text.show_text`` skips the
    same text), as an SVG screenshot."""
    from textual.widgets import Static

    screen.update_node_styles(animate=False)
    for widget in screen.query(Static):
        widget.update(widget.content)
    screen.refresh(layout=True)
    await settle(pilot)
    return pilot.app.export_screenshot()


async def test_a_call_screen_shown_again_looks_as_if_restyled_from_scratch(shift_db):
    """Pushed again, the kept call screen skips Textual's restyle of every widget, and the
    texts that did not change are not put again; what it shows is what the plain way
    gives, character and colour alike."""
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        await press(pilot, "c", "y", "enter", "p")      # a question's pad, then partial
        await press(pilot, "enter")                     # the next customer, same screen
        await settle(pilot)
        assert app.screen is call
        await press(pilot, "s")                         # skipped: back to the queue
        assert isinstance(app.screen, QueueScreen)
        restyles = _count_restyles(call)
        assert await take_next(pilot) is call
        assert not restyles                             # the styles it had were kept
        kept = app.export_screenshot()
        assert await _as_drawn_the_plain_way(pilot, call) == kept


async def test_a_theme_changed_on_the_queue_reaches_the_kept_call_screen(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        before = call.styles.background
        await press(pilot, "s")
        app.theme = "textual-light"                     # as the command palette does
        await settle(pilot)
        assert app.screen.styles.background != before
        restyles = _count_restyles(call)
        assert await take_next(pilot) is call
        assert restyles == [1]                          # restyled for the new theme
        assert call.styles.background == app.screen_stack[-2].styles.background
        kept = app.export_screenshot()
        assert await _as_drawn_the_plain_way(pilot, call) == kept


async def test_the_saved_notice_comes_over_the_next_customer_after_they_are_drawn(
        shift_db, monkeypatch):
    """The saved call's notice is asked for on the call screen once it shows the next
    customer (asked for on the wrap-up, it was built there, which goes, and again on the
    call screen, while the caller waited)."""
    from tui.comfort import ShiftComfort

    asked_on: list[tuple[str, str]] = []
    original = ShiftComfort.notify

    def notify(self, message, **kwargs):
        asked_on.append((type(self.screen).__name__, str(message)))
        return original(self, message, **kwargs)

    monkeypatch.setattr(ShiftComfort, "notify", notify)
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        call = await take_next(pilot)
        first = call.session.customer.name
        await press(pilot, "n")                         # no answer: the wrap-up
        asked_on.clear()
        await press(pilot, "enter")
        await settle(pilot)
        assert app.screen is call and call.session.customer.name != first
        assert [(screen, m[:len(first) + 6]) for screen, m in asked_on] == [
            ("CallScreen", f"Saved {first}")]
        [toast] = call.query("Toast")
        assert str(toast.render()).startswith(f"Saved {first}: No answer")


async def test_the_wrap_up_is_kept_too_and_shows_nothing_of_the_call_before(shift_db):
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        call = await take_next(pilot)
        first = call.session.customer
        await _partial_with_notes(pilot, call, "3", "wants a call back in May")
        wrapup = app.screen
        assert "wants a call back in May" in _shown(app)
        await press(pilot, "enter")
        await settle(pilot)
        second = call.session.customer
        await press(pilot, "b")                         # busy: the wrap-up again
        assert app.screen is wrapup                     # the same screen, loaded again
        shown = _shown(app)
        assert f"Wrap-up: {second.name} — Busy" in shown
        assert first.name not in shown and "wants a call back" not in shown
        assert "Answers" not in shown
        await press(pilot, "enter")                     # saves: nothing left of _saving
        await settle(pilot)
        assert app.screen is call and call.session.customer.id not in (first.id, second.id)
        rows = db_rows(shift_db, "SELECT customer_id, outcome FROM calls ORDER BY id")
        assert rows == [{"customer_id": first.id, "outcome": "partial"},
                        {"customer_id": second.id, "outcome": "busy"}]


async def test_notices_leave_no_empty_holders_piling_up_on_the_kept_screens(shift_db):
    """Textual leaves a notice's holder behind when the notice goes early; on the screens
    kept for the shift they are removed (tui.widgets.notices.drop_empty_notice_holders), else
    one more stays with each call."""
    app = make_app(shift_db, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        queue = app.screen
        for _ in range(2):                              # 4 customers callable: 2 each
            call = await take_next(pilot)
            await press(pilot, "n")                     # no answer: the wrap-up
            wrapup = app.screen
            await press(pilot, "enter")                 # saved, the next one (or none)
            await settle(pilot)
            if app.screen is call:
                await press(pilot, "s")                 # give them back: the queue
            for i in range(4):
                app.notify(f"notice {i} on the queue")
                await settle(pilot)
        for screen in (queue, call, wrapup):
            holders = screen.query("ToastHolder")
            assert len([h for h in holders if not h.children]) <= 1, screen
