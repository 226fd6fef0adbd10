"""Keys typed ahead never answer a question the caller has not seen (issue 15).

Each test makes keys the way a terminal does: Textual stamps a key with the moment it is
read (``event.time``). A key read before the screen showed the question it lands on (the
app was busy) is not used and named in a quiet hint; keys read together in one burst still
land in order (tests/tui/test_tui_keys.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual import events

from calls.store import Store
from tests.support.tui import _KEY_NAMES, NOW, make_db, press, settle
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.call import CallScreen
from tui.screens.queue import QueueScreen
from tui.screens.wrapup import WrapUpScreen
from tui.typeahead import BURST_SECONDS, LOOK_SECONDS

SCRIPT = Path(__file__).resolve().parents[1] / "data" / "typeahead.toml"


@pytest.fixture
def shift_db(tmp_path):
    return make_db(tmp_path / "shift.db")


def _app(db):
    return make_app(db, "ann", script=str(SCRIPT), clock=FixedClock(NOW))


def _key(name: str, read_at: float | None = None) -> events.Key:
    """A key as the terminal reads it (``read_at``: when it was read; default now)."""
    key = events.Key(_KEY_NAMES.get(name, name),
                     "\r" if name == "enter" else (name if len(name) == 1 else None))
    if read_at is not None:
        key.time = read_at
    return key


def _read_apart(*names: str) -> list[events.Key]:
    """Keys read one after another while the app is busy: each a little later than the one
    before, too far apart to be one burst, all before the app handles the first."""
    keys = []
    for name in names:
        keys.append(_key(name))
        time.sleep(BURST_SECONDS * 3)
    return keys


async def _deliver(pilot, keys: list[events.Key]) -> None:
    for key in keys:
        pilot.app.post_message(key)
    await settle(pilot, 4)


class PersonTyping:
    """A person typing ``gap`` seconds apart with an app that keeps up, on a timeline of
    its own: the call screen's type-ahead guard reads this clock, so a busy test machine
    cannot stretch the gaps into pauses (or squeeze them into a burst)."""

    def __init__(self, call: CallScreen) -> None:
        self.now = time.monotonic() + 1000.0        # after every key typed so far
        call.typeahead.clock = lambda: self.now

    async def type(self, pilot, names, gap: float = 0.08) -> None:
        for name in names:
            self.now += gap
            pilot.app.post_message(_key(name, self.now))   # handled "at once", at self.now
            await settle(pilot, 2)


def _hint(call: CallScreen) -> str:
    return str(call.query_one("#answer-error").render())


def _answers(db, call_id) -> dict[str, str]:
    with Store.open(db) as store:
        return {r["key"]: r["value"] for r in store.all(
            "SELECT key, value FROM answers WHERE call_id = ?", (call_id,))}


async def _to_the_call(pilot) -> CallScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    await press(pilot, "n")
    call = pilot.app.screen
    assert isinstance(call, CallScreen)
    return call


async def test_a_key_typed_before_the_call_screen_was_up_is_not_used(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        early = _key("c")                 # read while the queue was still on screen
        call = await _to_the_call(pilot)
        await _deliver(pilot, [early])
        assert call.phase == "ready"      # not connected to a customer never seen
        assert "Not used: c" in _hint(call)
        await press(pilot, "c")           # typed with the customer on screen: it acts
        assert call.phase == "opening"
        assert not call.query_one("#answer-error").display


async def test_a_key_typed_before_the_next_question_was_shown_is_not_used(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        await press(pilot, "c", "enter")
        assert call.session.current().key == "score"
        # "2" answers the rating; "n" was typed while the rating was still on screen.
        await _deliver(pilot, _read_apart("2", "n"))
        assert call.session.value("score") == 2
        assert call.session.current().key == "ok"
        assert call.session.value("ok") is None
        assert "Not used: n" in _hint(call)
        await press(pilot, "y")           # seen, then typed: it answers
        assert call.session.value("ok") is True
        call_id = call.session.call_id
        await settle(pilot)
    assert _answers(shift_db, call_id) == {"score": "2", "ok": "true"}


async def test_keys_of_one_burst_still_land_in_order(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        await press(pilot, "c", "enter")
        await _deliver(pilot, [_key("4"), _key("y")])     # read together (SSH, a paste)
        assert call.session.value("score") == 4
        assert call.session.value("ok") is True
        assert call.session.current().key == "detail"


async def test_a_digit_never_answers_a_yes_no_question(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        await press(pilot, "c", "enter", "3")
        assert call.session.current().key == "ok"
        await press(pilot, "9")
        assert call.session.value("ok") is None
        pad = str(call.query_one("#key-answer").render())
        assert "“9” does not answer yes/no: press y or n" in pad
        await press(pilot, "1")           # not "yes" either
        assert call.session.value("ok") is None
        await press(pilot, "n")
        assert call.session.value("ok") is False
        assert call.session.current().key == "detail"


async def test_letters_running_on_from_a_typed_answer_do_not_answer_yes_no(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        await press(pilot, "c", "enter", "3", "y")
        assert call.session.current().key == "detail"
        # The caller types on without looking: "slow delivery⏎no thanks", 80 ms apart.
        person = PersonTyping(call)
        await person.type(pilot, [*"slow delivery", "enter", *"no thanks"])
        assert call.session.value("detail") == "slow delivery"
        assert call.session.current().key == "more"
        assert call.session.value("more") is None
        assert ("Not used: no thanks (typed straight on from your typed answer)"
                in _hint(call))
        assert call.phase == "script"     # no outcome picked by a letter either
        await person.type(pilot, ["y"], gap=1.0)   # a pause: the question has been read
        assert call.session.value("more") is True
        assert call.phase == "done"


async def test_a_key_typed_before_back_was_shown_is_not_used(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        await press(pilot, "c", "enter", "2")
        assert call.session.current().key == "ok"
        # Up goes back to the rating; "5" was typed while the yes/no was on screen.
        await _deliver(pilot, _read_apart("up", "5"))
        assert call.session.current().key == "score"
        assert call.session.value("score") == 2
        assert "Not used: 5" in _hint(call)
        await press(pilot, "4")           # typed with the rating on screen
        assert call.session.value("score") == 4
        call_id = call.session.call_id
        await settle(pilot)
    assert _answers(shift_db, call_id)["score"] == "4"


async def test_keys_typed_before_the_next_customer_was_shown_are_not_used(shift_db):
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        first = call.session.customer
        await pilot.pause(LOOK_SECONDS + 0.05)           # look at the first customer
        await press(pilot, "n")           # no answer
        assert isinstance(app.screen, WrapUpScreen)
        early = [_key("c"), _key("enter")]   # typed during the wrap-up, for nobody yet
        await press(pilot, "enter")
        await settle(pilot)
        nxt = app.screen
        assert isinstance(nxt, CallScreen)
        assert nxt.session.customer.id != first.id
        await _deliver(pilot, early)
        assert nxt.phase == "ready"
        assert nxt.session.call_id is None   # nothing started for the next customer
        assert "Not used: c[enter]" in _hint(nxt)


async def test_a_key_typed_as_the_next_customer_comes_up_is_not_used(shift_db, monkeypatch):
    """Read after the next customer was on screen, but in its first moment: the caller has
    not read the card (a "c" typed right after the wrap-up's Enter)."""
    import tui.typeahead

    monkeypatch.setattr(tui.typeahead, "LOOK_SECONDS", LOOK_SECONDS)
    app = _app(shift_db)
    async with app.run_test(size=(80, 24)) as pilot:
        call = await _to_the_call(pilot)
        first = call.session.customer
        await pilot.pause(LOOK_SECONDS + 0.05)           # look at the first customer
        await press(pilot, "n")
        await press(pilot, "enter")                      # save: the next customer
        await settle(pilot)
        nxt = app.screen                                 # (the call screen may be reused)
        assert isinstance(nxt, CallScreen) and nxt.session.customer.id != first.id
        person = PersonTyping(nxt)
        nxt.typeahead.restart()                          # it comes up on the timeline
        await person.type(pilot, ["c"], gap=0.1)         # 0.1 s later
        assert nxt.phase == "ready" and nxt.session.call_id is None
        assert "Not used: c (typed as this came up)" in _hint(nxt)
        await person.type(pilot, ["c"], gap=1.0)         # the card has been read
        assert nxt.phase == "opening"
