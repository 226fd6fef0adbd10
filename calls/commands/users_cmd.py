"""carecall users add / list / disable / enable / passwd / role (see docs/team.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from calls.clock import now_utc
from calls.commands.common import (
    DbOption,
    JsonOption,
    cli_actor,
    console,
    fail,
    open_store,
    require,
    user_errors,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The account name.")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of standard input "
    "(for scripts) instead of asking on the terminal.")]


def read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice on the terminal (never echoed)."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input holds no password")
        return password
    if not sys.stdin.isatty():
        fail("no terminal to ask the password on; pipe it in with --password-stdin")
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Password again", hide_input=True)
    if first != second:
        fail("the two passwords differ; nothing was changed")
    return first


def register(app: typer.Typer) -> None:
    """Add ``users`` to the app."""
    users_app = typer.Typer(
        help="Accounts and roles: caller, supervisor, admin. With no accounts carecall is a "
        "one-person trial; once an admin exists every seat needs an account.",
        no_args_is_help=True,
    )
    app.add_typer(users_app, name="users")

    @users_app.command("add")
    def users_add(
        name: NameArg,
        role: Annotated[str, typer.Option(
            "--role", metavar="ROLE", help="caller, supervisor or admin.")],
        display: Annotated[str | None, typer.Option(
            "--display", help='The name people see, e.g. "Ann Lee".')] = None,
        login: Annotated[str | None, typer.Option(
            "--login", metavar="OS_LOGIN", help="The OS login of this person's terminal seat "
            "(SSH): it opens without the login screen. The first admin gets yours.")] = None,
        password_stdin: PasswordStdin = False,
        db: DbOption = None,
    ) -> None:
        """Add an account; the password is asked for (twice) or read with --password-stdin."""
        from calls.accounts import add_account, team_mode
        from calls.audit import os_login

        store = open_store(db, create=True)
        actor = cli_actor(store)
        first_admin = not team_mode(store) and role.strip().lower() == "admin"
        if first_admin and login is None:
            # The command line knows people by their OS login: the first admin must be
            # the one running this, or nobody could manage accounts afterwards.
            login = os_login()
        password = read_password(password_stdin)
        with user_errors():
            account = add_account(store, name, role, password=password, actor=actor,
                                  now=now_utc(), display=display, os_login=login)
        mapped = f", OS login {account.os_login}" if account.os_login else ""
        console.print(f"added {account.role} {escape(account.name)}{escape(mapped)}",
                      highlight=False, soft_wrap=True)
        if first_admin:
            console.print("accounts are now in force: every seat needs a known, active account",
                          highlight=False, soft_wrap=True)

    @users_app.command("list")
    def users_list(as_json: JsonOption = False, db: DbOption = None) -> None:
        """List the accounts (never their passwords)."""
        from calls.accounts import list_accounts, team_mode

        store = open_store(db)
        require(store, "accounts.read")
        accounts = list_accounts(store)
        if as_json:
            print(json.dumps([a.to_dict() for a in accounts], indent=2, ensure_ascii=False))
            return
        if not accounts:
            console.print("No accounts: this database is a one-person trial "
                          "(carecall users add NAME --role admin to start a team).")
            return
        now = now_utc()
        table = Table()
        for col in ("name", "display", "role", "OS login", "status", "last login (UTC)"):
            table.add_column(col, overflow="fold")
        for a in accounts:
            status = ("disabled" if not a.active else
                      f"locked until {a.locked_until:%H:%M}" if a.locked(now) else
                      "no password" if not a.has_password else "active")
            table.add_row(escape(a.name), escape(a.display or ""), a.role,
                          escape(a.os_login or ""), status,
                          f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "")
        console.print(table)
        if not team_mode(store):
            console.print("No active admin: this database is still a one-person trial.")

    def set_active(name: str, active: bool, db) -> None:
        from calls.accounts import set_active

        store = open_store(db)
        with user_errors():
            account = set_active(store, name, active, actor=cli_actor(store), now=now_utc())
        console.print(f"{'enabled' if active else 'disabled'} {escape(account.name)}",
                      highlight=False)

    @users_app.command("disable")
    def users_disable(name: NameArg, db: DbOption = None) -> None:
        """Disable an account: it can no longer log in, a seat it has open closes now and
        the customers it claimed go back to the queue (its history stays)."""
        set_active(name, False, db)

    @users_app.command("enable")
    def users_enable(name: NameArg, db: DbOption = None) -> None:
        """Enable a disabled account again."""
        set_active(name, True, db)

    @users_app.command("passwd")
    def users_passwd(name: NameArg, password_stdin: PasswordStdin = False,
                     db: DbOption = None) -> None:
        """Set an account's password (admins: any account; everyone: their own). Ends a
        lockout."""
        from calls.accounts import get_account, set_password

        store = open_store(db)
        actor = cli_actor(store)
        with user_errors():
            get_account(store, name)  # say "no account" before asking for a password
        password = read_password(password_stdin)
        with user_errors():
            account = set_password(store, name, password, actor=actor, now=now_utc())
        console.print(f"password set for {escape(account.name)}", highlight=False)

    @users_app.command("role")
    def users_role(
        name: NameArg,
        role: Annotated[str, typer.Argument(metavar="ROLE", help="caller, supervisor or admin.")],
        db: DbOption = None,
    ) -> None:
        """Change an account's role."""
        from calls.accounts import set_role

        store = open_store(db)
        with user_errors():
            account = set_role(store, name, role, actor=cli_actor(store), now=now_utc())
        console.print(f"{escape(account.name)} is now a {account.role}", highlight=False)

    @users_app.command("login")
    def users_login(
        name: NameArg,
        login: Annotated[str | None, typer.Argument(
            metavar="OS_LOGIN", help="The OS login of this person's terminal seat (their own "
            "Unix user, running carecall through sudo).")] = None,
        none: Annotated[bool, typer.Option(
            "--none", help="Unmap: the seat signs in with name and password.")] = False,
        db: DbOption = None,
    ) -> None:
        """Map an account to the OS login of its terminal seat (it opens without the login
        screen), or unmap it with --none."""
        from calls.accounts import set_login
        from calls.audit import os_login

        if (login is None) == (not none):
            fail("give the OS login, or --none to unmap (not both)")
        store = open_store(db)
        with user_errors():
            account = set_login(store, name, None if none else login,
                                actor=cli_actor(store), now=now_utc(), runs_as=os_login())
        where = (f"OS login {account.os_login}" if account.os_login
                 else "no OS login (signs in with name and password)")
        console.print(f"{escape(account.name)}: {escape(where)}", highlight=False)
