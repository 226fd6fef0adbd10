"""Floor status in the app: p pauses with a reason and shows how long (no queue while
paused), the shift bar shows the state, the dashboard shows every caller (fixed clock)."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Static

from calls import accounts as acc
from calls import audit, floor
from calls.store import Store
from tests.support.team import make_team
from tests.support.tui import NOW, make_db, press, screen_lines, settle
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.queue import QueueScreen
from tui.screens.team import PausedScreen, PauseScreen
from tui.widgets.shift_bar import ShiftBar


def team_db(tmp_path):
    path = make_db(tmp_path / "team.db")
    with Store.open(path) as store:
        make_team(store, NOW)
    return path


def actor(path, name):
    with Store.open(path) as store:
        return acc.get_account(store, name).as_actor()


def ann_shift(tmp_path):
    """The team's database, a fixed clock, and ann's shift on it."""
    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    return path, clock, make_app(path, "ann", clock=clock, actor=actor(path, "ann"))


def bar(app) -> str:
    widget = app.screen.query_one(ShiftBar)
    widget.update_bar()
    return str(widget.render())


async def test_pause_with_a_reason_shows_how_long_and_hides_the_queue(tmp_path):
    from calls.policy import policy_from_dict

    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    # The pause below lasts 12 minutes without a key: long enough for the idle lock too.
    policy = policy_from_dict({"accounts": {"idle_lock_minutes": 60}})
    app = make_app(path, "ann", clock=clock, actor=actor(path, "ann"), policy=policy)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert "ready 0:00" in bar(app)
        await press(pilot, "p")
        assert isinstance(app.screen, PauseScreen)
        await press(pilot, "down", "enter")  # break, lunch, ...
        await settle(pilot)
        assert isinstance(app.screen, PausedScreen)
        assert "Paused · lunch" in str(app.screen.query_one("#paused-title").render())
        assert not app.screen.query(DataTable)  # no queue on the paused screen
        clock.advance(minutes=12, seconds=5)
        app.screen.tick()
        assert str(app.screen.query_one("#paused-time", Static).render()) == "for 12:05"
        assert "paused (lunch) 12:05" in bar(app)
        with Store.open(path) as store:
            assert floor.current_state(store, "ann").label == "paused (lunch)"
            # A pause is someone's decision, with its reason: an audit row (ready is not).
            assert [(e.actor, e.subject, e.details) for e in audit.entries(
                store, action="seat")] == [("ann", "ann", {"reason": "lunch", "from": "now"})]
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        with Store.open(path) as store:
            now_state = floor.current_state(store, "ann")
            assert now_state.state == "ready" and now_state.since == NOW + timedelta(minutes=12,
                                                                                    seconds=5)
    with Store.open(path) as store:
        assert floor.current_state(store, "ann") is None  # signed out: the seat is closed
        assert store.scalar("SELECT count(*) FROM seat_states WHERE caller = 'ann'") == 3
        assert len(audit.entries(store, action="seat.pause")) == 1   # back to ready: no row


async def test_the_dashboard_shows_every_caller_live(tmp_path):
    path = team_db(tmp_path)
    with Store.open(path) as store:
        cid = store.scalar("SELECT id FROM customers WHERE name LIKE 'Alma%' OR id = 1 "
                           "ORDER BY id LIMIT 1")
        name = store.scalar("SELECT name FROM customers WHERE id = ?", [cid])
        floor.set_state(store, "ann", "talking", now=NOW - timedelta(minutes=3),
                        customer_id=cid, call_id=None)
        floor.set_state(store, "bob", "paused", now=NOW - timedelta(minutes=10), reason="break")
    app = make_app(path, "sue", clock=FixedClock(NOW), actor=actor(path, "sue"))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+d")
        await settle(pilot, 10)
        rows = {r.caller: r for r in app.screen.floor}
        assert rows["ann"].state == "talking" and rows["ann"].in_state_seconds == 180
        assert rows["ann"].customer.startswith(name)
        assert rows["bob"].label == "paused (break)"
        table = app.screen.query_one("#floor", DataTable)
        cells = [str(c) for c in table.get_row("ann")]
        assert cells[:3] == ["Ann Lee", "talking", "3:00"] and cells[3].startswith(name)
        assert [str(c) for c in table.get_row("bob")][1:3] == ["paused (break)", "10:00"]


async def test_a_supervisor_pauses_a_caller_and_releases_claims(tmp_path):
    from calls import audit
    from calls.queue import claim_next

    path = team_db(tmp_path)
    with Store.open(path) as store:
        floor.set_state(store, "ann", "ready", now=NOW - timedelta(minutes=1))
        assert claim_next(store, "bob", NOW) is not None
    sue = make_app(path, "sue", clock=FixedClock(NOW), actor=actor(path, "sue"))
    async with sue.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+d")
        await settle(pilot, 10)
        table = sue.screen.query_one("#floor", DataTable)
        table.focus()
        table.move_cursor(row=[r.caller for r in sue.screen.floor].index("ann"))
        await press(pilot, "z")
        assert isinstance(sue.screen, PauseScreen)
        assert "Pause ann: why?" in str(sue.screen.query_one(".dialog-title").render())
        await press(pilot, "down", "down", "down", "down", "enter")  # coaching
        await settle(pilot, 10)
        assert any(n.message == "ann is paused (coaching)." for n in sue._notifications)
        table.move_cursor(row=[r.caller for r in sue.screen.floor].index("bob"))
        await press(pilot, "x")
        await settle(pilot, 10)
    with Store.open(path) as store:
        assert floor.current_state(store, "ann").label == "paused (coaching)"
        assert store.scalar("SELECT count(*) FROM claims WHERE caller = 'bob'") == 0
        assert [(e.actor, e.action, e.subject) for e in audit.entries(store, actor="sue")
                if e.action in ("seat.pause", "claims.release")] == [
            ("sue", "seat.pause", "ann"), ("sue", "claims.release", "bob")]
    # Ann's seat notices at its next tick and offers no customer until she resumes.
    ann = make_app(path, "ann", clock=FixedClock(NOW), actor=actor(path, "ann"))
    async with ann.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(ann.screen, QueueScreen)
        with Store.open(path) as store:
            pause_by_sue = floor.pause_caller(store, "ann", "coaching", now=NOW,
                                              actor=actor(path, "sue"))
        ann.seat_tick()
        await settle(pilot, 6)
        assert isinstance(ann.screen, PausedScreen)
        ann.seat_tick()  # looking again changes nothing
        await settle(pilot, 6)
        assert isinstance(ann.screen, PausedScreen) and ann.seat_state == pause_by_sue
        assert any("sue paused this seat (coaching)" in n.message for n in ann._notifications)


async def test_a_caller_cannot_pause_others():
    import pytest

    from calls.accounts import Actor, Refused
    from calls.floor import pause_caller

    store = Store.open(":memory:")
    caller = Actor("ann", "caller", account_id=3)
    with pytest.raises(Refused, match="only a supervisor or admin may pause a caller"):
        pause_caller(store, "bob", "break", actor=caller, now=NOW)
    assert store.scalar("SELECT count(*) FROM seat_states") == 0


async def test_the_seat_follows_the_call_and_the_bar_shows_it(tmp_path):
    from tui.screens.call import CallScreen
    from tui.screens.wrapup import WrapUpScreen

    path, clock, app = ann_shift(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, CallScreen)
        clock.advance(seconds=40)
        await press(pilot, "n")  # no answer
        assert isinstance(app.screen, WrapUpScreen)
        clock.advance(seconds=10)
        app.seat_tick()
        await settle(pilot)
        assert app.seat_state.state == "wrapup"
        # Nobody answered: no talk time (the call timer starts when the customer answers).
        assert "wrap-up 0:" in bar(app) and "(call" not in bar(app)
        clock.advance(seconds=15)
        await press(pilot, "enter")
        await settle(pilot)
        app.seat_tick()
        await settle(pilot)
        assert app.seat_state.state in ("ready", "dialling")
    with Store.open(path) as store:
        states = [r["state"] for r in store.all(
            "SELECT state FROM seat_states WHERE caller = 'ann' ORDER BY id")]
        call = store.one("SELECT * FROM calls WHERE caller = 'ann' ORDER BY id LIMIT 1")
    assert states[:4] == ["ready", "dialling", "wrapup", "ready"], states
    assert call["outcome"] == "no_answer"


async def test_a_pause_asked_during_a_call_takes_effect_after_the_wrap_up(tmp_path):
    from calls import audit
    from tui.screens.call import CallScreen
    from tui.screens.wrapup import WrapUpScreen

    path, clock, app = ann_shift(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, CallScreen)
        assert app.seat_state.state == "dialling"   # at once, not at the next tick
        taken = app.screen.session.customer.id
        clock.advance(seconds=30)
        with Store.open(path) as store:
            floor.pause_caller(store, "ann", "coaching", actor=actor(path, "sue"),
                               now=clock())
            # The call goes on: still dialling, the pause waits for the call to end.
            assert floor.current_state(store, "ann").state == "dialling"
        app.seat_tick()
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)
        assert "dialling 0:30 · then coaching" in bar(app)
        assert any("asked for a pause (coaching)" in n.message for n in app._notifications)
        await press(pilot, "n")  # no answer
        assert isinstance(app.screen, WrapUpScreen)
        # Enter does not take a next customer: the wrap-up and its key say what it does
        lines = screen_lines(app)
        assert any("Enter: save, then your pause (coaching) starts" in line for line in lines)
        assert lines[-1].lstrip().startswith("⏎ Save & pause")
        clock.advance(seconds=20)
        await press(pilot, "enter")
        await settle(pilot, 8)
        # Wrap-up done: paused with the supervisor's reason, no next customer offered.
        assert isinstance(app.screen, PausedScreen)
        assert "Paused · coaching" in str(app.screen.query_one("#paused-title").render())
        assert "sue (supervisor) paused this seat" in str(
            app.screen.query_one("#paused-note").render())
        assert "paused (coaching) 0:00" in bar(app)
        with Store.open(path) as store:
            now_state = floor.current_state(store, "ann")
            assert (now_state.state, now_state.reason, now_state.since) == (
                "paused", "coaching", NOW + timedelta(seconds=50))
            assert store.scalar("SELECT count(*) FROM claims WHERE caller = 'ann'") == 0
            assert store.one("SELECT outcome FROM calls WHERE customer_id = ?",
                             [taken])["outcome"] == "no_answer"
            assert [e.details["from"] for e in audit.entries(store, action="seat.pause")] \
                == ["after the call"]
        # Under the idle lock's 5 minutes: at 5 the seat's own 2 s look could lock it
        # between the clock's move and the key (it did, on a busy machine).
        clock.advance(minutes=4)
        await press(pilot, "enter")  # back to work
        await settle(pilot, 8)
        assert isinstance(app.screen, QueueScreen)
        assert app.seat_state.state == "ready"
        await press(pilot, "n")
        await settle(pilot)
        assert isinstance(app.screen, CallScreen)   # customers are offered again


async def test_a_pause_that_came_while_the_seat_was_locked_shows_after_unlocking(tmp_path):
    from tests.support.team import PW
    from tests.support.tui import type_text
    from tui.screens.login import LockScreen

    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    app = make_app(path, "ann", clock=clock, actor=actor(path, "ann"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        clock.advance(minutes=6)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        with Store.open(path) as store:
            floor.pause_caller(store, "ann", "meeting", actor=actor(path, "sue"), now=clock())
        app.seat_tick()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)   # nothing shows through the lock
        await press(pilot, "enter")   # the password field opens
        await type_text(pilot, PW)
        await press(pilot, "enter")
        await settle(pilot, 8)
        assert isinstance(app.screen, PausedScreen)
        # A customer asked for anyway (the queue under it) is refused: the paused screen.
        app.pop_screen()
        await settle(pilot)
        await press(pilot, "n")
        await settle(pilot, 8)
        assert isinstance(app.screen, PausedScreen)
        with Store.open(path) as store:
            assert store.scalar("SELECT count(*) FROM claims WHERE caller = 'ann'") == 0
        await press(pilot, "enter")
        await settle(pilot, 8)
        app.seat_tick()
        await settle(pilot, 8)
        assert isinstance(app.screen, QueueScreen) and app.seat_state.state == "ready"


async def test_a_supervisor_pausing_a_seat_on_break_changes_what_it_says(tmp_path):
    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    app = make_app(path, "ann", clock=clock, actor=actor(path, "ann"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "p", "enter")   # break
        await settle(pilot)
        assert isinstance(app.screen, PausedScreen)
        clock.advance(minutes=3)
        with Store.open(path) as store:
            floor.pause_caller(store, "ann", "coaching", actor=actor(path, "sue"), now=clock())
        app.seat_tick()
        await settle(pilot)
        app.screen.tick()
        assert "Paused · coaching" in str(app.screen.query_one("#paused-title").render())
        assert "sue (supervisor) paused" in str(app.screen.query_one("#paused-note").render())
        assert str(app.screen.query_one("#paused-time").render()) == "for 0:00"


async def test_the_bar_fits_80_columns_in_a_call(tmp_path):
    """In a call at 80x24 the bar still shows the counts, the NPS and the clock (shorter
    words first); the call timer is shown where it says more than the state's time."""
    from tui.screens.wrapup import WrapUpScreen

    _path, clock, app = ann_shift(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        clock.advance(seconds=5)
        await press(pilot, "c", "y")
        clock.advance(seconds=62)
        app.screen.query_one(ShiftBar).update_bar()
        await settle(pilot)
        top = screen_lines(app)[0]
        local = NOW.astimezone() + timedelta(seconds=67)
        assert "talking 1:02 │" in top and "(call" not in top   # the same time: once
        assert top.endswith(f"calls 0 · contacts 0 · completes 0 │ NPS – │ {local:%a %H:%M}"), top
        await press(pilot, "r")   # refused: wrap-up
        assert isinstance(app.screen, WrapUpScreen)
        clock.advance(seconds=3)
        app.screen.query_one(ShiftBar).update_bar()
        await settle(pilot)
        top = screen_lines(app)[0]
        assert "wrap-up 0:03 (call 1:05) │" in top, top
        assert top.endswith(f"cont. 0 · compl. 0 │ NPS – │ {local:%H:%M}"), top


async def test_a_pause_asked_while_the_wrap_up_shows_changes_what_enter_says(tmp_path):
    from tui.screens.call import CallScreen
    from tui.screens.wrapup import WrapUpScreen

    path, clock, app = ann_shift(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, CallScreen)
        await press(pilot, "n")  # no answer
        assert isinstance(app.screen, WrapUpScreen)
        lines = screen_lines(app)
        assert any("Enter: save and take the next customer" in line for line in lines)
        assert lines[-1].lstrip().startswith("⏎ Save & next")
        with Store.open(path) as store:
            floor.pause_caller(store, "ann", "coaching", actor=actor(path, "sue"),
                               now=clock())
        app.seat_tick()
        await settle(pilot)
        lines = screen_lines(app)
        assert any("Enter: save, then your pause (coaching) starts" in line for line in lines)
        assert lines[-1].lstrip().startswith("⏎ Save & pause")
        await press(pilot, "enter")
        await settle(pilot, 8)
        assert isinstance(app.screen, PausedScreen)


async def test_a_locked_seat_shows_locked_on_the_dashboard_and_unlocking_returns_it(tmp_path):
    """ann's seat locks itself while sue watches the floor: sue's dashboard says "locked"
    and for how long, and "ready" again once ann types her password."""
    from tests.support.team import PW
    from tests.support.tui import type_text
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.login import LockScreen

    path, clock, ann = ann_shift(tmp_path)

    async def dashboard_row(then=None):
        """sue's dashboard (run beside ann's seat): ann's row on the floor."""
        sue = make_app(path, "sue", clock=clock, actor=actor(path, "sue"))
        async with sue.run_test(size=(100, 40)) as board:
            await settle(board)
            await press(board, "ctrl+d")
            await settle(board, 10)
            assert isinstance(sue.screen, DashboardScreen)
            table = sue.screen.query_one("#floor", DataTable)
            row = [str(c) for c in table.get_row("ann")]
            if then is not None:
                table.focus()
                table.move_cursor(row=[r.caller for r in sue.screen.floor].index("ann"))
                await press(board, then)
                await settle(board)
                row.append(str(sue.screen.query_one("#caller-figures-text", Static).render()))
            return row

    async with ann.run_test(size=(80, 24)) as seat:
        await settle(seat)
        assert (await dashboard_row())[1:3] == ["ready", "0:00"]
        clock.advance(minutes=6)
        ann.lock_if_idle()
        await settle(seat)
        assert isinstance(ann.screen, LockScreen)
        clock.advance(minutes=4)
        assert (await dashboard_row())[1:3] == ["locked", "4:00"]
        await press(seat, "enter")   # the password field opens
        await type_text(seat, PW)
        await press(seat, "enter")
        await settle(seat, 8)
        assert isinstance(ann.screen, QueueScreen)
        assert "ready 10:00" in bar(ann)   # ready since before the lock
        row = await dashboard_row(then="enter")
        assert row[1:3] == ["ready", "10:00"]
        # Enter on ann: her figures, the locked time not counted as worked.
        assert "today: 6:00 worked (signed in), 0:00 paused, 4:00 locked (not worked)" \
            in row[-1]


async def test_a_supervisor_watching_the_dashboard_is_not_a_caller_signed_out(tmp_path):
    """sue's ``carecall dashboard``: the floor lists the callers (bob signed out), not sue
    herself; once she takes a seat (a shift) she is on the floor like anyone."""
    from tui.screens.dashboard import DashboardScreen

    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    sue = make_app(path, "sue", clock=clock, actor=actor(path, "sue"), mode="dashboard",
                   refresh_seconds=0)
    async with sue.run_test(size=(80, 24)) as board:
        await settle(board, 10)
        assert isinstance(sue.screen, DashboardScreen)
        table = sue.screen.query_one("#floor", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["signed out", "signed out"]
        assert "sue" not in " ".join(" ".join(r) for r in rows).lower()
        with Store.open(path) as store:
            floor.take_seat(store, "sue", token="shift", kind="terminal", now=clock())
        await press(board, "r")
        await settle(board, 10)
        table = sue.screen.query_one("#floor", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["signed out", "signed out", "ready"]
        assert "Sue" in rows[2][0]


async def test_handle_time_on_the_dashboard_leaves_out_customers_given_back(tmp_path):
    """ann took a customer and gave them back after 2 minutes (no call), then made a
    4-minute call: the dashboard's handle time is 4:00 a call, not 6:00; the 2 minutes
    still count as worked."""
    from tests.core.test_floor import add_call
    from tests.support.queue import add_customer
    from tui.screens.dashboard import DashboardScreen

    path = team_db(tmp_path)
    start = NOW - timedelta(minutes=10)
    with Store.open(path) as store:
        c1 = add_customer(store, "R1", name="Alma Alpha")
        c2 = add_customer(store, "R2", name="Bea Beta")
        floor.take_seat(store, "ann", token="t", kind="terminal", now=start)
        floor.call_step(store, "ann", "dialling", now=start + timedelta(minutes=1),
                        customer_id=c1)
        floor.after_call(store, "ann", now=start + timedelta(minutes=3))   # given back
        call = add_call(store, c2, "ann", "2026-03-10T14:54:00Z", "completed")
        floor.call_step(store, "ann", "dialling", now=start + timedelta(minutes=4),
                        customer_id=c2, call_id=call)
        floor.call_step(store, "ann", "talking", now=start + timedelta(minutes=5),
                        customer_id=c2, call_id=call)
        floor.call_step(store, "ann", "wrapup", now=start + timedelta(minutes=7),
                        customer_id=c2, call_id=call)
        floor.after_call(store, "ann", now=start + timedelta(minutes=8))
    sue = make_app(path, "sue", clock=FixedClock(NOW), actor=actor(path, "sue"),
                   mode="dashboard", refresh_seconds=0)
    async with sue.run_test(size=(120, 30)) as board:
        await settle(board, 10)
        assert isinstance(sue.screen, DashboardScreen)
        today = sue.screen.query_one("#today", DataTable)
        assert [str(c) for c in today.get_row("ann")][-1] == "4:00"
        [ann] = [r for r in sue.screen.floor if r.caller == "ann"]
        assert ann.signed_in_seconds == 10 * 60
