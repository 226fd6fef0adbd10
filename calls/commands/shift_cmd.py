"""``carecall shift`` (and ``carecall`` with no command): open the caller's shift app."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from calls.commands import common
from calls.errors import UserError

ScriptOption = Annotated[
    str | None,
    typer.Option("--script", help="Script name or TOML file for every call "
                 "(default: chosen per call from the reason)."),
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Start the shift clock at this ISO time (it then runs forward); "
                 "for training, demos and tests. Without an offset: UTC."),
]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="Care policy TOML (default: $CARECALL_POLICY, else built-in)."),
]


def parse_at(text: str | None) -> datetime | None:
    """``--at``: an ISO 8601 moment; without an offset it is read as UTC."""
    if text is None or not text.strip():
        return None
    from calls.clock import parse_user_moment

    return parse_user_moment(text)


def launch_shift(
    db_path: str | Path | None,
    caller: str | None,
    script: str | None = None,
    at: str | datetime | None = None,
    policy: str | Path | None = None,
) -> None:
    """Open the shift app for ``caller`` on the database (used by ``carecall demo`` too).

    Raises ``UserError`` for a database, policy, script or time the app cannot use, and
    when there is no terminal to draw on.
    """
    from calls.config import load_config
    from calls.policy import load_policy
    from calls.store import Store, resolve_db_path
    from calls.survey import load_script

    path = resolve_db_path(db_path)
    # Everything a user can get wrong is checked here, before the screen is taken over,
    # so it is one clear line: the config file, the database (this also applies pending
    # migrations before the app's workers start), the time, the policy and the script.
    config = load_config()
    from calls.commands.launch import check_ui_config, run_shift_app

    check_ui_config(config)
    start = parse_at(at) if isinstance(at, str) or at is None else at
    care_policy = load_policy(policy)
    if script:
        load_script(script)
    served = served_seat()
    with Store.open(path) as store:
        actor = seat_for(store, caller, served)
    caller_name = actor.name if actor is not None else ""
    # A browser seat (carecall serve) draws through textual-serve's web driver, not a TTY.
    if not served and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the shift app needs a terminal (stdin and stdout must be a TTY)")

    stats = run_shift_app(path, caller_name, script=script, policy=care_policy, clock=start,
                          actor=actor, seat="web" if served else "terminal", config=config)
    if stats is not None and not served and caller_name:
        common.console.print(
            f"Shift ended for {caller_name}: {stats.calls} calls, {stats.contacts} contacts, "
            f"{stats.completes} completes.",
            highlight=False,
        )


def served_seat() -> bool:
    """True in a browser seat: ``carecall serve`` runs each tab's app with the web driver."""
    return os.environ.get("TEXTUAL_DRIVER", "").endswith(":WebDriver")


def seat_for(store, caller: str | None, served: bool):
    """Who opens this seat without a password (``calls.accounts.Actor``), or None for the
    login screen: the one-person trial's person, or, in a terminal seat, the account the
    OS login maps to (``--caller`` may only name it). A browser seat, and an SSH seat
    on the shared service login, always sign in."""
    from calls.accounts import check_caller, seat_actor, team_mode, trial_actor
    from calls.audit import os_login

    if not team_mode(store):
        return trial_actor(common.resolve_caller(caller))
    if served or common.shared_ssh_login():
        return None
    actor = seat_actor(store, os_login())
    if actor is not None:
        check_caller(actor, caller)
    return actor


def register(app: typer.Typer) -> None:
    """Add ``carecall shift`` (``carecall`` alone opens it too: ``common.root_callback``)."""

    @app.command("shift")
    def shift(
        caller: common.CallerOption = None,
        script: ScriptOption = None,
        at: AtOption = None,
        db: common.DbOption = None,
        policy: PolicyOption = None,
    ) -> None:
        """Open your call shift: the queue, the call screen, the script, wrap-up."""
        common.check_at(at)
        with common.user_errors():
            launch_shift(db, caller, script=script, at=at, policy=policy)
