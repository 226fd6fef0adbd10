"""The ``carecall`` command line: thin Typer commands over the core.

Each area registers its commands from ``calls/commands/<area>.py``.
"""

from __future__ import annotations

import sqlite3
import sys

import typer

from calls.commands import common

app = typer.Typer(
    name="carecall",
    help="Customer care-call programmes: import lists, work the call queue, report.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

# Area modules; each has register(app). Order is the order of --help.
_AREAS = (
    "import_cmd",      # carecall import, demo                      (issue: foundation)
    "orders_cmd",      # carecall import-orders, customers          (issue: purchases)
    "queue_cmd",       # carecall queue, next, release, dnc          (issue: queue)
    "script_cmd",      # carecall script check/list/show            (issue: scripts)
    "shift_cmd",       # carecall shift (and no command), dashboard (issue: TUI)
    "followups_cmd",   # carecall followups, plan                   (issue: follow-ups)
    "report_cmd",      # carecall report, export                    (issue: reports)
    "audit_cmd",       # carecall audit                             (issue 13: team)
)


def _register_all() -> None:
    import importlib

    for area in _AREAS:
        module = importlib.import_module(f"calls.commands.{area}")
        module.register(app)


_register_all()


def run_shift_app(db_path, caller: str, *, script, policy, clock):
    """Build the shift app with the shared factory and run it; returns the shift's figures.

    The only places the core touches the UI: Textual is imported here, inside the
    functions that launch an app, never at module level.
    """
    from tui.app import make_app

    return make_app(db_path, caller, script=script, policy=policy, clock=clock).run()


def run_dashboard_app(db_path) -> None:
    """Run the supervisor's dashboard on the database."""
    from tui.screens.dashboard import run_dashboard

    run_dashboard(db_path)


def main() -> None:
    """Console-script entry point: run the app; a locked database is a message, not a trace."""
    try:
        app()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            common.err_console.print(
                "[bold red]error:[/] the database is busy (another carecall is writing); "
                "try again in a moment"
            )
            sys.exit(2)
        raise
