"""Seats in the app: the login screen, the idle lock, sign-out, and roles refused with a
notice (Pilot, fixed clock), asserting on the screen and on the audit trail."""

from __future__ import annotations

import contextlib

from textual.widgets import Input, Static
from textual.worker import WorkerCancelled

from calls import accounts as acc
from calls import audit
from calls.store import Store
from tests.support.team import PW, make_team
from tests.support.tui import NOW, make_db, press, screen_lines, settle, type_text
from tui.app import make_app
from tui.clock import FixedClock
from tui.screens.login import LockScreen, LoginScreen
from tui.screens.queue import QueueScreen


def team_db(tmp_path):
    path = make_db(tmp_path / "team.db")
    with Store.open(path) as store:
        make_team(store, NOW)
    return path


def trail(path, **kw):
    with Store.open(path) as store:
        return [(e.actor, e.action) for e in audit.entries(store, **kw)]


def notices(app):
    return [n.message for n in app._notifications]


async def sign_in(pilot, name, password):
    await type_text(pilot, name)
    await press(pilot, "enter")
    await type_text(pilot, password)
    await press(pilot, "enter")
    await settle(pilot, 10)


async def test_a_browser_seat_signs_in_and_out(tmp_path):
    path = team_db(tmp_path)
    app = make_app(path, "", clock=FixedClock(NOW), seat="web")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        await sign_in(pilot, "ann", "not my password")
        assert isinstance(app.screen, LoginScreen)
        error = str(app.screen.query_one("#login-error", Static).render())
        assert "wrong name or password" in error
        assert app.screen.query_one("#login-password", Input).value == ""
        app.screen.query_one("#login-name", Input).value = ""
        app.screen.query_one("#login-name", Input).focus()
        await sign_in(pilot, "ann", PW)
        assert isinstance(app.screen, QueueScreen), notices(app)
        assert app.caller == "ann" and "Ann Lee" in app.sub_title and "caller" in app.sub_title
        await press(pilot, "ctrl+q")
        await press(pilot, "ctrl+q")
    assert trail(path, actor="ann") == [("ann", "login.failed"), ("ann", "login"),
                                        ("ann", "policy.load"), ("ann", "logout")]
    with Store.open(path) as store:
        [signed] = [e for e in audit.entries(store, action="login") if e.action == "login"]
        assert signed.details == {"seat": "web"}


async def test_five_wrong_passwords_lock_the_account(tmp_path):
    path = team_db(tmp_path)
    app = make_app(path, "", clock=FixedClock(NOW), seat="web")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_text(pilot, "bob")
        await press(pilot, "enter")
        for _ in range(5):
            await type_text(pilot, "guess-guess")
            await press(pilot, "enter")
            await settle(pilot, 6)
        error = str(app.screen.query_one("#login-error", Static).render())
        assert "locked for 15 minutes" in error
        await type_text(pilot, PW)
        await press(pilot, "enter")
        await settle(pilot, 6)
        assert isinstance(app.screen, LoginScreen)
        assert "locked until 15:15 UTC" in str(app.screen.query_one("#login-error").render())
    assert ("bob", "login.locked") in trail(path, actor="bob")


async def test_an_idle_seat_locks_and_the_password_opens_it(tmp_path):
    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    with Store.open(path) as store:
        ann = acc.get_account(store, "ann").as_actor()
    app = make_app(path, "ann", clock=clock, actor=ann)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        clock.advance(minutes=4)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)  # not idle long enough (policy: 5 min)
        clock.advance(minutes=1)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        # Nothing of the queue (customer names) is on the locked screen.
        shown = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "Seat locked" in shown and "Ann Lee" in shown and "Alpha" not in shown
        assert "press Enter, then type your password" in shown
        await press(pilot, "enter")   # the password field opens
        await type_text(pilot, "wrong one!")
        await press(pilot, "enter")
        await settle(pilot, 6)
        assert isinstance(app.screen, LockScreen)
        # the seat's account is on the screen: only the password can be wrong
        assert str(app.screen.query_one("#login-error").render()) == "wrong password"
        await type_text(pilot, PW)   # the field stays open after a wrong one
        await press(pilot, "enter")
        await settle(pilot, 6)
        assert isinstance(app.screen, QueueScreen)
        clock.advance(minutes=3)
        await press(pilot, "down")  # a key: attended again, the idle time starts over
        clock.advance(minutes=3)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
    assert trail(path, actor="ann") == [("ann", "login"), ("ann", "policy.load"),
                                        ("ann", "login.failed"), ("ann", "unlock"),
                                        ("ann", "logout")]


async def test_the_dashboard_locks_after_its_own_time_and_a_key_typed_then_is_no_password(
        tmp_path):
    """sue watches ``carecall dashboard``: it locks after the dashboard's idle time (15
    minutes by default, not the seat's 5); the ``r`` she presses then, and any key before
    Enter, goes nowhere (not into the password field, not to the dashboard under it);
    Enter opens the field and her password opens the dashboard again."""
    from tui.screens.dashboard import DashboardScreen

    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    with Store.open(path) as store:
        sue = acc.get_account(store, "sue").as_actor()
    app = make_app(path, "sue", clock=clock, actor=sue, mode="dashboard", refresh_seconds=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, 10)
        assert isinstance(app.screen, DashboardScreen)
        clock.advance(minutes=14)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)   # a seat would have locked at 5
        app.notify("Bea Beta called back", timeout=30)
        await settle(pilot)
        assert notices(app) == ["Bea Beta called back"]
        clock.advance(minutes=1)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        # No notice names a customer over the lock: the one showing goes, a new one
        # (an escalation the dashboard found meanwhile) waits for the password.
        app.notify("Recovery call for Alma Alpha escalated", timeout=30)
        await settle(pilot)
        assert notices(app) == []
        password = app.screen.query_one("#login-password", Input)
        for key in ("r", "z", "x", "ctrl+d", "p", "ctrl+p", "e"):
            await press(pilot, key)
        assert isinstance(app.screen, LockScreen) and password.value == ""
        assert not password.has_focus
        lines = "\n".join(screen_lines(app))
        assert "Press Enter first, then your password." in lines
        await press(pilot, "enter")
        assert password.has_focus
        assert "Type your password, then Enter" in "\n".join(screen_lines(app))
        await type_text(pilot, PW)
        await press(pilot, "enter")
        await settle(pilot, 8)
        assert isinstance(app.screen, DashboardScreen)
        assert notices(app) == ["Recovery call for Alma Alpha escalated"]
    assert [a for _, a in trail(path, actor="sue")] == ["login", "unlock", "logout"]


def test_the_dashboards_idle_time_is_a_policy_key(tmp_path):
    from calls.errors import UserError
    from calls.policy import load_policy

    f = tmp_path / "p.toml"
    f.write_text("[accounts]\nidle_lock_minutes = 1\ndashboard_idle_lock_minutes = 30\n")
    accounts = load_policy(f).accounts
    assert (accounts.idle_lock_minutes, accounts.dashboard_idle_lock_minutes) == (1, 30)
    f.write_text("[accounts]\ndashboard_idle_lock_minutes = 0\n")
    with contextlib.suppress(UserError):
        load_policy(f)
        raise AssertionError("0 minutes accepted")


async def test_a_caller_is_refused_the_dashboard_and_the_team_with_a_notice(tmp_path):
    path = team_db(tmp_path)
    with Store.open(path) as store:
        ann = acc.get_account(store, "ann").as_actor()
        sue = acc.get_account(store, "sue").as_actor()
    app = make_app(path, "ann", clock=FixedClock(NOW), actor=ann)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+d")
        assert isinstance(app.screen, QueueScreen)
        assert "Only a supervisor or admin may open the dashboard." in notices(app)
        app.screen.action_followups()
        await settle(pilot)
        # The team view's key is a supervisor's: not offered to a caller, but answered.
        shown = "\n".join(screen_lines(app))
        assert "t Team" not in shown and "team view" not in shown
        await press(pilot, "t")
        assert not app.screen.team
        assert "Only a supervisor or admin may work other callers' follow-ups." in notices(app)
    app = make_app(path, "sue", clock=FixedClock(NOW), actor=sue)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.action_followups()
        await settle(pilot)
        shown = "\n".join(screen_lines(app))
        assert "t Team" in shown and "t: team view" in shown
        await press(pilot, "escape", "ctrl+d")
        await settle(pilot)
        assert type(app.screen).__name__ == "DashboardScreen"


async def test_the_trial_says_so(tmp_path):
    path = make_db(tmp_path / "trial.db")
    app = make_app(path, "ann", clock=FixedClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert any("one-person trial" in n for n in notices(app))
        app.lock_if_idle()
        assert not app.locked  # nobody to unlock it: the trial never locks
    assert trail(path, action="login") == [] and trail(path, action="logout") == []


def ctrl_q_says(app) -> str | None:
    """What the key bar shows for ctrl+q on the screen now (None: not shown)."""
    from tui.widgets.key_bar import shown_keys

    items, _palette = shown_keys(app.screen)
    shown = [i.description for i in items if i.enabled and "ctrl+q" in i.key.split(",")]
    return shown[0] if len(shown) == 1 else None


async def test_ctrl_q_says_what_it_does_on_each_seat_screen(tmp_path):
    from tui.screens.summary import ShiftSummaryScreen

    path = team_db(tmp_path)
    clock = FixedClock(NOW)
    app = make_app(path, "", clock=clock, seat="web")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert ctrl_q_says(app) == "Quit"     # nobody's shift to end here
        await sign_in(pilot, "ann", PW)
        assert isinstance(app.screen, QueueScreen)
        assert ctrl_q_says(app) == "End shift"
        clock.advance(minutes=6)
        app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert ctrl_q_says(app) == "Sign out"
        await press(pilot, "ctrl+q")          # signs out and closes the seat at once
        await settle(pilot)
        assert not isinstance(app.screen, ShiftSummaryScreen)
    assert trail(path, actor="ann")[-1] == ("ann", "logout")
    quitter = make_app(path, "", clock=clock, seat="web")
    async with quitter.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+q")
        await settle(pilot)
    assert quitter.return_value is None and trail(path, action="login") == [("ann", "login")]


def ann_at_her_seat(tmp_path):
    """A team database and ann's terminal seat on it (not yet running)."""
    path = team_db(tmp_path)
    with Store.open(path) as store:
        ann = acc.get_account(store, "ann").as_actor()
    return path, make_app(path, "ann", clock=FixedClock(NOW), actor=ann)


async def test_signing_in_at_a_second_seat_closes_the_first(tmp_path):
    from calls import floor

    path, app = ann_at_her_seat(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        with Store.open(path) as store:
            assert floor.seat_now(store, "ann").token == app.seat_token
            # Ann signs in in a browser tab.
            taken = floor.take_seat(store, "ann", token="browser", kind="web", now=NOW)
            assert taken.replaced_kind == "terminal"
        app.seat_tick()
        with contextlib.suppress(WorkerCancelled):   # the seat closes while they wait
            await settle(pilot, 6)
    assert app.return_value is None and not app.is_running
    with Store.open(path) as store:
        # The browser seat is ann's seat now: the terminal's closing left it as it was.
        now_state = floor.seat_now(store, "ann")
        assert now_state.token == "browser" and now_state.state == "ready"
        [out] = audit.entries(store, action="logout")
        assert out.details == {"seat": "terminal", "why": "signed in at another seat"}


async def test_disabling_an_account_closes_its_open_seat_at_once(tmp_path):
    from calls import floor

    path, app = ann_at_her_seat(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        await press(pilot, "n")          # ann is on a call when she is disabled
        await settle(pilot)
        await press(pilot, "c")          # the customer answered
        await settle(pilot)
        with Store.open(path) as store:
            [claimed] = store.all("SELECT customer_id FROM claims WHERE caller = 'ann'")
            boss = acc.get_account(store, "boss").as_actor()
            acc.set_active(store, "ann", False, actor=boss, now=NOW)
            assert floor.seat_now(store, "ann") is None     # the seat is signed off
            assert store.all("SELECT customer_id FROM claims WHERE caller = 'ann'") == []
        app.seat_tick()
        with contextlib.suppress(WorkerCancelled):   # the seat closes while they wait
            await settle(pilot, 6)
    assert not app.is_running
    with Store.open(path) as store:
        # the call she was on stays, unfinished, for resuming if she is enabled again
        assert store.all("SELECT caller FROM calls WHERE ended_at IS NULL") == [
            {"caller": "ann"}]
        [out] = audit.entries(store, action="logout")
        assert out.details == {"seat": "terminal", "why": "account disabled"}
        assert ("boss", "account.disable") in [(e.actor, e.action) for e in audit.entries(store)]
    assert claimed


async def _until(pilot, condition, seconds: float = 5.0) -> None:
    """Wait (a busy machine) until ``condition()`` holds; fail if it never does."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition()


def _customers_and_trail(path):
    with Store.open(path) as store:
        customers = store.all("SELECT * FROM customers ORDER BY id")
        actions = [r["action"] for r in store.all(
            "SELECT action FROM audit WHERE action LIKE 'customer.%' ORDER BY id")]
    return customers, actions


async def test_a_caller_is_refused_the_customer_form_with_a_notice(tmp_path, notifications):
    from tui.screens.customer_form import CustomerFormScreen
    from tui.screens.search import SearchScreen

    path = team_db(tmp_path)
    with Store.open(path) as store:
        ann = acc.get_account(store, "ann").as_actor()
    before = _customers_and_trail(path)
    refusal = "Only a supervisor or admin may add or correct customers."
    app = make_app(path, "ann", clock=FixedClock(NOW), actor=ann)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        await type_text(pilot, "weber")
        search = app.screen
        assert isinstance(search, SearchScreen)
        await _until(pilot, lambda: len(search.results) == 1)    # the search waits 0.25 s
        await press(pilot, "down")                       # to the results
        await _until(pilot, lambda: search.focused is search.query_one("#search-results"))
        from tui.widgets.key_bar import shown_keys

        items, _palette = shown_keys(search)
        offered = [i.description for i in items if i.enabled]
        assert "Inbound call" in offered                 # the caller's own keys are there
        assert "Add customer" not in offered and "Correct" not in offered
        await press(pilot, "a")                          # add: refused
        assert app.screen is search
        assert notifications.messages().count(refusal) == 1
        await press(pilot, "c")                          # correct Dieter Weber: refused
        assert app.screen is search
        assert not any(isinstance(s, CustomerFormScreen) for s in app.screen_stack)
        # Even a form opened another way does not save for a caller: the core refuses.
        form = CustomerFormScreen(search.results[0][0])
        app.push_screen(form)
        await settle(pilot)
        form.query_one("#field-phone").value = "+49 30 7654321"
        await press(pilot, "ctrl+s")
        await settle(pilot, 5)
        assert app.screen is form
        assert "only a supervisor or admin may add or correct customers" in str(
            form.query_one("#form-error").render())
    # One notice (a warning): the same words again while it is up are not repeated.
    assert [s for s, m in notifications.shown if m == refusal] == ["warning"]
    assert notifications.messages("error") == []
    assert _customers_and_trail(path) == before          # nothing changed, nothing audited


async def test_the_dashboard_of_an_unmapped_terminal_signs_in_and_checks_the_role(tmp_path):
    """carecall dashboard on an OS login that maps to no account opens on the login
    screen (as the shift does); a supervisor gets the dashboard, a caller a refusal that
    the command line prints in one line (exit 2)."""
    path = team_db(tmp_path)
    app = make_app(path, "", clock=FixedClock(NOW), mode="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        await sign_in(pilot, "sue", PW)
        assert type(app.screen).__name__ == "DashboardScreen"
    assert app.refusal is None
    app = make_app(path, "", clock=FixedClock(NOW), mode="dashboard")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        with contextlib.suppress(WorkerCancelled):   # refused: the app closes meanwhile
            await sign_in(pilot, "ann", PW)
    assert app.return_code == 2 and app.refusal == (
        "refused: only a supervisor or admin may open the dashboard (ann is a caller)")
    assert trail(path, actor="ann") == [("ann", "login"), ("ann", "logout")]
