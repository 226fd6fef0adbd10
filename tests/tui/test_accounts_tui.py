"""The accounts screen (admins): the list with role, state and last login; add, set a
password, change a role, disable and enable, each through calls.accounts (audited); a
refusal is a clear notice; the key and the palette entry are an admin's only."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Input, Static

from calls import accounts as acc
from calls import audit
from calls.store import Store
from tests.support.team import PW, make_team
from tests.support.tui import NOW, make_db, press, screen_lines, settle, type_text
from tui.app import make_app
from tui.clock import FixedClock
from tui.commands import ShiftCommands
from tui.screens.accounts import (
    AccountFormScreen,
    AccountsScreen,
    OsLoginScreen,
    PasswordScreen,
    RoleScreen,
)
from tui.screens.modals import ConfirmScreen
from tui.screens.queue import QueueScreen


def team_db(tmp_path):
    path = make_db(tmp_path / "team.db")
    with Store.open(path) as store:
        make_team(store, NOW)
        acc.login(store, "ann", PW, now=NOW - timedelta(hours=2), seat="web")
    return path


def actor(path, name):
    with Store.open(path) as store:
        return acc.get_account(store, name).as_actor()


def account(path, name):
    with Store.open(path) as store:
        return acc.get_account(store, name)


def trail(path, action):
    with Store.open(path) as store:
        return [(e.actor, e.action, e.subject, e.details)
                for e in audit.entries(store, action=action)]


def palette_titles(screen) -> list[str]:
    return [title for title, _help, _cb in ShiftCommands(screen)._hits()]


def table_rows(screen) -> dict[str, list[str]]:
    table = screen.query_one(DataTable)
    return {row.value: [str(c) for c in table.get_row(row)] for row in table.rows}


async def passwords(pilot, first: str, again: str) -> None:
    """Type the password, Enter, the second one, Enter."""
    for text in (first, again):
        await type_text(pilot, text)
        await press(pilot, "enter")


async def open_accounts(pilot):
    await settle(pilot)
    assert isinstance(pilot.app.screen, QueueScreen)
    await press(pilot, "u")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountsScreen)
    return pilot.app.screen


async def test_an_admin_lists_adds_and_changes_accounts(tmp_path):
    path = team_db(tmp_path)
    app = make_app(path, "boss", clock=FixedClock(NOW), actor=actor(path, "boss"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        assert ("Manage accounts: add, password, role, disable (admins)"
                in palette_titles(queue))
        screen = await open_accounts(pilot)
        rows = table_rows(screen)
        assert list(rows) == ["ann", "bob", "boss", "sue"]
        assert rows["ann"] == ["ann", "Ann Lee", "caller", "active", "2026-03-10 13:00"]
        assert rows["bob"][3:] == ["active", "never"]
        text = "\n".join(screen_lines(app))
        app.save_screenshot("accounts.svg", path=str(tmp_path))
        assert "Accounts · 4 · 1 active admin" in text
        assert "Last login (UTC)" in text and "a Add" in text and "o Role" in text

        # a: add an account (the passwords must match; the core's checks are said in place)
        await press(pilot, "a")
        form = app.screen
        assert isinstance(form, AccountFormScreen)
        await type_text(pilot, "cy")
        await press(pilot, "enter")
        await type_text(pilot, "Cy Ray")
        await press(pilot, "enter", "enter", "enter")         # role stays "caller"; no login
        await passwords(pilot, "long enough pw", "long enough pX")
        assert app.screen is form
        assert "The two passwords differ." in str(form.query_one("#account-error").render())
        app.save_screenshot("account_form.svg", path=str(tmp_path))
        await type_text(pilot, "long enough pw")
        await press(pilot, "enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        cy = account(path, "cy")
        assert (cy.role, cy.display, cy.active, cy.has_password) == ("caller", "Cy Ray", True,
                                                                   True)
        assert table_rows(screen)["cy"] == ["cy", "Cy Ray", "caller", "active", "never"]
        assert "Added caller cy." in [n.message for n in app._notifications]

        # o: role (the highlighted account is the one just added)
        assert screen.current.name == "cy"
        await press(pilot, "o")
        assert isinstance(app.screen, RoleScreen)
        await press(pilot, "down", "enter")                     # caller -> supervisor
        await settle(pilot)
        assert account(path, "cy").role == "supervisor"
        assert table_rows(screen)["cy"][2] == "supervisor"

        # w: a new password; d: disable, then enable again (each asked first)
        await press(pilot, "w")
        assert isinstance(app.screen, PasswordScreen)
        await passwords(pilot, "a brand new one", "a brand new one")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        with Store.open(path) as store:
            assert acc.login(store, "cy", "a brand new one", now=NOW).name == "cy"
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        await settle(pilot)
        assert not account(path, "cy").active
        assert table_rows(screen)["cy"][3] == "disabled"
        await press(pilot, "d", "y")
        await settle(pilot)
        assert account(path, "cy").active
        # l: the OS login of the account's terminal seat
        await press(pilot, "l")
        assert isinstance(app.screen, OsLoginScreen)
        await type_text(pilot, "cy_unix")
        await press(pilot, "enter")
        await settle(pilot)
        assert account(path, "cy").os_login == "cy_unix"
        assert "terminal seat: OS login cy_unix" in str(
            screen.query_one("#accounts-detail", Static).render())
        await press(pilot, "escape")
        assert isinstance(app.screen, QueueScreen)
    assert [(who, what, subject) for who, what, subject, _ in trail(path, "account")][-6:] == [
        ("boss", "account.add", "cy"), ("boss", "account.role", "cy"),
        ("boss", "account.password", "cy"), ("boss", "account.disable", "cy"),
        ("boss", "account.enable", "cy"), ("boss", "account.login", "cy")]
    assert trail(path, "account.add")[-1][3] == {"role": "caller", "display": "Cy Ray",
                                                 "password_set": True}


async def test_a_refused_change_is_said_and_nothing_is_written(tmp_path, notifications):
    path = team_db(tmp_path)
    app = make_app(path, "boss", clock=FixedClock(NOW), actor=actor(path, "boss"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_accounts(pilot)
        # The last admin cannot be demoted: a notice, the table unchanged.
        screen.query_one(DataTable).move_cursor(row=2)
        assert screen.current.name == "boss"
        await press(pilot, "o", "down", "enter")
        await settle(pilot)
        assert account(path, "boss").role == "admin"
        assert any("boss is the last active admin" in m
                   for m in notifications.messages("warning"))
        # A name already taken: said under the form, which keeps what was typed.
        await press(pilot, "a")
        await type_text(pilot, "ann")
        await press(pilot, "enter", "enter", "enter", "enter")
        await passwords(pilot, "long enough pw", "long enough pw")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AccountFormScreen)
        assert "an account named 'ann' already exists" in str(
            form.query_one("#account-error", Static).render())
        assert form.query_one("#account-name", Input).value == "ann"
        # Demoted by another admin while the screen is open: the core refuses (as of now).
        await press(pilot, "escape")
        with Store.open(path) as store:
            boss = acc.get_account(store, "boss").as_actor()
            acc.set_role(store, "sue", "admin", actor=boss, now=NOW)
            acc.set_role(store, "boss", "caller", actor=acc.get_account(store, "sue").as_actor(),
                         now=NOW)
        screen.query_one(DataTable).move_cursor(row=1)
        assert screen.current.name == "bob"
        await press(pilot, "d", "y")
        await settle(pilot)
        assert account(path, "bob").active
        assert any("only an admin may manage accounts (boss is a caller)" in m
                   for m in notifications.messages("warning"))
    assert [what for _, what, _, _ in trail(path, "account")][-2:] == ["account.role",
                                                                      "account.role"]
    assert notifications.messages("error") == []


async def test_the_accounts_key_is_an_admins_only(tmp_path, notifications):
    path = team_db(tmp_path)
    for name in ("sue", "ann"):
        app = make_app(path, name, clock=FixedClock(NOW), actor=actor(path, name))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            queue = app.screen
            assert isinstance(queue, QueueScreen)
            assert not any("accounts" in t.lower() for t in palette_titles(queue))
            assert "u Accounts" not in "\n".join(screen_lines(app))
            await press(pilot, "u")
            assert app.screen is queue
            assert "Only an admin may manage accounts." in notifications.messages("warning")
            notifications.shown.clear()
    assert trail(path, "account")[-1][1] == "account.add"   # nothing new
