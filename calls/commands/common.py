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


def stdout_is_terminal() -> bool:
    """True when a person is watching stdout (progress bars only then)."""
    return sys.stdout.isatty()
