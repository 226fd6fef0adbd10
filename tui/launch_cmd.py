"""The commands that open the app: ``carecall demo``, ``carecall shift`` (also
``carecall`` with no command) and ``carecall dashboard``.

They are a command area like those in ``calls/commands/`` (listed in
``calls/commands/catalogue.py``), kept here so that the core never names the UI. The core
does every check first (``calls.commands.app_start``: one line and exit 2 for anything a
user can get wrong, before the screen is taken over); this module only adds the app's own
check of the config file and runs the app. Textual is imported when an app opens, never
for ``--help`` or ``demo --no-shift``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated

import typer

from calls.commands import app_start, common


def check_ui_config(config) -> None:
    """Raise ``ConfigError`` for a ``[keymap]`` id or ``[ui] theme`` the app does not have."""
    from tui.keymap import check_config

    check_config(config)


def open_shift(db_path, caller: str | None, script: str | None = None, at=None,
               policy=None) -> None:
    """Check everything, open the shift app for ``caller`` on the database, and print the
    shift's figures when it ends. Raises ``UserError`` for what the app cannot use."""
    start = app_start.prepare_shift(db_path, caller, script=script, at=at, policy=policy,
                                    check_ui=check_ui_config)
    from tui.app import make_app

    app = make_app(start.path, start.caller, script=start.script, policy=start.policy,
                   clock=start.clock, actor=start.actor, seat=start.seat, config=start.config)
    stats = app.run()
    if not start.caller and app.signed_in:
        # Signed in on the login screen: the caller is known only now.
        start = replace(start, caller=app.caller)
    app_start.say_shift_ended(start, stats)


def demo(
    db: common.DbOption = None,
    no_shift: Annotated[
        bool, typer.Option("--no-shift", help="Only build the demo database; do not open the shift.")
    ] = False,
    json_out: common.JsonOption = False,
) -> None:
    """Build a demo database from the shipped demo list, then open a shift on it."""
    path = app_start.build_demo_database(db, json_out=json_out, no_shift=no_shift)
    if no_shift:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # No terminal to draw the shift on (a script, CI): say what to run instead.
        common.console.print(f"Next: carecall shift --db {path}", highlight=False)
        return
    start = app_start.demo_shift_clock(path)
    with common.user_errors():
        open_shift(path, caller="demo", at=start)


def shift(
    caller: common.CallerOption = None,
    script: app_start.ScriptOption = None,
    at: app_start.AtOption = None,
    db: common.DbOption = None,
    policy: app_start.PolicyOption = None,
) -> None:
    """Open your call shift: the queue, the call screen, the script, wrap-up."""
    common.check_at(at)
    with common.user_errors():
        open_shift(db, caller, script=script, at=at, policy=policy)


def dashboard(db: common.DbOption = None, policy: app_start.PolicyOption = None) -> None:
    """The supervisor's live dashboard, refreshing by itself.

    Today's shift per caller, the week's rates and NPS, coverage per tier, the follow-up backlog.
    """
    with common.user_errors():
        path, actor, config, care_policy = app_start.prepare_dashboard(
            db, check_ui=check_ui_config, policy=policy)
    from tui.app import make_app

    app = make_app(path, actor.name if actor is not None else "", actor=actor,
                   config=config, mode="dashboard", policy=care_policy)
    app.run()
    if app.refusal:  # a caller signed in on the dashboard's login screen
        common.fail(app.refusal)


def register(app: typer.Typer) -> None:
    """Add ``carecall demo``, ``shift`` and ``dashboard`` (``carecall`` alone runs
    ``shift``: ``common.root_callback``)."""
    app.command("demo")(demo)
    app.command("shift")(shift)
    app.command("dashboard")(dashboard)

