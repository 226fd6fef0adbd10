"""What every command shares: the ``--db`` option, opening the store, user errors."""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from calls.errors import UserError
from calls.store import Store

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Database file (default: $CARECALL_DB, else carecall.db in the user data dir).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CallerOption = Annotated[
    str | None,
    typer.Option("--caller", help="Caller name (default: $CARECALL_CALLER, else login name)."),
]

PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="Care policy TOML file (default: $CARECALL_POLICY, else the built-in defaults).",
        show_default=False,
    ),
]


def load_policy_option(path: Path | None):
    """The policy from ``--policy`` / ``$CARECALL_POLICY``, or fail with the file and key."""
    from calls.policy import load_policy

    with user_errors():
        return load_policy(path)


console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """Print one clear line on stderr and exit with code 2 (a user error)."""
    # The message may quote user input ("[x]", "a[/]"): never read it as Rich markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`UserError` into :func:`fail`."""
    try:
        yield
    except UserError as exc:
        fail(str(exc))


def open_store(db: Path | None) -> Store:
    """Open the database for a command, or fail with a clear message."""
    with user_errors():
        return Store.open(db)


def resolve_caller(caller: str | None) -> str:
    """``--caller``, else ``CARECALL_CALLER``, else the login name."""
    if caller is not None and not caller.strip():
        # A blank name would own claims and follow-ups nobody can ask for by name.
        fail("--caller: give a name (or leave the option out)")
    if caller:
        return caller.strip()
    env = os.environ.get("CARECALL_CALLER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "caller"


def cli_actor(store: Store):
    """Who runs this command: the account the OS login maps to once accounts are in force,
    else (the one-person trial) the OS login with every right. Refused: one line, exit 2."""
    from calls.accounts import cli_actor as actor_of
    from calls.audit import os_login

    with user_errors():
        return actor_of(store, os_login())


def require(store: Store, permission: str):
    """The command's actor, after checking their role may ``permission`` (else exit 2)."""
    from calls.accounts import require as check

    actor = cli_actor(store)
    with user_errors():
        check(actor, permission)
    return actor


def caller_for(store: Store, caller: str | None) -> str:
    """The caller a command works as. In the trial: ``--caller``, ``$CARECALL_CALLER``, else
    the login name; with accounts: the OS login's account (``--caller`` may name only it)."""
    from calls.accounts import check_caller

    actor = cli_actor(store)
    if actor.solo:
        return resolve_caller(caller)
    with user_errors():
        return check_caller(actor, caller)


def stdout_is_terminal() -> bool:
    """True when a person is watching stdout (progress bars only then)."""
    return sys.stdout.isatty()
